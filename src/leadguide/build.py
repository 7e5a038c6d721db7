"""The build command's library side: config → chapters/data → HTML → PDF → checks → file."""
from __future__ import annotations

import hashlib
import json
import os
import re
import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator
from urllib.parse import unquote

from .atomic import write_bytes
from .cache import FOLDER as CACHE, BuildCache, Unchanged
from .errors import ConformanceError, GuideError, PagePromiseError, raise_all
from .guide.assets import (BUILTIN_KITS, BUILTIN_STYLES, BUILTIN_TEMPLATES, allowed_roots,
                           asset_fallbacks, output_dirs, outside_the_pdf)
from .guide.config import GuideConfig, load_config
from .guide.guard import read_text
from .layout.litter import clean_dead_font_folders, clean_dead_temp_pdfs
from .layout.pagefill import PageFill
from .layout.spans import ChapterSpan, chapter_spans, check_page_promise, part_starts

if TYPE_CHECKING:
    from .guide.chapters import Chapter
    from .html.assemble import GuideHtml
    from .layout.render import Rendered
    from .pdf.conformance import Failure

Progress = Callable[[str, float], None]


@dataclass
class BuildResult:
    output: Path
    pages: int
    size: int
    spans: list[ChapterSpan]
    timings: dict[str, float] = field(default_factory=dict)
    warnings: list[GuideError] = field(default_factory=list)
    page_error: PagePromiseError | None = None
    fills: list[PageFill] = field(default_factory=list)
    # Parts laid out by this build and parts in all (None: laid out whole, or nothing changed)
    laid_out: tuple[int, int] | None = None
    notices: list[GuideError] = field(default_factory=list)  # what reading did for the author
    print_output: Path | None = None  # the print edition, when asked for
    web_output: Path | None = None  # the web edition's folder, when asked for

    def manifest_path(self) -> Path:
        return manifest_path(self.output)


def manifest_path(pdf: Path) -> Path:
    """Where a build records what it made, for preview and check to read."""
    return pdf.with_name(pdf.stem + ".build.json")


def default_output(config: GuideConfig) -> Path:
    """``<guide>/build/<output>`` (or guide.yaml's own folder): beside the guide, whatever
    the current directory."""
    return config.output_path


class _Stopwatch:
    def __init__(self, progress: Progress | None):
        self.progress, self.timings = progress, {}

    def lap(self, stage: str, started: float) -> None:
        self.timings[stage] = time.perf_counter() - started
        if self.progress:
            self.progress(stage, self.timings[stage])


def build(guide_dir: Path | str = "guide", out: Path | None = None, draft: bool = False,
          progress: Progress | None = None,
          verify: Callable[[Path], None] | None = None, whole: bool = False,
          jobs: int | None = None, cache_home: Path | None = None,
          print_edition: bool | None = None, web_edition: bool | None = None,
          live: bool = False) -> BuildResult:
    """Build the guide's PDF. Strict unless ``draft``: any problem raises before writing.

    The stages in order: sources → HTML → layout → page promise → PDF. Unless ``whole``, the
    cache in ``.cache/`` beside the PDF is consulted at their seams (the whole build first,
    then rendered chapters, then laid-out parts), and the parts of the guide (cover, contents,
    chapters, back) are laid out on ``jobs`` processes (default: one per core), so a rebuild
    lays out only what changed; ``whole`` lays the guide out as one document, the reference
    the parts' join is tested against. ``verify`` sees the written file before it replaces the
    last one (see ``pdf.write.write_atomically``). ``cache_home`` is the folder whose
    ``.cache/`` is used (default: the PDF's own folder): serve's live PDF shares the guide's.
    ``print_edition`` True writes the print edition beside it (``pdf.printed``) and
    ``web_edition`` True the web edition, ``<name>-web/`` (``web.edition``); False writes
    neither (the preview's live PDF); None (the default) does as guide.yaml's ``print:`` and
    ``web:`` say. ``live`` is serve's live PDF: a draft finished for the eye alone
    (``pdf.live``), its tags neither mended nor judged, so it claims no standard.
    """
    draft = draft or live
    finish = "live" if live else "draft" if draft else "strict"  # what the cache files it by
    watch = _Stopwatch(progress)
    started = time.perf_counter()
    config = load_config(guide_dir)
    target = out or default_output(config)
    sources = source_fingerprint(config.root, target, config)  # before reading: edits are new
    cache = None if whole else BuildCache(target, cache_home)
    # What killed builds left, now, even when nothing is laid out in this process.
    clean_dead_temp_pdfs(target)
    clean_dead_font_folders()
    if cache and (unchanged := cache.unchanged(config, finish)):
        watch.lap("unchanged", started)
        result = _with_print(_unchanged_result(unchanged, target, config, watch, sources),
                             _wanted(print_edition, config.print_edition))
        return _with_web(result, config, cache, _wanted(web_edition, config.web_edition))
    with _part_workers(config, whole, jobs) as workers:
        from .html.assemble import assemble  # Jinja2 and Markdown: not needed when unchanged

        chapters, data = read_sources(config)
        watch.lap("read", started)

        started = time.perf_counter()
        guide_html = assemble(config, chapters, data, cache=cache and cache.chapters(config))
        watch.lap("html", started)
        if not draft:
            raise_all(guide_html.warnings)  # before the layout: it would be wasted

        started = time.perf_counter()
        laid_out = _lay_out(config, chapters, guide_html, cache, workers)
        watch.lap("layout", started)

    spans = chapter_spans(chapters, laid_out.anchor_pages, laid_out.page_count)
    fills = laid_out.fills(part_starts(spans, laid_out.anchor_pages))
    page_error = check_page_promise(config, spans, laid_out.page_count)
    if not draft:
        raise_all(list(laid_out.warnings))
        if page_error:
            raise page_error

    started = time.perf_counter()
    from .pdf.write import Unconforming, write_atomically

    try:
        written = write_atomically(laid_out.pdf, target, config.language, verify,
                                   strict=not draft, standard=config.pdf_standard, draft=draft,
                                   live=live)
    except Unconforming as refused:
        raise_all(unconforming(refused.failures, spans, config))
    warnings = [*guide_html.warnings, *laid_out.warnings,
                *unconforming(written.failures, spans, config)]
    result = BuildResult(target, laid_out.page_count, written.size, spans, watch.timings,
                         warnings, page_error, fills, laid_out.parts,
                         [n for chapter in chapters for n in chapter.notices])
    write_manifest(result, config, sources)
    if cache:
        cache.remember(config, finish, result)
    watch.lap("write", started)
    result = _with_print(result, _wanted(print_edition, config.print_edition))
    return _with_web(result, config, cache, _wanted(web_edition, config.web_edition))


def _wanted(asked: bool | None, configured: bool) -> bool:
    """An edition is written when asked (True), never when refused (False: the preview's
    live PDF), else as guide.yaml says."""
    return configured if asked is None else asked


def _with_print(result: BuildResult, wanted: bool) -> BuildResult:
    """The result, with the print edition written beside its PDF when ``wanted``."""
    if not wanted:
        return result
    from .pdf.printed import print_edition, print_path

    target = print_path(result.output)
    write_bytes(target, print_edition(result.output.read_bytes()))
    return replace(result, print_output=target)


def _with_web(result: BuildResult, config: GuideConfig, cache: BuildCache | None,
              wanted: bool) -> BuildResult:
    """The result, with the web edition written beside its PDF when ``wanted`` (the
    chapters from the chapter cache the build has just filled)."""
    if not wanted:
        return result
    from .web.edition import write_web_edition

    chapters, data = read_sources(config)
    edition = write_web_edition(config, chapters, data, result.output,
                                cache.chapters(config) if cache else None)
    return replace(result, web_output=edition.folder)


def unconforming(failures: list["Failure"], spans: list[ChapterSpan],
                 config: GuideConfig) -> list[GuideError]:
    """The validator's failures as errors naming the chapter whose pages break the rule
    (guide.yaml for the document as a whole, the cover, contents and back)."""
    from .pdf.standards import STANDARDS

    label = STANDARDS[config.pdf_standard].label
    errors: list[GuideError] = []
    for failure in failures:
        span = next((s for s in spans if failure.page and s.first <= failure.page <= s.last),
                    None)
        where = f" (p. {failure.page})" if failure.page else ""
        errors.append(ConformanceError(
            f"not {label}{where}, so the PDF does not claim it: "
            f"{failure}",
            span.path if span else config.config_path))
    return errors


CACHE_FOLDER = CACHE


@dataclass(frozen=True)
class _LaidOut:
    page_count: int
    anchor_pages: dict[str, int]
    warnings: tuple[GuideError, ...]
    pdf: "Rendered | bytes"  # a whole document, or the parts' PDFs joined
    fills: Callable[[set[int]], list[PageFill]]  # given the pages that start a part
    parts: tuple[int, int] | None = None


def _part_workers(config: GuideConfig, whole: bool, jobs: int | None):
    """The processes that lay out the parts, parsing the stylesheets while the HTML is made
    (a no-op context for a whole build)."""
    if whole:
        return nullcontext()
    from .guide.assets import stylesheets
    from .layout.workers import PartWorkers

    styles = (stylesheets(config.root, config.kit, config.look), allowed_roots(config.root),
              asset_fallbacks(config.root))
    return PartWorkers(jobs, styles)


def _lay_out(config: GuideConfig, chapters: list[Chapter], guide_html: GuideHtml,
             cache: BuildCache | None, workers) -> _LaidOut:
    """The guide laid out in cached parts by ``workers``, or whole when there are none or it
    must be."""
    if workers is not None and cache is not None:
        from .layout.incremental import lay_out_parts

        locate = reference_locator(config, chapters)
        roots, fallbacks = allowed_roots(config.root), asset_fallbacks(config.root)
        budgets = {c.anchor: c.pages for c in chapters if c.pages}
        joined = lay_out_parts(guide_html, roots, fallbacks, cache.parts(roots, fallbacks),
                               locate, workers, budgets)
        if joined is not None:
            return _LaidOut(joined.page_count, joined.anchor_pages, joined.warnings, joined.pdf,
                            lambda _starts: joined.fills, (joined.laid_out, joined.parts))
    from .layout.pagefill import page_fills

    rendered = lay_out(config, chapters, guide_html)
    return _LaidOut(rendered.page_count, rendered.anchor_pages, rendered.warnings, rendered,
                    lambda starts: page_fills(rendered.document.pages, starts))


def lay_out(config: GuideConfig, chapters: list[Chapter], guide_html: GuideHtml) -> "Rendered":
    """The guide's HTML laid out whole by WeasyPrint, reading only the guide and built-in files."""
    from .guide.fetcher import SafeFetcher  # imports WeasyPrint: not needed when nothing changed
    from .layout.render import render

    fetcher = SafeFetcher(allowed_roots(config.root), asset_fallbacks(config.root))
    return render(guide_html, fetcher, reference_locator(config, chapters))


def _unchanged_result(unchanged: Unchanged, target: Path, config: GuideConfig,
                      watch: _Stopwatch, sources: str) -> BuildResult:
    result = BuildResult(target, unchanged.pages, unchanged.size, unchanged.spans, watch.timings,
                         unchanged.warnings, unchanged.page_error, unchanged.fills)
    write_manifest(result, config, sources)
    return result


def read_sources(config: GuideConfig) -> tuple[list[Chapter], dict]:
    """Chapters and data, with the problems of both reported in one go."""
    from .guide.chapters import load_chapters
    from .guide.data import load_data

    errors: list[GuideError] = []
    chapters: list[Chapter] = []
    data: dict = {}
    try:
        chapters = load_chapters(config)
    except GuideError as error:
        errors.append(error)
    try:
        data = load_data(config)
    except GuideError as error:
        errors.append(error)
    raise_all(errors)
    return chapters, data


def reference_locator(config: GuideConfig, chapters: list[Chapter]):
    """Finds which source file mentions a URL, so a missing image names the file to fix."""
    from .markdown.codeguard import protect

    # A code sample that quotes the same path is never the line to fix: code is blanked first
    # (as many lines), and searched only when nothing else names it.
    sources = [(c.path, protect(c.body)[0], c.body_line) for c in chapters]
    sources.append((config.config_path, read_text(config.config_path, (config.root,)), 1))
    sources += [(c.path, c.body, c.body_line) for c in chapters]

    def locate(url: str) -> tuple[Path, int | None]:
        """``url`` is a URL, or a WeasyPrint message quoting one ('Failed to load image at …')."""
        prefix = config.root.as_uri() + "/"
        for candidate in (url, *re.findall(r"'([^'\s]{4,})'", url)):
            wanted = unquote(candidate.removeprefix(prefix))
            for path, text, first_line in sources:
                index = text.find(wanted)
                if index >= 0:
                    return path, first_line + text.count("\n", 0, index)
        return config.config_path, None
    return locate


def write_manifest(result: BuildResult, config: GuideConfig, sources: str) -> None:
    """``sources`` is the guide's files as listed when the build began (source_fingerprint)."""
    manifest = {
        "guide": str(config.root), "pdf": str(result.output), "pages": result.pages,
        "promised": config.pages, "size": result.size, "built_at": time.time(),
        "sources": sources,
        "chapters": [{**asdict(span), "path": str(span.path)} for span in result.spans],
        "page_fill": [asdict(fill) for fill in result.fills],
    }
    path = result.manifest_path()
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    os.replace(temp, path)


def source_files(guide_dir: Path, pdf: Path,
                 config: GuideConfig | None = None) -> Iterator[Path]:
    """Every file the guide's PDF is made from: in the guide and the built-in folders, less
    what never goes into a PDF and what builds write (the guide's build/, the PDF's folder,
    guide.yaml's output folder: from ``config`` when the caller has read it)."""
    root = Path(guide_dir).resolve()
    configured = (config.output_dir.resolve(),) if config else _configured_output(root)
    skip = output_dirs(root, pdf.parent.resolve(), *configured)
    for folder in (root, BUILTIN_TEMPLATES, BUILTIN_STYLES, BUILTIN_KITS):
        for path in folder.rglob("*"):
            if path.is_file() and not outside_the_pdf(path.absolute(), skip):
                yield path


def _configured_output(root: Path) -> tuple[Path, ...]:
    """guide.yaml's output folder, when it reads (a broken guide.yaml is the build's to say)."""
    try:
        return (load_config(root).output_dir.resolve(),)
    except GuideError:
        return ()


def source_fingerprint(guide_dir: Path, pdf: Path, config: GuideConfig | None = None) -> str:
    """The files the PDF is made from as listed now: name, size and modification time each.
    A file created, deleted or renamed changes it as surely as an edit."""
    digest = hashlib.sha256()
    for path in sorted(source_files(guide_dir, pdf, config)):
        try:
            stat = path.stat()
        except OSError:  # gone while listed: the next look sees the change
            continue
        digest.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\0".encode())
    return digest.hexdigest()


def recorded_sources(pdf: Path) -> str | None:
    """The source fingerprint the build of ``pdf`` recorded in its manifest, if any."""
    try:
        sources = json.loads(manifest_path(pdf).read_text(encoding="utf-8")).get("sources")
    except (OSError, ValueError, AttributeError):
        return None
    return sources if isinstance(sources, str) else None


def build_if_stale(guide_dir: Path | str, pdf: Path | None = None, draft: bool = False,
                   progress: Progress | None = None) -> tuple[Path, BuildResult | None]:
    """The guide's PDF, built first when it is missing or older than the guide; with
    ``draft``, a guide a strict build refuses is built as a draft (with the DRAFT mark), so
    what is wrong with it can be reported.

    Returns the path and the build, if one ran."""
    config = load_config(guide_dir)
    target = pdf or default_output(config)
    if not is_stale(target, Path(guide_dir)) and not _web_edition_missing(config, target):
        return target, None
    if draft:
        try:
            return target, build(guide_dir, out=target, progress=progress)
        except GuideError:
            pass  # the draft below lays out only what the cache lacks
    return target, build(guide_dir, out=target, draft=draft, progress=progress)


def _web_edition_missing(config: GuideConfig, pdf: Path) -> bool:
    """``web: true`` and no web edition beside the PDF (the service links to it)."""
    from .web.edition import web_folder

    return config.web_edition and not (web_folder(pdf) / "index.html").is_file()


def is_stale(pdf: Path, guide_dir: Path) -> bool:
    """True when the PDF is missing, or its guide's files are not the ones it was built from
    (one edited, created, deleted or renamed since), or, for a PDF without that record, older
    than one of them."""
    if not pdf.is_file():
        return True
    recorded = recorded_sources(pdf)
    if recorded is not None:
        return recorded != source_fingerprint(guide_dir, pdf)
    newest = max((p.stat().st_mtime for p in source_files(guide_dir, pdf)), default=0.0)
    return pdf.stat().st_mtime < newest
