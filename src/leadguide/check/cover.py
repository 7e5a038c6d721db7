"""The cover's composition: its parts (brand row, title, subtitle, art, footer) never overlap
and stay on the page, read from the boxes the build recorded on the laid-out cover."""
from __future__ import annotations

from itertools import combinations

from .facts import Facts
from .model import FAIL, PASS, WARN, CheckResult, page
from .typography import recorded_fills

TOLERANCE = 0.5  # CSS px: boxes that only touch do not overlap
NAMES = {"cover-top": "brand row", "cover-eyebrow": "eyebrow", "cover-title": "title",
         "cover-subtitle": "subtitle", "cover-byline": "byline", "cover-art": "art",
         "cover-footer": "footer"}


def check_cover(facts: Facts) -> list[CheckResult]:
    fills = recorded_fills(facts)
    number = facts.anchor_pages.get("cover")
    if fills is None or number is None:
        return [CheckResult("cover", WARN, "no layout record of the cover: build the PDF with "
                            "'leadguide build' to check its composition", str(facts.pdf))]
    boxes = {label: box for label, *box in fills[number - 1].get("boxes", ())}
    clashes = [(a, b, _overlap(boxes[a], boxes[b])) for a, b in combinations(boxes, 2)]
    results = [CheckResult("cover", FAIL, f"the cover's {NAMES[a]} and {NAMES[b]} overlap by "
                           f"{depth * 0.75:.0f} pt: shorten one, or give the art less height",
                           page(number)) for a, b, depth in clashes if depth > TOLERANCE]
    if not results:
        parts = ", ".join(NAMES[label] for label in boxes)
        results.append(CheckResult("cover", PASS, f"{len(boxes)} parts, none overlapping: "
                                   f"{parts}", page(number), details={"boxes": boxes}))
    return results


def _overlap(a: list[float], b: list[float]) -> float:
    """How far two boxes overlap, in the shorter direction (0 when apart)."""
    across = min(a[2], b[2]) - max(a[0], b[0])
    down = min(a[3], b[3]) - max(a[1], b[1])
    return max(0.0, min(across, down))
