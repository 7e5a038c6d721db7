"""The build command's library side: config → chapters/data → HTML → PDF → checks → file."""
from __future__ import annotations

import json
import os
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable
from urllib.parse import unquote

from .assemble import GuideHtml, assemble
from .assets import (BUILTIN_KITS, BUILTIN_STYLES, BUILTIN_TEMPLATES, allowed_roots,
                     asset_fallbacks)
from .chapters import Chapter, load_chapters
from .checks import ChapterSpan, chapter_spans, check_page_promise, part_starts
from .config import GuideConfig, load_config
from .data import load_data
from .fetcher import SafeFetcher
from .guard import read_text
from .errors import GuideError, PagePromiseError, raise_all
from .pagefill import PageFill, page_fills
from .pdf import Rendered, render, write_atomically

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

    def manifest_path(self) -> Path:
        return manifest_path(self.output)


def manifest_path(pdf: Path) -> Path:
    """Where a build records what it made, for preview and check to read."""
    return pdf.with_name(pdf.stem + ".build.json")


def default_output(config: GuideConfig) -> Path:
    return Path("build") / config.output


class _Stopwatch:
    def __init__(self, progress: Progress | None):
        self.progress, self.timings = progress, {}

    def lap(self, stage: str, started: float) -> None:
        self.timings[stage] = time.perf_counter() - started
        if self.progress:
            self.progress(stage, self.timings[stage])


def build(guide_dir: Path | str = "guide", out: Path | None = None, draft: bool = False,
          progress: Progress | None = None,
          verify: Callable[[Path], None] | None = None) -> BuildResult:
    """Build the guide's PDF. Strict unless ``draft``: any problem raises before writing.

    ``verify`` sees the written file before it replaces the last one (see write_atomically).
    """
    watch = _Stopwatch(progress)
    started = time.perf_counter()
    config = load_config(guide_dir)
    chapters, data = read_sources(config)
    watch.lap("read", started)

    started = time.perf_counter()
    guide_html = assemble(config, chapters, data)
    watch.lap("html", started)

    started = time.perf_counter()
    rendered = lay_out(config, chapters, guide_html)
    watch.lap("layout", started)

    spans = chapter_spans(chapters, rendered.anchor_pages, rendered.page_count)
    fills = page_fills(rendered.document.pages, part_starts(spans, rendered.anchor_pages))
    page_error = check_page_promise(config, spans, rendered.page_count)
    if not draft:
        raise_all(list(rendered.warnings))
        if page_error:
            raise page_error

    started = time.perf_counter()
    target = out or default_output(config)
    size = write_atomically(rendered, target, verify)
    result = BuildResult(target, rendered.page_count, size, spans, watch.timings,
                         list(rendered.warnings), page_error, fills)
    write_manifest(result, config)
    watch.lap("write", started)
    return result


def lay_out(config: GuideConfig, chapters: list[Chapter], guide_html: GuideHtml) -> Rendered:
    """The guide's HTML laid out by WeasyPrint, reading only the guide and built-in files."""
    fetcher = SafeFetcher(allowed_roots(config.root), asset_fallbacks(config.root))
    return render(guide_html, fetcher, reference_locator(config, chapters))


def read_sources(config: GuideConfig) -> tuple[list[Chapter], dict]:
    """Chapters and data, with the problems of both reported in one go."""
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
    sources = [(c.path, c.body, c.body_line) for c in chapters]
    sources.append((config.config_path, read_text(config.config_path, (config.root,)), 1))

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


def write_manifest(result: BuildResult, config: GuideConfig) -> None:
    manifest = {
        "guide": str(config.root), "pdf": str(result.output), "pages": result.pages,
        "promised": config.pages, "size": result.size, "built_at": time.time(),
        "chapters": [{**asdict(span), "path": str(span.path)} for span in result.spans],
        "page_fill": [asdict(fill) for fill in result.fills],
    }
    path = result.manifest_path()
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    os.replace(temp, path)


def newest_source_time(guide_dir: Path) -> float:
    """The newest modification time of any file the guide's PDF is made from."""
    folders = (Path(guide_dir), BUILTIN_TEMPLATES, BUILTIN_STYLES, BUILTIN_KITS)
    return max((p.stat().st_mtime for folder in folders for p in folder.rglob("*")
                if p.is_file() and not _outside_the_pdf(p)), default=0.0)


def _outside_the_pdf(path: Path) -> bool:
    """Email and preview templates, the screen stylesheet, compiled Python and the email send
    log (``*.sqlite`` and its -wal, -shm and .lock files) do not go into the PDF."""
    in_templates = "templates" in path.parts and bool({"email", "preview"} & set(path.parts))
    return (in_templates or path.name == "screen.css" or "__pycache__" in path.parts
            or ".sqlite" in path.suffixes or path.suffix.startswith(".sqlite"))


def build_if_stale(guide_dir: Path | str, pdf: Path | None = None, draft: bool = False,
                   progress: Progress | None = None) -> tuple[Path, BuildResult | None]:
    """The guide's PDF, built first when it is missing or older than the guide.

    Returns the path and the build, if one ran."""
    target = pdf or default_output(load_config(guide_dir))
    if not is_stale(target, Path(guide_dir)):
        return target, None
    return target, build(guide_dir, out=target, draft=draft, progress=progress)


def is_stale(pdf: Path, guide_dir: Path) -> bool:
    """True when the PDF is missing or older than something in its guide."""
    return not pdf.is_file() or pdf.stat().st_mtime < newest_source_time(guide_dir)
