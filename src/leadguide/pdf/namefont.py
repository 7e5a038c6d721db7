"""A line of text set in a font that covers it, as PDF font objects: for stamping a name.

``set_text(text, fonts)`` takes the first font file (the guide's own first, then the wide
fallbacks in ``FALLBACK_FONTS``) with a glyph for every character, cuts it to those
characters with HarfBuzz's subsetter, and shapes the text with HarfBuzz on the cut font
(Arabic joins, marks sit on their letters); a font that still draws a missing glyph (.notdef)
is passed over, and None means no font covers the text: the caller leaves it off, never a box.
``font_objects`` writes the Type 0 font (Identity-H, a ToUnicode map for every glyph, widths
from the font) for an incremental update.
"""
from __future__ import annotations

import hashlib
import struct
import unicodedata
import zlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import uharfbuzz as hb

# Debian's wide-coverage fonts (scripts/system-deps.sh): Latin, Greek and Cyrillic; Arabic;
# Chinese, Japanese and Korean (TrueType outlines); monochrome emoji and symbols.
FALLBACK_FONTS = (
    Path("/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf"),
    Path("/usr/share/fonts/truetype/noto/NotoSansArabic-Regular.ttf"),
    Path("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"),
    Path("/usr/share/fonts/truetype/ancient-scripts/Symbola_hint.ttf"),
)
_IGNORABLE = {"\u200c", "\u200d", "\ufe0e", "\ufe0f"}


@dataclass(frozen=True)
class SetText:
    """``text`` shaped in one font: glyph ids with their pen positions (in font units),
    the cut font's file, and what each glyph stands for."""

    text: str
    program: bytes
    cff: bool
    upem: int
    glyphs: tuple[tuple[int, int, int], ...]  # gid, x, y (font units from the run's start)
    advance: int  # the run's width, font units
    widths: dict[int, int]  # gid → advance, font units
    unicode: dict[int, str]  # gid → the text it stands for
    ascent: int
    descent: int
    bbox: tuple[int, int, int, int]
    name: str
    rtl: bool = False  # glyphs are in visual order; the content stream writes them logically

    def width(self, size: float) -> float:
        return self.advance * size / self.upem


@lru_cache(maxsize=16)
def _face(path: str) -> hb.Face | None:
    try:
        return hb.Face(hb.Blob.from_file_path(path))
    except Exception:  # missing or unreadable font: one fewer choice, never a failure
        return None


def covers(path: Path, text: str) -> bool:
    face = _face(str(path))
    if face is None or face.upem == 0:
        return False
    font = hb.Font(face)
    return all(font.get_nominal_glyph(ord(char)) for char in set(text)
               if char not in _IGNORABLE and not char.isspace()
               and unicodedata.category(char) != "Mn") and _has_space(font, text)


def _has_space(font: hb.Font, text: str) -> bool:
    return " " not in text or bool(font.get_nominal_glyph(0x20))


def set_text(text: str, fonts: tuple[Path, ...], direction: str = "ltr",
             cut_to: str = "") -> SetText | None:
    """``text`` shaped in the first of ``fonts`` that draws all of it (and ``cut_to``, the
    characters the cut font keeps besides), or None."""
    for path in fonts:
        if covers(path, text + cut_to):
            shaped = _shape(path, text, direction, cut_to)
            if shaped is not None:
                return shaped
    return None


def _shape(path: Path, text: str, direction: str, cut_to: str) -> SetText | None:
    face = _face(str(path))
    cut = hb.SubsetInput()
    cut.unicode_set.update(ord(char) for char in text + cut_to)
    cut.flags = hb.SubsetFlags.NO_HINTING
    small = hb.subset(face, cut)
    if small is None:
        return None
    font = hb.Font(small)
    buffer = hb.Buffer()
    buffer.add_str(text)
    buffer.guess_segment_properties()
    buffer.direction = direction
    hb.shape(font, buffer)
    glyphs, widths, unicode, pen = [], {}, {}, 0
    clusters = _cluster_text(text, [info.cluster for info in buffer.glyph_infos])
    for info, position in zip(buffer.glyph_infos, buffer.glyph_positions):
        if info.codepoint == 0:
            return None  # .notdef: this font cannot draw the text after all
        glyphs.append((info.codepoint, pen + position.x_offset, position.y_offset))
        widths[info.codepoint] = font.get_glyph_h_advance(info.codepoint)
        unicode.setdefault(info.codepoint, clusters[info.cluster])
        pen += position.x_advance
    extents = font.get_font_extents("ltr")
    program = small.blob.data
    return SetText(text, program, bool(small.reference_table("CFF ").data), small.upem,
                   tuple(glyphs), pen, widths, unicode, extents.ascender, extents.descender,
                   _bbox(small), _ps_name(path, program), direction == "rtl")


def _cluster_text(text: str, starts: list[int]) -> dict[int, str]:
    """Each cluster's characters (a cluster runs from its start to the next start)."""
    edges = sorted(set(starts)) + [len(text)]
    return {start: text[start:end] or " " for start, end in zip(edges, edges[1:])}


def _bbox(face: hb.Face) -> tuple[int, int, int, int]:
    head = face.reference_table("head").data
    if len(head) < 44:
        return (0, -200, 1000, 900)
    return struct.unpack(">hhhh", head[36:44])


def _ps_name(path: Path, program: bytes) -> str:
    """A subset tag from the font's bytes, and the file's name made a PDF name."""
    tag = "".join(chr(65 + b % 26) for b in hashlib.sha256(program).digest()[:6])
    stem = "".join(c for c in path.stem if c.isalnum() or c == "-") or "Font"
    return f"{tag}+{stem}"


def font_objects(run: SetText, numbers: tuple[int, int, int, int, int]) -> list[tuple[int, bytes]]:
    """The five objects of ``run``'s font: Type 0 font, CID font, descriptor, font file,
    ToUnicode map; the Type 0 font is ``numbers[0]``."""
    top, cid, descriptor, program, tounicode = numbers
    scale = 1000 / run.upem
    widths = " ".join(f"{gid} [{round(advance * scale, 3)}]"
                      for gid, advance in sorted(run.widths.items()))
    x0, y0, x1, y1 = (round(v * scale) for v in run.bbox)
    kind, file_key = (("/CIDFontType0", "/FontFile3"), ("/CIDFontType2", "/FontFile2"))[not run.cff]
    gid_map = "" if run.cff else " /CIDToGIDMap /Identity"
    file_type = b" /Subtype /OpenType" if run.cff else b""
    return [
        (top, f"<< /Type /Font /Subtype /Type0 /BaseFont /{run.name} /Encoding /Identity-H "
              f"/DescendantFonts [{cid} 0 R] /ToUnicode {tounicode} 0 R >>".encode()),
        (cid, f"<< /Type /Font /Subtype {kind} /BaseFont /{run.name} /CIDSystemInfo "
              f"<< /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> "
              f"/FontDescriptor {descriptor} 0 R /DW 1000 /W [{widths}]{gid_map} >>".encode()),
        (descriptor, f"<< /Type /FontDescriptor /FontName /{run.name} /Flags 4 "
                     f"/FontBBox [{x0} {y0} {x1} {y1}] /ItalicAngle 0 "
                     f"/Ascent {round(run.ascent * scale)} /Descent {round(run.descent * scale)} "
                     f"/CapHeight {round(run.ascent * scale * 0.7)} /StemV 80 "
                     f"{file_key} {program} 0 R >>".encode()),
        (program, stream(file_type, run.program)),
        (tounicode, stream(b"", to_unicode(run.unicode))),
    ]


def stream(extra: bytes, data: bytes) -> bytes:
    """A Flate-compressed stream object's body (``extra``: more dictionary entries)."""
    packed = zlib.compress(data, 6)
    return (b"<< /Length %d /Filter /FlateDecode%s >>\nstream\n" % (len(packed), extra)
            + packed + b"\nendstream")


def to_unicode(mapping: dict[int, str]) -> bytes:
    """A ToUnicode CMap: two-byte glyph ids to UTF-16BE text."""
    lines = [b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap",
             b"/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def",
             b"/CMapName /Adobe-Identity-UCS def /CMapType 2 def",
             b"1 begincodespacerange <0000> <FFFF> endcodespacerange"]
    items = sorted(mapping.items())
    for start in range(0, len(items), 100):
        chunk = items[start:start + 100]
        lines.append(b"%d beginbfchar" % len(chunk))
        lines += [b"<%04X> <%s>" % (gid, text.encode("utf-16-be").hex().upper().encode())
                  for gid, text in chunk]
        lines.append(b"endbfchar")
    lines.append(b"endcmap CMapName currentdict /CMap defineresource pop end end")
    return b"\n".join(lines)
