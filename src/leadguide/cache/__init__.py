"""What earlier builds made, kept under ``<output folder>/.cache``: whole builds, rendered chapters and laid-out parts, each filed by everything it was made from.

``BuildCache`` is the one interface the build calls, at the seams of its stages: before
anything is read (the whole build), around the HTML stage (chapters) and the layout stage
(parts).
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from .whole import Unchanged, lookup, store

if TYPE_CHECKING:  # their stages' code is imported only when a build gets that far
    from ..guide.config import GuideConfig
    from .chapters import ChapterCache
    from .parts import PartCache

FOLDER = ".cache"


class BuildCache:
    """The caches of the build writing ``target``, in ``.cache/`` beside it or in ``home``.

    Every entry is filed by what it was made from, so builds of one guide into different
    folders (the PDF, serve's live draft) can share one cache."""

    def __init__(self, target: Path, home: Path | None = None):
        self.folder = (home or target.parent) / FOLDER
        self.target = target

    def unchanged(self, config: GuideConfig, finish: str) -> Unchanged | None:
        """The last build of exactly these sources finished the same way (``strict``,
        ``draft`` or ``live``), its PDF put at the target; or None."""
        return lookup(self.folder, config, finish, self.target)

    def remember(self, config: GuideConfig, finish: str, result) -> None:
        """Keep the finished build (a ``BuildResult`` written to the target)."""
        store(self.folder, config, finish, self.target, result)

    def chapters(self, config: GuideConfig) -> ChapterCache:
        from .chapters import ChapterCache

        return ChapterCache(self.folder, config)

    def parts(self, roots: tuple[Path, ...], fallbacks: dict[Path, Path]) -> PartCache:
        from .parts import PartCache

        return PartCache(self.folder, roots, fallbacks)


__all__ = ["FOLDER", "BuildCache", "Unchanged"]
