"""What a set of changed files makes the preview redo (``plan_update``), and what an update did."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from ..build import manifest_path
from ..errors import GuideError
from ..guide.assets import BUILTIN_KITS, BUILTIN_STYLES, BUILTIN_TEMPLATES, output_dirs
from ..guide.config import GuideConfig
from .paths import ASSET_SUFFIXES, SOURCE_SUFFIXES
from .status import shown_error, unique


@dataclass(frozen=True)
class Plan:
    """What a set of changed files makes the preview redo."""

    full: bool = False
    chapters: frozenset[str] = frozenset()  # chapter file names to re-render alone
    last_build: bool = False  # the PDF or its manifest changed: spans and page images
    reload: bool = False  # a guide image changed: no page changes, but browsers reload

    @property
    def empty(self) -> bool:
        return not (self.full or self.chapters or self.last_build or self.reload)


def plan_update(changed: Iterable[Path], root: Path, config: GuideConfig | None, pdf: Path,
                out: Path) -> Plan:
    """Sort changed files: a chapter → that chapter; data, templates, styles, config → all."""
    full, last_build, reload, chapters = False, False, False, set()
    built = {pdf.resolve(), manifest_path(pdf).resolve()}
    outputs = output_dirs(root, *((config.output_dir,) if config else ()))
    for path in (Path(p).resolve() for p in changed):
        if path in built:
            last_build = True
        elif (path.is_relative_to(out) or path.name.startswith(".")
              or any(path.is_relative_to(folder) for folder in outputs)
              or path.suffix.lower() not in SOURCE_SUFFIXES | ASSET_SUFFIXES):
            continue
        elif any(path.is_relative_to(folder) for folder in
                 (BUILTIN_TEMPLATES, BUILTIN_STYLES, BUILTIN_KITS)):
            full = True
        elif not path.is_relative_to(root):
            continue
        elif (config and path.parent == config.chapters_dir and path.name in config.chapters
              and (path.exists() or config.chapters_listed)):
            # One chapter re-rendered (one guide.yaml lists and that is gone shows as missing,
            # with the advice to restore it or take it out); a chapter file created, deleted
            # or renamed in a guide that lists none re-reads the guide.
            chapters.add(path.name)
        elif path.suffix.lower() in ASSET_SUFFIXES and _is_guide_asset(path, root):
            reload = True
        else:
            full = True
    if config is None and (chapters or reload):
        full = True
    return Plan(full, frozenset(() if full else chapters), last_build, reload)


def _is_guide_asset(path: Path, root: Path) -> bool:
    """An image or font the pages load, not a stylesheet's or template's folder."""
    return path.relative_to(root).parts[0] not in ("styles", "templates")


@dataclass
class Update:
    """What one (re)build wrote, for the server to reload and the author to read."""

    pages: list[str] = field(default_factory=list)
    errors: list[GuideError] = field(default_factory=list)
    seconds: float = 0.0
    cause: str = ""
    # Styles, templates, data or assets changed: a tab reloads fully (a chapter save only
    # swaps the page's body in, and the stylesheets and images it has loaded stay).
    reload: bool = False


def describe(update: Update, root: Path) -> str:
    """One line per rebuild for the terminal, then one per distinct problem."""
    pages = update.pages if len(update.pages) <= 3 else [f"{len(update.pages)} pages"]
    line = f"{update.cause or 'rebuilt'} → {', '.join(pages)} ({update.seconds * 1000:.0f} ms)"
    return "\n".join([line, *(f"  error: {shown_error(e, root)}"
                              for e in unique(update.errors))])
