"""Templates loaded through the file guard, from the guide's, its kit's and the built-in folders."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import jinja2

from ..guide.guard import MAX_TEXT_BYTES, RefusedFile, read_text


class GuideLoader(jinja2.BaseLoader):
    """Templates by name from folders in order (a guide's own first), read through the guard."""

    def __init__(self, folders: list[Path], roots: tuple[Path, ...] | None = None):
        self.folders = [Path(folder) for folder in folders]
        self.roots = roots or tuple(self.folders)

    def get_source(self, environment: jinja2.Environment,
                   template: str) -> tuple[str, str, Callable[[], bool]]:
        parts = template.split("/")
        if template.startswith("/") or "\\" in template or any(p in ("", ".", "..")
                                                                   for p in parts):
            raise jinja2.TemplateNotFound(template)
        for folder in self.folders:
            path = folder.joinpath(*parts)
            if not os.path.lexists(path):
                continue
            try:
                text = read_text(path, self.roots, path, RefusedFile, MAX_TEXT_BYTES)
            except RefusedFile as refused:
                raise TemplateFileError(refused.message, path, refused.line) from None
            mtime = os.path.getmtime(path)
            return text, str(path), lambda path=path, mtime=mtime: _unchanged(path, mtime)
        raise jinja2.TemplateNotFound(template)

    def list_templates(self) -> list[str]:
        return sorted({p.relative_to(f).as_posix() for f in self.folders if f.is_dir()
                       for p in f.rglob("*") if p.is_file()})


class TemplateFileError(RefusedFile):
    """A template file the guard refused (outside the guide, not a file, not UTF-8)."""


def _unchanged(path: Path, mtime: float) -> bool:
    try:
        return os.path.getmtime(path) == mtime
    except OSError:
        return False
