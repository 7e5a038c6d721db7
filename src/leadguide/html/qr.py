"""QR codes as vector SVG (segno), for templates to place as a ``data:`` image."""
from __future__ import annotations

from functools import lru_cache

import segno

MAX_URL = 1000  # characters: beyond this a printed code gets too dense to scan from paper


@lru_cache(maxsize=64)
def qr_data_uri(url: str, dark: str = "#000000", light: str = "#FFFFFF") -> str:
    """The QR code for ``url`` (error correction M, the standard 4-module quiet zone) as an
    SVG ``data:`` URI: vector paths, never a bitmap."""
    if not isinstance(url, str) or not url.strip():
        raise LookupError("qr: give the address to encode, e.g. qr(\"https://example.com\")")
    if len(url) > MAX_URL:
        raise LookupError(f"qr: the address is {len(url)} characters; keep it under {MAX_URL}")
    code = segno.make(url.strip(), error="m", micro=False)
    return code.svg_data_uri(scale=1, border=4, dark=dark, light=light, xmldecl=False,
                             svgns=True, nl=False)
