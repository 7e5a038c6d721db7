"""The HTML preview: every chapter as a screen page, made from the PDF's templates and styles."""
from __future__ import annotations

import hashlib
import html
import json
import os
import re
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import jinja2

from ..atomic import write_bytes
from ..build import default_output, manifest_path
from ..errors import ErrorGroup, GuideError
from ..guide.assets import (
    BUILTIN_KITS,
    BUILTIN_STYLES,
    BUILTIN_TEMPLATES,
    allowed_roots,
    kit_of,
    macro_templates,
    outside_the_pdf,
    stylesheet_names,
)
from ..guide.chapters import read_chapter
from ..guide.config import GuideConfig, load_config
from ..guide.data import load_data
from ..html.assemble import make_environment, render_page, template_context, theme_css
from ..html.chapter import RenderedChapter, chapter_view, macro_functions, render_chapter
from ..html.references import resolve_chapter
from ..layout.pagebreaks import Layout, Layouter, chapter_document, lay_out_document
from ..layout.spans import ChapterSpan
from .lastbuild import LastBuild, PageImages, read_last_build

DEFAULT_OUT = Path("build/preview")
SCREEN_STYLESHEET = "screen.css"
INDEX = "index.html"
PAGES_DIR = "pages"
# Files of the guide that the browser loads (and the server may serve); never its sources.
ASSET_SUFFIXES = frozenset({".svg", ".png", ".jpg", ".jpeg", ".gif", ".webp", ".avif",
                            ".otf", ".ttf", ".woff", ".woff2", ".pdf"})
# What a guide's styles/ folder may hand the browser: stylesheets, fonts, images.
STYLE_SUFFIXES = frozenset({".css"}) | ASSET_SUFFIXES - {".pdf"}
# Files whose change can alter a page; anything else (an editor's temp file) is ignored.
SOURCE_SUFFIXES = frozenset({".md", ".yaml", ".yml", ".html", ".css"})
# The preview's own pages, which a chapter's page must not take the name of.
COVER, CONTENTS, PDF_PAGES = "cover.html", "contents.html", "pdf.html"
SITE_PAGES = (INDEX, PDF_PAGES, COVER, CONTENTS)
_RESERVED = {"index", "cover", "contents", "pdf"}
_RELATIVE_URL = re.compile(
    r"""(\s(?:src|href|poster)=)(["'])(?![a-zA-Z][a-zA-Z0-9+.-]*:|[#/?])([^"']+)\2""")


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
    for path in (Path(p).resolve() for p in changed):
        if path in built:
            last_build = True
        elif (path.is_relative_to(out) or path.name.startswith(".")
              or path.suffix.lower() not in SOURCE_SUFFIXES | ASSET_SUFFIXES):
            continue
        elif any(path.is_relative_to(folder) for folder in
                 (BUILTIN_TEMPLATES, BUILTIN_STYLES, BUILTIN_KITS)):
            full = True
        elif not path.is_relative_to(root):
            continue
        elif config and path.parent == config.chapters_dir and path.name in config.chapters:
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


def page_name(stem: str) -> str:
    """The preview file of a chapter file stem; never the index."""
    slug = re.sub(r"[^a-z0-9]+", "-", stem.lower()).strip("-") or "chapter"
    return f"{slug}.html" if slug not in _RESERVED else f"{slug}-chapter.html"


def rebase_urls(markup: str, prefix: str) -> str:
    """Point the relative src/href URLs of guide content at the guide folder."""
    return _RELATIVE_URL.sub(lambda m: f"{m[1]}{m[2]}{prefix}{m[3]}{m[2]}", markup)


def copy_styles(root: Path, target: Path, kit_name: str | None = None) -> str:
    """The built-in styles folder, the kit's, then the guide's own styles over them, file by file.

    Only what a page loads is copied (stylesheets, fonts, images), never a file whose real
    path leaves its styles folder (a symlink pointing out); a file no longer there goes.
    Returns a stamp of what was copied, which changes whenever any of it does.
    """
    wanted = style_files(root, kit_name)
    stamp = hashlib.sha256()
    for relative, source in wanted.items():
        dest = target / relative
        stat = source.stat()
        stamp.update(f"{relative}\0{stat.st_size}\0{stat.st_mtime_ns}\0".encode())
        if dest.is_file() and (dest.stat().st_size, dest.stat().st_mtime_ns) == (
                stat.st_size, stat.st_mtime_ns):
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, dest)
    if target.is_dir():
        for path in target.rglob("*"):
            if path.is_file() and path.relative_to(target).as_posix() not in wanted:
                path.unlink()
    return stamp.hexdigest()[:12]


def style_files(root: Path, kit_name: str | None = None) -> dict[str, Path]:
    """Relative name → real file of every style asset: built-in, the kit's, then the guide's
    (each overriding the one before)."""
    kit = kit_of(kit_name)
    found: dict[str, Path] = {}
    for folder, inside in ((BUILTIN_STYLES, BUILTIN_STYLES), (kit.styles_dir, BUILTIN_KITS)
                           if kit else (None, None), (root / "styles", root)):
        if folder is None:
            continue
        real_folder = folder.resolve()
        if not real_folder.is_dir() or not real_folder.is_relative_to(inside.resolve()):
            continue
        for path in sorted(folder.rglob("*")):
            relative = path.relative_to(folder)
            real = path.resolve()
            if (any(part.startswith(".") for part in relative.parts) or not real.is_file()
                    or real.suffix.lower() not in STYLE_SUFFIXES
                    or not real.is_relative_to(real_folder)):
                continue
            found[relative.as_posix()] = real
    return found


class Preview:
    """The preview site of one guide, kept up to date file by file."""

    def __init__(self, guide_dir: Path | str, out: Path | str = DEFAULT_OUT,
                 pdf: Path | str | None = None, live: bool = False):
        self.guide_dir = Path(guide_dir)
        self.root = self.guide_dir.resolve()
        self.out = Path(out).resolve()
        self._pdf = Path(pdf) if pdf is not None else None
        self.live = live and pdf is None  # serve builds a draft PDF into ``out`` after saves
        self.config: GuideConfig | None = None
        self.data: dict[str, Any] = {}
        self.env: jinja2.Environment | None = None
        self.states: dict[str, ChapterState] = {}
        self.global_errors: list[GuideError] = []
        self.page_errors: dict[str, GuideError] = {}  # the cover's or contents' own problem
        self.last_build: LastBuild | None = None
        self.pdf_state = PdfState()
        self.images = PageImages(self.out / PAGES_DIR)
        self._written: set[str] = set()
        self.styles_stamp = ""  # in the stylesheet links: a tab reloads them when it changes
        self._nav_written: tuple = ()
        # The watcher rebuilds while a layout thread lays chapters out: one writer at a time.
        self._lock = threading.RLock()

    # ----- what the server needs to know -----
    @property
    def pdf(self) -> Path:
        """The PDF whose manifest gives page spans (default: ``build/<output>``, or the live
        PDF in the preview folder)."""
        if self._pdf is not None:
            return self._pdf.resolve()
        name = default_output(self.config) if self.config else Path("build/guide.pdf")
        return self.out / name.name if self.live else name.resolve()

    @property
    def guide_prefix(self) -> str:
        """How the preview pages reach the guide's own files from ``out``."""
        return _relative_url(self.root, self.out)

    @property
    def pdf_href(self) -> str:
        """How the preview pages link to the PDF from ``out``."""
        return _relative_url(self.pdf, self.out).rstrip("/")

    @property
    def errors(self) -> list[GuideError]:
        return unique(self.global_errors + list(self.page_errors.values())
                      + [s.error for s in self.states.values() if s.error])

    def page_image(self, number: int) -> Path | None:
        return self.images.get(self.pdf, number)

    def shown(self, error: GuideError) -> str:
        """``path:line: message`` with the path as the author knows it, never a temp path."""
        return shown_error(error, self.root)

    # ----- building -----
    def build_all(self, cause: str = "start") -> Update:
        """Re-read everything: config, data, templates, styles, every chapter."""
        with self._lock:
            started = time.perf_counter()
            self._load()
            self.out.mkdir(parents=True, exist_ok=True)
            if self.config:
                self.styles_stamp = copy_styles(self.root, self.out / "styles", self.config.kit)
            self.last_build = read_last_build(self.pdf)
            pages = self._write_all()
            return Update(pages, self.errors, time.perf_counter() - started, cause, reload=True)

    def update(self, changed: Iterable[Path]) -> Update:
        """Redo only what the changed files touch. Never raises for bad guide content."""
        with self._lock:
            return self._update(list(changed))

    def pdf_changed(self) -> Update:
        """The live PDF was rebuilt (or its build failed): new spans, images and notes."""
        return self.update([manifest_path(self.pdf)])

    def _update(self, changed: list[Path]) -> Update:
        plan = plan_update(changed, self.root, self.config, self.pdf, self.out)
        cause = ", ".join(sorted({_shown(p, self.root) for p in changed}))
        if plan.full or (plan.chapters and self.global_errors):
            return self.build_all(cause)
        started = time.perf_counter()
        pages: list[str] = []
        for name in sorted(plan.chapters):
            self._render(self.states[name])
        if plan.last_build:
            self.last_build = read_last_build(self.pdf)
        if plan.chapters or plan.last_build:
            pages += self._write_changed(sorted(plan.chapters), plan.last_build)
        if plan.reload:
            pages += self._all_pages()
        return Update(list(dict.fromkeys(pages)), self.errors, time.perf_counter() - started,
                      cause, reload=plan.reload)

    def next_layout(self) -> str | None:
        """The chapter whose page breaks are most urgently out of date: the latest edited."""
        with self._lock:
            waiting = [s for s in self.states.values() if s.needs_layout]
            return max(waiting, key=lambda s: s.rendered_at).name if waiting else None

    def lay_out(self, name: str, layouter: Layouter = lay_out_document) -> list[str]:
        """Lay a chapter out as in the PDF and mark its page breaks; return the pages rewritten.

        The slow part runs outside the lock, so saves keep being rebuilt meanwhile; a layout
        that a newer save has overtaken is dropped.
        """
        with self._lock:
            state = self.states.get(name)
            if not state or not state.needs_layout or not self.config or not self.env:
                return []
            config, env, data, section = self.config, self.env, self.data, state.section
        try:
            document = chapter_document(config, env, data, section)
            layout = layouter(document, allowed_roots(config.root), config.config_path)
            problem = ""
        except Exception as error:  # the PDF build reports it properly; here it only costs markers
            layout, problem = None, f"{type(error).__name__}: {error}"
        with self._lock:
            if state.section != section or self.states.get(name) is not state:
                return []
            state.layout, state.laid_out, state.layout_error = layout, section, problem
            return self._write_changed([name])

    def page_images(self) -> list[Path]:
        """Render every page of the last PDF now (for reading the preview from disk)."""
        if not self.last_build:
            return []
        return [path for n in range(1, self.last_build.pages + 1)
                if (path := self.page_image(n))]

    def _load(self) -> None:
        """Config, data and templates; on a problem keep the last good ones and say why."""
        try:
            config = load_config(self.guide_dir)
            data = load_data(config)
            env = make_environment(config)
        except GuideError as error:
            self.global_errors = [error]
            return
        except Exception as error:  # a reader's bug must show in the browser, not stop serve
            self.global_errors = [GuideError(f"{type(error).__name__}: {error}",
                                             self.root / "guide.yaml")]
            return
        self.config, self.data, self.env = config, data, env
        self.global_errors = []
        self.states = {name: self.states.get(name) or ChapterState(name, number)
                       for number, name in enumerate(config.chapters, start=1)}
        for number, state in enumerate(self.states.values(), start=1):
            state.number = number
            self._render(state)

    def _render(self, state: ChapterState) -> None:
        assert self.config and self.env
        path = self.config.chapters_dir / state.name
        state.missing = not path.exists()
        if state.missing:  # deleted or renamed: its old text must not pass for the chapter
            state.section, state.layout, state.laid_out = "", None, ""
        try:
            chapter = read_chapter(path, state.number, self.config.root)
            context = template_context(self.config, self.data)
            rendered = resolve_chapter(self.config, render_chapter(
                chapter, self.env, context, macro_functions(
                    self.env, context, macro_templates(self.config.root, self.config.kit))),
                self._rendered())
            section = render_page(self.env, chapter.template, {
                **context, "chapter": chapter_view(rendered), "chapters": self._views()})
        except GuideError as error:
            state.error = error
        except Exception as error:  # a bug in a template or extension must not stop the preview
            state.error = GuideError(f"{type(error).__name__}: {error}", path)
        else:
            state.rendered, state.error, state.section = rendered, None, section
            state.rendered_at = time.monotonic()

    def _views(self) -> tuple:
        """The chapters as templates see them in the build: plain read-only records."""
        return tuple(chapter_view(r) for r in self._rendered())

    def _rendered(self) -> list[RenderedChapter]:
        return [s.rendered for s in self.states.values() if s.rendered and not s.missing]

    # ----- writing -----
    def _all_pages(self) -> list[str]:
        return [*(SITE_PAGES if self.config else [INDEX]), *(s.page for s in self.states.values())]

    def _write_all(self) -> list[str]:
        site = self._site()
        pages = self._write_chapters(list(self.states), site) + self._write_site(site)
        for gone in self._written - set(pages):  # a chapter dropped from guide.yaml
            (self.out / gone).unlink(missing_ok=True)
        self._written = set(pages)
        self._nav_written = site.key
        return pages

    def _write_changed(self, names: list[str], everything: bool = False) -> list[str]:
        """These chapters' pages; every page when what the sidebar and index show moved on."""
        site = self._site()
        if everything or site.key != self._nav_written:
            self._nav_written = site.key
            return self._write_chapters(list(self.states), site) + self._write_site(site)
        return self._write_chapters(names, site)

    def _write_site(self, site: Site) -> list[str]:
        """The index, the whole PDF's pages, and the cover and contents as the PDF has them."""
        self._write(INDEX, "preview/index.html", {}, site)
        if not self.config or not self.env:
            return [INDEX]  # the error page alone
        self._write(PDF_PAGES, "preview/pdf.html", {}, site)
        for page, template, title in ((COVER, "cover.html", "Cover"),
                                      (CONTENTS, "toc.html", "Contents")):
            self._write(page, "preview/section.html",
                        {"section": self._section(page, template, site), "title": title,
                         "page_name": page}, site)
        return list(SITE_PAGES)

    def _section(self, page: str, template: str, site: Site) -> str:
        """The cover or the contents, rendered with the PDF's template, linked to the pages."""
        assert self.config and self.env
        self.page_errors.pop(page, None)
        try:
            markup = render_page(self.env, template, {
                **template_context(self.config, self.data), "chapters": self._views()})
        except GuideError as error:
            self.page_errors[page] = error
            return ""
        except Exception as error:  # a broken template must show, not stop the preview
            self.page_errors[page] = GuideError(f"{type(error).__name__}: {error}", template)
            return ""
        markup = rebase_urls(markup, self.guide_prefix)
        for entry in site.entries:  # contents links go to the chapters' preview pages
            if entry.anchor:
                markup = markup.replace(f'href="#{entry.anchor}"', f'href="{entry.page}"')
        return markup

    def _write_chapters(self, names: list[str], site: Site) -> list[str]:
        by_name = {entry.name: entry for entry in site.entries}
        for name in names:
            entry = by_name[name]
            at = site.entries.index(entry)
            state = self.states[name]
            section = rebase_urls(state.section, self.guide_prefix)
            self._write(entry.page, "preview/chapter.html", {
                "entry": entry, "section": section, "source_json": _source_json(state, entry.source),
                "previous": site.entries[at - 1] if at > 0 else None,
                "next": site.entries[at + 1] if at + 1 < len(site.entries) else None}, site)
        return [by_name[name].page for name in names]

    def _site(self) -> Site:
        entries = [ChapterEntry.of(state, self.last_build, self.root) for state in
                   self.states.values()]
        stale = newest_edit(self.root, self.last_build.built_at, self.out, self.pdf) \
            if self.last_build else None
        return Site(entries, self.last_build, self.config.pages if self.config else None,
                    stale and _shown(stale, self.root), self.pdf_state.note(self.live))

    def _write(self, page: str, template: str, context: dict[str, Any], site: Site) -> None:
        entry = context.get("entry")
        own = [entry.error] if entry and entry.error else []
        own += [self.page_errors[page]] if page in self.page_errors else []
        errors = [ShownError.of(e, self.root) for e in unique(self.global_errors + own)]
        if self.config is None or self.env is None:
            text = fallback_page(errors)
        else:
            try:
                text = render_page(self.env, template, {
                    **template_context(self.config, self.data), **context,
                    "theme_css": theme_css(self.config), "errors": errors, "site": site,
                    "page": page, "stylesheets": [f"styles/{name}?v={self.styles_stamp}" for name in (
                        *stylesheet_names(self.config.root, self.config.kit), SCREEN_STYLESHEET)],
                    "last_build": self.last_build, "index": INDEX, "pdf_href": self.pdf_href,
                    "page_size": re.sub(r"\W+", "", self.config.page_size.lower()),
                    "pages_dir": PAGES_DIR})
            except Exception as error:  # the preview's own templates are broken: say so plainly
                problem = error if isinstance(error, GuideError) else GuideError(
                    f"{type(error).__name__}: {error}", template)
                text = fallback_page([*errors, ShownError.of(problem, self.root)])
        self.out.mkdir(parents=True, exist_ok=True)
        write_bytes(self.out / page, text.encode("utf-8"))


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
                   state.layout, not state.needs_layout, state.layout_error)

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
        """(kind, words) of the badge: missing, error, over, fits, or nothing known yet."""
        if self.missing:
            return "error", "file missing"
        if self.error:
            return "error", "error"
        if self.now_over_by or (not self.layout and self.over_by):
            return "warn", f"⚠ {self.now_over_by or self.over_by} over budget"
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
    def key(self) -> tuple:
        """Changes whenever the sidebar or the index would read differently."""
        return (tuple((e.title, e.status, e.now_pages, e.layout and e.layout.pages, e.page)
                      for e in self.entries),
                self.total, bool(self.stale_edit), self.pdf_note,
                self.last_build.built_at if self.last_build else None)


@dataclass(frozen=True)
class ShownError:
    """An error as a page shows it: where (relative to the guide's folder) and what."""

    where: str
    message: str

    @classmethod
    def of(cls, error: GuideError, root: Path) -> ShownError:
        where = _shown(error.path, root) if error.path else "guide"
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


def newest_edit(root: Path, since: float, *skip: Path) -> Path | None:
    """The newest file the PDF is made from that changed after ``since`` (None if none)."""
    newest, when = None, since
    for folder in (root, BUILTIN_TEMPLATES, BUILTIN_STYLES, BUILTIN_KITS):
        for path in folder.rglob("*"):
            if (path.name.startswith(".") or path.suffix.lower() not in
                    SOURCE_SUFFIXES | ASSET_SUFFIXES or outside_the_pdf(path)
                    or any(path.is_relative_to(s) for s in skip)):
                continue
            mtime = _mtime(path)
            if mtime > when:
                newest, when = path, mtime
    return newest


def _source_json(state: ChapterState, file: str) -> str:
    """The chapter's Markdown lines, for the page to find the line a clicked block came from."""
    if not state.rendered or state.missing:
        return "null"
    chapter = state.rendered.chapter
    return _script_json({"file": file, "first": chapter.body_line,
                         "lines": chapter.body.split("\n")})


def _script_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False).replace("</", "<\\/").replace("<!--", "<\\!--")


def _relative_url(path: Path, start: Path) -> str:
    try:
        return Path(os.path.relpath(path, start)).as_posix() + "/"
    except ValueError:  # another drive: only an absolute URL reaches it
        return path.as_uri() + "/"


def _budget(state: ChapterState) -> int | None:
    return state.rendered.chapter.pages if state.rendered else None


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _shown(path: Path | str, root: Path) -> str:
    """A path as the author knows it: from the guide's folder, or the built-in folder's name;
    never an absolute path into a temporary folder."""
    path = Path(path)
    if not path.is_absolute():
        return path.as_posix()
    real = path.resolve()
    for base, label in ((root.parent, ""), (BUILTIN_TEMPLATES.parent, "leadguide/")):
        if real.is_relative_to(base):
            return label + real.relative_to(base).as_posix()
    return path.name


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


def build_preview(guide_dir: Path | str, out: Path | str = DEFAULT_OUT,
                  pdf: Path | str | None = None, quick: bool = False) -> Update:
    """Write the whole preview once: index, a page per chapter with its page breaks, styles,
    and the last PDF's pages as images (``quick``: the HTML alone)."""
    preview = Preview(guide_dir, out, pdf)
    update = preview.build_all()
    if not quick:
        while name := preview.next_layout():
            preview.lay_out(name)
        preview.page_images()
    return update


__all__ = ["DEFAULT_OUT", "LastBuild", "PageImages", "Plan", "Preview", "Update", "build_preview",
           "plan_update", "read_last_build", "rebase_urls"]
