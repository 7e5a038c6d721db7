"""The HTML preview: every chapter as a screen page, made from the PDF's templates and styles."""
from __future__ import annotations

import html
import json
import os
import re
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import jinja2

from .assemble import make_environment, render_page, template_context, theme_css
from .assets import (BUILTIN_KITS, BUILTIN_STYLES, BUILTIN_TEMPLATES, allowed_roots, kit_of,
                     macro_templates, stylesheet_names)
from .build import default_output, manifest_path
from .chapters import read_chapter
from .checks import ChapterSpan
from .config import GuideConfig, load_config
from .data import load_data
from .errors import ErrorGroup, GuideError
from .markup import RenderedChapter, macro_functions, render_chapter
from .references import resolve_chapter
from .pagebreaks import Layout, Layouter, chapter_document, lay_out_document

DEFAULT_OUT = Path("build/preview")
SCREEN_STYLESHEET = "screen.css"
INDEX = "index.html"
PAGES_DIR = "pages"
PAGE_IMAGE_SCALE = 1.5  # 108 dpi: a Letter page is 918 px wide, sharp at half size on screen
# Files of the guide that the browser loads (and the server may serve); never its sources.
ASSET_SUFFIXES = frozenset({".svg", ".png", ".jpg", ".jpeg", ".gif", ".webp", ".avif",
                            ".otf", ".ttf", ".woff", ".woff2", ".pdf"})
# Files whose change can alter a page; anything else (an editor's temp file) is ignored.
SOURCE_SUFFIXES = frozenset({".md", ".yaml", ".yml", ".html", ".css"})
_RELATIVE_URL = re.compile(
    r"""(\s(?:src|href|poster)=)(["'])(?![a-zA-Z][a-zA-Z0-9+.-]*:|[#/?])([^"']+)\2""")


@dataclass(frozen=True)
class LastBuild:
    """What the last PDF build recorded in its manifest (``build/<name>.build.json``)."""

    pdf: Path
    pages: int
    promised: int
    built_at: float
    spans: dict[str, ChapterSpan]  # by chapter file name

    def span(self, name: str) -> ChapterSpan | None:
        return self.spans.get(name)

    @property
    def stamp(self) -> str:
        return str(int(self.built_at))

    @property
    def built_when(self) -> str:
        return time.strftime("%Y-%m-%d %H:%M", time.localtime(self.built_at))


def read_last_build(pdf: Path) -> LastBuild | None:
    """The manifest beside ``pdf``, or None when there is no (readable) build yet."""
    try:
        raw = json.loads(manifest_path(pdf).read_text(encoding="utf-8"))
        spans = {Path(c["path"]).name: ChapterSpan(str(c["title"]), Path(c["path"]),
                                                   int(c["first"]), int(c["last"]),
                                                   None if c.get("budget") is None
                                                   else int(c["budget"]))
                 for c in raw["chapters"]}
        return LastBuild(pdf, int(raw["pages"]), int(raw["promised"]), float(raw["built_at"]),
                         spans)
    except (OSError, ValueError, KeyError, TypeError):
        return None


class PageImages:
    """PNGs of the built PDF's pages: rendered on first request, kept until the PDF changes."""

    def __init__(self, folder: Path):
        self.folder = folder
        self._lock = threading.Lock()  # pdfium is not thread-safe

    def path(self, number: int) -> Path:
        return self.folder / f"p{number:03d}.png"

    def get(self, pdf: Path, number: int) -> Path | None:
        """The image of page ``number`` (1-based), or None if the PDF has no such page."""
        with self._lock:
            try:
                stat = pdf.stat()
            except OSError:
                return None
            self._forget_older_than(f"{stat.st_mtime_ns}:{stat.st_size}")
            target = self.path(number)
            if not target.is_file() and not self._render(pdf, number, target):
                return None
            return target

    def _forget_older_than(self, stamp: str) -> None:
        marker = self.folder / ".source"
        if marker.is_file() and marker.read_text() == stamp:
            return
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True, exist_ok=True)
        marker.write_text(stamp)

    def _render(self, pdf: Path, number: int, target: Path) -> bool:
        import pypdfium2 as pdfium  # only the pages view needs it

        try:
            document = pdfium.PdfDocument(str(pdf))
        except pdfium.PdfiumError:
            return False
        try:
            if not 1 <= number <= len(document):
                return False
            image = document[number - 1].render(scale=PAGE_IMAGE_SCALE).to_pil()
            temp = target.with_name(f".{target.name}.tmp")
            image.save(temp, format="PNG")
            os.replace(temp, target)
            return True
        finally:
            document.close()


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


@dataclass
class ChapterState:
    """One chapter: its last good rendering, and the error of the latest attempt if any."""

    name: str
    number: int
    rendered: RenderedChapter | None = None
    section: str = ""  # the chapter template's HTML, URLs relative to the guide as in the PDF
    error: GuideError | None = None
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
    return f"{slug}.html" if slug != "index" else "index-chapter.html"


def rebase_urls(markup: str, prefix: str) -> str:
    """Point the relative src/href URLs of guide content at the guide folder."""
    return _RELATIVE_URL.sub(lambda m: f"{m[1]}{m[2]}{prefix}{m[3]}{m[2]}", markup)


def write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` in one step, so a reader never sees half a page."""
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def copy_styles(root: Path, target: Path, kit_name: str | None = None) -> None:
    """The built-in styles folder, the kit's, then the guide's own styles over them, file by
    file."""
    kit = kit_of(kit_name)
    for source in (BUILTIN_STYLES, *([kit.styles_dir] if kit else []), root / "styles"):
        if not source.is_dir():
            continue
        for path in source.rglob("*"):
            dest = target / path.relative_to(source)
            if path.is_dir() or path.name.startswith("."):
                continue
            stat = path.stat()
            if dest.is_file() and (dest.stat().st_size, dest.stat().st_mtime_ns) == (
                    stat.st_size, stat.st_mtime_ns):
                continue
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, dest)


class Preview:
    """The preview site of one guide, kept up to date file by file."""

    def __init__(self, guide_dir: Path | str, out: Path | str = DEFAULT_OUT,
                 pdf: Path | str | None = None):
        self.guide_dir = Path(guide_dir)
        self.root = self.guide_dir.resolve()
        self.out = Path(out).resolve()
        self._pdf = Path(pdf) if pdf is not None else None
        self.config: GuideConfig | None = None
        self.data: dict[str, Any] = {}
        self.env: jinja2.Environment | None = None
        self.states: dict[str, ChapterState] = {}
        self.global_errors: list[GuideError] = []
        self.last_build: LastBuild | None = None
        self.images = PageImages(self.out / PAGES_DIR)
        self._written: set[str] = set()
        # The watcher rebuilds while a layout thread lays chapters out: one writer at a time.
        self._lock = threading.RLock()

    # ----- what the server needs to know -----
    @property
    def pdf(self) -> Path:
        """The PDF whose manifest gives page spans (default: ``build/<output>``)."""
        if self._pdf is not None:
            return self._pdf.resolve()
        name = default_output(self.config) if self.config else Path("build/guide.pdf")
        return name.resolve()

    @property
    def guide_prefix(self) -> str:
        """How the preview pages reach the guide's own files from ``out``."""
        try:
            return Path(os.path.relpath(self.root, self.out)).as_posix() + "/"
        except ValueError:  # another drive: only an absolute URL reaches it
            return self.root.as_uri() + "/"

    @property
    def errors(self) -> list[GuideError]:
        return self.global_errors + [s.error for s in self.states.values() if s.error]

    def page_image(self, number: int) -> Path | None:
        return self.images.get(self.pdf, number)

    # ----- building -----
    def build_all(self, cause: str = "start") -> Update:
        """Re-read everything: config, data, templates, styles, every chapter."""
        with self._lock:
            started = time.perf_counter()
            self._load()
            self.out.mkdir(parents=True, exist_ok=True)
            copy_styles(self.root, self.out / "styles", self.config and self.config.kit)
            self.last_build = read_last_build(self.pdf)
            pages = self._write_all()
            return Update(pages, self.errors, time.perf_counter() - started, cause)

    def update(self, changed: Iterable[Path]) -> Update:
        """Redo only what the changed files touch. Never raises for bad guide content."""
        with self._lock:
            return self._update(list(changed))

    def _update(self, changed: list[Path]) -> Update:
        plan = plan_update(changed, self.root, self.config, self.pdf, self.out)
        cause = ", ".join(sorted({_shown(p, self.root) for p in changed}))
        if plan.full or (plan.chapters and self.global_errors):
            return self.build_all(cause)
        started = time.perf_counter()
        pages: list[str] = []
        for name in sorted(plan.chapters):
            pages += self._rebuild_chapter(name)
        if plan.last_build:
            self.last_build = read_last_build(self.pdf)
            pages += self._write_all()
        if plan.reload:
            pages += [INDEX, *(s.page for s in self.states.values())]
        return Update(list(dict.fromkeys(pages)), self.errors, time.perf_counter() - started,
                      cause)

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
            before = state.layout.pages if state.layout else None
            state.layout, state.laid_out, state.layout_error = layout, section, problem
            pages = self._write_chapters([name])
            return pages + (self._write_index() if (layout and layout.pages) != before else [])

    def page_images(self) -> list[Path]:
        """Render every chapter page of the last PDF now (for reading the preview from disk)."""
        if not self.last_build:
            return []
        numbers = sorted({n for name in self.states if (span := self.last_build.span(name))
                          for n in range(span.first, span.last + 1)})
        return [path for n in numbers if (path := self.page_image(n))]

    def _load(self) -> None:
        """Config, data and templates; on a problem keep the last good ones and say why."""
        try:
            config = load_config(self.guide_dir)
            data = load_data(config)
        except GuideError as error:
            self.global_errors = [error]
            return
        self.config, self.data, self.env = config, data, make_environment(config)
        self.global_errors = []
        self.states = {name: self.states.get(name) or ChapterState(name, number)
                       for number, name in enumerate(config.chapters, start=1)}
        for number, state in enumerate(self.states.values(), start=1):
            state.number = number
            self._render(state)

    def _rebuild_chapter(self, name: str) -> list[str]:
        state = self.states[name]
        before = (state.title, _budget(state))
        self._render(state)
        if (state.title, _budget(state)) == before:
            return self._write_chapters([name])
        # The title shows in the index and the neighbours' links; the budget in the index.
        names = list(self.states)
        at = names.index(name)
        return self._write_chapters(names[max(at - 1, 0):at + 2]) + self._write_index()

    def _render(self, state: ChapterState) -> None:
        assert self.config and self.env
        path = self.config.chapters_dir / state.name
        try:
            chapter = read_chapter(path, state.number, self.config.root)
            context = template_context(self.config, self.data)
            rendered = resolve_chapter(self.config, render_chapter(
                chapter, self.env, context, macro_functions(
                    self.env, context, macro_templates(self.config.root, self.config.kit))),
                self._rendered())
            section = render_page(self.env, chapter.template, {
                **context, "chapter": rendered, "chapters": self._rendered()})
        except GuideError as error:
            state.error = error
        except Exception as error:  # a bug in a template or extension must not stop the preview
            state.error = GuideError(f"{type(error).__name__}: {error}", _shown(path, self.root))
        else:
            state.rendered, state.error, state.section = rendered, None, section
            state.rendered_at = time.monotonic()

    def _rendered(self) -> list[RenderedChapter]:
        return [s.rendered for s in self.states.values() if s.rendered]

    # ----- writing -----
    def _write_all(self) -> list[str]:
        pages = self._write_chapters(list(self.states)) + self._write_index()
        for gone in self._written - set(pages):  # a chapter dropped from guide.yaml
            (self.out / gone).unlink(missing_ok=True)
        self._written = set(pages)
        return pages

    def _write_index(self) -> list[str]:
        self._write(INDEX, "preview/index.html", {"entries": self._entries()})
        return [INDEX]

    def _write_chapters(self, names: list[str]) -> list[str]:
        entries = self._entries()
        by_name = {entry.name: entry for entry in entries}
        for name in names:
            entry = by_name[name]
            at = entries.index(entry)
            section = rebase_urls(self.states[name].section, self.guide_prefix)
            self._write(entry.page, "preview/chapter.html", {
                "entry": entry, "section": section,
                "previous": entries[at - 1] if at > 0 else None,
                "next": entries[at + 1] if at + 1 < len(entries) else None})
        return [by_name[name].page for name in names]

    def _entries(self) -> list[ChapterEntry]:
        return [ChapterEntry.of(state, self.last_build, self.root) for state in
                self.states.values()]

    def _write(self, page: str, template: str, context: dict[str, Any]) -> None:
        entry = context.get("entry")
        errors = flatten(self.global_errors + ([entry.error] if entry and entry.error else []))
        if self.config is None or self.env is None:
            text = fallback_page(errors)
        else:
            try:
                text = render_page(self.env, template, {
                    **template_context(self.config, self.data), **context,
                    "theme_css": theme_css(self.config), "errors": errors,
                    "stylesheets": [f"styles/{name}" for name in (
                        *stylesheet_names(self.config.root, self.config.kit), SCREEN_STYLESHEET)],
                    "last_build": self.last_build, "index": INDEX,
                    "page_size": re.sub(r"\W+", "", self.config.page_size.lower()),
                    "pages_dir": PAGES_DIR})
            except Exception as error:  # the preview's own templates are broken: say so plainly
                problem = error if isinstance(error, GuideError) else GuideError(
                    f"{type(error).__name__}: {error}", template)
                text = fallback_page([*errors, problem])
        self.out.mkdir(parents=True, exist_ok=True)
        write_atomically(self.out / page, text)


@dataclass(frozen=True)
class ChapterEntry:
    """A chapter as the index and the page wrappers show it."""

    name: str
    number: int
    title: str
    page: str
    source: str
    budget: int | None
    span: ChapterSpan | None
    error: GuideError | None
    rendered: bool
    edited_since_build: bool
    layout: Layout | None = None
    layout_fresh: bool = False
    layout_error: str = ""

    @classmethod
    def of(cls, state: ChapterState, last_build: LastBuild | None, root: Path) -> ChapterEntry:
        source = root / "chapters" / state.name
        span = last_build.span(state.name) if last_build else None
        # Until the chapter renders once, the last build knows its title and budget best.
        title = state.title if state.rendered or not span else span.title
        budget = _budget(state) if state.rendered or not span else span.budget
        return cls(state.name, state.number, title, state.page,
                   f"{root.name}/chapters/{state.name}", budget, span, state.error,
                   state.rendered is not None,
                   bool(last_build) and _mtime(source) > last_build.built_at,
                   state.layout, not state.needs_layout, state.layout_error)

    @property
    def pages(self) -> list[int]:
        return list(range(self.span.first, self.span.last + 1)) if self.span else []

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

    def page_label(self, page: int) -> str:
        """A chapter page by its number in the PDF, as far as the last build tells."""
        return f"Page {self.span.first + page - 1}" if self.span else f"Chapter page {page}"

    @property
    def page_starts_json(self) -> str:
        """Where the page breaks go, for the page's script to mark (safe inside <script>)."""
        starts = self.layout.starts if self.layout else ()
        return json.dumps({"fresh": self.layout_fresh, "starts": [
            {"label": self.page_label(s.page), "path": s.path, "text": s.text}
            for s in starts]}, ensure_ascii=False).replace("</", "<\\/")


def _budget(state: ChapterState) -> int | None:
    return state.rendered.chapter.pages if state.rendered else None


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _shown(path: Path, root: Path) -> str:
    path = Path(path)
    try:
        return path.resolve().relative_to(root.parent).as_posix()
    except ValueError:
        return str(path)


def flatten(errors: list[GuideError]) -> list[GuideError]:
    """Each problem on its own, with the groups that collected them opened up."""
    return [one for error in errors for one in (error.errors if isinstance(error, ErrorGroup)
                                                 else [error])]


def fallback_page(errors: list[GuideError]) -> str:
    """A bare page for when the guide cannot be read at all: only the errors."""
    items = "".join(f"<li><code>{html.escape(str(e))}</code></li>" for e in errors)
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<title>Preview: error</title></head><body class=\"preview\" style=\"font-family:"
            "sans-serif;margin:2em\"><div class=\"preview-errors\" role=\"alert\">"
            f"<h1>The preview cannot be built</h1><ul>{items}</ul>"
            f"<p>Fix the file and save: the preview rebuilds by itself.</p></div></body></html>\n")


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
