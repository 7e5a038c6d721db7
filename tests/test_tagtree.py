"""The tag-tree checks, on hand-made tagged PDFs (pass and fail) and on a real build."""
from __future__ import annotations

from pathlib import Path

import pikepdf
import pytest

from leadguide.preflight import run_checks
from leadguide.preflight.tagtree import described, read_tag_tree


def tagged_pdf(path: Path, content: bytes, header_text: bool = True,
               link_tag: str = "/Link", contents: str = "Book a call") -> Path:
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
        Contents=pikepdf.String(contents), StructParent=1))
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


def test_an_empty_header_and_a_wordless_or_span_link_are_found(tmp_path):
    empty = tagged_pdf(tmp_path / "th.pdf", CLEAN, header_text=False)
    assert read_tag_tree(empty).empty_headers == [1]
    span = read_tag_tree(tagged_pdf(tmp_path / "span.pdf", CLEAN, link_tag="/Span",
                                    contents="ch-01-intro"))
    assert [(l.tag, described(l.contents)) for l in span.links] == [("Span", False)]
    for wordless in ("ch-01-intro", "https://example.com/book?utm=x", "#top", ""):
        assert not described(wordless)
    assert described("Book a free call") and described("Food basics")


@pytest.fixture(scope="module")
def sample_results(built_sample):
    result, _ = built_sample
    guide = result.output.parents[1] / "guide"
    return {r.name: r for r in run_checks(guide, result.output)
            if r.name in ("tagged-text", "link-tags", "table-headers")}


def test_the_checks_run_on_a_real_build(sample_results):
    # WeasyPrint 70 describes links by their target id: the check says so.
    assert sample_results["link-tags"].status == "warn"
    assert "id or a raw URL" in sample_results["link-tags"].message
    assert sample_results["tagged-text"].status in ("pass", "warn")
    assert sample_results["table-headers"].status in ("pass", "warn")
