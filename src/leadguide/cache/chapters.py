"""Rendered chapters kept between builds, under the output folder's ``.cache/chapters/``.

A chapter's HTML depends on the chapter (its text and front matter, its number) and on
everything else a guide is made of except the other chapters: guide.yaml, fit.yaml, the data,
the templates and macros (the guide's, its kit's, the built-in ones) and leadguide's code. An
entry is filed under the hash of all of those, so a one-chapter edit renders that chapter only.
A failing chapter is never stored; an entry that cannot be read is a miss.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING

from ..atomic import write_bytes
from .whole import source_files

if TYPE_CHECKING:
    from ..guide.chapters import Chapter
    from ..guide.config import GuideConfig
    from ..html.chapter import RenderedChapter


class ChapterCache:
    """The ``html.assemble.ChapterStore`` of an output folder's cache."""

    def __init__(self, folder: Path, config: "GuideConfig"):
        self.folder = folder / "chapters"
        self.templates = folder / "templates"  # Jinja2's compiled templates
        own = {(config.chapters_dir / name).resolve() for name in config.chapters}
        digest = hashlib.sha256()
        for path, content in source_files(config, folder):
            if path.resolve() not in own:
                digest.update(str(path).encode() + b"\0" + content + b"\0")
        self.shared = digest.hexdigest()

    def _path(self, chapter: "Chapter") -> Path:
        key = hashlib.sha256(f"{self.shared}\0{chapter!r}".encode()).hexdigest()
        return self.folder / f"{key}.json"

    def get(self, chapter: "Chapter") -> "RenderedChapter | None":
        from ..html.chapter import Heading, RenderedChapter

        try:
            entry = json.loads(self._path(chapter).read_text(encoding="utf-8"))
            headings = tuple(Heading(int(h[0]), str(h[1]), str(h[2])) for h in entry["headings"])
            return RenderedChapter(chapter, str(entry["html"]), headings)
        except (OSError, ValueError, TypeError, KeyError, IndexError):
            return None

    def put(self, rendered: "RenderedChapter") -> None:
        headings = [[h.level, h.id, h.title] for h in rendered.headings]
        entry = json.dumps({"html": rendered.html, "headings": headings})
        write_bytes(self._path(rendered.chapter), entry.encode())
