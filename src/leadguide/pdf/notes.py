"""Footnotes tagged as ``Note``s, their links described in words.

Markdown footnotes (Python-Markdown, Pandoc, GitHub) are an ordered list whose every item ends
with a link back to where the note is referred to, drawn as an arrow ("↩"). WeasyPrint tags
them ``L``/``LI`` (and the contents step would take a list whose items all link into the
document for a table of contents). Here such a list becomes a ``Div`` of ``Note``s (each with
the ``/ID`` PDF/UA-1 asks of a note); the back-link is read "Back to the text (page 5)", not
"↩ (page 5)", and a reference drawn as a bare number ("1") that leads to a note's page is
read "Note 1 (page 6)".
"""
from __future__ import annotations

import re

import pikepdf

from .linktags import is_objr, visible_text
from .marked import Texts
from .structtree import Element, Tree

BACK = "Back to the text"
_WORDLESS = re.compile(r"[^\w]+")
_NUMBER = re.compile(r"\[?\(?(\w{1,3})\)?\]?")


def tag_notes(tree: Tree, texts: Texts) -> None:
    """Footnote lists become notes; their back-links and the references to them are
    described in words (run after ``linktags.join_links``, before the contents step)."""
    note_pages: set[int] = set()
    for element, _ in tree.elements:
        if element.tag != "/L":
            continue
        items = [i for i in tree.kids(element) if isinstance(i, Element) and i.tag == "/LI"]
        backs = [_back_link(item, tree, texts) for item in items]
        if not items or not all(backs):
            continue
        tree.set_tag(element, pikepdf.Name.Div)
        for item, back in zip(items, backs):
            _to_note(item, tree)
            _describe(back, tree, BACK)
            if item.page is not None:
                note_pages.add(item.page)
    if note_pages:
        _describe_references(tree, texts, note_pages)


def _back_link(item: Element, tree: Tree, texts: Texts) -> Element | None:
    """The item's last link, if it is drawn as a symbol, not words (a back-link)."""
    links = [e for e in _descendants(item, tree) if e.tag == "/Link"]
    if not links:
        return None
    text = visible_text(links[-1], texts, tree).strip()
    return links[-1] if text and _WORDLESS.fullmatch(text) else None


def _descendants(element: Element, tree: Tree, depth: int = 0):
    for kid in tree.kids(element):
        if isinstance(kid, Element) and depth < 32:
            yield kid
            yield from _descendants(kid, tree, depth + 1)


def _to_note(item: Element, tree: Tree) -> None:
    """``LI`` → ``Note`` with an ``/ID``; its label a ``Span``, its body's kids its own."""
    tree.set_tag(item, pikepdf.Name.Note)
    if "/ID" not in item.obj:
        item.obj.ID = pikepdf.String(f"note-{item.key[0]}-{item.key[1]}")
    kids = []
    for kid in tree.kids(item):
        if isinstance(kid, Element) and kid.tag == "/Lbl":
            tree.set_tag(kid, pikepdf.Name.Span)
        if isinstance(kid, Element) and kid.tag == "/LBody":
            tree.set_tag(kid, pikepdf.Name.Div)
        kids.append(kid)
    tree.set_kids(item, kids)


def _describe(link: Element, tree: Tree, words: str) -> None:
    """The link read as ``words`` (its element's ``/Alt``) plus where it goes (the page its
    annotations' ``/Contents`` name)."""
    link.obj.Alt = pikepdf.String(words)
    for item in tree.kids(link):
        if is_objr(item):
            annotation = item.Obj
            where = re.search(r"\(([^()]*)\)$", str(annotation.get("/Contents", "")))
            annotation.Contents = pikepdf.String(f"{words} ({where.group(1)})" if where
                                                 else words)


def _describe_references(tree: Tree, texts: Texts, note_pages: set[int]) -> None:
    """A link drawn as a bare number or letter that leads to a page with a note."""
    numbers = {str(n + 1) for n in note_pages}
    for element, _ in tree.elements:
        if element.tag != "/Link" or "/Alt" in element.obj:
            continue
        mark = _NUMBER.fullmatch(visible_text(element, texts, tree).strip())
        annotations = [i.Obj for i in tree.kids(element) if is_objr(i)]
        contents = str(annotations[0].get("/Contents", "")) if annotations else ""
        page = re.search(r"\(page (\w+)\)$", contents)
        if mark and page and page.group(1) in numbers:
            _describe(element, tree, f"Note {mark.group(1)}")
