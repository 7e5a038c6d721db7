"""What a screen reader announces for a table cell: each form field's cell, with the texts of
the header cells its ``/Headers`` name (pikepdf for the tree, PDFium for the text)."""
from __future__ import annotations

from pathlib import Path

import pikepdf

from leadguide.pdf.marked import mcid_texts
from leadguide.pdf.structtree import as_list


def field_cell_headers(path: Path) -> tuple[dict[str, list[str]], list[str]]:
    """Field name (the cell's text for a cell without a field) → the texts of its cell's
    headers; and each header cell's ``/Scope``."""
    data = path.read_bytes()
    with pikepdf.open(path) as pdf:
        pages = {page.objgen: index for index, page in enumerate(pdf.pages)}
        texts = mcid_texts(data, list(range(len(pdf.pages))))
        headers: dict[bytes, str] = {}
        scopes: list[str] = []
        cells: dict[str, list[bytes]] = {}
        for element in _elements(pdf.Root.StructTreeRoot):
            attributes = element.get("/A")
            attributes = attributes if isinstance(attributes, pikepdf.Dictionary) else {}
            if element.get("/S") == "/TH":
                scopes.append(str(attributes.get("/Scope", "")))
                if "/ID" in element:
                    headers[bytes(element.ID)] = _text(element, pages, texts)
            elif element.get("/S") == "/TD":
                named = [bytes(i) for i in attributes.get("/Headers", [])]
                for name in list(_fields(element)) or [_text(element, pages, texts)]:
                    cells[name] = named
        return ({name: [headers.get(i, "?") for i in ids] for name, ids in cells.items()},
                scopes)


def _elements(root, depth: int = 0):
    for kid in as_list(root.get("/K")):
        if isinstance(kid, pikepdf.Dictionary) and "/S" in kid and depth < 64:
            yield kid
            yield from _elements(kid, depth + 1)


def _text(element, pages, texts) -> str:
    found = []
    page = pages.get(element.Pg.objgen) if "/Pg" in element else None
    for kid in as_list(element.get("/K")):
        if isinstance(kid, int):
            found.append(texts.get(page, {}).get(int(kid), ""))
        elif isinstance(kid, pikepdf.Dictionary) and kid.get("/Type") == "/MCR":
            found.append(texts.get(page, {}).get(int(kid.MCID), ""))
        elif isinstance(kid, pikepdf.Dictionary) and "/S" in kid:
            found.append(_text(kid, pages, texts))
    return " ".join(" ".join(found).split())


def _fields(element, depth: int = 0):
    for kid in as_list(element.get("/K")):
        if not isinstance(kid, pikepdf.Dictionary) or depth > 16:
            continue
        if kid.get("/Type") == "/OBJR" and kid.Obj.get("/Subtype") == "/Widget":
            yield str(kid.Obj.get("/T") or kid.Obj.Parent.get("/T"))
        elif "/S" in kid:
            yield from _fields(kid, depth + 1)
