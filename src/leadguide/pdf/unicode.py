"""Fonts' ToUnicode maps made fit to read: no glyph maps to U+0000, U+FEFF or U+FFFE.

WeasyPrint writes a ToUnicode entry for every glyph of a font it keeps whole, including the
byte-order mark (Inter maps a glyph to U+FEFF). PDF/UA-1 (7.21.7) forbids those values: text
extracted through them is a null, an invisible mark or a non-character. The entry is dropped
(the glyph is never drawn for text a reader types or reads), the rest of the map kept.
"""
from __future__ import annotations

import re

import pikepdf

FORBIDDEN = frozenset("\u0000\ufeff\ufffe")
_BLOCK = re.compile(rb"\d+\s+begin(bfchar|bfrange)(.*?)end\1", re.S)
_HEX = rb"<([0-9A-Fa-f]*)>"
_CHAR = re.compile(_HEX + rb"\s*" + _HEX)
_RANGE = re.compile(_HEX + rb"\s*" + _HEX + rb"\s*(" + _HEX + rb"|\[[^\]]*\])")
_CODESPACE = re.compile(rb"\d+\s+begincodespacerange.*?endcodespacerange", re.S)
_PER_BLOCK = 100  # the most entries a CMap block may hold


def clean_to_unicode(document: pikepdf.Pdf) -> int:
    """Drop forbidden values from every font's ToUnicode map; return how many were dropped."""
    dropped = 0
    seen: set[tuple[int, int]] = set()
    for font in _fonts(document):
        stream = font.get("/ToUnicode")
        if not isinstance(stream, pikepdf.Stream) or stream.objgen in seen:
            continue
        seen.add(stream.objgen)
        data = stream.read_bytes()
        mapping = read_cmap(data)
        kept = {code: text for code, text in mapping.items() if not FORBIDDEN & set(text)}
        if len(kept) != len(mapping):
            dropped += len(mapping) - len(kept)
            stream.write(write_cmap(data, kept))
    return dropped


def _fonts(document: pikepdf.Pdf):
    for obj in document.objects:
        if isinstance(obj, pikepdf.Dictionary) and obj.get("/Type") == "/Font":
            yield obj


def read_cmap(data: bytes) -> dict[bytes, str]:
    """Source code (hex, as written) → the text it stands for."""
    mapping: dict[bytes, str] = {}
    for kind, body in _BLOCK.findall(data):
        if kind == b"bfchar":
            for code, text in _CHAR.findall(body):
                mapping[code.lower()] = _text(text)
            continue
        for start, end, target, first in _RANGE.findall(body):
            low, high, width = int(start, 16), int(end, 16), len(start)
            if target.startswith(b"["):
                texts = [_text(t) for t in re.findall(_HEX, target)]
            else:
                base = int(first, 16)
                texts = [_text(b"%0*x" % (len(first), base + i)) for i in range(high - low + 1)]
            for offset, text in enumerate(texts[:high - low + 1]):
                mapping[b"%0*x" % (width, low + offset)] = text
    return mapping


def _text(hex_digits: bytes) -> str:
    return bytes.fromhex(hex_digits.decode()).decode("utf-16-be", "replace")


def write_cmap(original: bytes, mapping: dict[bytes, str]) -> bytes:
    """A ToUnicode CMap with ``original``'s code space holding ``mapping`` as bfchar blocks."""
    codespace = _CODESPACE.search(original)
    lines = [b"/CIDInit /ProcSet findresource begin", b"12 dict begin", b"begincmap",
             b"/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def",
             b"/CMapName /Adobe-Identity-UCS def", b"/CMapType 2 def",
             codespace.group(0) if codespace else
             b"1 begincodespacerange\n<0000> <ffff>\nendcodespacerange"]
    entries = sorted(mapping.items())
    for start in range(0, len(entries), _PER_BLOCK):
        block = entries[start:start + _PER_BLOCK]
        lines.append(b"%d beginbfchar" % len(block))
        lines += [b"<%s> <%s>" % (code, text.encode("utf-16-be").hex().encode())
                  for code, text in block]
        lines.append(b"endbfchar")
    lines += [b"endcmap", b"CMapName currentdict /CMap defineresource pop", b"end", b"end"]
    return b"\n".join(lines) + b"\n"
