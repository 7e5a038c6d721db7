"""Side-heads that would wrap are set above their text instead (``class="stacked"``).

A ``##`` heading hangs in the indent beside the text it heads (styles/print.css), lifted one
heading line so its first line is level with the text. A heading that wraps onto a second or
third line would leave a hole beside the text, so one too wide for the side column is stacked
above the text at full width. Its width is measured with the built-in heading face's advance
widths (League Spartan Bold); another face is near enough for a one-line question.
"""
from __future__ import annotations

from functools import lru_cache

from markdown.treeprocessors import Treeprocessor

from ..guide.assets import BUILTIN_STYLES

# The side column (print.css: --text-indent 1.9in less a 0.22in gutter) in ems of the side-head
# size (12pt), and a little slack for kerning and a face a touch wider than League Spartan.
SIDE_COLUMN_EM = (1.9 - 0.22) * 72 / 12 * 0.96
_FONT = BUILTIN_STYLES / "fonts" / "LeagueSpartan-Bold.otf"
_AVERAGE_EM = 0.6  # a character the face lacks


class SideHeads(Treeprocessor):
    """Marks each top-level ``h2`` too wide for the side column as ``stacked``."""

    def run(self, root):  # type: ignore[no-untyped-def]
        for element in root:
            classes = (element.get("class") or "").split()
            if element.tag == "h2" and "stacked" not in classes and too_wide(
                    "".join(element.itertext())):
                element.set("class", " ".join([*classes, "stacked"]))
        return root


def too_wide(text: str) -> bool:
    """Wider than one line of the side column."""
    return width_em(" ".join(text.split())) > SIDE_COLUMN_EM


def width_em(text: str) -> float:
    widths, per_em = _advances()
    return sum(widths.get(ord(c), _AVERAGE_EM * per_em) for c in text) / per_em


@lru_cache(maxsize=1)
def _advances() -> tuple[dict[int, float], float]:
    from fontTools.ttLib import TTFont

    font = TTFont(_FONT)
    metrics = font["hmtx"].metrics
    return ({code: metrics[name][0] for code, name in font.getBestCmap().items()},
            font["head"].unitsPerEm)
