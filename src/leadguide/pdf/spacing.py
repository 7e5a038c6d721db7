"""Letter-spaced text read as words: each letter-spaced run gets an ``/ActualText``.

CSS ``letter-spacing`` (the guide's small-caps labels: "IN THIS CHAPTER") is drawn by
WeasyPrint as one ``TJ`` moving every glyph the same extra distance. Text extraction (PDFium,
pdftotext, so search, copy and screen readers) takes each gap for a space and reads
"I N T H I S C H A P T E R". The run is wrapped in ``/Span <</ActualText (IN THIS CHAPTER)>>
BDC … EMC`` inside whatever marked content holds it, the text decoded from the font's own
ToUnicode map, so every reader gets the words with their real spaces.
"""
from __future__ import annotations

from collections import Counter

import pikepdf

from .unicode import read_cmap

MIN_SPACING = 30  # thousandths of an em of extra space per glyph that extractors split at
_MAX_FORM_DEPTH = 8


def give_spaced_text_words(document: pikepdf.Pdf) -> int:
    """Wrap every letter-spaced run of the pages (and the forms they draw) in an
    ``/ActualText``; return how many runs were wrapped."""
    maps: dict[tuple[int, int], tuple[dict[bytes, str], int]] = {}
    done: set[tuple[int, int]] = set()
    wrapped = 0
    for page in document.pages:
        wrapped += _rewrite(document, page.obj, page.obj.get("/Resources"), maps, done, 0)
    return wrapped


def _rewrite(document: pikepdf.Pdf, owner, resources, maps, done, depth: int) -> int:
    if depth > _MAX_FORM_DEPTH or not isinstance(resources, pikepdf.Dictionary):
        return 0
    fonts = resources.get("/Font") or pikepdf.Dictionary()
    xobjects = resources.get("/XObject") or pikepdf.Dictionary()
    wrapped = 0
    for name in xobjects.keys():
        form = xobjects[name]
        if (isinstance(form, pikepdf.Stream) and form.get("/Subtype") == "/Form"
                and form.objgen not in done):
            done.add(form.objgen)
            wrapped += _rewrite(document, form, form.get("/Resources", resources), maps, done,
                                depth + 1)
    operations = pikepdf.parse_content_stream(owner)
    out: list = []
    font = None
    changed = 0
    spoken: list[bool] = []  # per open marked content: does it carry an /ActualText already
    for operands, operator in operations:
        op = str(operator)
        if op == "Tf" and operands:
            font = fonts.get(str(operands[0]))
        elif op in ("BDC", "BMC"):
            spoken.append(op == "BDC" and len(operands) > 1 and _has_actual_text(operands[1]))
        elif op == "EMC" and spoken:
            spoken.pop()
        text = _spaced_text(operands, font, maps) if op == "TJ" and not any(spoken) else None
        if text:
            out += [([pikepdf.Name.Span, pikepdf.Dictionary(ActualText=pikepdf.String(text))],
                     pikepdf.Operator("BDC")), (operands, operator), ([], pikepdf.Operator("EMC"))]
            changed += 1
        else:
            out.append((operands, operator))
    if changed:
        data = pikepdf.unparse_content_stream(out)
        if isinstance(owner, pikepdf.Stream):
            owner.write(data)
        else:
            owner.Contents = document.make_stream(data)
    return wrapped + changed


def _has_actual_text(properties) -> bool:
    return isinstance(properties, pikepdf.Dictionary) and "/ActualText" in properties


def _spaced_text(operands, font, maps) -> str | None:
    """The run's text if the ``TJ`` moves (nearly) every glyph by the same extra space."""
    if not operands or not isinstance(operands[0], pikepdf.Array):
        return None
    items = list(operands[0])
    shifts = [round(float(item)) for item in items if not isinstance(item, pikepdf.String)]
    strings = [bytes(item) for item in items if isinstance(item, pikepdf.String)]
    glyphs = sum(1 for s in strings if s)
    if glyphs < 3 or not shifts:
        return None
    spacing, count = Counter(s for s in shifts if s).most_common(1)[0] if any(shifts) else (0, 0)
    if -spacing < MIN_SPACING or count < (glyphs - 1) * 0.8:
        return None
    text = _decode(b"".join(strings), font, maps)
    return text if text and text.strip() else None


def _decode(data: bytes, font, maps) -> str:
    if not isinstance(font, pikepdf.Dictionary) or not isinstance(font.get("/ToUnicode"),
                                                                     pikepdf.Stream):
        return ""
    key = font.objgen
    if key not in maps:
        mapping = read_cmap(font.ToUnicode.read_bytes())
        width = max((len(code) for code in mapping), default=4) // 2
        maps[key] = (mapping, width)
    mapping, width = maps[key]
    return "".join(mapping.get(data[i:i + width].hex().encode(), "")
                   for i in range(0, len(data) - width + 1, width))
