"""``leadguide new DIR --from SOURCE…``: a whole guide from posts. The ebook starter with a
chapter per post (the cover title from the first) before its closing chapter (call to action,
disclaimer), numbered in order, then built strictly.

Posts end where they end, and a page under ``fit.min_fill`` fails ``check``. So without
``pages``, each post is given the page budget it lands on within the fit bounds (as designed,
one page fewer tightened, or its pages loosened: never padded); a post that lands on none is
joined with the next one (or the last with the one before) as a section of one chapter, and
a post that still lands on none is named up front with the lines to add. The promise is the
sum, made good by ``leadguide fit``. With ``pages``, fit reaches that promise or says how much
to cut or add."""
from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import yaml

from ..atomic import write_bytes
from ..build import BuildResult, build, read_sources as read_guide
from ..fit.layouts import ChapterLayouts
from ..fit.search import ChapterFit, FitReport, fit_guide, landing_budget
from ..guide.chapters import Chapter
from ..guide.config import load_config
from ..starters.scaffold import new_guide
from .fetch import DEFAULT_LIMITS, Limits
from .renumber import number_in_order, relink
from .sources import read_sources
from .write import ImportReport, with_chapters, write_drafts

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
    notes: list[str] = field(default_factory=list)  # posts joined, posts short of a page


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
    names = [chapter.path.name for chapter in imported.chapters]
    if pages is None:
        fits, joined, notes = _land_posts(target, names, say)
        _follow(imported, joined, number_in_order(target, always=True), notes)
        say("laying the guide out to count its pages")
        designed = build(target, draft=True).pages
        _promise(target, designed - sum(f.before - f.target for f in fits if f.landed))
        say("fitting each post to its pages")
        fitted = fit_guide(target, progress=say)
        return NewGuideReport(target, imported, fitted.build, fitted, notes)
    _follow(imported, {}, number_in_order(target, always=True), [])
    _promise(target, pages)
    say(f"fitting to {pages} pages")
    fitted = fit_guide(target, progress=say)
    return NewGuideReport(target, imported, fitted.build, fitted)


def _land_posts(guide: Path, names: list[str],
                say: Callable[[str], None]) -> tuple[list[ChapterFit], dict[str, str], list[str]]:
    """Give each post the budget it lands on, joining a post that lands on none with its
    neighbour; the budgets found (written as ``pages:``), the posts joined into another and
    what was done, in words."""
    posts, fits, notes, laid_out = list(names), {}, [], None
    joined: dict[str, str] = {}
    i = 0
    while i < len(posts):
        laid_out = laid_out or _layouts(guide)
        layouts, chapters = laid_out
        fit = landing_budget(layouts, chapters[posts[i]])
        if fit.landed or len(posts) == 1:
            fits[posts[i]] = fit
            i += 1
            continue
        keep, drop = sorted((i, i + 1 if i + 1 < len(posts) else i - 1))
        notes.append(f"chapters/{posts[drop]} joined chapters/{posts[keep]} as a section: "
                     f"alone, {_short(fit)}")
        say(f"joining chapters/{posts[drop]} and chapters/{posts[keep]}")
        _join(guide, posts[keep], posts[drop])
        joined[posts[drop]] = posts[keep]
        fits.pop(posts[keep], None)
        del posts[drop]
        i, laid_out = keep, None
    for name, fit in fits.items():
        if fit.landed:
            _set_budget(guide / "chapters" / name, fit.target)
        else:
            notes.append(f"chapters/{name}: {_short(fit)}: add about {abs(fit.lines)} lines "
                         "to fill it, then: leadguide fit")
    return [fits[name] for name in posts], joined, notes


def _follow(imported: ImportReport, joined: dict[str, str], renamed: dict[str, str],
            notes: list[str]) -> None:
    """The import report names each post's chapter as it now is, with the notes."""
    for chapter in imported.chapters:
        name = chapter.path.name
        while name in joined:
            name = joined[name]
        chapter.path = chapter.path.with_name(renamed.get(name, name))
    imported.notes.extend(notes)


def _short(fit: ChapterFit) -> str:
    which = "a page before its last" if fit.inner_fill < fit.last_fill else "its last page"
    return (f"{which} is {min(fit.inner_fill, fit.last_fill):.0%} full within every fit bound "
            f"(fit.min_fill is {fit.min_fill:.0%})")


def _layouts(guide: Path) -> tuple[ChapterLayouts, dict[str, Chapter]]:
    config = load_config(guide)
    chapters, data = read_guide(config)
    return ChapterLayouts(config, chapters, data), {c.path.name: c for c in chapters}


_FRONT = re.compile(r"\A---\n(.*?)^---\n", re.S | re.M)
_HEADING = re.compile(r"^(#{1,5})(?= )", re.M)
_FENCE = re.compile(r"^(```|~~~).*?^\1[ \t]*$", re.S | re.M)


def _join(guide: Path, keep: str, drop: str) -> None:
    """Append chapter ``drop`` to chapter ``keep``: its title a section heading, its headings
    one level down; links to it lead to ``keep``."""
    folder = guide / "chapters"
    text = (folder / drop).read_text(encoding="utf-8")
    front = _FRONT.match(text)
    title = yaml.safe_load(front.group(1)).get("title", "") if front else ""
    body = _demoted(text[front.end():] if front else text).strip("\n")
    kept = (folder / keep).read_text(encoding="utf-8").rstrip("\n")
    config = load_config(guide)
    write_bytes(folder / keep, f"{kept}\n\n## {title}\n\n{body}\n".encode())
    write_bytes(config.config_path, with_chapters(
        config, [name for name in config.chapters if name != drop]).encode())
    (folder / drop).unlink()
    relink(folder, {drop: keep})


def _demoted(markdown: str) -> str:
    """Every heading one level down, code blocks left alone."""
    pieces, at = [], 0
    for fence in _FENCE.finditer(markdown):
        pieces += [_HEADING.sub(r"#\1", markdown[at:fence.start()]), fence.group(0)]
        at = fence.end()
    return "".join([*pieces, _HEADING.sub(r"#\1", markdown[at:])])


def _set_budget(path: Path, pages: int) -> None:
    text = path.read_text(encoding="utf-8")
    if re.search(r"^pages:", text[:_FRONT.match(text).end()], re.M):
        text = re.sub(r"^pages: *\d+", f"pages: {pages}", text, count=1, flags=re.M)
    else:
        text = text.replace("---\n", f"---\npages: {pages}\n", 1)
    write_bytes(path, text.encode())


def _promise(guide: Path, pages: int) -> None:
    config = guide / "guide.yaml"
    text = config.read_text(encoding="utf-8")
    config.write_text(re.sub(r"^pages: \d+", f"pages: {pages}", text, count=1, flags=re.M),
                      encoding="utf-8")


