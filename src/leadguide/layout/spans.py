"""Checks on the laid-out guide that run on every build: the page promise and budgets."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import PagePromiseError
from ..guide.config import GuideConfig

if TYPE_CHECKING:
    from ..guide.chapters import Chapter

# Anchors the page template puts on the parts that are not chapters.
PART_ANCHORS = ("cover", "contents", "back")


@dataclass(frozen=True)
class ChapterSpan:
    title: str
    path: Path
    first: int
    last: int
    budget: int | None

    @property
    def pages(self) -> int:
        return self.last - self.first + 1

    @property
    def over_budget(self) -> bool:
        return self.budget is not None and self.pages > self.budget


def chapter_spans(chapters: list[Chapter], anchor_pages: dict[str, int],
                  total_pages: int) -> list[ChapterSpan]:
    """The pages each chapter occupies, from where it starts to where the next part starts."""
    starts = sorted({anchor_pages[a] for a in PART_ANCHORS if a in anchor_pages} |
                    {anchor_pages[c.anchor] for c in chapters if c.anchor in anchor_pages})
    spans = []
    for chapter in chapters:
        first = anchor_pages.get(chapter.anchor)
        if first is None:
            continue
        later = [start for start in starts if start > first]
        last = later[0] - 1 if later else total_pages
        spans.append(ChapterSpan(chapter.title, chapter.path, first, last, chapter.pages))
    return spans


def part_starts(spans: list[ChapterSpan], anchor_pages: dict[str, int]) -> set[int]:
    """The pages that begin a chapter, the cover, the contents or the back page."""
    return {span.first for span in spans} | {anchor_pages[a] for a in PART_ANCHORS
                                             if a in anchor_pages}


def span_table(spans: list[ChapterSpan], total: int, promised: int) -> str:
    """A plain-text table an author reads to see where to cut or add."""
    rows = [("chapter", "pages", "count", "budget", "")]
    for span in spans:
        where = f"{span.first}" if span.pages == 1 else f"{span.first}-{span.last}"
        flag = "OVER" if span.over_budget else ""
        rows.append((str(span.path), where, str(span.pages),
                     "-" if span.budget is None else str(span.budget), flag))
    rows.append(("total", "", str(total), str(promised), "OVER" if total > promised else
                 ("SHORT" if total < promised else "")))
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip()
                     for row in rows)


def check_page_promise(config: GuideConfig, spans: list[ChapterSpan],
                       total: int) -> PagePromiseError | None:
    if total == config.pages:
        return None
    difference = total - config.pages
    verb = f"{difference} too many" if difference > 0 else f"{-difference} too few"
    return PagePromiseError(
        f"the guide promises {config.pages} pages but the PDF has {total} ({verb}): "
        "cut or add content in the chapters below",
        config.config_path, config.pages_line, span_table(spans, total, config.pages))
