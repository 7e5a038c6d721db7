"""Marked content in page and form streams: artifacts for what no structure element reaches
(running heads, leaders), MCRs naming the form for text a form XObject draws.
"""
from __future__ import annotations

import re
from typing import Iterator

import pikepdf

from .marked import Texts
from .structtree import Element, Tree


def orphans(document: pikepdf.Pdf, tree: Tree, parents: pikepdf.NumberTree
            ) -> dict[int, set[int]]:
    """Page index → MCIDs whose element the tree never reaches (WeasyPrint builds margin
    boxes' elements, running heads and page numbers, but hangs them nowhere)."""
    reachable = {element.key for element, _ in tree.elements}
    found: dict[int, set[int]] = {}
    for index, page in enumerate(document.pages):
        mapped = _page_parents(page, parents)
        lost = {mcid for mcid, element in enumerate(mapped or [])
                if isinstance(element, pikepdf.Dictionary) and element.objgen not in reachable}
        if lost:
            found[index] = lost
    return found


_LEADER = re.compile(r"[.·…•_\-‧]+")


def leaders(tree: Tree, texts: Texts) -> dict[int, set[int]]:
    """Page index → MCIDs of leader dots (CSS ``leader('. ')``: one run per dot, three or more
    in a row, each the same dot), taken out of the tree: a listener hears no "dot dot dot"."""
    found: dict[int, set[int]] = {}
    for element, _ in tree.elements:
        items = tree.kids(element)
        page = element.page
        runs = [_single_run(item, texts, tree, page) for item in items]
        if not any(run and _LEADER.fullmatch(run[2]) for run in runs):
            continue  # no dot among the kids: they stay as they are
        keep, row = [], []
        for item, run in [*zip(items, runs), (None, None)]:
            if run and (not row or run[2] == row[0][1][2]) and _LEADER.fullmatch(run[2]):
                row.append((item, run))
                continue
            if len(row) >= 3:
                for _, (index, mcid, _) in row:
                    found.setdefault(index, set()).add(mcid)
            else:
                keep += [kid for kid, _ in row]
            row = []
            if run and _LEADER.fullmatch(run[2]):
                row.append((item, run))
            elif item is not None:
                keep.append(item)
        if len(keep) != len(items):
            tree.set_kids(element, keep)
    return found


def _single_run(item, texts: Texts, tree: Tree, page: int | None
                ) -> tuple[int, int, str] | None:
    """(page index, MCID, stripped text) of a marked run: an MCID, or an element holding
    exactly one."""
    if isinstance(item, Element):  # its own page (None if it names none), its one kid
        inner = tree.kids(item)
        page, item = item.page, inner[0] if len(inner) == 1 else None
    if not isinstance(item, int) or page is None:
        return None
    text = texts.get(page, {}).get(int(item))
    return (page, int(item), text.strip()) if text and text.strip() else None


def make_artifacts(document: pikepdf.Pdf, artifacts: dict[int, set[int]],
                   parents: pikepdf.NumberTree) -> None:
    """The runs become ``/Artifact`` marked content and leave the parent tree."""
    for index, mcids in artifacts.items():
        page = document.pages[index]
        _rewrite(page.obj, lambda mcid: "artifact" if mcid in mcids else None, document)
        mapped = _page_parents(page, parents)
        for mcid in mcids:
            if mapped is not None and mcid < len(mapped):
                mapped[mcid] = None


def _page_parents(page, parents: pikepdf.NumberTree):
    key = page.obj.get("/StructParents")
    if key is None or int(key) not in parents:
        return None
    mapped = parents[int(key)]
    return mapped if isinstance(mapped, pikepdf.Array) else None


# An opener of marked content with an MCID, as WeasyPrint writes it: ``/Span <</MCID 7>> BDC``.
# Text is shown with hex strings, so the pattern cannot match inside a text string.
_OPENER = re.compile(rb"/([^\s/<>\[\]()]+)\s*<<\s*/MCID\s+(\d+)\s*>>\s*BDC")

_DRAW_FORM = re.compile(rb"/([^\s/<>\[\]()]+)\s+Do\b")


def _rewrite(stream_owner, change, document: pikepdf.Pdf) -> None:
    """Rewrite the marked-content openers of a page or form: ``change(mcid)`` returns
    ``"artifact"``, a new MCID, or None to keep it."""
    stream = stream_owner if isinstance(stream_owner, pikepdf.Stream) else None
    data = stream.read_bytes() if stream is not None else _page_bytes(stream_owner)

    def replaced(match: re.Match) -> bytes:
        verdict = change(int(match.group(2)))
        if verdict == "artifact":
            return b"/Artifact BMC"
        if isinstance(verdict, int):
            return b"/%s <</MCID %d>> BDC" % (match.group(1), verdict)
        return match.group(0)

    new = _OPENER.sub(replaced, data)
    if new == data:
        return
    if stream is not None:
        stream.write(new)
    else:
        stream_owner.Contents = document.make_stream(new)


def _page_bytes(page) -> bytes:
    contents = page.get("/Contents")
    if isinstance(contents, pikepdf.Array):
        return b"\n".join(part.read_bytes() for part in contents)
    return contents.read_bytes() if contents is not None else b""


def _mcids(data: bytes) -> list[int]:
    return [int(match.group(2)) for match in _OPENER.finditer(data)]


def _mcid(operands) -> int | None:
    if len(operands) > 1 and isinstance(operands[1], pikepdf.Dictionary) and "/MCID" in operands[1]:
        return int(operands[1].MCID)
    return None


def map_form_content(document: pikepdf.Pdf, parents: pikepdf.NumberTree, tree: Tree) -> None:
    """Marked content a page draws through a form XObject: numbered within the form, the form
    given ``/StructParents``, and the element's kid made an MCR naming the form (``/Stm``)."""
    next_key = max((int(key) for key, _ in parents.items()), default=-1) + 1
    for page in document.pages:
        key = page.obj.get("/StructParents")
        if key is None or int(key) not in parents:
            continue
        mapped = parents[int(key)]
        for form in _forms_with_mcids(page.obj, page.obj.get("/Resources"), set()):
            numbers: dict[int, int] = {}
            _rewrite(form, lambda mcid: numbers.setdefault(mcid, len(numbers)), document)
            elements = []
            for old, new in sorted(numbers.items(), key=lambda pair: pair[1]):
                element = mapped[old] if old < len(mapped) else None
                elements.append(element if isinstance(element, pikepdf.Dictionary)
                                else None)
                if isinstance(element, pikepdf.Dictionary):
                    _point_at_form(tree.element(element), old, new, page.obj, form, tree)
                    mapped[old] = None
            form.StructParents = next_key
            parents[next_key] = document.make_indirect(pikepdf.Array(elements))
            next_key += 1


def _forms_with_mcids(owner, resources, seen: set) -> Iterator[pikepdf.Stream]:
    if resources is None:
        return
    xobjects = resources.get("/XObject", {})
    data = owner.read_bytes() if isinstance(owner, pikepdf.Stream) else _page_bytes(owner)
    for match in _DRAW_FORM.finditer(data):
        form = xobjects.get("/" + match.group(1).decode("latin-1"))
        if (not isinstance(form, pikepdf.Stream) or form.get("/Subtype") != "/Form"
                or form.objgen in seen or "/StructParents" in form):
            continue
        seen.add(form.objgen)
        yield from _forms_with_mcids(form, form.get("/Resources", resources), seen)
        if _mcids(form.read_bytes()):
            yield form


def _point_at_form(element: Element, old: int, new: int, page, form, tree: Tree) -> None:
    reference = pikepdf.Dictionary(Type=pikepdf.Name.MCR, Pg=page, MCID=new, Stm=form)
    items = list(tree.kids(element))
    for position, item in enumerate(items):
        if isinstance(item, int) and int(item) == old:
            items[position] = reference
        elif (isinstance(item, pikepdf.Dictionary) and item.get("/Type") == "/MCR"
              and int(item.MCID) == old and "/Stm" not in item):
            items[position] = reference
    tree.set_kids(element, items)
