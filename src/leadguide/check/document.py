"""Checks on the PDF as a book: page promise, chapter budgets, contents, bookmarks, blank pages."""
from __future__ import annotations

import re
from collections import defaultdict
from typing import TYPE_CHECKING, Any, Callable, Iterator

from ..layout.spans import chapter_spans
from .facts import HEADINGS, Facts, Rect
from .model import FAIL, PASS, WARN, CheckResult, page, pages, plural

if TYPE_CHECKING:
    from pypdf.generic import Destination

_NUMBER_AT_END = re.compile(r"(\d+)\s*$")


def check_page_count(facts: Facts) -> list[CheckResult]:
    total, promised = facts.page_count, facts.config.pages
    where = facts.source_name(None)
    if total == promised:
        return [CheckResult("page-count", PASS, f"{total} pages, as guide.yaml promises", where)]
    difference = (f"{total - promised} too many" if total > promised
                  else f"{promised - total} too few")
    return [CheckResult("page-count", FAIL, f"{total} pages but guide.yaml promises {promised} "
                        f"({difference})", where)]


def check_page_size(facts: Facts) -> list[CheckResult]:
    """Every page is the size guide.yaml's page_size names (to half a point)."""
    width, height = facts.config.page.size_points
    wrong = [n for n in facts.numbers
             if abs(facts.page(n).get_width() - width) > 0.5
             or abs(facts.page(n).get_height() - height) > 0.5]
    where = facts.source_name(None)
    wanted = f"{facts.config.page.name} ({width:.0f} × {height:.0f} pt)"
    if wrong:
        first = facts.page(wrong[0])
        return [CheckResult("page-size", FAIL, f"{plural(len(wrong), 'page')} not {wanted}: "
                            f"p. {wrong[0]} is {first.get_width():.0f} × "
                            f"{first.get_height():.0f} pt", where)]
    return [CheckResult("page-size", PASS, f"every page is {wanted}", where)]


def check_chapter_budgets(facts: Facts) -> list[CheckResult]:
    spans = chapter_spans(facts.chapters, facts.anchor_pages, facts.page_count)
    found = {span.path for span in spans}
    results = [CheckResult("chapter-budget", FAIL, f"'{c.title}' has no start in the PDF "
                           f"(no destination '{c.anchor}')", str(c.path))
               for c in facts.chapters if c.path not in found]
    for span in spans:
        if span.over_budget:
            where = f"pp. {span.first}-{span.last}" if span.pages > 1 else page(span.first)
            results.append(CheckResult("chapter-budget", FAIL, f"'{span.title}' takes "
                                       f"{span.pages} pages ({where}), its budget is "
                                       f"{span.budget}", str(span.path)))
    budgeted = sum(1 for span in spans if span.budget is not None and not span.over_budget)
    if not results:
        results.append(CheckResult("chapter-budget", PASS,
                                   f"{plural(budgeted, 'chapter')} with a budget, all within it"))
    return results


# ---- table of contents
def check_toc_numbers(facts: Facts) -> list[CheckResult]:
    """Read each contents entry's printed number inside its link and compare it with the
    page the link's chapter really starts on."""
    anchors = {chapter.anchor: chapter for chapter in facts.chapters}
    if not any(chapter.toc for chapter in facts.chapters):
        return [CheckResult("toc-numbers", PASS, "no chapter is listed in the contents")]
    toc_pages = _toc_pages(facts, anchors)
    if not toc_pages:
        return [CheckResult("toc-numbers", FAIL, "no contents page: no page links to chapters")]
    entries = _toc_entries(facts, toc_pages, set(anchors))
    results = []
    for (number, dest), rect in entries.items():
        title = anchors[dest].title
        start = facts.destinations.get(dest)
        match = _NUMBER_AT_END.search(facts.text_in(number, rect))
        if match is None:
            results.append(CheckResult("toc-numbers", FAIL, f"'{title}' has no page number",
                                       page(number)))
        elif int(match.group(1)) != start:
            results.append(CheckResult("toc-numbers", FAIL, f"'{title}' is listed on page "
                                       f"{match.group(1)} but starts on page {start}",
                                       page(number)))
    listed = {dest for _, dest in entries}
    results += [CheckResult("toc-numbers", FAIL, f"'{c.title}' is missing from the contents",
                            pages(toc_pages)) for c in facts.chapters
                if c.toc and c.anchor not in listed]
    count = plural(len(entries), "entry", "entries")
    return results or [CheckResult("toc-numbers", PASS, f"{count}, each number is the page its "
                                   "chapter starts on", pages(toc_pages))]


def _toc_pages(facts: Facts, anchors: dict) -> list[int]:
    """The page linking to the most chapters, and the pages next to it that link to chapters."""
    linked: dict[int, set[str]] = defaultdict(set)
    for link in facts.links:
        if link.dest in anchors:
            linked[link.page].add(link.dest)
    if not linked:
        return []
    contents = facts.anchor_pages.get("contents")
    if contents in linked:  # the contents part's pages; a chapter may link to chapters too
        following = [first for first, _ in facts.starts if first > contents]
        last = min(following) - 1 if following else contents
        return [n for n in range(contents, last + 1) if n in linked]
    best = max(linked, key=lambda n: (len(linked[n]), -n))
    part = facts.part_at(best)  # a chapter page next to the contents may cross-refer to one
    first, last = best, best
    while first - 1 in linked and facts.part_at(first - 1) == part:
        first -= 1
    while last + 1 in linked and facts.part_at(last + 1) == part:
        last += 1
    return list(range(first, last + 1))


def _toc_entries(facts: Facts, toc_pages: list[int],
                 anchors: set[str]) -> dict[tuple[int, str], Rect]:
    """(page, chapter anchor) → the area its link annotations cover, in page order."""
    entries: dict[tuple[int, str], Rect] = {}
    for link in facts.links:
        if link.page in toc_pages and link.dest in anchors:
            key = (link.page, link.dest)
            entries[key] = _union(entries[key], link.rect) if key in entries else link.rect
    return entries


def _union(a: Rect, b: Rect) -> Rect:
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))


# ---- bookmarks
def check_bookmarks(facts: Facts) -> list[CheckResult]:
    bookmarks = list(_flatten(facts.reader.outline))
    headings = facts.elements(*HEADINGS)
    results, position = [], 0
    for mark in bookmarks:
        title = " ".join(str(mark.title).split())
        target = facts.page_of(mark.page)
        if target is None:
            results.append(CheckResult("bookmarks", FAIL, f"'{title}' points to no page"))
            continue
        part = facts.part_at(target)
        if part in ("cover", "contents"):
            results.append(CheckResult("bookmarks", FAIL, f"'{title}' points to the "
                                       f"{'cover' if part == 'cover' else 'contents'}: "
                                       "they need no bookmark", page(target)))
            continue
        index = _find_heading(headings, title, position,
                              lambda h: facts.destinations.get(h.anchor or "") == target)
        if index is None:
            results.append(CheckResult("bookmarks", WARN, f"'{title}' matches no heading in "
                                       "the HTML", page(target)))
            continue
        position = index + 1
        expected = facts.destinations.get(headings[index].anchor or "")
        if expected is None and _printed_on(facts, target, title):
            expected = target  # a heading without an id of its own: its text is on the page
        if expected != target:
            on = f"on page {expected}" if expected else "not on that page"
            results.append(CheckResult("bookmarks", FAIL, f"'{title}' points to page {target} "
                                       f"but its heading is {on}", page(target)))
    count = plural(len(bookmarks), "bookmark")
    return results or [CheckResult("bookmarks", PASS, f"{count}, each on its heading's page, "
                                   "none for the cover or contents")]


def _printed_on(facts: Facts, number: int, text: str) -> bool:
    return text.casefold() in " ".join(facts.text(number).split()).casefold()


def _flatten(outline: list) -> Iterator[Destination]:
    for item in outline:
        yield from _flatten(item) if isinstance(item, list) else [item]


def _find_heading(headings: list, title: str, start: int,
                  lands: Callable[[Any], bool]) -> int | None:
    """The next heading with this text (bookmarks come in document order), the one on the
    bookmark's page first: a chapter may have the cover's title (a guide made from posts)."""
    order = list(range(start, len(headings))) + list(range(start))
    matches = [i for i in order if headings[i].text == title]
    return next((i for i in matches if lands(headings[i])), matches[0] if matches else None)


# ---- blank pages
BLANK_BAND = 0.08      # top and bottom share of the page ignored: running heads, folios
NEAR_EMPTY = 0.05      # under 5 % of the rows with ink ≈ fewer than four lines of text
INK = 40               # grey levels away from the page's background that count as ink
RENDER_DPI = 36
MARKERS = ("intentional-blank", "notes")


def check_blank_pages(facts: Facts) -> list[CheckResult]:
    intended, results = intended_pages(facts)
    for number in range(1, facts.page_count + 1):
        filled = _filled_share(facts, number)
        if filled >= NEAR_EMPTY:
            continue
        if number in intended:
            results.append(CheckResult("blank-pages", PASS, "nearly empty on purpose (marked "
                                       f"'{intended[number]}')", page(number)))
        elif filled == 0:
            results.append(CheckResult("blank-pages", FAIL, "blank page", page(number)))
        else:
            results.append(CheckResult("blank-pages", WARN, f"nearly empty: only {filled:.0%} "
                                       "of the page has content", page(number)))
    if all(result.status == PASS for result in results):
        results.insert(0, CheckResult("blank-pages", PASS, "no blank or nearly empty page"
                                      + (" except those marked" if results else "")))
    return results


def intended_pages(facts: Facts) -> tuple[dict[int, str], list[CheckResult]]:
    """Pages holding an element of class intentional-blank or notes; such an element needs an
    id, which is what puts it in the PDF as a named destination."""
    intended: dict[int, str] = {}
    problems = []
    for node in facts.html:
        marker = next((m for m in MARKERS if m in node.classes), None)
        if marker is None:
            continue
        target = facts.destinations.get(node.get("id") or "")
        if target:
            intended[target] = marker
        else:
            problems.append(CheckResult("blank-pages", WARN, f"a '{marker}' block without an id "
                                        "(or not in the PDF): give it an id so the check can "
                                        "find its page", facts.locate(node.chapter, marker)))
    return intended, problems


def _filled_share(facts: Facts, number: int) -> float:
    """Share of the page's pixel rows (running heads excluded) that carry any ink."""
    image = facts.page(number).render(scale=RENDER_DPI / 72, grayscale=True).to_pil()
    width, height = image.size
    body = image.crop((0, int(height * BLANK_BAND), width, int(height * (1 - BLANK_BAND))))
    histogram = body.histogram()
    background = max(range(256), key=histogram.__getitem__)
    mask = body.point([0 if abs(v - background) <= INK else 255 for v in range(256)]).tobytes()
    rows = body.height
    inked = sum(1 for y in range(rows) if mask.find(255, y * width, (y + 1) * width) >= 0)
    return inked / rows if rows else 0.0

