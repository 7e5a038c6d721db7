"""The guide laid out part by part, on every core, each part cached: a one-chapter edit re-lays
that chapter only.

A part's layout depends on the rest of the guide only through the page it starts on and the
pages of the ids its ``target-counter()`` reads (parts.py). The start pages are guessed (from
the last build's hints, else the chapters' page budgets, else one page per part); a part that
reads ids of a part being laid out waits for it and reads their real pages. The guesses are
corrected until nothing moves: one round, unless a page count changed.

Which ids a part reads is what its last layout looked up (targetreads.py), not every id it
links to: a chapter that every other one links to can move its anchors and re-lay only the
parts that print their pages (the contents, a "see page N").
"""
from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..atomic import write_bytes
from ..errors import GuideError, RenderError
from .pagefill import LAST, PART_END, PageFill
from .parts import (PartJob, PartLayout, PartStore, SplitGuide, part_document, primer_pages,
                    split_guide)
from .workers import PartWorkers, Task

if TYPE_CHECKING:
    from ..html.assemble import GuideHtml

_MAX_ROUNDS = 8


@dataclass
class Joined:
    pdf: bytes
    page_count: int
    anchor_pages: dict[str, int]
    warnings: tuple[GuideError, ...]
    laid_out: int  # parts laid out by this build (the others came from the cache)
    parts: int
    fills: list[PageFill]  # of every page, as pagefill measures a whole build's


class _Round:
    """One guess of where each part starts and where the ids it reads are."""

    def __init__(self, split: SplitGuide, pages: list[int], anchors: dict[str, int],
                 needs: list[set[str]]):
        self.starts = [1 + sum(pages[:i]) for i in range(len(pages))]
        self.pages = pages
        # An id no build has placed yet is guessed on the first page of its part.
        first = {a: start for part, start in zip(split.parts, self.starts) for a in part.ids}
        self.targets = [{a: anchors.get(a, first.get(a, 1)) for a in sorted(need)}
                        for need in needs]


def lay_out_parts(guide: GuideHtml, roots: tuple[Path, ...], fallbacks: dict[Path, Path],
                  cache: PartStore, locate, workers: PartWorkers,
                  budgets: dict[str, int] | None = None) -> Joined | None:
    """The joined guide, or None when the guide cannot be laid out in parts (see parts.py).

    ``budgets`` (a chapter's anchor -> its page budget) are the first guess of a part's pages
    when no build has laid it out yet: right, a cold build lays each part out once."""
    split = split_guide(guide.html, [p.read_text(encoding="utf-8") for p in guide.stylesheets])
    if split is None:
        workers.close()
        return None
    hints = _Hints(cache.hints, split)
    pages, needs = hints.pages(budgets or {}), hints.needs()
    anchors = hints.anchors(pages)
    costs = hints.seconds()
    done: dict[str, PartLayout] = {}
    laid_out = 0
    # Found once, while the workers lay out the first parts.
    link_problems = functools.cache(lambda: _link_problems(split, hints.names, guide.base_url,
                                                           locate))

    def make_job(index: int, start: int, targets: dict[str, int]) -> PartJob:
        return _job(guide, split, index, start, targets, roots, fallbacks, cache)

    for _ in range(_MAX_ROUNDS):
        guess = _Round(split, pages, anchors, needs)
        results, used, fresh = _lay_out_round(split, guess, needs, make_job, cache, done,
                                              workers, link_problems, costs)
        laid_out += fresh
        elsewhere = [_ids_elsewhere(results, i) for i in range(len(results))]
        new_pages = [r.pages for r in results]
        new_needs = [set(r.reads) & elsewhere[i] for i, r in enumerate(results)]
        new_anchors = _global_anchors(results, new_pages)
        settled = new_pages == pages and all(
            _read_right(r.reads, ids, given, new_anchors)
            for r, ids, given in zip(results, elsewhere, used))
        pages, needs, anchors = new_pages, new_needs, new_anchors
        if settled:
            break
    workers.close()  # their memory is not needed for the join
    if not settled:
        return None  # page counts that never settle: lay the guide out whole
    if not all(_starts_a_page(before, r) for before, r in zip(results, results[1:])):
        return None  # the styles let a part share a page with the one before: lay out whole
    hints.save(results, needs)
    cache.prune()
    warnings = _warnings(results, elsewhere, guide, link_problems(), locate)
    from .join import JoinPart, join_parts  # pikepdf and HarfBuzz: after the layout started

    join = [JoinPart(r.pdf, r.primers, r.pages, r.bookmarks, r.fonts,
                     split.foreign_refs(i) - set(r.anchors)) for i, r in enumerate(results)]
    pdf = join_parts(join, cache.font_file)
    return Joined(pdf, sum(pages), anchors, warnings, laid_out, len(results), _fills(results))


def _lay_out_round(split: SplitGuide, guess: _Round, needs: list[set[str]], make_job,
                   cache: PartStore, done: dict[str, PartLayout], workers: PartWorkers,
                   meanwhile, costs: list[float]
                   ) -> tuple[list[PartLayout], list[dict[str, int]], int]:
    """Every part at the places ``guess`` gives: from the cache, else laid out.

    A part that reads ids of a part being laid out waits for it, so that it reads their
    pages as laid out instead of a guess (on a cold build, the contents waits for the
    chapters). The parts on the longest chain of waits, by ``costs``, go first. Returns the
    parts, the pages of other parts' ids each one read, and how many were laid out."""
    holder = {a: i for i, part in enumerate(split.parts) for a in part.ids}
    reads = [{holder[a] for a in need if a in holder} - {i} for i, need in enumerate(needs)]
    priority = _chain_costs(reads, costs)
    waiting = sorted(range(len(split.parts)), key=lambda i: -priority[i])
    results: dict[int, PartLayout] = {}
    used: dict[int, dict[str, int]] = {}
    running: dict[int, tuple[int, PartJob, Task]] = {}  # by id() of the task
    fresh = 0

    def send(batch: list[tuple[int, str, PartJob]]) -> None:
        nonlocal fresh
        if batch:
            tasks = workers.submit([job for _, _, job in batch],
                                   [priority[i] for i, _, _ in batch])
            running.update((id(t), (i, job, t)) for t, (i, _, job) in zip(tasks, batch))
            fresh += len(batch)
            meanwhile()

    while waiting or running:
        busy = set(waiting) | {i for i, _, _ in running.values()}
        ready = [i for i in waiting if not reads[i] & busy]
        if not ready and not running:
            ready = list(waiting)  # parts that read each other: guess; the next round corrects
        batch: list[tuple[int, str, PartJob]] = []
        known: list[tuple[int, str, PartJob]] = []
        for index in ready:
            waiting.remove(index)
            used[index] = _read_pages(split, guess, results, index, needs[index])
            job = make_job(index, guess.starts[index], used[index])
            key = cache.key(job)
            (known if key in done or cache.has(key) else batch).append((index, key, job))
        send(batch)  # the parts without a cache entry first: checking an entry takes longer
        for index, key, job in known:
            if key in done or _found(cache, key, done):
                results[index] = done[key]
            else:
                send([(index, key, job)])
        if ready or not running:
            continue
        for task in workers.wait_any([task for _, _, task in running.values()]):
            index, job, _ = running.pop(id(task))
            layout = task.value()
            done[cache.put(job, layout)] = results[index] = layout
    count = len(split.parts)
    return [results[i] for i in range(count)], [used[i] for i in range(count)], fresh


def _read_right(reads: list[str], elsewhere: set[str], given: dict[str, int],
                anchors: dict[str, int]) -> bool:
    """Was a part given the right page of every id in other parts it read, and no page for an
    id no other part has (it prints none in the whole guide)?"""
    return all((a in given) == (a in elsewhere) and (a not in given or anchors.get(a) == given[a])
               for a in reads)


def _chain_costs(reads: list[set[int]], costs: list[float]) -> list[float]:
    """Each part's cost plus the costliest chain of parts waiting for it."""
    readers = [{j for j, read in enumerate(reads) if i in read} for i in range(len(reads))]
    chain: dict[int, float] = {}

    def cost(index: int, seen: frozenset[int]) -> float:
        if index not in chain:
            after = [cost(j, seen | {index}) for j in readers[index] if j not in seen]
            chain[index] = costs[index] + max(after, default=0.0)
        return chain[index]
    return [cost(i, frozenset()) for i in range(len(reads))]


def _read_pages(split: SplitGuide, guess: _Round, results: dict[int, PartLayout], index: int,
                need: set[str]) -> dict[str, int]:
    """The guide pages of the ids in other parts that part ``index`` reads: as laid out in
    this round where the part holding one is done, else as guessed."""
    pages = dict(guess.targets[index])
    for other, layout in results.items():
        if other != index:
            start = guess.starts[other]
            pages.update({a: start + layout.anchors[a] - 1 for a in need if a in layout.anchors})
    return pages


def _fills(results: list[PartLayout]) -> list[PageFill]:
    """The parts' page fills numbered in the guide; only the guide's last page is its last."""
    fills: list[PageFill] = []
    for index, result in enumerate(results):
        final = index == len(results) - 1
        for fill in result.fills:
            ends = PART_END if fill["ends"] == LAST and not final else fill["ends"]
            fills.append(PageFill(**{**fill, "page": len(fills) + 1, "ends": ends,
                                     "one_word_lines": tuple(fill["one_word_lines"]),
                                     "boxes": tuple(tuple(b) for b in fill["boxes"])}))
    return fills


def _job(guide: GuideHtml, split: SplitGuide, index: int, start: int, targets: dict[str, int],
         roots, fallbacks, cache: PartStore) -> PartJob:
    plain = hashlib.sha256(part_document(split, index, start, {}).encode()).hexdigest()
    return PartJob(html=part_document(split, index, start, targets), base_url=guide.base_url,
                   stylesheets=guide.stylesheets, roots=roots, fallbacks=fallbacks,
                   primers=primer_pages(index, start), stub_pages=len(set(targets.values())),
                   foreign_refs=split.foreign_refs(index), font_folder=cache.fonts,
                   targets=dict(targets), plain_sha=plain)


def _found(cache: PartStore, key: str, done: dict[str, PartLayout]) -> bool:
    layout = cache.get(key)
    if layout is not None:
        done[key] = layout
    return layout is not None


def _starts_a_page(before: PartLayout, part: PartLayout) -> bool:
    """Would ``part`` begin a new page in the whole guide too (a forced break, a new named
    page)?"""
    return part.breaks[0] or before.breaks[1] or before.breaks[3] != part.breaks[2]


def _ids_elsewhere(results: list[PartLayout], index: int) -> set[str]:
    return {a for i, r in enumerate(results) if i != index for a in r.anchors}


def _global_anchors(results: list[PartLayout], pages: list[int]) -> dict[str, int]:
    anchors: dict[str, int] = {}
    start = 1
    for result, count in zip(results, pages):
        for anchor, page in result.anchors.items():
            anchors.setdefault(anchor, start + page - 1)
        start += count
    return anchors


def _warnings(results: list[PartLayout], elsewhere: list[set[str]], guide: GuideHtml,
              link_problems: list[GuideError], locate) -> tuple[GuideError, ...]:
    """The parts' complaints, as a whole-document build reports them."""
    from .render import describe_problems

    problems: list[GuideError] = []
    seen: set[str] = set()
    seen_refused: set[tuple] = set()
    for message, path, line in results[0].css_problems if results else []:
        seen.add(message)  # every part parses the same stylesheets
        problems.append(RenderError(message, Path(path) if path else None, line))
    problems += link_problems
    for result, ids in zip(results, elsewhere):
        messages = [m for m in result.messages
                    if result.undefined_targets.get(m) not in ids and m not in seen]
        seen.update(messages)
        refused = [tuple(r) for r in result.refused if tuple(r) not in seen_refused]
        seen_refused.update(refused)  # a font the stylesheets name is refused in every part
        problems += describe_problems(messages, refused, guide.stylesheets, locate)
    return tuple(problems)


def _link_problems(split: SplitGuide, digests: list[str], base_url: str,
                   locate) -> list[GuideError]:
    """Forbidden links and attachments, found on the tree WeasyPrint parses, as a whole build
    does (the parts take them out too, but would report them without their source lines):
    the head and each part on its own, each looked at once per process while its text stays
    the same (serve's live PDF: a save parses the edited part alone). ``digests``: the
    parts' SHA-256, as the hints name them."""
    outside = split.head + split.tail
    found = [*_forbidden(outside, hashlib.sha256(outside.encode()).hexdigest(), base_url)]
    for part, digest in zip(split.parts, digests):
        found += _forbidden(part.body, digest, base_url)
    return [problem.error(locate) for problem in found]


_FORBIDDEN: dict[tuple[str, str], tuple] = {}  # by a text's digest: what it holds
_FORBIDDEN_KEPT = 256


def _forbidden(html: str, digest: str, base_url: str) -> tuple:
    key = (digest, base_url)
    if key not in _FORBIDDEN:
        from weasyprint import HTML

        from ..html.links import take_out_forbidden

        if len(_FORBIDDEN) >= _FORBIDDEN_KEPT:  # a long serve session: start again
            _FORBIDDEN.clear()
        _FORBIDDEN[key] = tuple(take_out_forbidden(
            HTML(string=html, base_url=base_url).etree_element))
    return _FORBIDDEN[key]


class _Hints:
    """What the last build learned about each part (by its text): pages, anchors, needs."""

    def __init__(self, path: Path, split: SplitGuide):
        self.path, self.split = path, split
        self.names = [hashlib.sha256(p.body.encode()).hexdigest() for p in split.parts]
        try:
            self.known = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self.known = {}
        if not isinstance(self.known, dict):
            self.known = {}

    def _get(self, index: int) -> dict:
        """The part's hints by its text; for an edited part, what was at its place last time."""
        value = self.known.get(self.names[index])
        if not isinstance(value, dict):
            order = self.known.get("order")
            if isinstance(order, list) and len(order) == len(self.names):
                value = self.known.get(str(order[index]))
        return value if isinstance(value, dict) else {}

    def pages(self, budgets: dict[str, int]) -> list[int]:
        guesses = [next((budgets[a] for a in sorted(part.ids) if a in budgets), 1)
                   for part in self.split.parts]
        return [int(self._get(i).get("pages", guess)) for i, guess in enumerate(guesses)]

    def needs(self) -> list[set[str]]:
        """The ids each part reads; unknown: those it links to (a contents, a page reference)."""
        return [set(self._get(i).get("needs", self.split.foreign_refs(i)))
                for i in range(len(self.names))]

    def anchors(self, pages: list[int]) -> dict[str, int]:
        anchors: dict[str, int] = {}
        start = 1
        for i, count in enumerate(pages):
            for anchor, page in dict(self._get(i).get("anchors", {})).items():
                anchors.setdefault(anchor, start + int(page) - 1)
            start += count
        return anchors

    def seconds(self) -> list[float]:
        """How long each part's layout took last time; unknown: guessed from its length."""
        guesses = [len(part.body) / 100_000 for part in self.split.parts]
        return [_number(self._get(i).get("seconds"), guess) for i, guess in enumerate(guesses)]

    def save(self, results: list[PartLayout], needs: list[set[str]]) -> None:
        known = {name: {"pages": r.pages, "anchors": r.anchors, "needs": sorted(need),
                        "seconds": r.seconds}
                 for name, r, need in zip(self.names, results, needs)}
        known["order"] = self.names
        write_bytes(self.path, json.dumps(known).encode())


def _number(value, default: float) -> float:
    return float(value) if isinstance(value, (int, float)) and value >= 0 else default
