"""The guide cut into parts (cover, contents, each chapter, back), each laid out on its own.

Every part starts on a new page, so a part laid out alone draws the pages it fills in the whole
guide once it knows three things about the rest: the page it starts on (page numbers, left or
right), the pages of the anchors elsewhere that its ``target-counter()`` reads, and the names of
the anchors elsewhere that its links point to. ``part_document`` writes those into the part's
own HTML:

- a *primer* page (two when the part starts on a right page) before the part, so the part's
  first page is a left or right page as in the guide and follows a page break as in the guide
  (margins at the top of a page are truncated the same way); the page counter is reset so that
  the part's first page gets its number in the guide;
- *stub* pages after the part holding empty elements with the ids it reads through
  ``target-counter()``, each on a page whose counter is the page the id is on in the guide.

Primer and stub pages are dropped when the parts are joined (join.py).
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

# guide.html puts this comment between parts; a page template without it is built whole.
PART_MARK = "<!--leadguide:part-->"

_BODY = re.compile(r"(<body\b[^>]*>)(.*)(</body>)", re.DOTALL | re.IGNORECASE)
_IDS = re.compile(r"""\bid\s*=\s*["']([^"']+)["']""")
_REFS = re.compile(r"""\bhref\s*=\s*["']#([^"']+)["']""")
# What a part alone cannot reproduce: the page counter set by the author, the total page count,
# the text of an element in another part. A guide whose styles use them is built whole.
_WHOLE_ONLY = re.compile(r"counter-(?:reset|set|increment)\s*:[^;}]*\bpages?\b|counters?\(\s*pages\b"
                         r"|target-text\(")


@dataclass(frozen=True)
class Part:
    body: str
    ids: frozenset[str]
    refs: frozenset[str]


@dataclass(frozen=True)
class SplitGuide:
    head: str  # the document up to and including <body ...>
    tail: str
    parts: tuple[Part, ...]

    def foreign_refs(self, index: int) -> frozenset[str]:
        """The ids part ``index`` links to that another part defines."""
        elsewhere = set().union(*(p.ids for i, p in enumerate(self.parts) if i != index))
        part = self.parts[index]
        return frozenset((part.refs - part.ids) & elsewhere)


@dataclass(frozen=True)
class PartJob:
    html: str
    base_url: str
    stylesheets: tuple[Path, ...]
    roots: tuple[Path, ...]
    fallbacks: dict[Path, Path]
    primers: int  # pages before the part's own
    stub_pages: int  # pages after it
    foreign_refs: frozenset[str]  # ids in other parts that its links point to
    font_folder: Path | None = None  # where to keep the original font files (by sha256)
    # the guide pages of the ids in other parts written into ``html`` (its stub pages)
    targets: dict[str, int] = field(default_factory=dict)
    # the sha256 of ``html`` without them: what the part's own pages depend on, bar the
    # pages of the ids it reads (the cache files a part under both, cache/parts.py)
    plain_sha: str = ""


@dataclass
class PartLayout:
    """A part's PDF and what the join and the next build need to know about it."""

    pdf: bytes
    primers: int
    pages: int  # the part's own pages, without primer and stub pages
    anchors: dict[str, int]  # id -> page within the part's own pages, from 1
    bookmarks: list[tuple[float, list]]  # per own page: its height and WeasyPrint's bookmarks
    undefined_targets: dict[str, str]  # message -> id target-counter() read and lacked
    # PDF font name -> (sha256 of the font file, in forms, left for the join to cut)
    fonts: dict[str, tuple[str, bool, bool]]
    deps: dict[str, str]  # URL -> sha256 of every file WeasyPrint fetched
    fills: list[dict]  # pagefill.PageFill of each own page, as a dict, numbered from 1
    # Whether the part's first block forces a page break before it and its last one after
    # it, and their named pages (a change of named page breaks too): a part that starts on a
    # new page only because it was laid out alone cannot be joined.
    breaks: tuple[bool, bool, str, str]
    css_problems: list[tuple[str, str | None, int | None]]
    messages: list[str]
    refused: list[tuple[str, str]]
    seconds: float = 0.0  # how long its layout took: the next build starts the slow parts first
    # every id its target-counter() looked up (targetreads.py): its own pages depend on the
    # pages of those in other parts, and on no other part's
    reads: list[str] = field(default_factory=list)


class PartStore(Protocol):
    """Where laid-out parts are kept between builds (``cache.PartCache``): the layout asks it
    for a part before laying one out and gives it every part it lays out."""

    fonts: Path  # where a part keeps its original font files, for the join to cut
    hints: Path  # what the last build learned of each part (pages, anchors, needs)

    def key(self, job: PartJob) -> str: ...
    def has(self, key: str) -> bool: ...
    def get(self, key: str) -> PartLayout | None: ...
    def put(self, job: PartJob, layout: PartLayout) -> str: ...
    def font_file(self, sha: str) -> bytes: ...
    def prune(self) -> None: ...


def styles_key(stylesheets: tuple[Path, ...], roots: tuple[Path, ...],
               fallbacks: dict[Path, Path]) -> str:
    """The stylesheets (names and contents) and the folders their URLs may read from."""
    digest = hashlib.sha256(repr(([str(r) for r in roots],
                                  sorted((str(a), str(b)) for a, b in fallbacks.items()))).encode())
    for sheet in stylesheets:
        digest.update(str(sheet).encode() + b"\0" + sheet.read_bytes() + b"\0")
    return digest.hexdigest()


def split_guide(html: str, stylesheets: list[str]) -> SplitGuide | None:
    """The guide's parts, or None when it must be laid out whole (see _WHOLE_ONLY)."""
    match = _BODY.search(html)
    if not match or PART_MARK not in match.group(2):
        return None
    if any(_WHOLE_ONLY.search(text) for text in [*stylesheets, html]):
        return None
    bodies = [body for body in match.group(2).split(PART_MARK) if body.strip()]
    parts = tuple(Part(body, frozenset(_IDS.findall(body)), frozenset(_REFS.findall(body)))
                  for body in bodies)
    return SplitGuide(html[: match.end(1)], match.group(3) + html[match.end():], parts)


def primer_pages(index: int, start: int) -> int:
    """Pages laid out before a part: none for the first, else 1 before a left (even) page."""
    if index == 0:
        return 0
    return 1 if start % 2 == 0 else 2


def part_document(split: SplitGuide, index: int, start: int, targets: dict[str, int]) -> str:
    """Part ``index`` as a document of its own, starting on page ``start`` of the guide.

    ``targets`` gives the guide page of each id in other parts that it reads."""
    primers = primer_pages(index, start)
    styles, before, after = [], "", ""
    if primers:
        side = "left" if primers == 1 else "right"
        before = f'<div class="leadguide-primer" style="break-after: {side}"></div>'
        styles.append(f"@page :first {{ counter-reset: page {start - primers} }}")
    by_page: dict[int, list[str]] = {}
    for anchor, page in sorted(targets.items()):
        by_page.setdefault(page, []).append(anchor)
    for page, anchors in sorted(by_page.items()):
        spans = "".join(f'<span id="{_attr(a)}"></span>' for a in anchors)
        after += f'<div style="page: leadguide-stub-{page}; break-before: page">{spans}</div>'
        styles.append(f"@page leadguide-stub-{page} {{ counter-reset: page {page}; {_NO_MARGIN_BOXES} }}")
    head = split.head
    if styles:
        style = f"<style>{' '.join(styles)}</style>"
        head = re.sub(r"</head>", lambda _: style + "</head>", head, count=1, flags=re.I)
    return head + before + split.parts[index].body + after + split.tail


# A stub page is dropped from the PDF: laying out and drawing its running heads is wasted.
_NO_MARGIN_BOXES = " ".join(
    f"@{side}-{place} {{ content: none }}"
    for side, places in (("top", ("left-corner", "left", "center", "right", "right-corner")),
                         ("bottom", ("left-corner", "left", "center", "right", "right-corner")),
                         ("left", ("top", "middle", "bottom")),
                         ("right", ("top", "middle", "bottom")))
    for place in places)


def _attr(value: str) -> str:
    return value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
