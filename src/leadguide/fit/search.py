"""``leadguide fit``: find the typography that lands each chapter on its page budget.

Chapters start on new pages, so each is fitted alone: it is laid out by WeasyPrint with the
PDF's stylesheets and candidate values (custom properties on its section), knob by knob in
the order of ``fitfile.KNOBS`` (the least visible change first), and the smallest change that
lands on the target is kept. The words are never touched. The values go to fit.yaml, which
every build applies, and a strict build proves the result.

Fit never pads: a chapter lands only when its last page is at least ``fit.min_fill`` full. A
chapter too short for its budget is loosened only as far as that still holds; when no value
within the bounds fills its last page, fit says how many lines to add, or which smaller budget
the chapter already fills, instead of stretching it onto a page that is mostly blank.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

from ..build import BuildResult, build, lay_out, read_sources
from ..errors import GuideError
from ..guide.chapters import Chapter
from ..guide.config import GuideConfig, load_config
from ..guide.fitfile import FIT_NAME, FitSettings, Knob, write_fit_bytes, write_fit_file
from ..html.assemble import assemble
from ..layout.spans import ChapterSpan, chapter_spans
from .layouts import ChapterLayouts, Trial

Progress = Callable[[str], None]


class FitError(GuideError):
    """No typography within the bounds lands the guide on its promise."""

    def __init__(self, message: str, path: Path | None, report: "FitReport"):
        super().__init__(message, path)
        self.report = report

    def __str__(self) -> str:
        return f"{super().__str__()}\n{self.report.table()}"


@dataclass
class ChapterFit:
    """What fit did for one chapter: pages before → after and the values it changed."""

    name: str
    path: Path
    target: int | None
    before: int
    after: int
    values: dict[str, float] = field(default_factory=dict)
    changed: dict[str, tuple[float, float]] = field(default_factory=dict)
    lines: int = 0  # lines to cut (> 0) or add (< 0) when no value in the bounds lands it
    last_fill: float = 1.0  # of the chapter's last page, with the values chosen
    inner_fill: float = 1.0  # of its emptiest other page not ended by a forced break
    min_fill: float = 0.0
    smaller_budget: int | None = None  # a budget the chapter fills as designed, when short

    @property
    def padded(self) -> bool:
        """A page (the last, or one a block moved on from) is emptier than fit.min_fill."""
        return min(self.last_fill, self.inner_fill) < self.min_fill - 1e-9

    @property
    def landed(self) -> bool:
        return self.target is None or (self.after == self.target and not self.padded)


@dataclass
class FitReport:
    promised: int
    total_before: int
    total_after: int
    chapters: list[ChapterFit]
    passes: int = 0
    seconds: float = 0.0
    fit_file: Path | None = None
    build: BuildResult | None = None
    problem: str = ""

    @property
    def landed(self) -> bool:
        return not self.problem and self.total_after == self.promised and all(
            c.landed for c in self.chapters)

    def table(self) -> str:
        rows = [("chapter", "budget", "pages", "changed")]
        for c in self.chapters:
            rows.append((str(c.path), "-" if c.target is None else str(c.target),
                         f"{c.before} -> {c.after}" if c.before != c.after else str(c.after),
                         _changes(c)))
        rows.append(("total", str(self.promised), f"{self.total_before} -> {self.total_after}"
                     if self.total_before != self.total_after else str(self.total_after), ""))
        widths = [max(len(row[i]) for row in rows) for i in range(4)]
        return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip()
                         for row in rows)


def _changes(fit: ChapterFit) -> str:
    from ..guide.fitfile import KNOB_NAMES
    parts = [f"{KNOB_NAMES[k].label} {KNOB_NAMES[k].text(a)} -> {KNOB_NAMES[k].text(b)}"
             for k, (a, b) in fit.changed.items()]
    if not fit.landed:
        verb = "cut" if fit.lines > 0 else "add"
        closest = f"{fit.after} page{'s' if fit.after != 1 else ''}" + (
            _emptiest(fit) if fit.padded else "")
        parts.append(f"NO FIT: closest {closest}; {verb} about {abs(fit.lines)} "
                     f"line{'s' if abs(fit.lines) != 1 else ''}"
                     + (f", or set pages: {fit.smaller_budget}" if fit.smaller_budget else ""))
    return "; ".join(parts) or ("kept" if fit.values else "")


def _emptiest(fit: ChapterFit) -> str:
    if fit.inner_fill < min(fit.last_fill, fit.min_fill):
        return f", a page before the last {fit.inner_fill:.0%} full (a block moved on)"
    return f", the last {fit.last_fill:.0%} full"


def fit_guide(guide_dir: Path | str = "guide", progress: Progress | None = None,
              verify: Callable[[Path], None] | None = None) -> FitReport:
    """Fit every chapter that misses its budget (and the guide to its promise); write fit.yaml
    and build strictly. Raises FitError, with the report, when no values land it; fit.yaml and
    the last PDF are then left as they were."""
    started = time.perf_counter()
    say = progress or (lambda message: None)
    config = load_config(guide_dir)
    chapters, data = read_sources(config)
    say("laying out the whole guide")
    spans, total = _whole_layout(config, chapters, data)
    layouts = ChapterLayouts(config, chapters, data)
    fits = [_chapter_fit(config.fit, span, chapter) for span, chapter in zip(spans, chapters)]
    parts = total - sum(span.pages for span in spans)
    report = FitReport(config.pages, total, total, fits)
    _fit_budgets(report, layouts, say)
    _fit_promise(report, layouts, parts, say)
    report.total_after = parts + sum(c.after for c in report.chapters)
    report.passes = layouts.passes + 1
    if report.landed:
        say("building with the fitted values")
        report.fit_file, report.build = _write_and_build(config, guide_dir, fits, verify)
        report.passes += 1
    report.seconds = time.perf_counter() - started
    if not report.landed:
        raise FitError(report.problem or _no_fit_message(report), config.config_path, report)
    return report


def _whole_layout(config: GuideConfig, chapters: list[Chapter],
                  data: dict[str, Any]) -> tuple[list[ChapterSpan], int]:
    """The guide laid out as the build lays it out (nothing written): spans and page count."""
    rendered = lay_out(config, chapters, assemble(config, chapters, data))
    return chapter_spans(chapters, rendered.anchor_pages, rendered.page_count), rendered.page_count


def _write_and_build(config: GuideConfig, guide_dir: Path | str, fits: list[ChapterFit],
                     verify: Callable[[Path], None] | None) -> tuple[Path, BuildResult]:
    """Write fit.yaml and prove it with a strict build; put the old file back if it fails."""
    path = config.root / FIT_NAME
    previous = path.read_bytes() if path.is_file() else None
    written = write_fit_file(config.root, {c.name: c.values for c in fits})
    try:
        return written, build(guide_dir, verify=verify)
    except BaseException:
        if previous is None:
            written.unlink(missing_ok=True)
        else:
            write_fit_bytes(path, previous)
        raise


def _chapter_fit(settings: FitSettings, span, chapter: Chapter) -> ChapterFit:
    values = dict(settings.chapters.get(chapter.path.name, {}))
    return ChapterFit(chapter.path.name, chapter.path, chapter.pages, span.pages, span.pages,
                      values, min_fill=settings.min_fill)


def _fit_budgets(report: FitReport, layouts: ChapterLayouts, say: Progress) -> None:
    """Fit each chapter that misses its budget, or meets it with a last page under min_fill."""
    for fit in report.chapters:
        if fit.target is None:
            continue
        trial = layouts.trial(fit.name, _values_for(fit, layouts))
        fit.last_fill, fit.inner_fill = trial.last_fill, trial.inner_fill
        if fit.before != fit.target or fit.padded:
            say(f"fitting {fit.path}: {fit.before} pages, budget {fit.target}")
            _search(fit, fit.target, layouts)


def _fit_promise(report: FitReport, layouts: ChapterLayouts, parts: int,
                 say: Progress) -> None:
    """Chapters without a budget give or take the pages the promise still needs, one at a
    time, starting with the one whose last page is the emptiest (or the fullest)."""
    free = [c for c in report.chapters if c.target is None]
    tried: set[tuple[str, int]] = set()
    while (missing := report.promised - parts - sum(c.after for c in report.chapters)) != 0:
        step = 1 if missing > 0 else -1
        candidates = [c for c in free if (c.name, c.after + step) not in tried]
        if not candidates:
            budgets = sum(c.after for c in report.chapters)
            report.problem = (f"the chapters take {budgets} pages and the other parts {parts}, "
                              f"but guide.yaml promises {report.promised}: "
                              + ("change a chapter's 'pages' budget" if not free else
                                 "no chapter without a budget can give or take a page"))
            return
        fill = {c.name: layouts.trial(c.name, _values_for(c, layouts)).last_fill
                for c in candidates}
        chosen = (min if step < 0 else max)(candidates, key=lambda c: fill[c.name])
        tried.add((chosen.name, chosen.after + step))
        say(f"fitting {chosen.path}: {chosen.after} -> {chosen.after + step} pages for the promise")
        trial = replace(chosen, target=chosen.after + step)
        _search(trial, chosen.after + step, layouts)
        if trial.landed:
            chosen.after, chosen.values, chosen.changed = trial.after, trial.values, trial.changed
            chosen.last_fill, chosen.inner_fill = trial.last_fill, trial.inner_fill


def landing_budget(layouts: ChapterLayouts, chapter: Chapter) -> ChapterFit:
    """The page budget ``chapter`` lands on within the fit bounds, never padded: its pages as
    designed when its last page is full enough, else one page fewer (tightened) or its pages
    (loosened). Not ``landed`` when none does; ``lines`` then says how many to add."""
    name, min_fill = chapter.path.name, layouts.config.fit.min_fill
    start = layouts.trial(name, layouts.design)
    targets = ([start.pages] if Goal(start.pages, min_fill).lands(start)
               else [start.pages - 1, start.pages])
    for target in (t for t in targets if t >= 1):
        fit = ChapterFit(name, chapter.path, target, start.pages, start.pages, min_fill=min_fill)
        _search(fit, target, layouts)
        if fit.landed:
            return fit
    return fit


def _values_for(fit: ChapterFit, layouts: ChapterLayouts) -> dict[str, float]:
    return {**layouts.design, **fit.values}


def _search(fit: ChapterFit, target: int, layouts: ChapterLayouts) -> None:
    """Move knobs from the design's values toward their bounds, one after another, and keep
    the smallest move of the last one that lands the chapter on ``target`` pages with its
    last page at least ``min_fill`` full."""
    base = layouts.design
    goal = Goal(target, fit.min_fill)
    start = layouts.trial(fit.name, base)
    if goal.lands(start):
        _settle(fit, base, base, start, goal)
        return
    tighten = start.pages > target
    values = dict(base)
    trial = start
    for knob in layouts.config.fit.knobs():
        extreme = _clamp(knob.low if tighten else knob.high, knob)
        if abs(extreme - values[knob.name]) < 1e-9 or not _movable(knob, values[knob.name],
                                                                  tighten):
            continue
        pushed = {**values, knob.name: extreme}
        trial = layouts.trial(fit.name, pushed)
        if goal.reached(trial, tighten):
            best = _bisect(fit.name, knob, values, extreme, goal, tighten, layouts)
            trial = layouts.trial(fit.name, best)
            if goal.lands(trial):
                _settle(fit, base, best, trial, goal)
                return
            values = best
            break  # it jumped past the target: more of this knob only moves further off
        values = pushed
    if tighten:
        _settle(fit, base, values, trial, goal)
        fit.lines = _lines_to_change(trial, target, values)
    else:  # nothing stretched: the chapter stays as designed, with what to add
        _settle(fit, base, base, start, goal)
        fit.lines = -_lines_to_fill(start, goal, base)
        fit.smaller_budget = _smaller_budget(start, goal)


@dataclass(frozen=True)
class Goal:
    """``pages`` pages, the last at least ``min_fill`` full."""

    pages: int
    min_fill: float

    def lands(self, trial: Trial) -> bool:
        """On ``pages`` pages, none emptier than ``min_fill`` (but those a break ends)."""
        return (trial.pages == self.pages and trial.last_fill >= self.min_fill - 1e-9
                and trial.inner_fill >= self.min_fill - 1e-9)

    def reached(self, trial: Trial, tighten: bool) -> bool:
        """Far enough in the search's direction: at or under the pages when tightening; at
        the pages with a full enough last page, or past them, when loosening."""
        if tighten:
            return trial.pages <= self.pages
        return trial.pages > self.pages or self.lands(trial)


def _movable(knob: Knob, value: float, tighten: bool) -> bool:
    return value > knob.low + 1e-9 if tighten else value < knob.high - 1e-9


def _clamp(value: float, knob: Knob) -> float:
    return min(max(value, knob.low), knob.high)


def _bisect(name: str, knob: Knob, values: dict[str, float], extreme: float, goal: Goal,
            tighten: bool, layouts: ChapterLayouts) -> dict[str, float]:
    """The value of ``knob`` nearest the design's that still lands on ``target`` pages."""
    steps = max(1, round(abs(extreme - values[knob.name]) / knob.step))
    direction = -1 if extreme < values[knob.name] else 1
    at = lambda i: {**values, knob.name: round(values[knob.name] + direction * i * knob.step, 4)
                    if i < steps else extreme}
    low, high = 0, steps  # at(low) misses, at(high) lands
    while high - low > 1:
        middle = (low + high) // 2
        if goal.reached(layouts.trial(name, at(middle)), tighten):
            high = middle
        else:
            low = middle
    return _without_new_flaws(name, at, high, steps, goal, layouts, values)


def _without_new_flaws(name: str, at: Callable[[int], dict[str, float]], first: int, steps: int,
                       goal: Goal, layouts: ChapterLayouts,
                       values: dict[str, float]) -> dict[str, float]:
    """The first landing step, or a few steps further if that leaves a widow, an orphan or a
    lonely heading the chapter did not have."""
    allowed = layouts.trial(name, values).flaws
    for step in range(first, min(first + 3, steps) + 1):
        trial = layouts.trial(name, at(step))
        if goal.lands(trial) and trial.flaws <= allowed:
            return at(step)
    return at(first)


def _settle(fit: ChapterFit, base: dict[str, float], values: dict[str, float], trial: Trial,
            goal: Goal) -> None:
    fit.after = trial.pages
    fit.last_fill, fit.inner_fill = trial.last_fill, trial.inner_fill
    fit.values = {k: v for k, v in values.items() if abs(v - base[k]) > 1e-9}
    fit.changed = {k: (base[k], v) for k, v in fit.values.items()}
    fit.lines = 0 if goal.lands(trial) else fit.lines


def _lines_per_page(trial: Trial, values: dict[str, float]) -> int:
    line = values["body_size"] * 4 / 3 * values["leading"]  # pt to CSS px
    return max(1, round(trial.page_height / line))


def _lines_to_fill(start: Trial, goal: Goal, values: dict[str, float]) -> int:
    """Body lines to add, as designed, so the chapter fills ``goal.pages`` pages with the last
    at least ``min_fill`` full."""
    missing = (goal.pages - 1 + goal.min_fill) - (start.pages - 1 + start.last_fill)
    return max(1, round(missing * _lines_per_page(start, values) + 0.5))


def _smaller_budget(start: Trial, goal: Goal) -> int | None:
    """The budget the chapter fills as it is: its own pages, or one fewer when its last page
    is too empty (fit can then tighten it onto them)."""
    budget = start.pages if start.last_fill >= goal.min_fill else start.pages - 1
    return budget if 1 <= budget < goal.pages else None


def _lines_to_change(trial: Trial, target: int, values: dict[str, float]) -> int:
    """Roughly how many body lines to cut (positive) or add (negative) to land on target."""
    lines_per_page = _lines_per_page(trial, values)
    if trial.pages > target:
        return max(1, round((trial.pages - target - 1 + trial.last_fill) * lines_per_page))
    return -max(1, round((target - trial.pages - 1 + (1 - trial.last_fill)) * lines_per_page) + 1)


def _no_fit_message(report: FitReport) -> str:
    missed = [c for c in report.chapters if not c.landed]
    if missed:
        names = ", ".join(str(c.path) for c in missed)
        return (f"no typography within guide.yaml's fit bounds lands {names} on its budget "
                "with every page at least fit.min_fill full: cut or add the lines the table "
                "shows, or take the smaller budget it suggests (nothing was written)")
    return f"the guide has {report.total_after} pages but promises {report.promised}"
