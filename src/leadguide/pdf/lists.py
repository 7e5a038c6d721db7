"""Lists as PDF/UA-1 nests them: an ``L`` holds only ``LI`` and ``Caption``, an ``LI`` only
``Lbl`` and ``LBody``.

WeasyPrint 70 breaks both: a list it lays out in pieces comes out as lists inside a list
(``L > L``), and an item with no marker (``list-style: none``, a Markdown item holding
paragraphs) holds its ``P``s and ``Div``s straight under ``LI``.
"""
from __future__ import annotations

import pikepdf

from .structtree import Element, Item, Tree

LIST_KIDS = ("/LI", "/Caption")
ITEM_KIDS = ("/Lbl", "/LBody")


def mend_list_kids(document: pikepdf.Pdf, tree: Tree) -> None:
    """A list straight inside a list gives it its items; any other element gets an
    ``LI > LBody`` of its own."""
    for element, _ in tree.elements:
        if element.tag != "/L" or _only(tree.kids(element), LIST_KIDS):
            continue
        mended: list[Item] = []
        for item in tree.kids(element):
            if not isinstance(item, Element) or item.tag in LIST_KIDS:
                mended.append(item)
            elif item.tag == "/L" and all(isinstance(kid, Element) for kid in tree.kids(item)):
                mended += _adopt(tree.kids(item), element)
                tree.set_kids(item, [])  # left out of the tree, it holds nothing
            else:
                wrapper = tree.new_element(document, pikepdf.Name.LI, element, [item])
                tree.set_kids(wrapper, [_body(document, tree, wrapper, [item])])
                mended.append(wrapper)
        tree.set_kids(element, mended)


def mend_item_kids(document: pikepdf.Pdf, tree: Tree) -> None:
    """The elements a list item holds beside ``Lbl`` and ``LBody`` go into its ``LBody``
    (made if it has none), in the order they were."""
    for element, _ in tree.elements:
        if element.tag != "/LI" or _only(tree.kids(element), ITEM_KIDS):
            continue
        items = tree.kids(element)
        body = next((i for i in items if isinstance(i, Element) and i.tag == "/LBody"), None)
        strays = [i for i in items if isinstance(i, Element) and i.tag not in ITEM_KIDS]
        if body is None:
            body = _body(document, tree, element, strays)
        else:
            at = items.index(body)
            before = [i for i in strays if items.index(i) < at]
            after = [i for i in strays if items.index(i) > at]
            tree.set_kids(body, [*before, *tree.kids(body), *after])
            _adopt(strays, body)
        kept = [i for i in items if not (isinstance(i, Element) and i.tag not in ITEM_KIDS)
                and i is not body]
        labels = [i for i in kept if isinstance(i, Element)]
        others = [i for i in kept if not isinstance(i, Element)]
        tree.set_kids(element, [*labels, body, *others])


def _only(items: list[Item], tags: tuple[str, ...]) -> bool:
    return all(not isinstance(item, Element) or item.tag in tags for item in items)


def _adopt(kids: list[Element], parent: Element) -> list[Element]:
    for kid in kids:
        kid.obj.P = parent.obj
    return kids


def _body(document: pikepdf.Pdf, tree: Tree, item: Element, kids: list[Element]) -> Element:
    body = tree.new_element(document, pikepdf.Name.LBody, item, kids)
    _adopt(kids, body)
    return body
