"""The print edition: the finished PDF made ready for a print shop (``leadguide build --print``).

From the screen PDF's bytes, page by page:

- the page grows by the bleed (3 mm on a metric page, 0.125 in otherwise) and a slug for the
  marks: ``/MediaBox`` the whole sheet, ``/BleedBox`` the trim plus bleed, ``/TrimBox`` the
  page as designed (its origin stays where it was, so nothing drawn moves);
- every rectangle that reaches a trim edge (a page background, a full-width band, the clips
  WeasyPrint draws them in) is extended into the bleed on that edge;
- crop marks are drawn at each corner in the slug, outside the bleed box, as artifacts;
- form fields are flattened to their printed look: a line to write on in each text field (ruled
  lines in a tall one), an empty box for a checkbox (its border is the page's own);
- each web link on a page is printed as a short address (host and path, no tracking query)
  in the page's bottom margin, in the form font (whole, so every character is there).

The print edition claims no standard (its flattened fields are untagged drawing): the XMP's
``pdfuaid``/``pdfaid`` identification is taken out.
"""
from __future__ import annotations

from io import BytesIO
from pathlib import Path
from urllib.parse import urlsplit

import pikepdf

from .conformance import remove_claims
from .forms import encode_text

MM = 72 / 25.4
BLEED_METRIC = 3 * MM
BLEED_INCH = 0.125 * 72
SLUG = 20.0  # room beyond the bleed for the marks
MARK = 12.0  # a crop mark's length
MARK_GAP = 3.0  # between the bleed box and a mark
LINK_SIZE = 6.5
SHORT_URL = 40


def print_path(pdf: Path) -> Path:
    """Where the print edition of ``pdf`` is written: ``guide.pdf`` → ``guide.print.pdf``."""
    return pdf.with_name(pdf.stem + ".print.pdf")


def bleed_for(width: float, height: float) -> float:
    """3 mm on an ISO (A-series) page, 0.125 in on any other."""
    iso = {(595, 842), (420, 595), (298, 420)}
    return BLEED_METRIC if (round(width), round(height)) in iso else BLEED_INCH


def print_edition(pdf: bytes) -> bytes:
    """The print edition of a finished PDF (see the module docstring)."""
    with pikepdf.open(BytesIO(pdf)) as document:
        font = _form_font(document)
        flatten_fields(document)
        for page in document.pages:
            left, bottom, right, top = (float(v) for v in page.trimbox)
            bleed = bleed_for(right - left, top - bottom)
            extend_backgrounds(document, page, (left, bottom, right, top), bleed)
            addresses = short_addresses(page)
            extra = _marks((left, bottom, right, top), bleed)
            if addresses:
                extra += _addresses(addresses, font, (left, bottom, right, top))
                if "/Font" not in page.obj.Resources:
                    page.obj.Resources.Font = pikepdf.Dictionary()
                page.obj.Resources.Font["/LGPrint"] = font
            # the page's own drawing may leave its flipped matrix in place: fence it in
            page.contents_add(document.make_stream(b"q\n"), prepend=True)
            page.contents_add(document.make_stream(b"Q\n" + extra), prepend=False)
            set_boxes(page, (left, bottom, right, top), bleed)
        remove_claims(document)
        out = BytesIO()
        document.save(out, object_stream_mode=pikepdf.ObjectStreamMode.generate)
        return out.getvalue()


def _form_font(document: pikepdf.Pdf):
    form = document.Root.get("/AcroForm")
    fonts = form.get("/DR", {}).get("/Font", {}) if isinstance(form, pikepdf.Dictionary) else {}
    for font in fonts.values():
        if isinstance(font.get("/ToUnicode"), pikepdf.Stream):
            return font
    return document.make_indirect(pikepdf.Dictionary(
        Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1, BaseFont=pikepdf.Name.Helvetica,
        Encoding=pikepdf.Name.WinAnsiEncoding))


def flatten_fields(document: pikepdf.Pdf) -> None:
    """Each field drawn as paper shows it, then merged into its page; no form is left."""
    for page in document.pages:
        for widget in page.obj.get("/Annots", []):
            if widget.get("/Subtype") != "/Widget":
                continue
            kind = widget.get("/FT") or widget.get("/Parent", {}).get("/FT")
            left, bottom, right, top = _rect(widget)
            if kind == "/Tx":
                widget.AP = pikepdf.Dictionary(N=_form(document, right - left, top - bottom,
                                                       _writing_lines(right - left,
                                                                      top - bottom)))
            elif kind == "/Btn" and isinstance(widget.get("/AP"), pikepdf.Dictionary):
                widget.AS = pikepdf.Name.Off
                widget.AP.N.Off = _form(document, right - left, top - bottom, b"")
    document.flatten_annotations("print")
    if "/AcroForm" in document.Root:
        del document.Root["/AcroForm"]
    for page in document.pages:  # anything flattening left that is still a field
        annotations = page.obj.get("/Annots")
        if annotations is not None:
            page.obj.Annots = pikepdf.Array([a for a in annotations
                                             if a.get("/Subtype") != "/Widget"])


def _rect(annotation) -> tuple[float, float, float, float]:
    values = [float(v) for v in annotation.Rect]
    xs, ys = sorted(values[0::2]), sorted(values[1::2])
    return xs[0], ys[0], xs[1], ys[1]


def _writing_lines(width: float, height: float) -> bytes:
    """A line to write on, near the bottom; a field taller than two lines is ruled."""
    step = 16.0
    rows = max(1, int(height // step)) if height > 2 * step else 1
    lines = b"".join(b"1 %.2f m %.2f %.2f l S\n" % (1.5 + i * step, width - 1, 1.5 + i * step)
                     for i in range(rows))
    return b"q 0.55 G 0.5 w\n" + lines + b"Q\n"


def _form(document: pikepdf.Pdf, width: float, height: float, content: bytes):
    stream = document.make_stream(content)
    stream.Type, stream.Subtype = pikepdf.Name.XObject, pikepdf.Name.Form
    stream.BBox = pikepdf.Array([0, 0, round(width, 3), round(height, 3)])
    stream.Resources = pikepdf.Dictionary()
    return stream


def extend_backgrounds(document: pikepdf.Pdf, page: pikepdf.Page,
                       trim: tuple[float, float, float, float], bleed: float) -> None:
    """Every ``re`` that reaches a trim edge reaches the bleed edge instead (fills and the
    clips around them alike), in the page's own coordinates."""
    operations = pikepdf.parse_content_stream(page)
    matrix, saved, changed = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0), [], False
    out = []
    for operands, operator in operations:
        op = str(operator)
        if op == "q":
            saved.append(matrix)
        elif op == "Q" and saved:
            matrix = saved.pop()
        elif op == "cm" and len(operands) == 6:
            matrix = _multiply(tuple(float(v) for v in operands), matrix)
        elif op == "re" and len(operands) == 4:
            grown = _grow(tuple(float(v) for v in operands), matrix, trim, bleed)
            if grown:
                operands, changed = [pikepdf.Object.parse(b"%.4f" % v) for v in grown], True
        out.append((operands, operator))
    if changed:
        page.obj.Contents = document.make_stream(pikepdf.unparse_content_stream(out))


def _multiply(a: tuple, b: tuple) -> tuple:
    """``a`` then ``b`` (PDF's row-vector convention: the new cm is ``a × current``)."""
    return (a[0] * b[0] + a[1] * b[2], a[0] * b[1] + a[1] * b[3],
            a[2] * b[0] + a[3] * b[2], a[2] * b[1] + a[3] * b[3],
            a[4] * b[0] + a[5] * b[2] + b[4], a[4] * b[1] + a[5] * b[3] + b[5])


def _grow(rect: tuple, m: tuple, trim: tuple, bleed: float) -> tuple | None:
    if abs(m[1]) > 1e-9 or abs(m[2]) > 1e-9 or not m[0] or not m[3]:
        return None  # rotated or skewed: left as it is
    x, y, w, h = rect
    xs = sorted((m[0] * x + m[4], m[0] * (x + w) + m[4]))
    ys = sorted((m[3] * y + m[5], m[3] * (y + h) + m[5]))
    left, bottom, right, top = trim
    near = 0.75
    new = [xs[0] - bleed if abs(xs[0] - left) < near else xs[0],
           ys[0] - bleed if abs(ys[0] - bottom) < near else ys[0],
           xs[1] + bleed if abs(xs[1] - right) < near else xs[1],
           ys[1] + bleed if abs(ys[1] - top) < near else ys[1]]
    if new == [xs[0], ys[0], xs[1], ys[1]]:
        return None
    # back to the rectangle's own space (x and y scale may be negative: flipped)
    ux = sorted(((new[0] - m[4]) / m[0], (new[2] - m[4]) / m[0]))
    uy = sorted(((new[1] - m[5]) / m[3], (new[3] - m[5]) / m[3]))
    return ux[0], uy[0], ux[1] - ux[0], uy[1] - uy[0]


def _marks(trim: tuple, bleed: float) -> bytes:
    """Crop marks at each corner, on the trim lines' extensions, beyond the bleed."""
    left, bottom, right, top = trim
    start, end = bleed + MARK_GAP, bleed + MARK_GAP + MARK
    lines = []
    for x, sx in ((left, -1), (right, 1)):
        for y, sy in ((bottom, -1), (top, 1)):
            lines.append(b"%.3f %.3f m %.3f %.3f l S" % (x + sx * start, y, x + sx * end, y))
            lines.append(b"%.3f %.3f m %.3f %.3f l S" % (x, y + sy * start, x, y + sy * end))
    return (b"\n/Artifact BMC\nq 0 G 0.25 w\n" + b"\n".join(lines) + b"\nQ\nEMC\n")


def short_addresses(page: pikepdf.Page) -> list[str]:
    """The web addresses the page's links go to, short: host and path, no query."""
    found: list[str] = []
    for annotation in page.obj.get("/Annots", []):
        action = annotation.get("/A")
        if annotation.get("/Subtype") != "/Link" or not isinstance(action, pikepdf.Dictionary):
            continue
        parts = urlsplit(str(action.get("/URI", "")))
        if parts.scheme not in ("http", "https") or not parts.hostname:
            continue
        short = parts.hostname.removeprefix("www.") + parts.path.rstrip("/")
        short = short if len(short) <= SHORT_URL else short[:SHORT_URL - 1] + "…"
        if short not in found:
            found.append(short)
    return found


def _addresses(addresses: list[str], font, trim: tuple) -> bytes:
    left, bottom, right, _ = trim
    text = "Links: " + "  ·  ".join(addresses)
    encoded = encode_text(font, text)
    width = len(text) * LINK_SIZE * 0.5  # centred by an estimate: the font's widths vary
    x = max(left + 36, (left + right - width) / 2)
    return (b"\n/Artifact BMC\nq BT 0.35 g /LGPrint %g Tf %.2f %.2f Td <%s> Tj ET Q\nEMC\n"
            % (LINK_SIZE, x, bottom + 20, encoded.hex().encode()))


def set_boxes(page: pikepdf.Page, trim: tuple, bleed: float) -> None:
    left, bottom, right, top = trim
    sheet = bleed + SLUG
    page.obj.TrimBox = pikepdf.Array([left, bottom, right, top])
    page.obj.BleedBox = pikepdf.Array([left - bleed, bottom - bleed, right + bleed, top + bleed])
    page.obj.MediaBox = pikepdf.Array([left - sheet, bottom - sheet, right + sheet, top + sheet])
    for box in ("/CropBox", "/ArtBox"):
        if box in page.obj:
            del page.obj[box]

