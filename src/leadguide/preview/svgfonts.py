"""SVG images for the browser with the guide's fonts inside them.

A browser draws an SVG loaded by ``<img>`` as a sealed document: it cannot reach the page's
@font-face fonts or load any of its own, so its text falls back to another font (and runs wider
than in the PDF). Serve gives each SVG that has text the faces it names, as data: URLs.
"""
from __future__ import annotations

import base64
import re
import threading
from pathlib import Path

_FACE = re.compile(r"@font-face\s*\{([^}]*)\}", re.S)
_FAMILY = re.compile(r"""font-family\s*:\s*["']?([^;"']+)""")
_SRC = re.compile(r"""src\s*:\s*url\(\s*["']?([^)"']+)["']?\s*\)""")
_USED = re.compile(r"""font-family\s*(?:=\s*["']|:\s*["']?)([^;"',]+)""")
_SVG_OPEN = re.compile(rb"<svg\b[^>]*>", re.S)
_FORMATS = {".otf": "font/otf", ".ttf": "font/ttf", ".woff": "font/woff", ".woff2": "font/woff2"}


class SvgFonts:
    """SVG files with the faces they use embedded, cached until the file or the theme changes.

    ``styles`` is the preview's styles folder: theme.css's @font-face rules and their fonts.
    """

    def __init__(self, styles: Path):
        self.styles = styles
        self._cache: dict[Path, tuple[tuple, bytes]] = {}
        self._lock = threading.Lock()

    def get(self, path: Path) -> bytes:
        stamp = (_stamp(path), _stamp(self.styles / "theme.css"))
        with self._lock:
            cached = self._cache.get(path)
            if cached and cached[0] == stamp:
                return cached[1]
        body = with_fonts(path.read_bytes(), self.styles)
        with self._lock:
            self._cache[path] = (stamp, body)
        return body


def with_fonts(svg: bytes, styles: Path) -> bytes:
    """``svg`` with a <style> of the @font-face rules for the families its text names."""
    if b"<text" not in svg:
        return svg
    used = {name.strip().lower() for name in _USED.findall(svg.decode("utf-8", "replace"))}
    rules = [rule for family, rule in font_faces(styles) if family.lower() in used]
    opening = _SVG_OPEN.search(svg)
    if not rules or not opening:
        return svg
    style = ("<style>" + "".join(rules) + "</style>").encode("ascii")
    return svg[:opening.end()] + style + svg[opening.end():]


def font_faces(styles: Path) -> list[tuple[str, str]]:
    """(family, @font-face rule with the font as a data: URL) for each face of theme.css."""
    try:
        theme = (styles / "theme.css").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return []
    faces = []
    for body in _FACE.findall(theme):
        family, source = _FAMILY.search(body), _SRC.search(body)
        if not family or not source:
            continue
        font = (styles / source.group(1)).resolve()
        if not font.is_relative_to(styles.resolve()) or not font.is_file():
            continue
        kind = _FORMATS.get(font.suffix.lower(), "application/octet-stream")
        data = base64.b64encode(font.read_bytes()).decode("ascii")
        rule = _SRC.sub(f"src: url(data:{kind};base64,{data})", body)
        faces.append((family.group(1).strip(), "@font-face{" + rule + "}"))
    return faces


def _stamp(path: Path) -> tuple[int, int]:
    try:
        stat = path.stat()
    except OSError:
        return (0, 0)
    return (stat.st_mtime_ns, stat.st_size)
