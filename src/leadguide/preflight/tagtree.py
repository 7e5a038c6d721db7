"""The PDF's tag tree read with pikepdf: what a screen reader can reach, and what it cannot.

Content streams (and the form XObjects they draw) are walked operator by operator, keeping the
stack of marked-content sequences: text shown inside a sequence with an MCID that the structure
tree refers to is reachable; inside ``/Artifact`` it is decoration; anything else is text a
screen reader never reads (WeasyPrint's transparency groups for CSS ``opacity`` are like that).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pikepdf

_TEXT_OPS = {"Tj", "TJ", "'", '"'}
_ID_LIKE = re.compile(r"^(?:[a-z][a-z0-9+.-]*:\S*|#?[\w:.-]+)$", re.I)


@dataclass
class PageText:
    """What one page's content streams show: text runs outside the tags, MCIDs with text."""

    untagged: int = 0  # text-showing operators in no MCID sequence and no artifact
    mcids_with_text: set[int] = field(default_factory=set)
    mcids: set[int] = field(default_factory=set)


@dataclass(frozen=True)
class LinkAnnotation:
    page: int
    contents: str
    tag: str | None  # the structure element the annotation hangs off, if any


@dataclass
class TagTree:
    """The tag tree's facts the checks need."""

    pages: dict[int, PageText]
    referenced: set[tuple[int, int]]  # (page, mcid) the structure tree points at
    links: list[LinkAnnotation]
    empty_headers: list[int]  # pages with a TH holding no text

    def unreachable(self) -> dict[int, int]:
        """Page → text runs no structure element reaches (untagged, or an MCID the tree
        does not refer to)."""
        found = {}
        for number, text in self.pages.items():
            orphans = {m for m in text.mcids_with_text if (number, m) not in self.referenced}
            if text.untagged or orphans:
                found[number] = text.untagged + len(orphans)
        return found


def read_tag_tree(path: Path) -> TagTree:
    with pikepdf.open(path) as pdf:
        numbers = {page.objgen: n for n, page in enumerate(pdf.pages, start=1)}
        pages = {n: page_text(page) for n, page in enumerate(pdf.pages, start=1)}
        root = pdf.Root.get("/StructTreeRoot")
        referenced: set[tuple[int, int]] = set()
        headers: list[int] = []
        parents: dict[int, str] = {}
        if root is not None:
            _walk(root.get("/K"), None, numbers, referenced, headers, pages)
            parents = _parent_tags(root)
        links = [LinkAnnotation(n, str(annot.get("/Contents", "")),
                                parents.get(int(annot["/StructParent"]))
                                if "/StructParent" in annot else None)
                 for n, page in enumerate(pdf.pages, start=1)
                 for annot in page.obj.get("/Annots", [])
                 if annot.get("/Subtype") == "/Link"]
        return TagTree(pages, referenced, links, headers)


def page_text(page: pikepdf.Page) -> PageText:
    found = PageText()
    _walk_stream(page.obj, page.obj.get("/Resources", pikepdf.Dictionary()), [], found, 0)
    return found


def _walk_stream(source, resources, stack: list, found: PageText, depth: int) -> None:
    """``stack`` holds, per open sequence, its MCID, ``"artifact"`` or None."""
    if depth > 8:
        return
    for operands, operator in pikepdf.parse_content_stream(source):
        op = str(operator)
        if op in ("BDC", "BMC"):
            stack.append(_sequence(operands, resources))
            if isinstance(stack[-1], int):
                found.mcids.add(stack[-1])
        elif op == "EMC" and stack:
            stack.pop()
        elif op in _TEXT_OPS:
            owner = next((s for s in reversed(stack) if s is not None), None)
            if owner is None:
                found.untagged += 1
            elif isinstance(owner, int):
                found.mcids_with_text.add(owner)
        elif op == "Do":
            xobject = resources.get("/XObject", {}).get(str(operands[0]))
            if xobject is not None and xobject.get("/Subtype") == "/Form":
                inner = xobject.get("/Resources", resources)
                _walk_stream(xobject, inner, list(stack), found, depth + 1)


def _sequence(operands, resources):
    tag = str(operands[0]) if operands else ""
    if tag == "/Artifact":
        return "artifact"
    if len(operands) > 1:
        props = operands[1]
        if isinstance(props, pikepdf.Name):
            props = resources.get("/Properties", {}).get(str(props))
        if isinstance(props, pikepdf.Dictionary) and "/MCID" in props:
            return int(props["/MCID"])
    return None


def _walk(kids, element, numbers: dict, referenced: set, headers: list,
          pages: dict[int, PageText], page: int | None = None) -> tuple[int, bool]:
    """Record the MCIDs the tree refers to; return (page, whether any text) below."""
    if kids is None:
        return page or 0, False
    items = list(kids) if isinstance(kids, pikepdf.Array) else [kids]
    has_text = False
    for kid in items:
        if isinstance(kid, int):
            number = page or 0
            referenced.add((number, int(kid)))
            has_text |= int(kid) in pages.get(number, PageText()).mcids_with_text
        elif isinstance(kid, pikepdf.Dictionary):
            kid_page = numbers.get(kid["/Pg"].objgen, page) if "/Pg" in kid else page
            if kid.get("/Type") == "/MCR" or "/MCID" in kid:
                referenced.add((kid_page or 0, int(kid["/MCID"])))
                has_text |= int(kid["/MCID"]) in pages.get(kid_page or 0,
                                                            PageText()).mcids_with_text
            elif kid.get("/Type") == "/OBJR":
                has_text = True  # an annotation: a link or a form field
            elif "/S" in kid:
                where, text = _walk(kid.get("/K"), kid, numbers, referenced, headers, pages,
                                    kid_page)
                if str(kid["/S"]) == "/TH" and not text:
                    headers.append(where)
                has_text |= text
    return page or 0, has_text


def _parent_tags(root) -> dict[int, str]:
    """StructParent key → the tag of the element it names (for annotations)."""
    tree = root.get("/ParentTree")
    if tree is None:
        return {}
    found: dict[int, str] = {}
    for key, value in pikepdf.NumberTree(tree).items():
        if isinstance(value, pikepdf.Dictionary) and "/S" in value:
            found[int(key)] = str(value["/S"])[1:]
    return found


def described(contents: str) -> bool:
    """A link's /Contents a listener understands: words, not an id or a raw URL."""
    text = contents.strip()
    return bool(text) and not _ID_LIKE.match(text)
