"""The HTML preview: every chapter as a screen page, made from the PDF's templates and styles."""
from __future__ import annotations

import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Iterable

import jinja2

from ..build import default_output, manifest_path
from ..errors import GuideError
from ..guide.assets import allowed_roots, macro_templates
from ..guide.chapters import read_chapter
from ..guide.config import GuideConfig, load_config
from ..guide.data import load_data
from ..html.assemble import make_environment, render_page, template_context
from ..html.chapter import RenderedChapter, chapter_view, macro_functions, render_chapter
from ..html.references import resolve_chapter
from ..layout.pagebreaks import Layouter, chapter_document, lay_out_document
from .lastbuild import LastBuild, PageImages, read_last_build, with_short
from .pages import SitePages
from .paths import PAGES_DIR, default_out, relative_url, shown
from .plan import Update, plan_update
from .status import ChapterState, PdfState, shown_error, unique
from .styles import copy_styles


class Preview:
    """The preview site of one guide, kept up to date file by file."""

    def __init__(self, guide_dir: Path | str, out: Path | str | None = None,
                 pdf: Path | str | None = None, live: bool = False):
        self.guide_dir = Path(guide_dir)
        self.root = self.guide_dir.resolve()
        self.out = Path(out if out is not None else default_out(guide_dir)).resolve()
        self._pdf = Path(pdf) if pdf is not None else None
        self.live = live and pdf is None  # serve builds a draft PDF into ``out`` after saves
        self.config: GuideConfig | None = None
        self.data: dict[str, Any] = {}
        self.env: jinja2.Environment | None = None
        self.states: dict[str, ChapterState] = {}
        self.global_errors: list[GuideError] = []
        self.page_errors: dict[str, GuideError] = {}  # the cover's or contents' own problem
        self.last_build: LastBuild | None = None
        self._short_key: tuple | None = None  # the PDF and min_fill last_build.short is for
        self.pdf_state = PdfState()
        self.images = PageImages(self.out / PAGES_DIR)
        self.styles_stamp = ""  # in the stylesheet links: a tab reloads them when it changes
        self.pages = SitePages(self)
        # The watcher rebuilds while a layout thread lays chapters out: one writer at a time.
        self._lock = threading.RLock()

    # ----- what the server needs to know -----
    @property
    def pdf(self) -> Path:
        """The PDF whose manifest gives page spans (default: ``<guide>/build/<output>``, or
        the live PDF in the preview folder)."""
        if self._pdf is not None:
            return self._pdf.resolve()
        name = default_output(self.config) if self.config else self.root / "build/guide.pdf"
        return self.out / name.name if self.live else name.resolve()

    @property
    def guide_prefix(self) -> str:
        """How the preview pages reach the guide's own files from ``out``."""
        return relative_url(self.root, self.out)

    @property
    def pdf_href(self) -> str:
        """How the preview pages link to the PDF from ``out``."""
        return relative_url(self.pdf, self.out).rstrip("/")

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
            self._read_last_build()
            pages = self.pages.write_all()
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
        cause = ", ".join(sorted({shown(p, self.root) for p in changed}))
        if plan.full or (plan.chapters and self.global_errors):
            return self.build_all(cause)
        started = time.perf_counter()
        pages: list[str] = []
        for name in sorted(plan.chapters):
            self._render(self.states[name])
        if plan.last_build:
            self._read_last_build()
        if plan.chapters or plan.last_build:
            pages += self.pages.write_changed(sorted(plan.chapters), plan.last_build)
        if plan.reload:
            pages += self.pages.all_pages()
        return Update(list(dict.fromkeys(pages)), self.errors, time.perf_counter() - started,
                      cause, reload=plan.reload)

    def _read_last_build(self) -> None:
        """The last PDF's manifest, and its pages under fit.min_fill (once per PDF)."""
        last = read_last_build(self.pdf)
        min_fill = self.config.fit.min_fill if self.config else 0.0
        key = last and (last.pdf, last.built_at, min_fill)
        if key and key == self._short_key and self.last_build:
            self.last_build = replace(last, short=self.last_build.short)
        else:
            self.last_build = with_short(last, self.root, min_fill)
        self._short_key = key

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
            return self.pages.write_changed([name])

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
                **context, "chapter": chapter_view(rendered), "chapters": self.views()})
        except GuideError as error:
            state.error = error
        except Exception as error:  # a bug in a template or extension must not stop the preview
            state.error = GuideError(f"{type(error).__name__}: {error}", path)
        else:
            state.rendered, state.error, state.section = rendered, None, section
            state.rendered_at = time.monotonic()

    def views(self) -> tuple:
        """The chapters as templates see them in the build: plain read-only records."""
        return tuple(chapter_view(r) for r in self._rendered())

    def _rendered(self) -> list[RenderedChapter]:
        return [s.rendered for s in self.states.values() if s.rendered and not s.missing]


def build_preview(guide_dir: Path | str, out: Path | str | None = None,
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


__all__ = ["Preview", "build_preview"]
