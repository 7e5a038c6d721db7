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
