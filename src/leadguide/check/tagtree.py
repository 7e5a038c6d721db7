"""The PDF's tag tree read with pikepdf: what a screen reader can reach, and what it cannot.

Content streams (and the form XObjects they draw) are walked operator by operator, keeping the
stack of marked-content sequences: text shown inside a sequence with an MCID that the structure
tree refers to is reachable; inside ``/Artifact`` it is decoration; anything else is text a
screen reader never reads. An MCID inside a form XObject belongs to the form's own stream, so
only an MCR naming the form (``/Stm``) reaches it: a page MCID of the same number does not
(WeasyPrint's transparency groups for CSS ``opacity`` are like that).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pikepdf

from ..pdf.linktags import is_internal_link
from ..pdf.structtree import Tree, as_list, kids

_TEXT_OPS = {"Tj", "TJ", "'", '"'}
_ID_LIKE = re.compile(r"^(?:[a-z][a-z0-9+.-]*:\S*|#?[\w:./-]+)$", re.I)
_MAX_FORM_DEPTH = 8

Key = tuple[tuple[int, int], int]  # (objgen of the page or form whose stream holds it, MCID)


@dataclass
class PageText:
    """What one page's content streams show: text runs outside the tags, MCIDs with text."""

    untagged: int = 0  # text-showing operators in no MCID sequence and no artifact
    with_text: set[Key] = field(default_factory=set)


@dataclass(frozen=True)
class LinkAnnotation:
    page: int
    contents: str
    tag: str | None  # the structure element the annotation hangs off, if any


@dataclass
class TagTree:
    """The tag tree's facts the checks need."""

    pages: dict[int, PageText]
    referenced: set[Key]  # marked content the structure tree reaches from its root
    links: list[LinkAnnotation]
    empty_headers: list[int]  # pages with a TH holding no text
    nested_links: list[int]  # pages with a Link element inside another
    contents_lists: int  # TOC elements holding TOCI items with links
    untagged_contents: list[int]  # pages with a list of internal links tagged L, not TOC
    xmp_language: str

    def unreachable(self) -> dict[int, int]:
        """Page → text runs no structure element reaches (untagged, or an MCID the tree
        does not refer to)."""
        found = {}
        for number, text in self.pages.items():
            orphans = len(text.with_text - self.referenced)
            if text.untagged or orphans:
                found[number] = text.untagged + orphans
        return found


def read_tag_tree(path: Path) -> TagTree:
    with pikepdf.open(path) as pdf:
        numbers = {page.objgen: n for n, page in enumerate(pdf.pages, start=1)}
        pages = {n: page_text(page) for n, page in enumerate(pdf.pages, start=1)}
        root = pdf.Root.get("/StructTreeRoot")
        tree = _Tree(numbers, pages)
        parents: dict[int, str] = {}
        if root is not None:
            tree.walk(root.get("/K"), None, ())
            parents = _parent_tags(root)
        links = [LinkAnnotation(n, str(annot.get("/Contents", "")),
                                parents.get(int(annot["/StructParent"]))
                                if "/StructParent" in annot else None)
                 for n, page in enumerate(pdf.pages, start=1)
                 for annot in page.obj.get("/Annots", [])
                 if annot.get("/Subtype") == "/Link"]
        return TagTree(pages, tree.referenced, links, tree.empty_headers, tree.nested_links,
                       tree.contents_lists, tree.untagged_contents, _xmp_language(pdf))


def page_text(page: pikepdf.Page) -> PageText:
    found = PageText()
    _walk_stream(page.obj, page.obj.get("/Resources", pikepdf.Dictionary()), [], found,
                 page.objgen, 0)
    return found


def _walk_stream(source, resources, stack: list, found: PageText, owner: tuple[int, int],
                 depth: int) -> None:
    """``stack`` holds, per open sequence, its key, ``"artifact"`` or None."""
    if depth > _MAX_FORM_DEPTH:
        return
    for operands, operator in pikepdf.parse_content_stream(source):
        op = str(operator)
        if op in ("BDC", "BMC"):
            stack.append(_sequence(operands, resources, owner))
        elif op == "EMC" and stack:
            stack.pop()
        elif op in _TEXT_OPS:
            mark = next((s for s in reversed(stack) if s is not None), None)
            if mark is None:
                found.untagged += 1
            elif mark != "artifact":
                found.with_text.add(mark)
        elif op == "Do" and operands:
            xobject = resources.get("/XObject", {}).get(str(operands[0]))
            if isinstance(xobject, pikepdf.Stream) and xobject.get("/Subtype") == "/Form":
                inner = xobject.get("/Resources", resources)
                _walk_stream(xobject, inner, list(stack), found, xobject.objgen, depth + 1)


def _sequence(operands, resources, owner: tuple[int, int]):
    tag = str(operands[0]) if operands else ""
    if tag == "/Artifact":
        return "artifact"
    if len(operands) > 1:
        props = operands[1]
        if isinstance(props, pikepdf.Name):
            props = resources.get("/Properties", {}).get(str(props))
        if isinstance(props, pikepdf.Dictionary) and "/MCID" in props:
            return owner, int(props["/MCID"])
    return None


class _Tree:
    """One walk over the structure tree from its root, gathering what the checks need."""

    def __init__(self, numbers: dict, pages: dict[int, PageText]) -> None:
        self.numbers = numbers
        self.texts: set[Key] = set().union(*(p.with_text for p in pages.values()))
        self.referenced: set[Key] = set()
        self.empty_headers: list[int] = []
        self.nested_links: list[int] = []
        self.contents_lists = 0
        self.untagged_contents: list[int] = []
        self.seen: set[tuple[int, int]] = set()

    def walk(self, k_value, page, ancestors: tuple[str, ...]) -> tuple[bool, bool]:
        """Record what the elements below reach; return (any text, any internal link)."""
        has_text = has_link = False
        for kid in as_list(k_value):
            if isinstance(kid, int):
                key = (page or (0, 0), int(kid))
                self.referenced.add(key)
                has_text |= key in self.texts
            elif isinstance(kid, pikepdf.Dictionary):
                text, link = self.item(kid, page, ancestors)
                has_text |= text
                has_link |= link
        return has_text, has_link

    def item(self, kid, page, ancestors: tuple[str, ...]) -> tuple[bool, bool]:
        kid_page = kid["/Pg"].objgen if "/Pg" in kid else page
        kind = kid.get("/Type")
        if kind == "/MCR" or ("/MCID" in kid and "/S" not in kid):
            owner = kid["/Stm"].objgen if "/Stm" in kid else kid_page
            key = (owner or (0, 0), int(kid["/MCID"]))
            self.referenced.add(key)
            return key in self.texts, False
        if kind == "/OBJR":
            return True, is_internal_link(kid.get("/Obj"))
        if "/S" not in kid or (kid.is_indirect and kid.objgen in self.seen):
            return False, False
        if kid.is_indirect:
            self.seen.add(kid.objgen)
        tag = str(kid["/S"])
        number = self.numbers.get(kid_page, 0)
        if tag == "/Link" and "/Link" in ancestors:
            self.nested_links.append(number)
        text, link = self.walk(kid.get("/K"), kid_page, (*ancestors, tag))
        if tag == "/TH" and not text:
            self.empty_headers.append(number)
        if tag == "/TOC" and link:
            self.contents_lists += 1
        if tag == "/L" and self._all_items_link(kid):
            self.untagged_contents.append(number)
        return text, link

    def _all_items_link(self, element) -> bool:
        items = [k for k in kids(element)
                 if isinstance(k, pikepdf.Dictionary) and k.get("/S") == "/LI"]
        return bool(items) and all(_holds_internal_link(item, 0) for item in items)


def _holds_internal_link(element, depth: int) -> bool:
    if depth > 32:
        return False
    for kid in kids(element):
        if isinstance(kid, pikepdf.Dictionary):
            if kid.get("/Type") == "/OBJR" and is_internal_link(kid.get("/Obj")):
                return True
            if "/S" in kid and _holds_internal_link(kid, depth + 1):
                return True
    return False


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


def _xmp_language(pdf: pikepdf.Pdf) -> str:
    try:
        languages = pdf.open_metadata().get("dc:language")
    except Exception:  # unreadable XMP is reported as no language
        return ""
    if isinstance(languages, (list, set, tuple)):
        return ", ".join(sorted(str(language) for language in languages))
    return str(languages or "")


def described(contents: str) -> bool:
    """A link's /Contents a listener understands: words, not an id or a raw URL."""
    text = contents.strip()
    return bool(text) and not _ID_LIKE.match(text)


def stale_parent_entries(pdf: pikepdf.Pdf) -> dict[int, int]:
    """Page number → MCIDs whose parent-tree entry names an element that does not hold them
    (a validator or screen reader going from the text to its element finds a stale one)."""
    root = pdf.Root.get("/StructTreeRoot")
    if root is None or "/ParentTree" not in root:
        return {}
    pages = {page.objgen: index for index, page in enumerate(pdf.pages)}
    tree = Tree(root, pages)
    holder: dict[tuple[int | None, int], tuple[int, int]] = {}
    for element, _ in tree.elements:
        for kid in tree.kids(element):
            if isinstance(kid, int):
                holder[(element.page, kid)] = element.key
            elif (isinstance(kid, pikepdf.Dictionary) and kid.get("/Type") == "/MCR"
                  and "/Stm" not in kid):
                page = pages.get(kid.Pg.objgen) if "/Pg" in kid else element.page
                holder[(page, int(kid.MCID))] = element.key
    entries = {int(key): value for key, value in pikepdf.NumberTree(root.ParentTree).items()}
    found: dict[int, int] = {}
    for index, page in enumerate(pdf.pages):
        mapped = entries.get(page.obj.get("/StructParents"))
        if not isinstance(mapped, pikepdf.Array):
            continue
        for mcid, element in enumerate(mapped):
            if (isinstance(element, pikepdf.Dictionary)
                    and holder.get((index, mcid)) != element.objgen):
                found[index + 1] = found.get(index + 1, 0) + 1
    return found
