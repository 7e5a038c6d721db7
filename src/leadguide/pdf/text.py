"""The printed lines of a PDF with their font sizes, read with PDFium: what a reader sees.

Used to measure typography on the finished PDF (characters per line, the smallest text), not
on the HTML it came from, so it also sees what layout did (wrapping, joins, hyphens).
"""
from __future__ import annotations

import ctypes
from collections import defaultdict
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Callable, Iterator

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

PX_TO_PT = 0.75  # WeasyPrint writes CSS pixels; PDFium reports sizes in them


@dataclass(frozen=True)
class Line:
    page: int
    size_pt: float
    text: str


def text_lines(pdf: Path | str) -> list[Line]:
    """Every line of text, page by page, top to bottom; a line is one baseline at one size."""
    document = pdfium.PdfDocument(str(pdf))
    try:
        return [line for number, page in enumerate(document, start=1)
                for line in _page_lines(number, page)]
    finally:
        document.close()


def _page_lines(number: int, page: pdfium.PdfPage) -> list[Line]:
    textpage = page.get_textpage()
    rows: dict[tuple[int, float], list[tuple[float, str]]] = defaultdict(list)
    x, y = ctypes.c_double(), ctypes.c_double()
    for index in range(textpage.count_chars()):
        char = chr(pdfium_c.FPDFText_GetUnicode(textpage.raw, index))
        if char in "\r\n\ufffe\u2060":
            continue
        pdfium_c.FPDFText_GetCharOrigin(textpage.raw, index, x, y)
        size = round(pdfium_c.FPDFText_GetFontSize(textpage.raw, index) * PX_TO_PT, 1)
        rows[(round(y.value), size)].append((x.value, char))
    lines = [Line(number, size, "".join(c for _, c in sorted(chars)).strip())
             for (_, size), chars in sorted(rows.items(), key=lambda item: -item[0][0])]
    textpage.close()
    return [line for line in lines if line.text]


def text_objects(page: Any) -> Iterator[Any]:
    """A PDFium page's text objects in drawing order, inside form XObjects too (half the time
    of PdfPage.get_objects, which wraps every object)."""
    return _text_objects(pdfium_c.FPDFPage_CountObjects(page),
                         partial(pdfium_c.FPDFPage_GetObject, page))


def _text_objects(count: int, get: Callable[[int], Any]) -> Iterator[Any]:
    for index in range(count):
        obj = get(index)
        kind = pdfium_c.FPDFPageObj_GetType(obj)
        if kind == pdfium_c.FPDF_PAGEOBJ_TEXT:
            yield obj
        elif kind == pdfium_c.FPDF_PAGEOBJ_FORM:
            yield from _text_objects(pdfium_c.FPDFFormObj_CountObjects(obj),
                                     partial(pdfium_c.FPDFFormObj_GetObject, obj))
