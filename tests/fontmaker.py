"""A small variable TrueType font made with fontTools for the tests: one box per character,
wider as the weight axis (wght, 100 to 900) grows."""
from __future__ import annotations

from pathlib import Path

from fontTools.fontBuilder import FontBuilder
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib.tables.TupleVariation import TupleVariation

CODEPOINTS = [*range(0x20, 0x7F), *range(0xA0, 0x100), *range(0x2010, 0x2028), 0x2122]


def _box(width: int, height: int):
    pen = TTGlyphPen(None)
    pen.moveTo((50, 0))
    pen.lineTo((50, height))
    pen.lineTo((50 + width, height))
    pen.lineTo((50 + width, 0))
    pen.closePath()
    return pen.glyph()


def make_variable_font(path: Path, family: str = "Test Variable") -> Path:
    names = [".notdef"] + [f"uni{code:04X}" for code in CODEPOINTS]
    builder = FontBuilder(1000, isTTF=True)
    builder.setupGlyphOrder(names)
    builder.setupCharacterMap({code: f"uni{code:04X}" for code in CODEPOINTS})
    glyphs = {name: _box(400, 700) for name in names}
    glyphs["uni0020"] = TTGlyphPen(None).glyph()  # a space draws nothing
    builder.setupGlyf(glyphs)
    builder.setupHorizontalMetrics({name: (500, 50) for name in names})
    builder.setupHorizontalHeader(ascent=800, descent=-200)
    style = family.replace(" ", "")
    builder.setupNameTable({"familyName": family, "styleName": "Regular",
                            "uniqueFontIdentifier": f"tests:{style}", "fullName": family,
                            "psName": f"{style}-Regular", "version": "Version 1.0"})
    builder.setupOS2(sTypoAscender=800, sTypoDescender=-200, usWinAscent=800, usWinDescent=200)
    builder.setupPost()
    builder.setupFvar([("wght", 100, 400, 900, "Weight")],
                      [{"location": {"wght": 400}, "stylename": "Regular"},
                       {"location": {"wght": 700}, "stylename": "Bold"}])
    # At wght 900 a box is 200 units wider (its right side and the advance move).
    wider = [(0, 0), (0, 0), (200, 0), (200, 0), (0, 0), (200, 0), (0, 0), (0, 0)]
    builder.setupGvar({name: [TupleVariation({"wght": (0, 1.0, 1.0)}, wider)]
                       for name in names if name != "uni0020"})
    builder.save(str(path))
    return path
