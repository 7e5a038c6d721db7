"""What the last PDF build left for the preview: its manifest's spans and its pages as images."""
from __future__ import annotations

import json
import os
import re
import shutil
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..build import manifest_path
from ..layout.spans import ChapterSpan

PAGE_IMAGE_SCALE = 1.5  # 108 dpi: a Letter page is 918 px wide, sharp at half size on screen


@dataclass(frozen=True)
class LastBuild:
    """What the last PDF build recorded in its manifest (``build/<name>.build.json``)."""

    pdf: Path
    pages: int
    promised: int
    built_at: float
    spans: dict[str, ChapterSpan]  # by chapter file name
    sources: str | None = None  # the guide's files when the build began (build.source_fingerprint)
    fills: dict[int, float] | None = None  # page -> how full it is (layout.pagefill), if recorded
    # page -> what `leadguide check` says of it: under fit.min_fill and not exempt (with_short)
    short: dict[int, str] = field(default_factory=dict)

    def fill(self, page: int) -> float | None:
        return self.fills.get(page) if self.fills else None

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
        sources = raw.get("sources")
        fills = {int(f["page"]): float(f["fill"]) for f in raw.get("page_fill") or []}
        return LastBuild(pdf, int(raw["pages"]), int(raw["promised"]), float(raw["built_at"]),
                         spans, sources if isinstance(sources, str) else None, fills)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def with_short(last: LastBuild | None, root: Path, min_fill: float) -> LastBuild | None:
    """``last`` with the pages that fail ``leadguide check``'s page-fill (under fit.min_fill
    and not exempt), each with the check's reason and remedy.

    The check itself decides (its exemptions: the cover, the contents, the back page, pages
    marked notes or blank, pages ended by a page break asked for); it reads the guide's HTML,
    so it runs only when a chapter's page in the manifest is under ``min_fill`` (no other page
    can fail: the others are the cover, the contents and the back page)."""
    if last is None or not last.fills:
        return last
    chapter_pages = {n for span in last.spans.values() for n in range(span.first, span.last + 1)}
    if not any(fill < min_fill and page in chapter_pages for page, fill in last.fills.items()):
        return last
    from ..check.facts import Facts
    from ..check.model import FAIL
    from ..check.typography import check_page_fill

    try:
        facts = Facts(root, last.pdf)
        try:
            results = check_page_fill(facts)
        finally:
            facts.close()
    except Exception:  # noqa: BLE001 - a guide or PDF the check cannot read now: shown elsewhere
        return last
    short = {int(m.group(1)): r.message for r in results
             if r.status == FAIL and (m := re.fullmatch(r"p\. (\d+)", r.where))}
    return replace(last, short=short)


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
