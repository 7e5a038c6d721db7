"""Table cells that name their headers: ``/Scope`` on every ``TH``, the right ``/Headers`` on
every ``TD``, rowspans and colspans included.

WeasyPrint 70 writes no ``/Scope`` and walks the grid wrongly once a cell spans rows (a data
cell after "Mon" spanning two header rows names "Him" for "Her", set 1 is "Set 2"). Here each
table's grid is laid out again from its rows as HTML lays it out (a cell takes the first free
slot; a rowspan holds slots in the rows below, within its row group), and each header gets
the scope HTML gives it when ``scope`` is auto: a header in ``THead`` or in a row of headers
heads its column; one in a row with data cells heads its row; one alone across a whole row
of a body heads that row group (WeasyPrint does not carry the HTML ``scope`` into the PDF; the
templates' ``col``/``colgroup``/``row``/``rowgroup`` all agree with these). A data cell's
headers are then its row group's, those left of it in its rows and those above it in its
columns, outermost first.
"""
from __future__ import annotations

from dataclasses import dataclass

import pikepdf

from .structtree import Element, Tree

CELLS = ("/TH", "/TD")
GROUPS = ("/THead", "/TBody", "/TFoot")


@dataclass
class Cell:
    element: Element
    group: int  # the row group's index within the table
    in_head: bool
    row: int
    column: int
    rows: int = 1
    columns: int = 1
    scope: str = ""

    @property
    def header(self) -> bool:
        return self.element.tag == "/TH"

    def spans_rows(self, other: Cell) -> bool:
        return self.row < other.row + other.rows and other.row < self.row + self.rows

    def spans_columns(self, other: Cell) -> bool:
        return (self.column < other.column + other.columns
                and other.column < self.column + self.columns)


def fix_table_headers(tree: Tree) -> None:
    """Every table in the tree: scopes on its headers, headers on its data cells."""
    for element, _ in tree.elements:
        if element.tag == "/Table":
            cells = lay_out_grid(tree, element)
            if any(cell.header for cell in cells):
                _name_headers(cells, element.key)


def lay_out_grid(tree: Tree, table: Element) -> list[Cell]:
    """The table's cells in their grid slots (HTML's table model)."""
    cells: list[Cell] = []
    taken: set[tuple[int, int]] = set()
    row = 0
    for group, (in_head, rows) in enumerate(_row_groups(tree, table)):
        group_end = row + len(rows)
        for cells_of_row in rows:
            column = 0
            for element in cells_of_row:
                while (row, column) in taken:
                    column += 1
                span_rows, span_columns = _spans(element)
                height = max(1, min(span_rows or group_end - row, group_end - row))
                cell = Cell(element, group, in_head, row, column, height, span_columns)
                cells.append(cell)
                taken.update((r, c) for r in range(row, row + height)
                             for c in range(column, column + span_columns))
                column += span_columns
            row += 1
    return cells


def _row_groups(tree: Tree, table: Element) -> list[tuple[bool, list[list[Element]]]]:
    """Each row group (``THead``, ``TBody``, ``TFoot``, or rows straight in the table) as
    (is it the head, its rows' cells)."""
    groups: list[tuple[bool, list[list[Element]]]] = []
    loose: list[list[Element]] = []
    for kid in tree.kids(table):
        if not isinstance(kid, Element):
            continue
        if kid.tag == "/TR":
            loose.append(_row_cells(tree, kid))
            continue
        if loose:
            groups.append((False, loose))
            loose = []
        if kid.tag in GROUPS:
            rows = [_row_cells(tree, tr) for tr in tree.kids(kid)
                    if isinstance(tr, Element) and tr.tag == "/TR"]
            groups.append((kid.tag == "/THead", rows))
    if loose:
        groups.append((False, loose))
    return groups


def _row_cells(tree: Tree, row: Element) -> list[Element]:
    return [cell for cell in tree.kids(row) if isinstance(cell, Element) and cell.tag in CELLS]


def table_attributes(element: Element) -> pikepdf.Dictionary:
    """The cell's ``/A`` dictionary owned by ``/Table`` (made if it has none)."""
    attributes = element.obj.get("/A")
    found = [a for a in (attributes if isinstance(attributes, pikepdf.Array) else [attributes])
             if isinstance(a, pikepdf.Dictionary) and a.get("/O") == "/Table"]
    if found:
        return found[0]
    table = pikepdf.Dictionary(O=pikepdf.Name.Table)
    if isinstance(attributes, pikepdf.Array):
        attributes.append(table)
    elif isinstance(attributes, pikepdf.Dictionary):
        element.obj.A = pikepdf.Array([attributes, table])
    else:
        element.obj.A = table
    return table


def _spans(element: Element) -> tuple[int, int]:
    """(rows, columns) the cell spans; rows 0 means to the end of its row group."""
    attributes = table_attributes(element)
    rows = attributes.get("/RowSpan", 1)
    columns = attributes.get("/ColSpan", 1)
    return (max(0, int(rows)) if isinstance(rows, int) else 1,
            max(1, int(columns)) if isinstance(columns, int) else 1)


def _name_headers(cells: list[Cell], table_key: tuple[int, int]) -> None:
    width = max(cell.column + cell.columns for cell in cells)
    for cell in cells:
        if cell.header:
            cell.scope = _scope(cell, cells, width)
            table_attributes(cell.element).Scope = pikepdf.Name("/" + cell.scope)
            if "/ID" not in cell.element.obj:
                cell.element.obj.ID = pikepdf.String(
                    f"th-{table_key[0]}-{cell.row}-{cell.column}")
    headers = [cell for cell in cells if cell.header]
    for cell in cells:
        if not cell.header:
            attributes = table_attributes(cell.element)
            found = headers_of(cell, headers, width)
            if found:
                attributes.Headers = pikepdf.Array([h.element.obj.ID for h in found])
            elif "/Headers" in attributes:
                del attributes["/Headers"]


def _scope(cell: Cell, cells: list[Cell], width: int) -> str:
    given = table_attributes(cell.element).get("/Scope")
    if given in ("/Row", "/Column", "/Both"):
        return str(given)[1:]
    if cell.in_head:
        return "Column"
    if any(not other.header for other in cells if other.row == cell.row):
        return "Row"
    return "Row" if heads_group(cell, width) else "Column"


def heads_group(cell: Cell, width: int) -> bool:
    """A header alone across a whole row of a body: the heading of its row group."""
    return cell.header and not cell.in_head and cell.column == 0 and cell.columns == width


def headers_of(cell: Cell, headers: list[Cell], width: int) -> list[Cell]:
    """The header cells a data cell is read with: its row group's heading, then row headers
    left of it, then column headers above it (outermost first)."""
    group = [h for h in headers if heads_group(h, width) and h.group == cell.group
             and h.row < cell.row]
    rows = sorted((h for h in headers if h.scope in ("Row", "Both") and h.spans_rows(cell)
                   and h.column < cell.column and not heads_group(h, width)),
                  key=lambda h: h.column)
    columns = sorted((h for h in headers if h.scope in ("Column", "Both")
                      and h.spans_columns(cell) and h.row < cell.row),
                     key=lambda h: (h.row, h.column))
    return [*group[-1:], *rows, *columns]


def misnamed_cells(tree: Tree) -> tuple[list[int], list[int]]:
    """Pages (0-based) of header cells without ``/Scope``, and of data cells whose
    ``/Headers`` are not the ones their place in the grid gives them."""
    unscoped: list[int] = []
    misnamed: list[int] = []
    for element, _ in tree.elements:
        if element.tag != "/Table":
            continue
        cells = lay_out_grid(tree, element)
        headers = [cell for cell in cells if cell.header]
        if not headers:
            continue
        width = max(cell.column + cell.columns for cell in cells)
        for cell in headers:
            given = table_attributes(cell.element).get("/Scope")
            if given is None:
                unscoped.append(cell.element.page or 0)
            cell.scope = str(given or "/")[1:] or _scope(cell, cells, width)
        for cell in cells:
            if cell.header:
                continue
            named = [bytes(i) for i in table_attributes(cell.element).get("/Headers", [])]
            wanted = [bytes(h.element.obj.get("/ID", b"")) for h in headers_of(cell, headers,
                                                                              width)]
            if named != wanted:
                misnamed.append(cell.element.page or 0)
    return unscoped, misnamed
