"""HTML to PDF with WeasyPrint: strict logging, safe fetching, atomic writing."""
from __future__ import annotations

import logging
import re
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import weasyprint
from weasyprint import CSS, HTML

from ..errors import GuideError, RenderError
from ..guide.fetcher import SafeFetcher
from ..guide.guard import read_text
from ..guide.nesting import css_depth_problem
from ..html.assemble import GuideHtml
from ..html.links import disarm
from .litter import font_folder

# Passed to both render() (which reads the image options) and write_pdf() (which starts
# again from WeasyPrint's defaults and reads the PDF ones).
RENDER_OPTIONS = {"pdf_variant": "pdf/ua-1", "pdf_forms": True, "dpi": 150,
                  "jpeg_quality": 85, "optimize_images": False, "presentational_hints": True}


@dataclass(frozen=True)
class Rendered:
    document: weasyprint.document.Document
    anchor_pages: dict[str, int]
    warnings: tuple[GuideError, ...]

    @property
    def page_count(self) -> int:
        return len(self.document.pages)


class _Collector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage().splitlines()[0])


@contextmanager
def captured_weasyprint_log() -> Iterator[_Collector]:
    """Collect WeasyPrint's warnings instead of letting them scroll past."""
    logger = logging.getLogger("weasyprint")
    collector = _Collector()
    saved = logger.propagate
    logger.addHandler(collector)
    logger.propagate = False
    try:
        yield collector
    finally:
        logger.removeHandler(collector)
        logger.propagate = saved


def load_stylesheets(paths: tuple[Path, ...], fetcher: SafeFetcher,
                     font_config: weasyprint.text.fonts.FontConfiguration) -> tuple[list[CSS], list[GuideError]]:
    """Parse each stylesheet on its own, so a CSS problem names its file and line."""
    sheets, problems = [], []
    for path in paths:
        try:
            text = read_text(path, fetcher.roots, path, RenderError)
        except RenderError as error:
            problems.append(error)
            continue
        too_deep = css_depth_problem(text)
        if too_deep:
            problems.append(RenderError(f"CSS: {too_deep[1]}", path, too_deep[0]))
            continue
        with captured_weasyprint_log() as log:
            sheets.append(CSS(string=text, base_url=path.as_uri(), url_fetcher=fetcher,
                              font_config=font_config))
        problems += [RenderError(f"CSS: {message}", path, _css_line(message, text))
                     for message in log.messages]
    return sheets, problems


def _css_source(message: str, stylesheets: tuple[Path, ...]) -> tuple[Path, int] | None:
    """The stylesheet behind a declaration WeasyPrint rejected only once var() was filled in.

    Such a message names the property and the line but not the file: find the stylesheet
    whose line it is."""
    match = re.search(r"Ignored `([\w-]+):.*` at (\d+):\d+", message)
    if not match:
        return None
    prop, line = match.group(1), int(match.group(2))
    for path in stylesheets:
        try:
            lines = read_text(path, (path.parent,), path, RenderError).splitlines()
        except RenderError:
            continue
        if line <= len(lines) and f"{prop}:" in lines[line - 1]:
            return path, line
    return None


def _css_line(message: str, text: str) -> int | None:
    """The line a message gives, or else the line of the text it quotes ("selector, '}}}}'")."""
    match = re.search(r" at (\d+):\d+", message)
    if match:
        return int(match.group(1))
    quoted = re.search(r"'([^']{2,})'$", message)
    at = text.find(quoted.group(1)) if quoted else -1
    return text.count("\n", 0, at) + 1 if at >= 0 else None


Locator = Callable[[str], tuple[Path, int | None]]


def render(guide: GuideHtml, fetcher: SafeFetcher, locate: Locator,
           styles: Styles | None = None) -> Rendered:
    """Lay out the document. Every WeasyPrint complaint is returned as a warning.

    ``locate`` names the source file (and line) that refers to a URL, for the error message;
    ``styles``, the guide's stylesheets parsed already (else they are parsed now).
    """
    document, problems, messages = lay_out(guide, fetcher, locate, styles)
    problems += describe_problems(messages, fetcher.refused, guide.stylesheets, locate)
    return Rendered(document, first_pages(document), tuple(problems))


@dataclass
class Styles:
    """Parsed stylesheets and the font configuration their @font-face rules filled.

    Both can lay out any number of documents: a process laying out several parts of a guide
    parses the stylesheets once (part.py)."""

    font_config: weasyprint.text.fonts.FontConfiguration
    sheets: list[CSS]
    problems: list[GuideError]


def parse_styles(paths: tuple[Path, ...], fetcher: SafeFetcher) -> Styles:
    font_config = weasyprint.text.fonts.FontConfiguration()
    # WeasyPrint makes this folder lazily under an anonymous name; ours carries the pid, so
    # a later build can remove it if this one is killed (see litter.py).
    font_config._folder = font_folder()
    sheets, problems = load_stylesheets(paths, fetcher, font_config)
    return Styles(font_config, sheets, problems)


def lay_out(guide: GuideHtml, fetcher: SafeFetcher, locate: Locator, styles: Styles | None = None
            ) -> tuple[weasyprint.document.Document, list[GuideError], list[str]]:
    """The laid-out document, the stylesheets' and links' problems, and what WeasyPrint logged.

    ``styles`` are the guide's stylesheets parsed already, else they are parsed now."""
    styles = styles or parse_styles(guide.stylesheets, fetcher)
    problems = list(styles.problems)
    with captured_weasyprint_log() as log:
        html = HTML(string=guide.html, base_url=guide.base_url, url_fetcher=fetcher)
        problems += disarm(html.etree_element, locate)
        document = html.render(stylesheets=styles.sheets, font_config=styles.font_config,
                               **RENDER_OPTIONS)
    return document, problems, log.messages


def describe_problems(messages: list[str], refused: list[tuple[str, str]],
                      stylesheets: tuple[Path, ...], locate: Locator) -> list[GuideError]:
    """WeasyPrint's log lines and the refused URLs as errors naming the file to fix."""
    refused_urls = {url for url, _ in refused}
    problems = [RenderError(f"cannot use {url}: {reason}", *locate(url)) for url, reason in refused]
    problems += [RenderError(message, *_css_source(message, stylesheets) or locate(message))
                 for message in messages if not any(url in message for url in refused_urls)]
    return problems


def first_pages(document: weasyprint.document.Document) -> dict[str, int]:
    """Each HTML id mapped to the first page it appears on (a split box is on several)."""
    anchors: dict[str, int] = {}
    for number, page in enumerate(document.pages, start=1):
        for anchor in page.anchors:
            anchors.setdefault(anchor, number)
    return anchors
