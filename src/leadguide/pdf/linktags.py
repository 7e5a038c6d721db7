"""One ``Link`` element per link, holding every annotation, described in words plus where it goes.
"""
from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

import pikepdf

from .marked import Texts
from .structtree import Element, Tree


def join_links(document: pikepdf.Pdf, tree: Tree, parents: pikepdf.NumberTree,
               texts: Texts) -> None:
    """One ``Link`` per link: inner link elements become spans, annotations under a span move
    to the link around it, and every annotation of a link is described in words."""
    outer_links: dict[Element, None] = {}  # in the order first met
    is_link = {element: element.tag == "/Link" for element, _ in tree.elements}
    moves = []
    for element, ancestors in tree.elements:
        outer = next((a for a in ancestors if is_link[a]), None)
        if is_link[element] and outer is not None:
            tree.set_tag(element, pikepdf.Name.Span)
        objrs = [item for item in tree.kids(element) if is_objr(item) and _is_link(item)]
        if outer is None and (objrs or is_link[element]):
            tree.set_tag(element, pikepdf.Name.Link)
            is_link[element] = True
            outer_links[element] = None
        elif objrs:
            outer_links[outer] = None
            moves.append((element, outer, objrs))
    for element, outer, objrs in moves:
        tree.set_kids(element, [item for item in tree.kids(element) if not is_objr(item)])
        tree.set_kids(outer, tree.kids(outer) + objrs)
    for merged in _join_fragments(outer_links, tree, document, parents):
        del outer_links[merged]
    for link in outer_links:
        annotations = [item.Obj for item in tree.kids(link) if is_objr(item)]
        words = describe(link, annotations, texts, tree, document)
        for annotation in annotations:
            if words:
                annotation.Contents = pikepdf.String(words)
            if "/StructParent" in annotation:
                parents[int(annotation.StructParent)] = link.obj


def _join_fragments(links: dict, tree: Tree, document: pikepdf.Pdf,
                    parent_tree: pikepdf.NumberTree) -> list:
    """A link broken over lines is one link element per line, side by side in one parent:
    each run of them with the same target becomes one, and the parent tree names it for
    every MCID it takes over. Returns the elements merged away."""
    merged = []
    # read whole: the joined PDF's number tree is not always sorted, so lookups by key miss
    page_parents = {int(key): value for key, value in parent_tree.items()}
    parents = {link.obj.P.objgen: link.obj.P for link in links if "/P" in link.obj}
    for parent in map(tree.element, parents.values()):
        items, last = [], None
        for item in tree.kids(parent):
            target = (_target(item, tree) if isinstance(item, Element) and item in links
                      else None)
            if target is not None and last is not None and target == _target(last, tree):
                taken = [_take_over(kid, item, last, document, page_parents)
                         for kid in tree.kids(item)]
                tree.set_kids(last, tree.kids(last) + taken)
                merged.append(item)
                continue
            items.append(item)
            last = item if target is not None else None
        if merged:
            tree.set_kids(parent, items)
    return merged


def _take_over(kid, fragment: Element, link: Element, document: pikepdf.Pdf,
               page_parents: dict[int, pikepdf.Object]):
    """A kid of a link fragment, moved into the link: an element names its new parent, an
    MCID is re-pointed in the parent tree (and becomes an MCR with its page if the fragment
    was on another page: a link may wrap over a page break)."""
    if isinstance(kid, Element):
        kid.obj.P = link.obj
        return kid
    if not isinstance(kid, int) or fragment.page is None:
        return kid
    page = document.pages[fragment.page]
    mapped = page_parents.get(page.obj.get("/StructParents"))
    if isinstance(mapped, pikepdf.Array) and kid < len(mapped):
        mapped[kid] = link.obj
    if fragment.page == link.page:
        return kid
    return pikepdf.Dictionary(Type=pikepdf.Name.MCR, Pg=page.obj, MCID=kid)


def _target(link, tree: Tree) -> str | None:
    for item in tree.kids(link):
        if is_objr(item) and _is_link(item):
            annotation = item.Obj
            action = annotation.get("/A")
            if isinstance(action, pikepdf.Dictionary) and "/URI" in action:
                return "uri:" + str(action.URI)
            return "dest:" + str(annotation.get("/Dest", ""))
    return None


def is_objr(item) -> bool:
    return isinstance(item, pikepdf.Dictionary) and item.get("/Type") == "/OBJR"


def _is_link(objr) -> bool:
    target = objr.get("/Obj")
    return isinstance(target, pikepdf.Dictionary) and target.get("/Subtype") == "/Link"


def describe(link, annotations: list, texts: Texts, tree: Tree, document: pikepdf.Pdf) -> str:
    """The link's visible text, then where it goes: "(page 12)", "(opens example.com)"."""
    text = joined_lines(visible_text(link, texts, tree).replace("\x02", "-"))
    where, alone = _where(annotations[0], document) if annotations else ("", "")
    if not text:
        return alone
    if not where or text.endswith(where):
        return text
    if where.startswith("page "):  # a contents entry ends with the page number it names
        number = re.escape(where.removeprefix("page "))
        text = re.sub(rf"\s*(?:\bpp?\.|\bpage)?\s*{number}$", "", text) or text
    return f"{text} ({where})"


_ADDRESS = re.compile(r"(?:[a-z][a-z0-9+.-]*:|www\.)\S+|\S+@\S+\.\S+|\S+/\S*", re.I)


def joined_lines(text: str) -> str:
    """A link's text with its lines joined: a line break after a hyphen or inside an
    address (a URL, an email, a path: text with no space in it) joins without a space; any
    other stands for the space the line broke at."""
    text = re.sub(r"-\n", "-", text.strip())
    if "\n" in text and _ADDRESS.fullmatch(text.replace("\n", "")):
        return text.replace("\n", "")
    return " ".join(text.split())


def visible_text(element, texts: Texts, tree: Tree, page: int | None = None) -> str:
    """The text of an element's marked content, in order; a figure counts as its /Alt."""
    page = page if element.page is None else element.page
    if element.tag == "/Figure":
        return str(element.obj.get("/Alt", ""))
    found = []
    for item in tree.kids(element):
        if isinstance(item, int):
            found.append(texts.get(page, {}).get(int(item), ""))
        elif isinstance(item, pikepdf.Dictionary) and item.get("/Type") == "/MCR":
            where = tree.pages.get(item.Pg.objgen, page) if "/Pg" in item else page
            found.append(texts.get(where, {}).get(int(item.MCID), ""))
        elif isinstance(item, Element):
            found.append(visible_text(item, texts, tree, page))
    return "".join(found)


def _where(annotation, document: pikepdf.Pdf) -> tuple[str, str]:
    """Where a link goes, said after its text ("page 12", "opens example.com") and said
    alone, for a link with no text ("link to page 12")."""
    action = annotation.get("/A")
    if isinstance(action, pikepdf.Dictionary) and action.get("/S") == "/URI":
        return _uri_words(str(action.URI))
    dest = annotation.get("/Dest")
    if dest is None and isinstance(action, pikepdf.Dictionary) and action.get("/S") == "/GoTo":
        dest = action.get("/D")
    number = _dest_page(dest, document)
    return (f"page {number}", f"link to page {number}") if number else ("", "")


def _uri_words(uri: str) -> tuple[str, str]:
    parts = urlsplit(uri)
    if parts.scheme == "mailto":
        address = unquote(parts.path)
        return f"email {address}", f"email {address}"
    if parts.scheme == "tel":
        number = unquote(parts.path)
        return f"call {number}", f"call {number}"
    host = (parts.hostname or "").removeprefix("www.")
    return (f"opens {host}", f"link to {host}") if host else ("", "")


def _dest_page(dest, document: pikepdf.Pdf) -> str | None:
    if isinstance(dest, (pikepdf.String, pikepdf.Name)):
        names = document.Root.get("/Names", {}).get("/Dests")
        if names is None:
            return None
        tree = pikepdf.NameTree(names)
        name = str(dest).lstrip("/")
        dest = tree.get(name)
        if isinstance(dest, pikepdf.Dictionary):
            dest = dest.get("/D")
    if isinstance(dest, pikepdf.Array) and len(dest) and isinstance(dest[0], pikepdf.Dictionary):
        for index, page in enumerate(document.pages):
            if page.objgen == dest[0].objgen:
                return str(page.label or index + 1)
    return None


def is_internal_link(annotation) -> bool:
    if not isinstance(annotation, pikepdf.Dictionary) or annotation.get("/Subtype") != "/Link":
        return False
    action = annotation.get("/A")
    return "/Dest" in annotation or (isinstance(action, pikepdf.Dictionary)
                                     and action.get("/S") == "/GoTo")
