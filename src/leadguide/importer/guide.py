"""``leadguide new DIR --from SOURCE…``: a whole guide from posts. The ebook starter with a
chapter per post (the cover title from the first) before its closing chapter (call to action,
disclaimer), then built strictly: the promise is the pages it lays out to, or ``pages`` made
good by ``leadguide fit``, which otherwise says how much to cut or add."""
from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..build import BuildResult, build
from ..fit.search import FitReport, fit_guide
from ..guide.config import load_config
from ..starters.scaffold import new_guide
from .fetch import DEFAULT_LIMITS, Limits
from .sources import read_sources
from .write import ImportReport, write_drafts

# The ebook starter's placeholder chapters and the data only they use; its closing chapter
# (call to action and disclaimer) stays, after the posts.
_PLACEHOLDERS = ("chapters/01-introduction.md", "chapters/02-the-method.md", "data/ideas.yaml",
                 "data/steps.yaml")


@dataclass
class NewGuideReport:
    guide: Path
    imported: ImportReport
    build: BuildResult
    fit: FitReport | None = None  # when a page count was asked for


def guide_from_sources(target: Path | str, sources: list[str], posts: tuple[str, ...] = (),
                       pages: int | None = None, limits: Limits = DEFAULT_LIMITS,
                       progress: Callable[[str], None] | None = None,
                       look: str = "classic") -> NewGuideReport:
    """A new guide in ``target`` from ``sources``. Nothing is written when a source is bad;
    a guide that then fails to build strictly is kept, to be fixed, and the error raised."""
    say = progress or (lambda message: None)
    drafts = read_sources(list(sources), posts, limits)
    target = Path(target)
    first = drafts[0]
    new_guide(target, "ebook", look, title=first.title, subtitle=first.description or "",
              author=first.site_name or str(first.front.get("author", "")) or None)
    try:
        for placeholder in _PLACEHOLDERS:
            (target / placeholder).unlink()
        imported = write_drafts(load_config(target), drafts, at=1)
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise
    if pages is None:
        say("laying the guide out to count its pages")
        pages = build(target, draft=True).pages
        _promise(target, pages)
        say(f"building strictly: {pages} pages")
        return NewGuideReport(target, imported, build(target))
    _promise(target, pages)
    say(f"fitting to {pages} pages")
    fitted = fit_guide(target, progress=say)
    return NewGuideReport(target, imported, fitted.build, fitted)


def _promise(guide: Path, pages: int) -> None:
    config = guide / "guide.yaml"
    text = config.read_text(encoding="utf-8")
    config.write_text(re.sub(r"^pages: \d+", f"pages: {pages}", text, count=1, flags=re.M),
                      encoding="utf-8")


