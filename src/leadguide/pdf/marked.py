"""The text drawn in each marked-content id of a page, read with PDFium: ``mcid_texts``."""
from __future__ import annotations

import ctypes

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from .text import text_objects

Texts = dict[int, dict[int, str]]  # page index → MCID → the text drawn in it

CONTENT_ITEMS = ("/MCR", "/OBJR")


def mcid_texts(pdf: bytes, numbers: list[int]) -> Texts:
    """What each marked-content sequence draws on the pages asked for (PDFium; forms included)."""
    return TextPages(pdf, numbers).texts()


class TextPages:
    """Pages of a PDF loaded with PDFium, each with its text page, until ``texts`` or
    ``close``."""

    def __init__(self, pdf: bytes, numbers: list[int]):
        self.document = pdfium.PdfDocument(pdf)
        self.loaded: list[tuple[int, pdfium.PdfPage, pdfium.PdfTextPage]] = []
        try:
            for index in numbers:
                page = self.document[index]
                self.loaded.append((index, page, page.get_textpage()))
        except BaseException:
            self.close()
            raise

    def texts(self) -> Texts:
        try:
            return {index: _page_texts(page, textpage) for index, page, textpage in self.loaded}
        finally:
            self.close()

    def close(self) -> None:
        for _, page, textpage in self.loaded:
            textpage.close()
            page.close()
        self.document.close()


def _page_texts(page: pdfium.PdfPage, textpage: pdfium.PdfTextPage) -> dict[int, str]:
    found: dict[int, str] = {}
    baseline = None
    for obj in text_objects(page.raw):
        mcid = pdfium_c.FPDFPageObj_GetMarkedContentID(obj)
        if mcid < 0:
            continue
        here = _baseline(obj)
        # a run that starts a new line: the space the line broke at is not drawn
        new_line = baseline is not None and abs(here - baseline) > 2
        text = ("\n" if new_line else "") + _object_text(textpage, obj)
        found[mcid] = found.get(mcid, "") + text
        baseline = here
    return found


def _baseline(obj) -> float:
    matrix = pdfium_c.FS_MATRIX()
    pdfium_c.FPDFPageObj_GetMatrix(obj, ctypes.byref(matrix))
    return matrix.f


_TEXT_BYTES = 1024  # a run's text fits, so PDFium (which scans the page for it) is asked once


def _object_text(textpage, obj) -> str:
    size = _TEXT_BYTES
    while True:
        buffer = ctypes.create_string_buffer(size)
        pointer = ctypes.cast(buffer, ctypes.POINTER(ctypes.c_ushort))
        needed = pdfium_c.FPDFTextObj_GetText(obj, textpage, pointer, size)
        if needed <= size:  # copied (PDFium copies only into a buffer large enough)
            break
        size = needed
    if needed <= 0:
        return ""
    return buffer.raw[:needed].decode("utf-16-le").rstrip("\x00")
