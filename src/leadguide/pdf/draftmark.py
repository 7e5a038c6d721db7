"""The DRAFT mark on every page of a ``--draft`` PDF: a red tab at the top centre, its letters
drawn as outlines (no font to embed), marked as a pagination artifact so a screen reader
skips it and the tag tree is untouched."""
from __future__ import annotations

from functools import lru_cache
from io import BytesIO

import pikepdf

from ..guide.assets import BUILTIN_STYLES

WORD = "DRAFT"
FONT = BUILTIN_STYLES / "fonts" / "LeagueSpartan-Bold.otf"
CAP = 9.0  # the letters' height in pt
RED, WHITE = "0.78 0.11 0.18", "1 1 1"


def stamp_draft(pdf: bytes) -> bytes:
    """``pdf`` with the DRAFT mark drawn last on every page, over whatever is there."""
    with pikepdf.open(BytesIO(pdf)) as document:
        stamp_pages(document)
        out = BytesIO()
        document.save(out)
        return out.getvalue()


def stamp_pages(document: pikepdf.Pdf) -> None:
    """Draw the DRAFT mark last on every page of ``document``."""
    for page in document.pages:
        left, bottom, right, top = (float(v) for v in page.trimbox)
        mark = _mark((left + right) / 2, top)
        page.contents_add(pikepdf.Stream(document, b"q\n"), prepend=True)
        page.contents_add(pikepdf.Stream(document, b"Q\n" + mark))


def _mark(centre: float, top: float) -> bytes:
    """A tab hanging from the top edge with the word in it."""
    outline, width = _word_outline()
    pad_x, pad_y = 8.0, 5.0
    tab_w, tab_h = width + 2 * pad_x, CAP + 2 * pad_y
    x, y = centre - tab_w / 2, top - tab_h
    return (f"/Artifact <</Type /Pagination /Subtype /Watermark>> BDC\nq\n{RED} rg\n"
            f"{x:.2f} {y:.2f} {tab_w:.2f} {tab_h:.2f} re f\n{WHITE} rg\n"
            f"1 0 0 1 {x + pad_x:.2f} {y + pad_y:.2f} cm\n{outline}\nf\nQ\nEMC\n").encode()


@lru_cache(maxsize=1)
def _word_outline() -> tuple[str, float]:
    """PDF path operators drawing WORD with its baseline at 0 and CAP pt tall; its width."""
    from fontTools.pens.basePen import BasePen
    from fontTools.ttLib import TTFont

    font = TTFont(FONT)
    scale = CAP / font["OS/2"].sCapHeight
    glyphs, cmap = font.getGlyphSet(), font.getBestCmap()
    operators: list[str] = []

    class PdfPen(BasePen):
        def __init__(self, offset: float):
            super().__init__(glyphs)
            self.offset = offset

        def _xy(self, point) -> str:
            return f"{(point[0] + self.offset) * scale:.2f} {point[1] * scale:.2f}"

        def _moveTo(self, point) -> None:
            operators.append(f"{self._xy(point)} m")

        def _lineTo(self, point) -> None:
            operators.append(f"{self._xy(point)} l")

        def _curveToOne(self, one, two, three) -> None:
            operators.append(f"{self._xy(one)} {self._xy(two)} {self._xy(three)} c")

        def _closePath(self) -> None:
            operators.append("h")

    advance = 0.0
    for letter in WORD:
        name = cmap[ord(letter)]
        glyphs[name].draw(PdfPen(advance))
        advance += glyphs[name].width + 40  # a little tracking
    return "\n".join(operators), (advance - 40) * scale
