"""What each preview page shows about the guide: chapters with their pages and statuses, the
page total, the live PDF's state and the errors, as the templates read them.
"""
from __future__ import annotations

import html
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..check.model import pages
from ..errors import ErrorGroup, GuideError
from ..html.chapter import RenderedChapter
from ..layout.pagebreaks import Layout
from ..layout.spans import ChapterSpan
from .lastbuild import LastBuild
from .paths import page_name, shown


@dataclass
class ChapterState:
    """One chapter: its last good rendering, and the error of the latest attempt if any."""

    name: str
    number: int
    rendered: RenderedChapter | None = None
    section: str = ""  # the chapter template's HTML, URLs relative to the guide as in the PDF
    error: GuideError | None = None
    missing: bool = False  # the file is gone: nothing of it is shown any more
    layout: Layout | None = None
    laid_out: str = ""  # the section the layout was made from: stale once the section moves on
    layout_error: str = ""
    rendered_at: float = 0.0

    @property
    def needs_layout(self) -> bool:
        return bool(self.section) and self.laid_out != self.section

    @property
    def title(self) -> str:
        return self.rendered.title if self.rendered else self.name

    @property
    def page(self) -> str:
        return page_name(Path(self.name).stem)


@dataclass
class PdfState:
    """The live PDF as serve keeps it: being rebuilt, or what stopped the last build."""

    building: bool = False
    error: str = ""

    def note(self, live: bool) -> str:
        if not live:
            return ""
        if self.error:
            return f"the live PDF could not be rebuilt: {self.error}"
        return "rebuilding the PDF…" if self.building else ""


@dataclass(frozen=True)
class ChapterEntry:
    """A chapter as the index and the page wrappers show it."""

    name: str
    number: int
    title: str
    page: str
    source: str
    anchor: str
    budget: int | None
    span: ChapterSpan | None
    error: GuideError | None
    missing: bool
    rendered: bool
    layout: Layout | None = None
    layout_fresh: bool = False
    layout_error: str = ""

    @classmethod
    def of(cls, state: ChapterState, last_build: LastBuild | None, root: Path) -> ChapterEntry:
        span = last_build.span(state.name) if last_build else None
        # Until the chapter renders once, the last build knows its title and budget best.
        title = state.title if state.rendered or not span else span.title
        budget = _budget(state) if state.rendered or not span else span.budget
        anchor = state.rendered.anchor if state.rendered else ""
        return cls(state.name, state.number, title, state.page,
                   f"{root.name}/chapters/{state.name}", anchor, budget, span, state.error,
                   state.missing, state.rendered is not None and not state.missing,
                   state.layout, not state.needs_layout, state.layout_error,
                   _fills(span, last_build), _short(span, last_build))

    fills: tuple[tuple[int, float], ...] = ()  # (page, how full) of its pages in the last PDF
    # (page, what `leadguide check` says) of its pages in the last PDF under fit.min_fill
    short: tuple[tuple[int, str], ...] = ()

    @property
    def pages(self) -> list[int]:
        return list(range(self.span.first, self.span.last + 1)) if self.span else []

    @property
    def now_pages(self) -> int | None:
        """Pages the chapter fills as it is now, else in the last build, if either is known."""
        if self.missing:
            return 0
        if self.layout:
            return self.layout.pages
        return self.span.pages if self.span else None

    @property
    def over_by(self) -> int:
        """Pages over budget in the last PDF build."""
        if not self.span or self.budget is None:
            return 0
        return max(self.span.pages - self.budget, 0)

    @property
    def now_over_by(self) -> int:
        """Pages over budget as the chapter lays out now."""
        if not self.layout or self.budget is None:
            return 0
        return max(self.layout.pages - self.budget, 0)

    @property
    def status(self) -> tuple[str, str]:
        """(kind, words) of the badge: missing, error, over, a page under fit.min_fill, fits,
        or nothing known yet."""
        if self.missing:
            return "error", "file missing"
        if self.error:
            return "error", "error"
        if self.now_over_by or (not self.layout and self.over_by):
            return "warn", f"⚠ {self.now_over_by or self.over_by} over budget"
        if self.short:
            return "error", f"⚠ {pages([page for page, _ in self.short])} under min_fill"
        if (self.span or self.layout) and self.budget is not None:
            return "ok", "fits"
        return "", ""

    def page_label(self, page: int) -> str:
        """A chapter page by its number in the PDF, as far as the last build tells."""
        return f"Page {self.span.first + page - 1}" if self.span else f"Chapter page {page}"

    @property
    def page_starts_json(self) -> str:
        """Where the page breaks go, for the page's script to mark (safe inside <script>)."""
        starts = self.layout.starts if self.layout else ()
        return _script_json({"fresh": self.layout_fresh, "starts": [
            {"label": self.page_label(s.page), "path": s.path, "text": s.text}
            for s in starts]})


@dataclass(frozen=True)
class Site:
    """What every page's sidebar and the index show: chapters, the page total, the PDF."""

    entries: list[ChapterEntry]
    last_build: LastBuild | None
    promised: int | None
    stale_edit: str | None  # the newest source edited after the last PDF was built
    pdf_note: str
    stale_listing: bool = False  # a source created, deleted or renamed since (no newer edit)

    @property
    def fixed_pages(self) -> int | None:
        """Cover, contents and back pages: what the last build had beyond the chapters."""
        if not self.last_build:
            return None
        return self.last_build.pages - sum(s.pages for s in self.last_build.spans.values())

    @property
    def total(self) -> int | None:
        """The pages the guide would have now, if every chapter's count is known."""
        counts = [entry.now_pages for entry in self.entries]
        if self.fixed_pages is None or None in counts:
            return None
        return self.fixed_pages + sum(counts)  # type: ignore[arg-type]

    @property
    def alarms(self) -> list[str]:
        """What keeps the guide from being as promised, whatever its page total: chapters
        over their budget, pages under fit.min_fill and chapter files missing (shown red
        until fixed)."""
        over = [e for e in self.entries if e.now_over_by or (not e.layout and e.over_by)]
        missing = [e for e in self.entries if e.missing]
        short = self.last_build.short if self.last_build else {}
        return ([f"{len(over)} chapter{'s' * (len(over) > 1)} over budget"] if over else []) + \
            ([f"{len(short)} page{'s' * (len(short) > 1)} under min_fill"] if short else []) + \
            ([f"{len(missing)} chapter file{'s' * (len(missing) > 1)} missing"] if missing else [])

    @property
    def key(self) -> tuple:
        """Changes whenever the sidebar or the index would read differently."""
        return (tuple((e.title, e.status, e.now_pages, e.layout and e.layout.pages, e.page)
                      for e in self.entries),
                self.total, bool(self.stale_edit), self.stale_listing, self.pdf_note,
                self.last_build.built_at if self.last_build else None)


@dataclass(frozen=True)
class ShownError:
    """An error as a page shows it: where (relative to the guide's folder) and what."""

    where: str
    message: str

    @classmethod
    def of(cls, error: GuideError, root: Path) -> ShownError:
        where = shown(error.path, root) if error.path else "guide"
        return cls(f"{where}:{error.line}" if error.line and error.path else where,
                   error.message)

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


def shown_error(error: GuideError, root: Path) -> str:
    return str(ShownError.of(error, root))


def unique(errors: list[GuideError]) -> list[GuideError]:
    """Each problem once, groups opened up: a broken shared template fails every chapter
    with the same message."""
    seen: dict[tuple, GuideError] = {}
    for error in flatten(errors):
        seen.setdefault((error.path and Path(error.path).name, error.line, error.message), error)
    return list(seen.values())


def source_json(state: ChapterState, file: str) -> str:
    """The chapter's Markdown lines, for the page to find the line a clicked block came from."""
    if not state.rendered or state.missing:
        return "null"
    chapter = state.rendered.chapter
    return _script_json({"file": file, "first": chapter.body_line,
                         "lines": chapter.body.split("\n")})


def _script_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False).replace("</", "<\\/").replace("<!--", "<\\!--")


def _budget(state: ChapterState) -> int | None:
    return state.rendered.chapter.pages if state.rendered else None


def flatten(errors: list[GuideError]) -> list[GuideError]:
    """Each problem on its own, with the groups that collected them opened up."""
    return [one for error in errors for one in (error.errors if isinstance(error, ErrorGroup)
                                                 else [error])]


def fallback_page(errors: list[ShownError]) -> str:
    """A bare page for when the guide cannot be read at all: only the errors."""
    items = "".join(f"<li><code>{html.escape(e.where)}</code> {html.escape(e.message)}</li>"
                    for e in errors)
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>⚠ {len(errors)} problem{'s' * (len(errors) != 1)} · preview</title></head>"
            "<body class=\"preview\" style=\"font-family:sans-serif;margin:2em\">"
            "<main><div class=\"preview-errors\" role=\"alert\">"
            f"<h1>The preview cannot be built</h1><ul>{items}</ul>"
            "<p>Fix the file and save: the preview rebuilds by itself.</p></div></main>"
            "</body></html>\n")


def _short(span: ChapterSpan | None, last_build: LastBuild | None) -> tuple[tuple[int, str], ...]:
    """The chapter's pages under fit.min_fill in the last PDF, with the check's words."""
    if not span or not last_build:
        return ()
    return tuple((page, last_build.short[page]) for page in range(span.first, span.last + 1)
                 if page in last_build.short)


def _fills(span: ChapterSpan | None, last_build: LastBuild | None) -> tuple[tuple[int, float], ...]:
    """How full each of the chapter's pages is in the last PDF, as its build measured them."""
    if not span or not last_build:
        return ()
    return tuple((page, fill) for page in range(span.first, span.last + 1)
                 if (fill := last_build.fill(page)) is not None)
