"""The tag-tree checks, on hand-made tagged PDFs (pass and fail) and on a real build."""
from __future__ import annotations

from pathlib import Path

import pikepdf

from leadguide.check import run_checks
from leadguide.check.tagtree import described, read_tag_tree
from leadguide.pdf.tags import fix_tags


def tagged_pdf(path: Path, content: bytes, header_text: bool = True,
               link_tag: str = "/Link", contents: str = "Book a call",
               uri: str = "https://example.com/call") -> Path:
    """One page: a paragraph (MCID 0), a TH (MCID 1), a link annotation under ``link_tag``."""
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(200, 200))
    page = pdf.pages[0]
    font = pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.Font,
                                                Subtype=pikepdf.Name.Type1,
                                                BaseFont=pikepdf.Name.Helvetica))
    page.obj.Resources = pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font))
    page.obj.Contents = pdf.make_stream(content)
    para = pdf.make_indirect(pikepdf.Dictionary(S=pikepdf.Name.P, K=0, Pg=page.obj))
    header = pdf.make_indirect(pikepdf.Dictionary(S=pikepdf.Name.TH, Pg=page.obj,
                                                  K=1 if header_text else pikepdf.Array()))
    annot = pdf.make_indirect(pikepdf.Dictionary(
        Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.Link, Rect=[0, 0, 50, 20],
        Contents=pikepdf.String(contents), StructParent=1,
        A=pikepdf.Dictionary(S=pikepdf.Name.URI, URI=pikepdf.String(uri))))
    link = pdf.make_indirect(pikepdf.Dictionary(S=pikepdf.Name(link_tag), Pg=page.obj, K=[
        pikepdf.Dictionary(Type=pikepdf.Name.OBJR, Obj=annot)]))
    page.obj.Annots = pdf.make_indirect(pikepdf.Array([annot]))
    page.obj.StructParents = 0
    document = pdf.make_indirect(pikepdf.Dictionary(S=pikepdf.Name.Document,
                                                    K=[para, header, link]))
    tree = pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.StructTreeRoot, K=document))
    tree.ParentTree = pdf.make_indirect(pikepdf.Dictionary(Nums=[0, [para, header], 1, link]))
    pdf.Root.StructTreeRoot = tree
    pdf.Root.MarkInfo = pikepdf.Dictionary(Marked=True)
    pdf.save(path)
    return path


CLEAN = (b"/P <</MCID 0>> BDC BT /F1 12 Tf 10 100 Td (Hello) Tj ET EMC "
         b"/TH <</MCID 1>> BDC BT /F1 12 Tf 10 80 Td (Day) Tj ET EMC "
         b"/Artifact BMC BT /F1 8 Tf 10 10 Td (12) Tj ET EMC")


def test_a_clean_tagged_page_passes(tmp_path):
    tree = read_tag_tree(tagged_pdf(tmp_path / "ok.pdf", CLEAN))
    assert tree.unreachable() == {} and tree.empty_headers == []
    assert [(l.tag, described(l.contents)) for l in tree.links] == [("Link", True)]


def test_text_outside_the_tags_is_found_also_inside_a_form_xobject(tmp_path):
    loose = CLEAN + b" BT /F1 8 Tf 10 30 Td (wk 1-4) Tj ET"
    assert read_tag_tree(tagged_pdf(tmp_path / "a.pdf", loose)).unreachable() == {1: 1}
    orphan = CLEAN + b" /Span <</MCID 7>> BDC BT /F1 8 Tf 10 40 Td (x) Tj ET EMC"
    assert read_tag_tree(tagged_pdf(tmp_path / "b.pdf", orphan)).unreachable() == {1: 1}
    path = tagged_pdf(tmp_path / "c.pdf", CLEAN + b" /G0 Do")
    with pikepdf.open(path, allow_overwriting_input=True) as pdf:  # an opacity group
        group = pdf.make_stream(b"BT /F1 8 Tf 10 50 Td (65 kg) Tj ET")
        group.Type, group.Subtype, group.BBox = (pikepdf.Name.XObject, pikepdf.Name.Form,
                                                 [0, 0, 200, 200])
        group.Resources = pdf.pages[0].obj.Resources
        pdf.pages[0].obj.Resources.XObject = pikepdf.Dictionary(G0=group)
        pdf.save(path)
    assert read_tag_tree(path).unreachable() == {1: 1}


def with_form(path: Path, content: bytes) -> Path:
    """The clean page, drawing a form XObject (an opacity group) holding ``content``."""
    tagged_pdf(path, CLEAN + b" /G0 Do")
    with pikepdf.open(path, allow_overwriting_input=True) as pdf:
        group = pdf.make_stream(content)
        group.Type, group.Subtype, group.BBox = (pikepdf.Name.XObject, pikepdf.Name.Form,
                                                 [0, 0, 200, 200])
        group.Resources = pdf.pages[0].obj.Resources
        pdf.pages[0].obj.Resources.XObject = pikepdf.Dictionary(G0=group)
        pdf.save(path)
    return path


def test_a_page_mcid_does_not_reach_text_in_a_form_but_an_mcr_naming_it_does(tmp_path):
    # WeasyPrint's opacity group: MCID 0 inside the form, the tree says "page, MCID 0"
    path = with_form(tmp_path / "g.pdf", b"/Span <</MCID 2>> BDC BT /F1 8 Tf 10 50 Td "
                                         b"(65 kg) Tj ET EMC")
    with pikepdf.open(path, allow_overwriting_input=True) as pdf:
        document = pdf.Root.StructTreeRoot.K
        span = pdf.make_indirect(pikepdf.Dictionary(S=pikepdf.Name.Span, K=2,
                                                    Pg=pdf.pages[0].obj, P=document))
        document.K.append(span)
        parents = pdf.Root.StructTreeRoot.ParentTree.Nums
        parents[1].append(span)
        pdf.save(path)
    assert read_tag_tree(path).unreachable() == {1: 1}
    fixed = tmp_path / "fixed.pdf"
    fixed.write_bytes(fix_tags(path.read_bytes(), "en"))
    assert read_tag_tree(fixed).unreachable() == {}
    with pikepdf.open(fixed) as pdf:
        group = pdf.pages[0].obj.Resources.XObject.G0
        assert "/StructParents" in group and b"<</MCID 0>>" in group.read_bytes()


def test_an_element_the_tree_does_not_reach_becomes_an_artifact(tmp_path):
    # a running head: WeasyPrint maps its MCID to an element it hangs nowhere
    path = tagged_pdf(tmp_path / "head.pdf", CLEAN + b" /Span <</MCID 2>> BDC BT /F1 8 Tf "
                                                     b"10 190 Td (Nutrition) Tj ET EMC")
    with pikepdf.open(path, allow_overwriting_input=True) as pdf:
        lost = pdf.make_indirect(pikepdf.Dictionary(S=pikepdf.Name.Span, K=2,
                                                    Pg=pdf.pages[0].obj))
        pdf.Root.StructTreeRoot.ParentTree.Nums[1].append(lost)
        pdf.save(path)
    assert read_tag_tree(path).unreachable() == {1: 1}
    fixed = tmp_path / "fixed.pdf"
    fixed.write_bytes(fix_tags(path.read_bytes(), "en"))
    assert read_tag_tree(fixed).unreachable() == {}
    with pikepdf.open(fixed) as pdf:
        assert b"/Artifact BMC" in pdf.pages[0].Contents.read_bytes()


def test_an_empty_header_and_a_wordless_or_span_link_are_found(tmp_path):
    empty = tagged_pdf(tmp_path / "th.pdf", CLEAN, header_text=False)
    assert read_tag_tree(empty).empty_headers == [1]
    span = read_tag_tree(tagged_pdf(tmp_path / "span.pdf", CLEAN, link_tag="/Span",
                                    contents="ch-01-intro"))
    assert [(l.tag, described(l.contents)) for l in span.links] == [("Span", False)]
    for wordless in ("ch-01-intro", "https://example.com/book?utm=x", "#top", ""):
        assert not described(wordless)
    assert described("Book a free call") and described("Food basics")


def test_fix_tags_makes_a_span_link_a_described_link_and_an_empty_header_a_cell(tmp_path):
    path = tagged_pdf(tmp_path / "bad.pdf", CLEAN, header_text=False, link_tag="/Span",
                      contents="https://example.com/book?utm=x",
                      uri="https://www.example.com/book?utm=x")
    before = read_tag_tree(path)
    assert before.empty_headers == [1] and before.links[0].tag == "Span"
    assert before.xmp_language == ""
    fixed = tmp_path / "fixed.pdf"
    fixed.write_bytes(fix_tags(path.read_bytes(), "en-GB"))
    after = read_tag_tree(fixed)
    assert after.empty_headers == [] and after.xmp_language == "en-GB"
    [link] = after.links
    assert link.tag == "Link" and link.contents == "link to example.com"


def nested_links_pdf(path: Path) -> Path:
    """A list of two items, each a Link to a page holding a Link (like ::after) and a leader."""
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(200, 200))
    page = pdf.pages[0].obj
    font = pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.Font,
                                                Subtype=pikepdf.Name.Type1,
                                                BaseFont=pikepdf.Name.Helvetica))
    page.Resources = pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font))
    runs, mcid, parents, annots = [], 0, [], []
    document = pdf.make_indirect(pikepdf.Dictionary(S=pikepdf.Name.Document, K=[]))
    items = []
    dest = pikepdf.Array([page, pikepdf.Name.XYZ, 0, 200, 0])
    for row, title in enumerate(("Welcome", "Food")):
        y = 150 - 30 * row
        outer = pdf.make_indirect(pikepdf.Dictionary(S=pikepdf.Name.Link, Pg=page, K=[]))
        inner = pdf.make_indirect(pikepdf.Dictionary(S=pikepdf.Name.Link, Pg=page, K=[],
                                                     P=outer))
        texts = [(outer, f"{title}"), *[(inner, ". ")] * 5, (inner, "1")]
        for number, (owner, text) in enumerate(texts):
            runs.append(b"/Span <</MCID %d>> BDC BT /F1 10 Tf %d %d Td (%s) Tj ET EMC"
                        % (mcid, 10 + 20 * number, y, text.encode()))
            owner.K.append(mcid)
            parents.append(owner)
            mcid += 1
        outer.K.append(inner)
        for owner in (outer, inner):
            annot = pdf.make_indirect(pikepdf.Dictionary(
                Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.Link, Rect=[0, y, 190, y + 12],
                Contents=pikepdf.String("ch-" + title.lower()), Dest=dest,
                StructParent=1 + len(annots)))
            annots.append((annot, owner))
            owner.K.append(pikepdf.Dictionary(Type=pikepdf.Name.OBJR, Obj=annot, Pg=page))
        body = pdf.make_indirect(pikepdf.Dictionary(S=pikepdf.Name.LBody, Pg=page, K=[outer]))
        outer.P = body
        items.append(pdf.make_indirect(pikepdf.Dictionary(S=pikepdf.Name.LI, Pg=page,
                                                          K=[body])))
    listing = pdf.make_indirect(pikepdf.Dictionary(S=pikepdf.Name.L, K=items, P=document,
                                                  Pg=page))
    document.K.append(listing)
    page.Contents = pdf.make_stream(b" ".join(runs))
    page.Annots = pdf.make_indirect(pikepdf.Array([annot for annot, _ in annots]))
    page.StructParents = 0
    nums = [0, parents] + [x for n, (_, owner) in enumerate(annots) for x in (n + 1, owner)]
    tree = pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.StructTreeRoot, K=document))
    tree.ParentTree = pdf.make_indirect(pikepdf.Dictionary(Nums=nums))
    pdf.Root.StructTreeRoot = tree
    pdf.Root.MarkInfo = pikepdf.Dictionary(Marked=True)
    pdf.save(path)
    return path


def test_nested_links_leaders_and_a_contents_list_found_and_fixed(tmp_path):
    path = nested_links_pdf(tmp_path / "toc.pdf")
    before = read_tag_tree(path)
    assert before.nested_links == [1, 1] and before.untagged_contents == [1]
    assert before.contents_lists == 0 and not any(described(l.contents) for l in before.links)
    fixed = tmp_path / "fixed.pdf"
    fixed.write_bytes(fix_tags(path.read_bytes(), "en"))
    after = read_tag_tree(fixed)
    assert after.nested_links == [] and after.untagged_contents == []
    assert after.contents_lists == 1 and after.unreachable() == {}
    assert sorted({l.contents for l in after.links}) == ["Food (page 1)", "Welcome (page 1)"]
    assert {l.tag for l in after.links} == {"Link"}
    with pikepdf.open(fixed) as pdf:
        assert pdf.pages[0].Contents.read_bytes().count(b"/Artifact BMC") == 10  # the dots
        [listing] = pdf.Root.StructTreeRoot.K.K
        assert str(listing.S) == "/TOC" and {str(i.S) for i in listing.K} == {"/TOCI"}
        assert str(listing.K[0].K[0].S) == "/Reference"


TAG_CHECKS = ("tagged-text", "link-tags", "table-headers", "contents-tags", "xmp-language")


def test_the_sample_guide_passes_every_tag_check(built_sample):
    result, _ = built_sample
    guide = result.output.parents[1] / "guide"
    found = {r.name: r for r in run_checks(guide, result.output) if r.name in TAG_CHECKS}
    assert {name: r.status for name, r in found.items()} == dict.fromkeys(TAG_CHECKS, "pass")
    tree = read_tag_tree(result.output)
    assert tree.links and all(described(link.contents) for link in tree.links)


def test_each_tag_check_warns_on_a_broken_pdf(built_sample, tmp_path):
    from leadguide.check import tags
    from leadguide.check.facts import Facts
    result, _ = built_sample
    guide = result.output.parents[1] / "guide"
    broken = {
        "tagged-text": tagged_pdf(tmp_path / "a.pdf", CLEAN + b" BT /F1 8 Tf 9 9 Td (x) Tj ET"),
        "link-tags": tagged_pdf(tmp_path / "b.pdf", CLEAN, link_tag="/Span", contents="#top"),
        "table-headers": tagged_pdf(tmp_path / "c.pdf", CLEAN, header_text=False),
        "contents-tags": nested_links_pdf(tmp_path / "d.pdf"),
        "xmp-language": tagged_pdf(tmp_path / "e.pdf", CLEAN),
    }
    checks = {"tagged-text": tags.check_reachable_text, "link-tags": tags.check_link_tags,
              "table-headers": tags.check_empty_headers,
              "contents-tags": tags.check_contents_tags, "xmp-language": tags.check_xmp_language}
    for name, pdf in broken.items():
        assert {r.status for r in checks[name](Facts(guide, pdf))} == {"warn"}, name
        fixed = tmp_path / f"fixed-{name}.pdf"
        fixed.write_bytes(fix_tags(pdf.read_bytes(), "en"))
        if name != "tagged-text":  # loose text stays loose: fix_tags cannot know what it is
            assert {r.status for r in checks[name](Facts(guide, fixed))} == {"pass"}, name


def test_the_tree_is_read_once_in_walk_order_and_changed_through(tmp_path):
    """structtree.Tree: each element once, depth first, with its ancestors, tag, page and kids
    (an MCID, an element, an OBJR as pikepdf has it); set_kids/set_tag reach the PDF."""
    from leadguide.pdf.structtree import Element, Tree

    pdf = pikepdf.open(tagged_pdf(tmp_path / "t.pdf", CLEAN))
    document = pdf.Root.StructTreeRoot.K
    shared = document.K[0]  # the paragraph, hung under the link too: listed once, first place
    document.K[2].K = pikepdf.Array([*document.K[2].K, shared])
    tree = Tree(pdf.Root.StructTreeRoot, {pdf.pages[0].objgen: 0})
    walked = [(e.tag, e.page, [a.tag for a in ancestors]) for e, ancestors in tree.elements]
    assert walked == [("/Document", None, []), ("/P", 0, ["/Document"]),
                      ("/TH", 0, ["/Document"]), ("/Link", 0, ["/Document"])]
    link = tree.elements[3][0]
    objr, paragraph = tree.kids(link)
    assert objr.Type == "/OBJR" and paragraph is tree.elements[1][0]
    assert isinstance(paragraph, Element) and tree.kids(paragraph) == [0]
    tree.set_kids(link, [paragraph])
    tree.set_tag(link, pikepdf.Name.Span)
    assert link.obj.S == "/Span" and link.tag == "/Span"
    assert list(link.obj.K) == [shared] and tree.kids(link) == [paragraph]
