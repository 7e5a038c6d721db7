"""The trim-box check: no text and no image is drawn outside the page it is on."""
from __future__ import annotations

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
