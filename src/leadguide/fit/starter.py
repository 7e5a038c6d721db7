"""``leadguide new``'s starter written for its paper: the starter's words are drawn for Letter
and A4; on a smaller page (A5, 6x9 in) each chapter keeps its one-page budget, so the optional
blocks the page has no room for are left out, last first, until the chapter lands on its
budget as designed with its last page at least ``fit.min_fill`` full; what they cannot land,
``leadguide fit`` lands (fit.yaml), or says what to cut.

The promise stays what the starter promises (a 6-page ebook is a 6-page ebook on any paper);
what changes is how much placeholder text there is to replace. A guide's own words are never
cut: for those, ``leadguide fit`` says how many lines to cut or add.
"""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Callable

from ..build import read_sources
from ..guide.config import load_config
from ..starters.scaffold import new_guide, optional_blocks, without_block, without_marks
from .layouts import ChapterLayouts, Trial
from .search import Goal, fit_guide

Progress = Callable[[str], None]
DRAWN_FOR = ("letter", "a4")  # the papers the starters' text is written for (the looks matrix)


def new_sized_guide(target: Path | str, kind: str = "ebook", look: str = "classic",
                    page_size: str = "Letter", progress: Progress | None = None) -> Path:
    """A starter guide (``starters.scaffold.new_guide``) with its text sized for ``page_size``."""
    say = progress or (lambda message: None)
    if page_size.lower() in DRAWN_FOR:
        return new_guide(target, kind, look, page_size=page_size)
    guide = new_guide(target, kind, look, page_size=page_size, keep_optional=True)
    marked = {path: path.read_text(encoding="utf-8")
              for path in sorted((guide / "chapters").glob("*.md"))}
    try:
        for path, text in marked.items():
            path.write_text(without_marks(text), encoding="utf-8")
        say(f"sizing the starter's text for {page_size} paper")
        landed = [_sized(guide, path, text) for path, text in marked.items()]
    except BaseException:
        shutil.rmtree(guide, ignore_errors=True)  # never a half-sized starter
        raise
    if not all(landed):
        say("fitting what the optional blocks could not land")
        fit_guide(guide, progress=say)
    return guide


def _sized(guide: Path, path: Path, text: str) -> bool:
    """Write the chapter at ``path`` without the optional blocks of ``text``, last first,
    that keep it off its budget (a block whose removal leaves the last page too empty
    stays); whether it lands as designed."""
    trial, budget, min_fill = _trial(guide, path, text)
    if budget is None or _lands(trial, budget, min_fill):
        return True
    blocks = optional_blocks(text)
    for block in reversed(blocks):  # removing a later block leaves earlier ones in place
        candidate = without_block(text, block)
        shorter, _, _ = _trial(guide, path, candidate)
        if shorter.pages < budget or (shorter.pages == budget and shorter.last_fill < min_fill):
            continue  # too much gone: keep this block, try a smaller one before it
        text, trial = candidate, shorter
        if _lands(trial, budget, min_fill):
            break
    path.write_text(without_marks(text), encoding="utf-8")
    return _lands(trial, budget, min_fill)


def _lands(trial: Trial, budget: int, min_fill: float) -> bool:
    return Goal(budget, min_fill).lands(trial)


def _trial(guide: Path, path: Path, marked: str) -> tuple[Trial, int | None, float]:
    """The chapter at ``path`` laid out alone, as designed, with ``marked`` as its text."""
    path.write_text(without_marks(marked), encoding="utf-8")
    config = load_config(guide)
    chapters, data = read_sources(config)
    chapter = next(c for c in chapters if c.path.name == path.name)
    layouts = ChapterLayouts(config, [chapter], data)
    return layouts.trial(path.name, layouts.design), chapter.pages, config.fit.min_fill
