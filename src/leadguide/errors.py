"""Errors every stage raises: each names the file and line that caused it."""
from __future__ import annotations

from pathlib import Path


def shown_path(path: Path) -> Path:
    """A path as the user would type it: relative to the working folder when inside it."""
    if path.is_absolute() and path.is_relative_to(Path.cwd()):
        return path.relative_to(Path.cwd())
    return path


class GuideError(Exception):
    """A problem in a guide's sources, reported as ``path:line: message``."""

    def __init__(self, message: str, path: Path | str | None = None, line: int | None = None):
        super().__init__(message)
        self.message = message
        self.path = Path(path) if path is not None else None
        self.line = line

    def __str__(self) -> str:
        where = ""
        if self.path is not None:
            path = shown_path(self.path)
            where = f"{path}:{self.line}: " if self.line else f"{path}: "
        return f"{where}{self.message}"


class ConfigError(GuideError):
    """guide.yaml is missing, malformed or invalid."""


class ContentError(GuideError):
    """A chapter or data file is missing, malformed or invalid."""


class TemplateError(GuideError):
    """A template or a chapter's macro call failed."""


class RenderError(GuideError):
    """WeasyPrint reported a problem (bad CSS, missing or refused resource)."""


class Notice(GuideError):
    """Not a problem: something leadguide did for the author, said once at its line."""


class PagePromiseError(GuideError):
    """The PDF does not have the number of pages the guide promises."""

    def __init__(self, message: str, path: Path | None, line: int | None, table: str):
        super().__init__(message, path, line)
        self.table = table

    def __str__(self) -> str:
        return f"{super().__str__()}\n{self.table}"


class ConformanceError(GuideError):
    """The PDF breaks a rule of the standard it would claim (PDF/UA-1, PDF/A)."""


class ErrorGroup(GuideError):
    """Several problems found in one pass, reported together before one abort."""

    def __init__(self, errors: list[GuideError]):
        self.errors = errors
        first = errors[0]
        super().__init__(first.message, first.path, first.line)

    def __str__(self) -> str:
        return "\n".join(str(error) for error in self.errors)


def raise_all(errors: list[GuideError]) -> None:
    """Raise nothing, the one error, or all of them at once."""
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise ErrorGroup(errors)
