"""One part of the guide laid out and written as a PDF of its own (see parts.py).

``lay_out_part`` takes and returns plain data so that it runs in worker processes.
"""
from __future__ import annotations

import hashlib
import re
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from weasyprint.urls import URLFetcherResponse

from ..atomic import write_bytes
from ..errors import RenderError
from ..guide.fetcher import SafeFetcher
from ..html.assemble import GuideHtml
from .parts import PartJob, PartLayout, styles_key
from .targetreads import target_reads

if TYPE_CHECKING:
    from .render import Styles

_UNDEFINED_TARGET = re.compile(r"target points to undefined anchor .*?(?:'internal', '([^']*)'|'#([^']*)')")


class RecordingFetcher(SafeFetcher):
    """A SafeFetcher that remembers what it served, so a cached part knows its files."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.served: dict[str, str] = {}

    def fetch(self, url: str, headers: dict | None = None):
        response = super().fetch(url, headers)
        if url.startswith("data:") or response.status != 200:
            return response
        body = response.read()
        self.served[url] = hashlib.sha256(body).hexdigest()
        return URLFetcherResponse(url, body, response.headers, response.status)


@dataclass
class _ParsedStyles:
    styles: "Styles"
    key: str
    served: dict[str, str]  # what parsing them fetched (fonts), as RecordingFetcher.served
    refused: list[tuple[str, str]]


# The stylesheets this process parsed last: every part it lays out reuses them.
_parsed: _ParsedStyles | None = None


def parsed_styles(stylesheets: tuple[Path, ...], roots: tuple[Path, ...],
                  fallbacks: dict[Path, Path]) -> _ParsedStyles:
    """The stylesheets parsed, once per process while they stay the same (about a third of
    a small part's layout time)."""
    global _parsed
    from multiprocessing.util import Finalize

    from .render import parse_styles

    key = styles_key(stylesheets, roots, fallbacks)
    if _parsed is None or _parsed.key != key:
        if _parsed is not None:
            _remove_font_folder(_parsed.styles.font_config)
        fetcher = RecordingFetcher(roots, fallbacks)
        _parsed = _ParsedStyles(parse_styles(stylesheets, fetcher), key, dict(fetcher.served),
                                list(fetcher.refused))
        # A worker process ends without running WeasyPrint's own clean-up of this folder.
        Finalize(_parsed, _remove_font_folder, args=(_parsed.styles.font_config,),
                 exitpriority=1)
    return _parsed


def styles_parsed(stylesheets: tuple[Path, ...], roots: tuple[Path, ...],
                  fallbacks: dict[Path, Path]) -> bool:
    """Whether this process holds these stylesheets parsed (serve's live PDF process)."""
    return _parsed is not None and _parsed.key == styles_key(stylesheets, roots, fallbacks)


def _remove_font_folder(font_config) -> None:
    if font_config._folder:
        shutil.rmtree(font_config._folder, ignore_errors=True)
        font_config._folder = None


def lay_out_part(job: PartJob) -> PartLayout:
    from .pagefill import page_fills
    from .render import RENDER_OPTIONS, lay_out

    started = time.perf_counter()
    parsed = parsed_styles(job.stylesheets, job.roots, job.fallbacks)
    fetcher = RecordingFetcher(job.roots, job.fallbacks)
    fetcher.served.update(parsed.served)
    fetcher.refused.extend(parsed.refused)
    guide = GuideHtml(job.html, job.base_url, job.stylesheets, ())
    # The links' problems are the whole guide's, found once by the build (incremental.py).
    with target_reads() as reads:
        document, css_problems, messages = lay_out(guide, fetcher, lambda _url: (None, None),
                                                   parsed.styles)
    css_problems = [p for p in css_problems if isinstance(p, RenderError)]
    undefined = {m: match.group(1) or match.group(2) for m in messages
                 if (match := _UNDEFINED_TARGET.search(m))}
    own = document.pages[job.primers: len(document.pages) - job.stub_pages]
    anchors: dict[str, int] = {}
    for number, page in enumerate(own, start=1):
        for anchor in page.anchors:
            anchors.setdefault(anchor, number)
    # What ends each page is judged on the part's own pages: the last one ends the part.
    fills = [asdict(fill) for fill in page_fills(own, {1, len(own) + 1})]
    _keep_links_to(document, job.foreign_refs - set(anchors))
    document.fonts = _FontsTheJoinEmbeds(document.fonts)
    pdf = document.write_pdf(**RENDER_OPTIONS)
    # The fonts are known once drawn: each one's file as the join is to group and cut it.
    originals = {font.name.decode().lstrip("/"): _file_for_the_join(font)
                 for font in document.fonts.values()}
    shas = {name: font_sha(data) for name, data in originals.items()}
    if job.font_folder:
        for name, data in originals.items():
            if not (job.font_folder / shas[name]).is_file():
                write_bytes(job.font_folder / shas[name], data)
    in_forms = dict.fromkeys(originals, False)
    to_join = dict.fromkeys(originals, False)
    for font in document.fonts.values():
        in_forms[font.name.decode().lstrip("/")] |= font.used_in_forms
        to_join[font.name.decode().lstrip("/")] |= hasattr(font, "file_for_the_join")
    return PartLayout(
        pdf=pdf, primers=job.primers, pages=len(own), anchors=anchors,
        bookmarks=[(page.height, list(page.bookmarks)) for page in own],
        undefined_targets=undefined,
        fonts={name: (shas[name], in_forms[name], to_join[name]) for name in originals},
        deps=dict(fetcher.served), fills=fills, breaks=_forced_breaks(own),
        css_problems=[(e.message, str(e.path) if e.path else None, e.line) for e in css_problems],
        messages=messages, refused=list(fetcher.refused), reads=sorted(reads),
        seconds=round(time.perf_counter() - started, 3))


class _FontsTheJoinEmbeds(dict):
    """A part's fonts (WeasyPrint's ``Document.fonts``), each left uncut when the join cuts
    it instead: the join embeds such a font once, cut to the glyphs of every part (join.py),
    so cutting it here too would be wasted (about a tenth of a part's time). What else
    WeasyPrint does to a font is done here (a variable font made static at the weight used,
    colour glyphs taken out), and the join cuts the result. A font with a glyph missing or
    in a form field is written as WeasyPrint writes it, and the join keeps it."""

    def __setitem__(self, key, font) -> None:
        clean = font.clean

        def clean_for_the_join(to_unicode, hinting) -> None:
            if not _cut_by_the_join(font):
                clean(to_unicode, hinting)
                return
            font.file_for_the_join = _uncut(font, clean, hinting)
            font.file_content = font.file_content[:4]  # its kind (OpenType or TrueType)
        font.clean = clean_for_the_join
        super().__setitem__(key, font)


def _file_for_the_join(font) -> bytes:
    """The file the join groups a font's uses by (and cuts, when the part left it uncut).
    A form field's font is written whole, cleaned as the other parts clean theirs; the face
    of any other font still holds its file as it was before WeasyPrint cut it."""
    from weasyprint.text.fonts import get_hb_object_data

    if hasattr(font, "file_for_the_join"):
        return font.file_for_the_join
    return font.file_content if font.used_in_forms else get_hb_object_data(font.hb_face)


def font_sha(data: bytes) -> str:
    """A font file's SHA-256, blind to when it was saved: a variable font made static in two
    processes (fontTools stamps the time) is one file to the join, as in a whole build."""
    return hashlib.sha256(_without_timestamp(data)).hexdigest()


def _without_timestamp(data: bytes) -> bytes:
    """An OpenType file with head's modified date and the checksums covering it zeroed."""
    if data[:4] not in (b"\x00\x01\x00\x00", b"OTTO", b"true") or len(data) < 12:
        return data  # a collection, or not a font: as it is
    tables = int.from_bytes(data[4:6], "big")
    records = [12 + 16 * i for i in range(tables) if data[12 + 16 * i: 16 + 16 * i] == b"head"]
    if not records or records[0] + 16 > len(data):
        return data
    record = records[0]
    head = int.from_bytes(data[record + 8: record + 12], "big")
    if head + 36 > len(data):
        return data
    blanked = bytearray(data)
    blanked[record + 4: record + 8] = bytes(4)  # the head table's checksum
    blanked[head + 8: head + 12] = bytes(4)  # checkSumAdjustment
    blanked[head + 28: head + 36] = bytes(8)  # modified
    return bytes(blanked)


def _cut_by_the_join(font) -> bool:
    # The join reads a font file's first face: a later face of a collection is cut here.
    single = font.index == 0 or _cleaned_beyond_cutting(font)
    return single and not (font.used_in_forms or font.bitmap or font.missing)


def _cleaned_beyond_cutting(font) -> bool:
    """Does WeasyPrint's ``Font.clean`` do more than cut this font (variable, colour glyphs)?"""
    return bool("fvar" in font.tables or font.png or font.svg or font.colr)


# what makes WeasyPrint's clean-up of a font file differ -> the font cleaned but not cut
_UNCUT: dict[tuple, bytes] = {}


def _uncut(font, clean, hinting) -> bytes:
    """The font file as WeasyPrint's ``Font.clean`` leaves it, less the cut: once per
    process and instance drawn (making a variable font static takes a while)."""
    if not _cleaned_beyond_cutting(font):
        return font.file_content
    key = _instance_key(font)
    if key not in _UNCUT:
        font.subset = lambda *_args: None
        try:
            clean({}, hinting)
        finally:
            del font.subset
        _UNCUT[key] = font.file_content
    return _UNCUT[key]


def _instance_key(font) -> tuple:
    """What ``Font.clean`` reads to make a variable font static: the file and the font's
    weight, style and variations, and its size only if the font has an optical-size axis."""
    sha = hashlib.sha256(font.file_content).hexdigest()
    size = font.font_size if "opsz" in _axes(sha, font.file_content, font.index) else None
    return (sha, font.index, font.weight, font.style, size,
            tuple(sorted(font.variations.items())))


_AXES: dict[str, set[str]] = {}


def _axes(sha: str, content: bytes, index: int) -> set[str]:
    if sha not in _AXES:
        from io import BytesIO

        from fontTools.ttLib import TTFont

        font = TTFont(BytesIO(content), fontNumber=index, lazy=True)
        _AXES[sha] = {axis.axisTag for axis in font["fvar"].axes} if "fvar" in font else set()
    return _AXES[sha]


def _keep_links_to(document, names: set[str]) -> None:
    """Keep links to anchors in other parts: WeasyPrint drops links to anchors it lacks.

    The link points to the anchor by name; the name is given a place here and the join
    replaces it with the anchor's real place in the guide."""
    if document.pages:
        for name in names:
            document.pages[-1].anchors.setdefault(name, (0, 0, 0, 0))


def _forced_breaks(own: list) -> tuple[bool, bool, str, str]:
    """Does the part's first block force a break before it, its last one after it; and the
    named pages of the two."""
    from .pagefill import FORCED_BREAKS

    def blocks(page) -> list:
        html = page._page_box.children[0] if page._page_box.children else None
        body = html.children[0] if html is not None and html.children else None
        return [b for b in getattr(body, "children", ()) if b.element is not None
                and "leadguide-primer" not in (b.element.get("class") or "")
                and "leadguide-stub" not in (b.element.get("style") or "")]

    def path(box, end: int):  # the box and its first (0) or last (-1) children, down the tree
        while box is not None:
            yield box
            children = [c for c in getattr(box, "children", ()) if c.element is not None]
            box = children[end] if children else None

    first = blocks(own[0]) if own else []
    last = blocks(own[-1]) if own else []
    if not first or not last:
        return False, False, "", ""
    before = any(b.style["break_before"] in FORCED_BREAKS for b in path(first[0], 0))
    after = any(b.style["break_after"] in FORCED_BREAKS for b in path(last[-1], -1))
    return before, after, str(first[0].style["page"]), str(last[-1].style["page"])
