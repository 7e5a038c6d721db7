"""A WeasyPrint URL fetcher that only serves files from inside the allowed folders."""
from __future__ import annotations

import io
import mimetypes
import os
from pathlib import Path
from urllib.parse import urlsplit
from xml.etree import ElementTree

from PIL import Image
from weasyprint.urls import URLFetcher, URLFetcherResponse

from .guard import MAX_PIXELS, RefusedFile, file_url_path, read_bytes


class RefusedResource(ValueError):
    """A resource outside the guide, or from the network."""


def image_problem(body: bytes, mime: str | None) -> str | None:
    """Why an image file cannot be used (truncated, not what its name says, a pixel bomb),
    or None. WeasyPrint would otherwise drop a broken image silently."""
    if mime == "image/svg+xml":
        try:
            ElementTree.fromstring(body)
        except ElementTree.ParseError as exc:
            return f"not a valid SVG file ({exc})"
        return None
    if not mime or not mime.startswith("image/"):
        return None
    try:
        with Image.open(io.BytesIO(body)) as image:
            if image.width * image.height > MAX_PIXELS:
                return (f"too many pixels ({image.width} x {image.height}; at most "
                        f"{MAX_PIXELS // 1_000_000} million)")
            image.load()
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        kind = mime.removeprefix("image/").upper()
        return f"not a valid {kind} image, or cut short ({exc})"
    return None


class SafeFetcher(URLFetcher):
    """Serves ``file:`` URLs under ``roots`` and ``data:`` URIs; refuses everything else.

    Refusals are remembered so the build can report them after layout, because WeasyPrint
    turns a fetch failure into a log line and carries on.
    """

    def __init__(self, roots: tuple[Path, ...], fallbacks: dict[Path, Path] | None = None):
        super().__init__(allowed_protocols={"file", "data"})
        self.roots = tuple(root.resolve() for root in roots)
        # An overriding stylesheet in guide/styles/ still finds the built-in fonts and icons.
        self.fallbacks = {own.resolve(): builtin.resolve()
                          for own, builtin in (fallbacks or {}).items()}
        self.refused: list[tuple[str, str]] = []

    def fetch(self, url: str, headers: dict | None = None) -> URLFetcherResponse:
        scheme = urlsplit(url).scheme.lower()
        if scheme == "data":
            return super().fetch(url, headers)
        if scheme != "file":
            return self._refuse(url, "network access is off: put the file in the guide folder")
        path = file_url_path(url, self.roots, self.fallbacks)
        if path is None:
            return self._refuse(url, "outside the guide folder: only files inside it can be used")
        if not os.path.lexists(path):
            return self._refuse(url, "file not found")
        try:
            body = read_bytes(path, self.roots)
        except RefusedFile as refused:
            return self._refuse(url, refused.message)
        mime, _ = mimetypes.guess_type(path.name)
        broken = image_problem(body, mime)
        if broken:
            return self._refuse(url, broken)
        return URLFetcherResponse(url, body, {"Content-Type": mime or "application/octet-stream"})

    def _refuse(self, url: str, reason: str) -> URLFetcherResponse:
        self.refused.append((url, reason))
        raise RefusedResource(f"{reason}: {url}")
