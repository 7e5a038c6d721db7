"""Where the printed pages of a chapter begin: the chapter laid out alone, as in the PDF."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

import jinja2

from ..guide.assets import stylesheets
from ..guide.config import GuideConfig
from ..guide.fetcher import SafeFetcher
from ..html.assemble import GuideHtml, template_context, theme_css


@dataclass(frozen=True)
class PageStart:
    """Where a printed page of a chapter begins: a path of element indices from the chapter
    body down to the element the page starts at, and the first words if it starts mid-text."""

    page: int
    path: tuple[int, ...]
    text: str = ""


@dataclass(frozen=True)
class Layout:
    """A chapter laid out alone, as in the PDF: its page count and where pages 2… begin."""

    pages: int
    starts: tuple[PageStart, ...]


# The chapter on its own pages: what guide.html does for every chapter, without the others.
_LAYOUT_PAGE = '{% extends "base.html" %}{% block body %}{{ section | safe }}{% endblock %}'
_BODY_CLASS = "chapter-body"


def chapter_document(config: GuideConfig, env: jinja2.Environment, data: dict[str, Any],
                     section: str, extra_css: str = "") -> GuideHtml:
    """One chapter section as a document of its own, with the PDF's stylesheets;
    ``extra_css`` comes after the theme's (fit's candidate values)."""
    page = env.from_string(_LAYOUT_PAGE).render({
        **template_context(config, data), "theme_css": f"{theme_css(config)}\n{extra_css}",
        "section": section})
    return GuideHtml(page, config.root.as_uri() + "/", stylesheets(config.root, config.kit, config.look), ())


def lay_out_document(document: GuideHtml, roots: tuple[Path, ...], source: Path) -> Layout:
    """Lay a chapter document out with WeasyPrint, like the PDF build, and find its pages.

    Each chapter starts a new page and left and right pages share their margins, so the pages
    of a chapter alone are the pages it fills in the guide. (Plain arguments and result: the
    server runs this in another process.) The stylesheets are parsed once per process while
    they stay the same (part.parsed_styles): about a quarter of a small chapter's layout.
    """
    from .part import parsed_styles
    from .render import render

    styles = parsed_styles(document.stylesheets, roots, {}).styles
    rendered = render(document, SafeFetcher(roots), lambda url: (source, None), styles)
    return Layout(rendered.page_count, tuple(page_starts(rendered.document.pages)))


Layouter = Callable[[GuideHtml, tuple[Path, ...], Path], Layout]


def page_starts(pages: list) -> Iterable[PageStart]:
    """For each page after the first, the element (or the words) it begins with."""
    previous: set[int] = set()
    for number, page in enumerate(pages, start=1):
        boxes = list(_descendants(page._page_box))  # WeasyPrint <71: the laid-out box tree
        body = next((b for b in boxes if b.element is not None and
                     _BODY_CLASS in (b.element.get("class") or "").split()), None)
        if number > 1 and body is not None:
            yield PageStart(number, *_locate(body, previous))
        previous = {id(b.element) for b in boxes if b.element is not None}


def _descendants(box: Any) -> Iterable[Any]:
    yield box
    for child in getattr(box, "children", ()):
        yield from _descendants(child)


def _locate(box: Any, previous: set[int]) -> tuple[tuple[int, ...], str]:
    """Follow the first box down from a block that continues from the previous page."""
    from weasyprint.formatting_structure.boxes import LineBox, TextBox

    path: list[int] = []
    parent = box.element
    while children := getattr(box, "children", None):
        child = children[0]
        if isinstance(child, LineBox):  # the page begins inside running text
            words = "".join(b.text for b in _descendants(child) if isinstance(b, TextBox))
            return tuple(path), " ".join(words.split())[:60]
        element = child.element
        if element is not None and element is not parent:  # not a wrapper or anonymous box
            siblings = [e for e in parent if isinstance(e.tag, str)]  # as the DOM's .children
            if element not in siblings:
                break
            path.append(siblings.index(element))
            parent = element
            if id(element) not in previous:  # a fresh element: the page begins before it
                break
        box = child
    return tuple(path), ""
