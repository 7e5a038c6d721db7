"""The chapters' images sized for screens: copies a phone, a tablet and a wide screen each
load (Pillow), offered with ``srcset`` and the image's width and height, so the page does
not jump while they load. Only files inside the guide are read (``guide.guard``)."""
from __future__ import annotations

import hashlib
import html
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

from PIL import Image, ImageOps

from ..errors import GuideError
from ..guide.guard import real_path

WIDTHS = (480, 960, 1600)  # a phone, a phone at 2x or a tablet, a wide screen at 2x
SIZES = "(max-width: 46rem) 100vw, 44rem"  # the text column (styles/web.css)
FOLDER = "images"
_RESIZED = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".webp": "WEBP"}
_COPIED = {".svg", ".gif", ".avif"}
_IMG = re.compile(r"<img\b[^>]*>", re.IGNORECASE)
_ATTRIBUTE = re.compile(r"""\s([a-zA-Z-]+)=(["'])(.*?)\2""", re.DOTALL)
_EXTERNAL = re.compile(r"^(?:[a-zA-Z][a-zA-Z0-9+.-]*:|[/#?])")


@dataclass
class ScreenImages:
    """Writes each image's copies once into ``folder`` (the edition's images/), however many
    pages show it."""

    root: Path  # the guide folder, which image paths are relative to
    folder: Path
    roots: tuple[Path, ...]  # the folders an image may be read from (assets.allowed_roots)
    made: dict[Path, str] = field(default_factory=dict)  # source → its <img> attributes

    def rewrite(self, markup: str) -> str:
        """Every local image in ``markup`` pointed at its screen copies."""
        return _IMG.sub(self._rewrite_tag, markup)

    def _rewrite_tag(self, match: re.Match) -> str:
        tag = match.group(0)
        attributes = {m.group(1).lower(): m for m in _ATTRIBUTE.finditer(tag)}
        src = attributes.get("src")
        if src is None or _EXTERNAL.match(src.group(3)):
            return tag  # data: URIs (QR codes) and nothing else: links leave no file behind
        try:
            source = real_path(self.root / unquote(html.unescape(src.group(3))), self.roots)
        except GuideError:
            return tag  # the build already refused what it could not read
        if source not in self.made:
            self.made[source] = self._copies(source)
        kept = "".join(m.group(0) for name, m in attributes.items()
                       if name not in ("src", "srcset", "sizes", "width", "height"))
        closing = "/>" if tag.endswith("/>") else ">"
        return f"<img{kept} {self.made[source]}{closing}"

    def _copies(self, source: Path) -> str:
        """The copies of one image, and the attributes that offer them."""
        suffix = source.suffix.lower()
        digest = hashlib.sha256(source.read_bytes()).hexdigest()[:10]
        stem = re.sub(r"[^a-zA-Z0-9_-]+", "-", source.stem)[:40] or "image"
        self.folder.mkdir(parents=True, exist_ok=True)
        if suffix not in _RESIZED:
            name = f"{stem}-{digest}{suffix if suffix in _COPIED else '.bin'}"
            shutil.copyfile(source, self.folder / name)
            size = _svg_size(source) if suffix == ".svg" else _pixel_size(source)
            sized = f' width="{size[0]}" height="{size[1]}"' if size else ""
            return f'src="{FOLDER}/{name}"{sized} loading="lazy" decoding="async"'
        with Image.open(source) as opened:
            image = ImageOps.exif_transpose(opened)
            image.load()
        width, height = image.size
        widths = sorted({w for w in WIDTHS if w < width} | {min(width, WIDTHS[-1])})
        candidates = []
        for target in widths:
            name = f"{stem}-{digest}-{target}w{suffix}"
            copy = image if target == width else image.resize(
                (target, max(1, round(height * target / width))), Image.Resampling.LANCZOS)
            _save(copy, self.folder / name, _RESIZED[suffix])
            candidates.append((target, name))
        shown = next((c for c in candidates if c[0] >= WIDTHS[1]), candidates[-1])
        srcset = ", ".join(f"{FOLDER}/{name} {w}w" for w, name in candidates)
        shown_height = max(1, round(height * shown[0] / width))
        return (f'src="{FOLDER}/{shown[1]}" srcset="{srcset}" sizes="{SIZES}" '
                f'width="{shown[0]}" height="{shown_height}" loading="lazy" decoding="async"')


def _save(image: Image.Image, path: Path, kind: str) -> None:
    if kind == "JPEG":
        image.convert("RGB").save(path, kind, quality=82, optimize=True, progressive=True)
    elif kind == "WEBP":
        image.save(path, kind, quality=82)
    else:
        image.save(path, kind, optimize=True)


def _pixel_size(source: Path) -> tuple[int, int] | None:
    try:
        with Image.open(source) as image:
            return image.size
    except Exception:  # noqa: BLE001 - an AVIF Pillow cannot read: shown without a size
        return None


_VIEWBOX = re.compile(r"""viewBox=["']\s*[-\d.]+[\s,]+[-\d.]+[\s,]+([\d.]+)[\s,]+([\d.]+)""")


def _svg_size(source: Path) -> tuple[int, int] | None:
    """An SVG's proportions from its viewBox (the page scales it to the column)."""
    found = _VIEWBOX.search(source.read_text(encoding="utf-8", errors="replace")[:4000])
    if not found:
        return None
    width, height = float(found.group(1)), float(found.group(2))
    return (round(width), round(height)) if width >= 1 and height >= 1 else None
