"""A PDF's structure tree read once into Python objects, changed through them (pikepdf).

Every read of a pikepdf object is a call into qpdf (a microsecond or more each): pdftags'
steps, each walking the guide's thousands of elements and their kids again, spent most of
fix_tags' time there. Here each element is read once (its tag, page and kids); the steps read
these ``Element``s and write each change both to them and to the PDF object.
"""
from __future__ import annotations

from typing import Iterator, Union

import pikepdf

_CONTENT_ITEMS = ("/MCR", "/OBJR")
Key = tuple[int, int]  # an indirect object's (number, generation)


def kids(element) -> list:
    return as_list(element.get("/K"))


def as_list(value) -> list:
    """A structure element's /K as a list (it may be absent, one item or an array)."""
    if value is None:
        return []
    return value.as_list() if isinstance(value, pikepdf.Array) else [value]


def is_element(item) -> bool:
    return (isinstance(item, pikepdf.Dictionary) and "/S" in item
            and item.get("/Type") not in _CONTENT_ITEMS)


def tag(element) -> str:
    return str(element.get("/S", ""))


class Element:
    """One structure element: ``obj`` in the PDF, its ``tag`` (``/P``), the index of its
    ``/Pg`` page (None if it names none of the document's pages) and, once read, its kids."""

    __slots__ = ("obj", "key", "tag", "page", "items")

    def __init__(self, obj: pikepdf.Dictionary, key: Key, page: int | None):
        self.obj, self.key, self.tag, self.page = obj, key, tag(obj), page
        self.items: list[Item] | None = None


# A kid: an MCID, an element, or a content item (MCR, OBJR) or anything else, as pikepdf has it.
Item = Union[int, Element, pikepdf.Object]


class Tree:
    """The elements reachable from the root, each with its ancestors (outermost first), in
    the order a depth-first walk meets them; an element reached twice is listed once."""

    def __init__(self, root, pages: dict[Key, int]):
        self.pages = pages  # page objgen -> page index
        self._known: dict[Key, Element] = {}
        self.elements: list[tuple[Element, tuple[Element, ...]]] = list(self._walk(root))

    def _walk(self, root) -> Iterator[tuple[Element, tuple[Element, ...]]]:
        stack = [(item, ()) for item in reversed([self._item(raw) for raw in kids(root)])
                 if isinstance(item, Element)]
        seen: set[int] = set()
        while stack:
            element, ancestors = stack.pop()
            if id(element) in seen:
                continue
            seen.add(id(element))
            yield element, ancestors
            below = (*ancestors, element)
            stack += [(item, below) for item in reversed(self.kids(element))
                      if isinstance(item, Element)]

    def _item(self, raw) -> Item:
        if not isinstance(raw, pikepdf.Dictionary):
            return raw
        key = raw.objgen
        known = self._known.get(key)
        if known is not None:
            return known
        return self._element(raw, key) if is_element(raw) else raw

    def _element(self, raw: pikepdf.Dictionary, key: Key) -> Element:
        page = raw.get("/Pg")
        element = Element(raw, key, self.pages.get(page.objgen)
                          if isinstance(page, pikepdf.Dictionary) else None)
        if key != (0, 0):  # a direct element is one per place it is written
            self._known[key] = element
        return element

    def element(self, raw: pikepdf.Dictionary) -> Element:
        """The element for a PDF object found elsewhere (the parent tree, a /P)."""
        return self._known.get(raw.objgen) or self._element(raw, raw.objgen)

    def kids(self, element: Element) -> list[Item]:
        """The element's kids (read only: change them with ``set_kids``)."""
        if element.items is None:
            element.items = [self._item(raw) for raw in kids(element.obj)]
        return element.items

    def set_kids(self, element: Element, items: list[Item]) -> None:
        element.items = list(items)
        element.obj.K = pikepdf.Array([item.obj if isinstance(item, Element) else item
                                       for item in items])

    def set_tag(self, element: Element, name: pikepdf.Name) -> None:
        element.obj.S = name
        element.tag = str(name)

    def new_element(self, document: pikepdf.Pdf, tag_name: pikepdf.Name, parent: Element,
                    items: list[Element]) -> Element:
        """A new indirect element under ``parent`` holding ``items``, on the page of the
        first (if it names one)."""
        obj = document.make_indirect(pikepdf.Dictionary(
            Type=pikepdf.Name.StructElem, S=tag_name, P=parent.obj,
            K=pikepdf.Array([item.obj for item in items])))
        if items and "/Pg" in items[0].obj:
            obj.Pg = items[0].obj.Pg
        element = self._element(obj, obj.objgen)
        element.items = list(items)
        return element
