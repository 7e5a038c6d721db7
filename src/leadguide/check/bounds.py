"""The trim-box check: no text and no image is drawn outside the page it is on; and the print
edition's boxes: trim, bleed and sheet."""
from __future__ import annotations

import pikepdf

from ..pdf.printed import bleed_for, print_path
from .facts import Facts
from .model import FAIL, PASS, CheckResult, page, plural
from .structure import Drawn, Rect, object_text

TOLERANCE = 0.5  # points: glyph boxes of text set flush with the edge may poke out by a hair
_SHOWN = 60      # characters of offending text quoted in a finding


def check_trim_box(facts: Facts) -> list[CheckResult]:
    """Each text and image object, as PDFium places it, against the page's trim box (its media
    box when it has none): a long code line or a wide table that runs off the page fails."""
    results: list[CheckResult] = []
    counts = {"text": 0, "image": 0}
    for number in facts.numbers:
        box = facts.page(number).get_trimbox()
        for drawn in facts.drawn(number):
            counts[drawn.kind] += 1
            if _outside(drawn.rect, box):
                results += _finding(facts, number, drawn, box)
    return results or [CheckResult("trim-box", PASS, f"{plural(counts['text'], 'text object')} "
                                   f"and {plural(counts['image'], 'image')}, all inside the page")]


def _finding(facts: Facts, number: int, drawn: Drawn, box: Rect) -> list[CheckResult]:
    if drawn.kind == "image":
        return [CheckResult("trim-box", FAIL, f"an image runs off the page {_side(drawn.rect, box)}",
                            page(number))]
    text = " ".join(object_text(facts.textpage(number), drawn.handle).split())
    if not text:
        return []  # spaces past the edge draw nothing
    return [CheckResult("trim-box", FAIL, f"text runs off the page {_side(drawn.rect, box)}: "
                        f"'{_quote(text)}'", page(number))]


def _outside(rect: Rect, box: tuple[float, float, float, float]) -> bool:
    left, bottom, right, top = rect
    return (left < box[0] - TOLERANCE or bottom < box[1] - TOLERANCE
            or right > box[2] + TOLERANCE or top > box[3] + TOLERANCE)


def _side(rect: Rect, box: tuple[float, float, float, float]) -> str:
    """Which edges it crosses, and by how much."""
    over = {"left": box[0] - rect[0], "bottom": box[1] - rect[1],
            "right": rect[2] - box[2], "top": rect[3] - box[3]}
    return ", ".join(f"at the {side} by {amount:.0f} pt" for side, amount in over.items()
                     if amount > TOLERANCE)


def _quote(text: str) -> str:
    return text if len(text) <= _SHOWN else text[:_SHOWN - 1] + "…"


def check_print_edition(facts: Facts) -> list[CheckResult]:
    """The print edition beside the PDF, if there is one: each page's trim box is the
    PDF's page, its bleed box the trim plus the bleed on every side, inside the sheet; no
    form field is left."""
    edition = print_path(facts.pdf)
    if not edition.is_file():
        return [CheckResult("print-edition", PASS, "no print edition (leadguide build --print)")]
    problems: list[str] = []
    with pikepdf.open(edition) as printed:
        if len(printed.pages) != facts.page_count:
            problems.append(f"{len(printed.pages)} pages, the PDF has {facts.page_count}")
        for number, sheet in enumerate(printed.pages, start=1):
            problems += [f"p. {number}: {problem}" for problem in _sheet_problems(
                sheet, facts.page(number).get_mediabox() if number <= facts.page_count
                else None)]
        if "/AcroForm" in printed.Root:
            problems.append("a form is left")
    if problems:
        return [CheckResult("print-edition", FAIL, f"the print edition's boxes: {problem}",
                            str(edition)) for problem in problems[:10]]
    return [CheckResult("print-edition", PASS, f"{plural(facts.page_count, 'page')} with "
                        "trim, bleed and sheet boxes, no form field", str(edition))]


def _sheet_problems(sheet, page_box) -> list[str]:
    boxes = {name: [float(v) for v in sheet.obj[name]] for name in
             ("/MediaBox", "/TrimBox", "/BleedBox") if name in sheet.obj}
    if len(boxes) < 3:
        return ["no trim or bleed box"]
    trim, bleed, media = boxes["/TrimBox"], boxes["/BleedBox"], boxes["/MediaBox"]
    problems = []
    if page_box is not None and any(abs(a - b) > 0.01 for a, b in zip(trim, page_box)):
        problems.append(f"trim box {trim} is not the page {list(page_box)}")
    wanted = bleed_for(trim[2] - trim[0], trim[3] - trim[1])
    margins = (trim[0] - bleed[0], trim[1] - bleed[1], bleed[2] - trim[2], bleed[3] - trim[3])
    if any(abs(m - wanted) > 0.01 for m in margins):
        problems.append(f"bleed {', '.join(f'{m:.2f}' for m in margins)} pt, not {wanted:.2f}")
    if not (media[0] <= bleed[0] and media[1] <= bleed[1] and media[2] >= bleed[2]
            and media[3] >= bleed[3]):
        problems.append("the sheet is smaller than the bleed box")
    if any(a.get("/Subtype") == "/Widget" for a in sheet.obj.get("/Annots", [])):
        problems.append("a form field is left")
    return problems
