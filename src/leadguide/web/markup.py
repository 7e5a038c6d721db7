"""A chapter's HTML made for a screen: tables and code in focusable scroll boxes, links to
other chapters pointed at their pages, trackers with the way to the fillable PDF."""
from __future__ import annotations

import html
import re

_BOX_TAG = re.compile(r"<(/?)(table|pre)\b[^>]*>", re.IGNORECASE)
_CAPTION = re.compile(r"<caption\b[^>]*>(.*?)</caption>", re.IGNORECASE | re.DOTALL)
_FILENAME = re.compile(r'<span class="filename">(.*?)</span>', re.IGNORECASE | re.DOTALL)
_HEADING = re.compile(r"<h[1-6]\b[^>]*>(.*?)</h[1-6]>", re.IGNORECASE | re.DOTALL)
_ID = re.compile(r"""\sid=(["'])([^"']+)\1""")
_LOCAL_HREF = re.compile(r"""(\shref=)(["'])#([^"']+)\2""")
_TRACKER = re.compile(r"""<div class=(["'])(?:[^"']*\s)?tracker(?:\s[^"']*)?\1[^>]*>""")


def scroll_boxes(markup: str) -> str:
    """Each outermost table and code block in a box that scrolls sideways on a narrow screen:
    a region a keyboard can reach and scroll (tabindex), named by the table's caption or the
    code's file name, else by the heading before it (each name unique on the page)."""
    out, depth, start, last, kind, names = [], 0, 0, 0, "", set()
    for tag in _BOX_TAG.finditer(markup):
        name = tag.group(2).lower()
        if not tag.group(1):
            depth += 1
            if depth == 1:
                start, kind = tag.start(), name
        elif depth:
            depth -= 1
            if depth == 0 and name == kind:
                block = markup[start:tag.end()]
                label = unique_name(_box_name(kind, block, markup[:start]), names)
                opening = (f'<div class="scroll-box scroll-{kind}" tabindex="0" role="region" '
                           f'aria-label="{html.escape(label, quote=True)}">')
                out += [markup[last:start], opening, block, "</div>"]
                last = tag.end()
    return "".join(out) + markup[last:]


def _box_name(kind: str, block: str, before: str) -> str:
    own = (_CAPTION if kind == "table" else _FILENAME).search(block)
    if not own and kind == "pre":  # the file name sits before the <pre> in its .highlight
        opened = before.rfind('<div class="highlight"')
        own = _FILENAME.search(before[opened:]) if opened >= 0 else None
    headings = _HEADING.findall(before)
    words = own.group(1) if own else (headings[-1] if headings else "")
    text = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", words)).split())
    if kind == "pre":
        return f"Code: {text}" if text else "Code"
    return text or "Table"


def unique_name(name: str, taken: set[str]) -> str:
    """``name``, or ``name (2)``, ``(3)``…: the first not in ``taken`` (added to it), so that
    the regions of one page have names of their own."""
    unique, number = name, 1
    while unique in taken:
        number += 1
        unique = f"{name} ({number})"
    taken.add(unique)
    return unique


def element_ids(markup: str) -> set[str]:
    """Every id in a page's markup: what its own ``#`` links may point at."""
    return {match.group(2) for match in _ID.finditer(markup)}


def link_pages(markup: str, own_ids: set[str], pages: dict[str, tuple[str, bool]]) -> str:
    """``#id`` links to another chapter (its anchor or a heading in it) pointed at that
    chapter's page; ``pages`` maps each id to the page holding it (and whether it is the
    chapter's own anchor, which needs no fragment)."""
    def repoint(match: re.Match) -> str:
        target = match.group(3)
        if target in own_ids or target not in pages:
            return match.group(0)
        page, anchor = pages[target]
        return f"{match.group(1)}{match.group(2)}{page}{'' if anchor else '#' + target}" \
               f"{match.group(2)}"
    return _unwrap_dangling(_LOCAL_HREF.sub(repoint, markup), own_ids | set(pages))


_FRAGMENT_LINK = re.compile(r"""<a\b[^>]*\shref=(["'])#([^"']*)\1[^>]*>(.*?)</a>""",
                            re.IGNORECASE | re.DOTALL)


def _unwrap_dangling(markup: str, known: set[str]) -> str:
    """A ``#`` link to something the web edition has no page for (the PDF's cover or back
    page, say) is left as its words: a link that goes nowhere is worse than none."""
    def unwrap(match: re.Match) -> str:
        return match.group(0) if match.group(2) in known else match.group(3)
    return _FRAGMENT_LINK.sub(unwrap, markup)


def tracker_notes(markup: str, pdf_href: str) -> str:
    """Before each tracker: it is a sheet to print, and the PDF has it fillable."""
    note = ('<p class="tracker-note">A sheet to print and fill in by hand, or '
            f'<a href="{html.escape(pdf_href, quote=True)}" download>download the fillable '
            'PDF</a> to fill it in on screen.</p>')
    return _TRACKER.sub(lambda match: note + match.group(0), markup)
