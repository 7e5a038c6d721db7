"""The finished PDF's tags made to say what the page says (pikepdf): ``fix_tags(pdf, language)``.

WeasyPrint 70's PDF/UA output leaves gaps a screen reader falls into; each step closes one:

- running heads and page numbers (margin boxes) are marked content no structure element
  reaches: they become artifacts;
- text drawn in a form XObject (CSS ``opacity`` makes a transparency group) is referred to by
  page MCIDs the page's own stream does not hold: it gets MCRs naming the form (``/Stm``);
- one HTML link makes several link elements and annotations (its inline children, ``::after``,
  leaders), nested in each other or hanging off a ``Span``: they become one ``Link`` holding
  every annotation, whose ``/Contents`` is the link's text in words plus where it goes;
- a list WeasyPrint splits into lists inside a list (``L > L``) is one list, and any other
  element straight inside a list gets its ``LI``/``LBody`` (an ``L`` holds only ``LI`` and
  ``Caption``), and whatever a list item holds beside its label goes into its ``LBody``
  (``lists``);
- a footnote list (every item ends with a back-link drawn as an arrow) is ``Note``s, its
  links read "Back to the text (page 5)" and "Note 1 (page 6)" (``notes``);
- a list whose every item links into the document is the contents: ``TOC``/``TOCI``;
- a table header cell with nothing in it is a plain cell; every header cell gets its
  ``/Scope`` and every data cell the ``/Headers`` its place in the grid gives it, spans
  included (``tables``);
- the XMP metadata gets ``dc:language``;
- no font's ToUnicode map gives U+0000, U+FEFF or U+FFFE (``unicode``);
- letter-spaced text carries its words as ``/ActualText`` (``spacing``).

A pure function of the PDF's bytes and the guide's language, so a build that joins part PDFs
applies it to the joined file the same way.
"""
from __future__ import annotations

import re
from io import BytesIO

import pikepdf

from .content import leaders, make_artifacts, map_form_content, orphans
from .linktags import is_internal_link, is_objr, join_links
from .lists import mend_item_kids, mend_list_kids
from .marked import CONTENT_ITEMS, TextPages, Texts
from .notes import tag_notes
from .spacing import give_spaced_text_words
from .structtree import Element, Tree
from .tables import fix_table_headers
from .unicode import clean_to_unicode


def fix_tags(pdf: bytes, language: str) -> bytes:
    """The PDF with its tag tree fixed (see the module docstring); an untagged PDF is returned
    as it is."""
    with pikepdf.open(BytesIO(pdf)) as document:
        root = document.Root.get("/StructTreeRoot")
        if root is None or "/ParentTree" not in root:
            return pdf
        parents = pikepdf.NumberTree(root.ParentTree)
        tree, texts = _tree_and_texts(document, root, pdf)
        artifacts = orphans(document, tree, parents)
        for index, found in leaders(tree, texts).items():
            artifacts.setdefault(index, set()).update(found)
        make_artifacts(document, artifacts, parents)
        join_links(document, tree, parents, texts)
        map_form_content(document, parents, tree)
        mend_list_kids(document, tree)
        mend_item_kids(document, tree)
        tag_notes(tree, texts)
        tag_contents_lists(document, tree)
        demote_empty_headers(tree)
        fix_table_headers(tree)
        set_language(document, language)
        clean_to_unicode(document)
        give_spaced_text_words(document)
        out = BytesIO()
        document.save(out)
        return out.getvalue()


def _tree_and_texts(document: pikepdf.Pdf, root, pdf: bytes) -> tuple[Tree, Texts]:
    """The tag tree (pikepdf) and the texts of the pages with links (PDFium), one after the
    other. PDFium is not thread-safe, and that includes closing its objects: loading the
    pages on another thread while this one read the tree crashed the process when a garbage
    collection here closed some other PDFium document meanwhile (a segfault in CI)."""
    pages = {page.objgen: index for index, page in enumerate(document.pages)}
    linking = [index for index, page in enumerate(document.pages)
               if any(a.get("/Subtype") == "/Link" for a in page.obj.get("/Annots", []))]
    tree = Tree(root, pages)
    return tree, TextPages(pdf, linking).texts()


def tag_contents_lists(document: pikepdf.Pdf, tree: Tree) -> None:
    """A list whose every item links into the document is a table of contents."""
    linking = set()
    for element, ancestors in tree.elements:
        if any(is_objr(kid) and is_internal_link(kid.Obj) for kid in tree.kids(element)):
            linking.update((*ancestors, element))
    for element, _ in tree.elements:
        if element.tag != "/L":
            continue
        items = [item for item in tree.kids(element)
                 if isinstance(item, Element) and item.tag == "/LI"]
        if items and all(item in linking for item in items):
            tree.set_tag(element, pikepdf.Name.TOC)
            for item in items:
                _to_toc_item(document, item, tree)


def _to_toc_item(document: pikepdf.Pdf, item: Element, tree: Tree) -> None:
    """``LI > LBody > Link`` becomes ``TOCI > Reference > Link`` (LBody has no place in TOCI)."""
    tree.set_tag(item, pikepdf.Name.TOCI)
    found = []
    for kid in tree.kids(item):
        lbody = isinstance(kid, Element) and kid.tag == "/LBody"
        for part in tree.kids(kid) if lbody else [kid]:
            if isinstance(part, Element) and part.tag == "/Link":
                link = part
                part = tree.new_element(document, pikepdf.Name.Reference, item, [link])
                link.obj.P = part.obj
            elif isinstance(part, Element):
                part.obj.P = item.obj
            found.append(part)
    tree.set_kids(item, found)


def demote_empty_headers(tree: Tree) -> None:
    """A ``TH`` holding no content becomes a ``TD``, and no cell names it as its header."""
    dropped = []
    cells = []
    for element, _ in tree.elements:
        if element.tag == "/TH" and not _has_content(element, tree):
            tree.set_tag(element, pikepdf.Name.TD)
            if "/ID" in element.obj:
                dropped.append(bytes(element.obj.ID))
                del element.obj["/ID"]
        if element.tag in ("/TD", "/TH"):
            cells.append(element)
    if not dropped:
        return
    for cell in cells:
        attributes = cell.obj.get("/A")
        headers = attributes.get("/Headers") if isinstance(attributes, pikepdf.Dictionary) else None
        if isinstance(headers, pikepdf.Array):
            cell.obj.A.Headers = pikepdf.Array([h for h in headers if bytes(h) not in dropped])


def _has_content(element, tree: Tree) -> bool:
    for item in tree.kids(element):
        if isinstance(item, int) or (isinstance(item, pikepdf.Dictionary)
                                     and item.get("/Type") in CONTENT_ITEMS):
            return True
        if isinstance(item, Element) and _has_content(item, tree):
            return True
    return False


def set_language(document: pikepdf.Pdf, language: str) -> None:
    """``/Lang`` in the catalog (if missing) and ``dc:language`` in the XMP metadata."""
    if not re.fullmatch(r"[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*", language or ""):
        return
    if not str(document.Root.get("/Lang", "")):
        document.Root.Lang = pikepdf.String(language)
    with document.open_metadata(set_pikepdf_as_editor=False, update_docinfo=False) as meta:
        meta["dc:language"] = [str(document.Root.Lang)]
