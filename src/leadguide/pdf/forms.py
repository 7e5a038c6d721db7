"""Form fields that fill in any viewer: appearances for every widget, text sized to its box.

WeasyPrint 70 (``pdf_forms=True``) writes text fields with a fixed font size (8 pt: "27.5 ×
12" clips in a set column) and no appearance stream, and asks every viewer to make them
(``/NeedAppearances true``: Acrobat asks to save on every close, some viewers show blank
boxes, PDF/A forbids it); its checkboxes have an "on" appearance and no "Off" one; its link
annotations carry no flags (PDF/A wants them printable). ``complete_fields``:

- every text field's ``/DA`` gets font size 0 (auto: the viewer, or pypdf filling it, sizes
  the text to the box), and an appearance stream (``/Tx BMC … EMC``, its value drawn if it
  has one), so ``/NeedAppearances`` goes;
- every checkbox gets an empty ``/Off`` appearance beside its "on" one and an ``/AS``;
- every annotation gets ``/F 4`` (print) if it has no flags;
- every page with annotations keeps the structure's tab order (``/Tabs /S``: row by row in a
  table, as the tags read).

The field font stays the one WeasyPrint names: the join keeps fonts used by forms whole
(``layout.fontsubset``), so every character of the font (Inter: Latin, Greek, Cyrillic) can be
typed.
"""
from __future__ import annotations

import re
from io import BytesIO

import pikepdf

from .unicode import read_cmap

_SIZE = re.compile(r"(/[^\s/]+)\s+([\d.]+)\s+Tf")
_COLOUR = re.compile(r"(?:[\d.]+\s+){1,4}(?:rg|g|k)\b")
PRINT = 4


def fill_ready(pdf: bytes) -> bytes:
    """The PDF with ``complete_fields`` applied (unchanged if it has no annotations)."""
    with pikepdf.open(BytesIO(pdf)) as document:
        if not any("/Annots" in page.obj for page in document.pages):
            return pdf
        complete_fields(document)
        out = BytesIO()
        # fresh object streams: qpdf's preserved ones made page-validation's PDF/A stream
        # length rule fail once the appearances were added (and the file is smaller)
        document.save(out, object_stream_mode=pikepdf.ObjectStreamMode.generate)
        return out.getvalue()


def complete_fields(document: pikepdf.Pdf) -> None:
    """See the module docstring."""
    form = document.Root.get("/AcroForm")
    fonts = form.get("/DR", {}).get("/Font", {}) if isinstance(form, pikepdf.Dictionary) else {}
    for page in document.pages:
        annotations = page.obj.get("/Annots")
        if not annotations:
            continue
        page.obj.Tabs = pikepdf.Name.S
        for annotation in annotations:
            if "/F" not in annotation:
                annotation.F = PRINT
            if annotation.get("/Subtype") != "/Widget":
                continue
            kind = annotation.get("/FT") or annotation.get("/Parent", {}).get("/FT")
            if kind == "/Tx":
                _auto_size(annotation)
                _text_appearance(document, annotation, fonts)
            elif kind == "/Btn":
                _checkbox_appearances(document, annotation)
    if isinstance(form, pikepdf.Dictionary) and "/NeedAppearances" in form:
        del form["/NeedAppearances"]


def _auto_size(widget: pikepdf.Dictionary) -> None:
    appearance = str(widget.get("/DA", ""))
    if _SIZE.search(appearance):
        widget.DA = pikepdf.String(_SIZE.sub(r"\1 0 Tf", appearance))


def _box(widget: pikepdf.Dictionary) -> tuple[float, float]:
    left, bottom, right, top = (float(v) for v in widget.Rect)
    return abs(right - left), abs(top - bottom)


def _text_appearance(document: pikepdf.Pdf, widget: pikepdf.Dictionary, fonts) -> None:
    if isinstance(widget.get("/AP"), pikepdf.Dictionary) and "/N" in widget.AP:
        return
    width, height = _box(widget)
    found = _SIZE.search(str(widget.get("/DA", "")))
    name = found.group(1) if found else None
    font = fonts.get(name) if name else None
    resources = pikepdf.Dictionary()
    content = b"/Tx BMC\nEMC\n"
    value = str(widget.get("/V", ""))
    if isinstance(font, pikepdf.Dictionary):
        resources.Font = pikepdf.Dictionary({name: font})
        if value:
            content = _drawn_value(value, name, font, width, height, str(widget.DA))
    widget.AP = pikepdf.Dictionary(N=_form(document, width, height, content, resources))


def _drawn_value(value: str, name: str, font, width: float, height: float,
                 appearance: str) -> bytes:
    """The value drawn on one line in the field's font and colour, sized to the box's
    height (a viewer redraws it, sized to fit, once the reader edits it)."""
    encoded = encode_text(font, value)
    size = round(min(height * 0.7, 10.0), 2)
    colour = _COLOUR.search(appearance)
    return (b"/Tx BMC\nq\nBT\n" + (colour.group(0).encode() if colour else b"0 g")
            + b"\n" + name.encode() + b" %g Tf\n2 %g Td\n<" % (size, (height - size * 0.7) / 2)
            + encoded.hex().encode() + b"> Tj\nET\nQ\nEMC\n")


def encode_text(font, text: str) -> bytes:
    """``text`` as the font's codes: through its ToUnicode map, or WinAnsi for a simple
    standard font; a character the font lacks is left out."""
    if not isinstance(font.get("/ToUnicode"), pikepdf.Stream):
        return text.encode("cp1252", "ignore")
    codes = _encoder(font)
    return b"".join(codes.get(char, b"") for char in text)


def _encoder(font) -> dict[str, bytes]:
    stream = font.get("/ToUnicode")
    if not isinstance(stream, pikepdf.Stream):
        return {}
    return {text: bytes.fromhex(code.decode()) for code, text in
            sorted(read_cmap(stream.read_bytes()).items(), reverse=True) if len(text) == 1}


def _checkbox_appearances(document: pikepdf.Pdf, widget: pikepdf.Dictionary) -> None:
    appearances = widget.get("/AP")
    if not isinstance(appearances, pikepdf.Dictionary):
        return
    normal = appearances.get("/N")
    if not isinstance(normal, pikepdf.Dictionary):
        return
    width, height = _box(widget)
    if "/Off" not in normal:
        normal.Off = _form(document, width, height, b"", pikepdf.Dictionary())
    if "/AS" not in widget:
        value = widget.get("/V", pikepdf.Name.Off)
        widget.AS = value if value in normal else pikepdf.Name.Off


def _form(document: pikepdf.Pdf, width: float, height: float, content: bytes,
          resources: pikepdf.Dictionary) -> pikepdf.Stream:
    stream = pikepdf.Stream(document, content)
    stream.Type = pikepdf.Name.XObject
    stream.Subtype = pikepdf.Name.Form
    stream.BBox = pikepdf.Array([0, 0, round(width, 3), round(height, 3)])
    stream.Resources = resources
    return document.make_indirect(stream)
