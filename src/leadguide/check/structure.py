"""The PDF's structure as PDFium reads it: named destinations, links, fonts, language, tags."""
from __future__ import annotations

import ctypes
from dataclasses import dataclass
from functools import partial
from typing import Any, Callable, Iterable, Iterator

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from ..pdf.text import text_objects

Rect = tuple[float, float, float, float]  # left, bottom, right, top in PDF points


@dataclass(frozen=True)
class Link:
    """A link annotation: internal (``dest`` names it, ``target`` is its page) or ``uri``."""

    page: int
    rect: Rect
    dest: str | None = None
    target: int | None = None
    uri: str | None = None
    action: str | None = None  # an action other than GoTo or URI (Launch, JavaScript, ...)

    @property
    def internal(self) -> bool:
        return self.uri is None and self.action is None


@dataclass(frozen=True)
class Font:
    """A font some text is set in: its /BaseFont and whether the PDF carries its glyphs."""

    name: str
    embedded: bool


def named_destinations(document: pdfium.PdfDocument) -> dict[str, int | None]:
    """Every named destination → its 1-based page (None if it lands on no page)."""
    found = (_named_destination(document, index)
             for index in range(pdfium_c.FPDF_CountNamedDests(document)))
    return dict(entry for entry in found if entry is not None)


def _named_destination(document: pdfium.PdfDocument, index: int) -> tuple[str, int | None] | None:
    size = ctypes.c_long(0)
    pdfium_c.FPDF_GetNamedDest(document, index, None, ctypes.byref(size))
    if size.value <= 0:  # not a destination PDFium can follow
        return None
    buffer = ctypes.create_string_buffer(size.value)
    dest = pdfium_c.FPDF_GetNamedDest(document, index, buffer, ctypes.byref(size))
    return buffer.raw[:size.value].decode("utf-16-le").rstrip("\x00"), page_of(document, dest)


def page_of(document: pdfium.PdfDocument, dest: Any) -> int | None:
    """The 1-based page a destination (an FPDF_DEST) lands on, if it is one of the PDF's."""
    index = pdfium_c.FPDFDest_GetDestPageIndex(document, dest) if dest else -1
    return index + 1 if 0 <= index < len(document) else None


def link_annotations(page: pdfium.PdfPage) -> Iterator[tuple[int, Any]]:
    """(index in the page's /Annots, FPDF_ANNOTATION) of each link annotation, closed after use."""
    for index in range(pdfium_c.FPDFPage_GetAnnotCount(page)):
        annotation = pdfium_c.FPDFPage_GetAnnot(page, index)
        try:
            if pdfium_c.FPDFAnnot_GetSubtype(annotation) == pdfium_c.FPDF_ANNOT_LINK:
                yield index, annotation
        finally:
            pdfium_c.FPDFPage_CloseAnnot(annotation)


def read_link(document: pdfium.PdfDocument, annotation: Any, number: int) -> Link | None:
    """A link to a destination (/Dest) or a URI; None for another action (GoTo, Launch, ...),
    which PDFium can follow but not name."""
    link = pdfium_c.FPDFAnnot_GetLink(annotation)
    action = pdfium_c.FPDFLink_GetAction(link)
    if not action:
        return Link(number, _rect(annotation), dest=_name_value(annotation, b"Dest"),
                    target=page_of(document, pdfium_c.FPDFLink_GetDest(document, link)))
    if pdfium_c.FPDFAction_GetType(action) == pdfium_c.PDFACTION_URI:
        return Link(number, _rect(annotation), uri=_uri(document, action))
    return None


def _rect(annotation: Any) -> Rect:
    rect = pdfium_c.FS_RECTF()
    pdfium_c.FPDFAnnot_GetRect(annotation, ctypes.byref(rect))
    return (min(rect.left, rect.right), min(rect.bottom, rect.top),
            max(rect.left, rect.right), max(rect.bottom, rect.top))


def _name_value(annotation: Any, key: bytes) -> str | None:
    """The annotation's ``key`` when it is a name or a string (a named destination)."""
    kind = pdfium_c.FPDFAnnot_GetValueType(annotation, key)
    if kind not in (pdfium_c.FPDF_OBJECT_STRING, pdfium_c.FPDF_OBJECT_NAME):
        return None
    return _utf16(lambda buffer, size: pdfium_c.FPDFAnnot_GetStringValue(annotation, key,
                                                                        buffer, size))


def _uri(document: pdfium.PdfDocument, action: Any) -> str:
    size = pdfium_c.FPDFAction_GetURIPath(document, action, None, 0)
    buffer = ctypes.create_string_buffer(size)
    pdfium_c.FPDFAction_GetURIPath(document, action, buffer, size)
    uri = buffer.raw[:size].rstrip(b"\x00")
    return uri.decode("utf-16") if uri.startswith(b"\xfe\xff") else uri.decode("latin-1")


def page_fonts(page: pdfium.PdfPage) -> set[Font]:
    """Every font the page's text is set in, inside form XObjects too."""
    return _fonts(text_objects(page))


def drawn_fonts(drawn: list[Drawn]) -> set[Font]:
    """``page_fonts`` from the page's ``drawn_objects``, without walking the page again."""
    return _fonts(item.handle for item in drawn if item.kind == "text")


def _fonts(texts: Iterable[Any]) -> set[Font]:
    handles = {}
    for text in texts:
        font = pdfium_c.FPDFTextObj_GetFont(text)
        handles[ctypes.cast(font, ctypes.c_void_p).value] = font
    return {_font(font) for font in handles.values()}


Matrix = tuple[float, float, float, float, float, float]  # a b c d e f, as in a PDF's cm
_IDENTITY: Matrix = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)


@dataclass(frozen=True)
class Drawn:
    """A text or image object and where it is drawn, in page space."""

    kind: str  # "text" or "image"
    rect: Rect
    handle: Any  # the FPDF_PAGEOBJECT, valid while its page is open


def drawn_objects(page: pdfium.PdfPage) -> list[Drawn]:
    """Every text and image object on the page, inside form XObjects too."""
    return list(_drawn(pdfium_c.FPDFPage_CountObjects(page),
                       partial(pdfium_c.FPDFPage_GetObject, page), _IDENTITY))


_KINDS = {pdfium_c.FPDF_PAGEOBJ_TEXT: "text", pdfium_c.FPDF_PAGEOBJ_IMAGE: "image"}


def _drawn(count: int, get: Callable[[int], Any], matrix: Matrix) -> Iterator[Drawn]:
    for index in range(count):
        obj = get(index)
        kind = pdfium_c.FPDFPageObj_GetType(obj)
        if kind in _KINDS:
            yield Drawn(_KINDS[kind], _transformed(_bounds(obj), matrix), obj)
        elif kind == pdfium_c.FPDF_PAGEOBJ_FORM:
            # a form's objects are placed in its own space: its matrix maps them to the page
            yield from _drawn(pdfium_c.FPDFFormObj_CountObjects(obj),
                              partial(pdfium_c.FPDFFormObj_GetObject, obj),
                              _multiply(_matrix(obj), matrix))


def object_text(textpage: pdfium.PdfTextPage, obj: Any) -> str:
    """The text a text object draws."""
    return _utf16(lambda buffer, size: pdfium_c.FPDFTextObj_GetText(obj, textpage, buffer,
                                                                    size))


def _bounds(obj: Any) -> Rect:
    left, bottom, right, top = (ctypes.c_float() for _ in range(4))
    pdfium_c.FPDFPageObj_GetBounds(obj, *(ctypes.byref(v) for v in (left, bottom, right, top)))
    return left.value, bottom.value, right.value, top.value


def _matrix(obj: Any) -> Matrix:
    matrix = pdfium_c.FS_MATRIX()
    if not pdfium_c.FPDFPageObj_GetMatrix(obj, ctypes.byref(matrix)):
        return _IDENTITY
    return matrix.a, matrix.b, matrix.c, matrix.d, matrix.e, matrix.f


def _multiply(inner: Matrix, outer: Matrix) -> Matrix:
    """The matrix that applies ``inner``, then ``outer``."""
    a, b, c, d, e, f = inner
    A, B, C, D, E, F = outer
    return (a * A + b * C, a * B + b * D, c * A + d * C, c * B + d * D,
            e * A + f * C + E, e * B + f * D + F)


def _transformed(rect: Rect, matrix: Matrix) -> Rect:
    a, b, c, d, e, f = matrix
    left, bottom, right, top = rect
    xs, ys = [], []
    for x, y in ((left, bottom), (left, top), (right, bottom), (right, top)):
        xs.append(a * x + c * y + e)
        ys.append(b * x + d * y + f)
    return min(xs), min(ys), max(xs), max(ys)


def _font(font: Any) -> Font:
    size = pdfium_c.FPDFFont_GetBaseFontName(font, None, 0)
    buffer = ctypes.create_string_buffer(size)
    pdfium_c.FPDFFont_GetBaseFontName(font, buffer, size)
    name = buffer.value.decode("utf-8", "replace") or "(unnamed)"
    return Font(name, pdfium_c.FPDFFont_GetIsEmbedded(font) == 1)  # a Type 3 font counts


def language(document: pdfium.PdfDocument) -> str:
    """The catalog's /Lang."""
    return _utf16(lambda buffer, size: pdfium_c.FPDFCatalog_GetLanguage(document, buffer, size))


def marked(document: pdfium.PdfDocument) -> bool:
    """The catalog's MarkInfo says /Marked true."""
    return bool(pdfium_c.FPDFCatalog_IsTagged(document))


def structured(page: pdfium.PdfPage) -> bool:
    """The structure tree holds some of the page's content (PDFium reads the tree of a
    marked PDF only)."""
    tree = pdfium_c.FPDF_StructTree_GetForPage(page)
    try:
        return bool(tree) and pdfium_c.FPDF_StructTree_CountChildren(tree) > 0
    finally:
        pdfium_c.FPDF_StructTree_Close(tree)


def _utf16(read: Callable[[Any, int], int]) -> str:
    """A string PDFium writes as UTF-16LE: ``read(buffer, size)`` returns the bytes it needs."""
    size = read(None, 0)
    if size <= 0:
        return ""
    buffer = ctypes.create_string_buffer(size)
    read(ctypes.cast(buffer, ctypes.POINTER(ctypes.c_ushort)), size)
    return buffer.raw[:size].decode("utf-16-le").rstrip("\x00")
