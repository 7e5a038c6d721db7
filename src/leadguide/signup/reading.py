"""``/read/TOKEN/…``: the web edition behind the download link's token.

The URL mirrors the build folder, so the edition's relative links work as they do on disk:
``/read/TOKEN/<name>-web/<file>`` is a file of the edition, ``/read/TOKEN/<name>.pdf`` (its
"download the fillable PDF" link) is the PDF, by the download route. Nothing else is ever
served: a path is a file inside the edition's real folder, named by plain segments (no ``..``,
no dot file, no backslash), or it is not found.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..web.edition import INDEX, POLICY, web_folder

# What the edition holds; anything else is refused rather than guessed at.
CONTENT_TYPES = {".html": "text/html; charset=utf-8", ".css": "text/css; charset=utf-8",
                 ".svg": "image/svg+xml", ".png": "image/png", ".jpg": "image/jpeg",
                 ".jpeg": "image/jpeg", ".gif": "image/gif", ".webp": "image/webp",
                 ".avif": "image/avif", ".otf": "font/otf", ".ttf": "font/ttf",
                 ".woff": "font/woff", ".woff2": "font/woff2", ".txt": "text/plain; charset=utf-8"}
_SEGMENT = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.~-]{0,127}$")
# The edition's pages may load their own files and nothing else; the token in the address
# never goes to another site in a Referer.
HEADERS = {"Content-Security-Policy": f"{POLICY}; frame-ancestors 'none'",
           "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff"}
PAGE_CACHE = "private, no-cache"  # a page: checked each time (the edition may be rebuilt)
ASSET_CACHE = "private, max-age=86400"  # styles, fonts, images: a day


@dataclass(frozen=True)
class Found:
    """A file of the edition to send, with its content type."""

    path: Path
    media_type: str

    @property
    def cache_control(self) -> str:
        return PAGE_CACHE if self.path.suffix == ".html" else ASSET_CACHE


class Edition:
    """The web edition of the service's PDF, as the read route sees it."""

    def __init__(self, pdf: Path):
        self.pdf = pdf
        self.folder = web_folder(pdf)

    @property
    def exists(self) -> bool:
        return (self.folder / INDEX).is_file()

    @property
    def start(self) -> str:
        """The contents page, relative to ``/read/TOKEN/``."""
        return f"{self.folder.name}/{INDEX}"

    def is_pdf(self, path: str) -> bool:
        return path == self.pdf.name

    def find(self, path: str) -> Found | None:
        """The file ``path`` (relative to ``/read/TOKEN/``) names, if the edition has it."""
        segments = path.split("/")
        if len(segments) < 2 or segments[0] != self.folder.name or len(segments) > 6:
            return None
        if not all(_SEGMENT.match(segment) for segment in segments[1:]):
            return None
        media_type = CONTENT_TYPES.get(Path(segments[-1]).suffix.lower())
        if media_type is None:
            return None
        try:
            root = self.folder.resolve(strict=True)
            real = self.folder.joinpath(*segments[1:]).resolve(strict=True)
        except OSError:
            return None
        if not real.is_relative_to(root) or not real.is_file():
            return None
        return Found(real, media_type)


_CHAPTER_ID = re.compile(rb'<main\b[^>]*\sdata-chapter="([A-Za-z0-9._-]{1,80})"')


def with_beacon(page: bytes, up: int = 0) -> bytes:
    """A chapter page as the service sends it: with the first-party script that counts its
    opening and its reading to the end (``signup.readroutes``), added before ``</body>``. The
    files on disk stay without it, so the edition opened from disk or another host sends
    nothing anywhere. ``up``: how many folders below ``/read/TOKEN/`` the page is."""
    found = _CHAPTER_ID.search(page)
    closing = page.rfind(b"</body>")
    if not found or closing < 0:
        return page
    source = b"../" * up + b"_seen.js"
    script = b'<script src="' + source + b'" data-chapter="' + found.group(1) + b'" defer></script>\n'
    return page[:closing] + script + page[closing:]

