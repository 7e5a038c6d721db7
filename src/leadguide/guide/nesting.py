"""How deeply a chapter or stylesheet nests, found before a recursive parser overflows on it.

Python-Markdown, WeasyPrint and tinycss2 recurse once per level of block quotes, lists,
HTML elements or CSS brackets; thousands of levels end in a RecursionError. No real guide
nests more than a dozen levels, so anything past MAX_DEPTH is refused at its line.
"""
from __future__ import annotations

import re
from html.parser import HTMLParser

MAX_DEPTH = 48
_QUOTES = re.compile(r"^[ \t]*((?:>[ \t]?)+)")
_LIST_ITEM = re.compile(r"^([ \t]*)(?:[-*+]|\d{1,9}[.)])(?:[ \t]|$)")
# Elements that never hold others (HTML's void elements).
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
         "source", "track", "wbr"}


def markdown_depth_problem(text: str) -> tuple[int, str] | None:
    """(line, message) for the first place the Markdown nests too deeply, or None."""
    for number, line in enumerate(text.splitlines(), start=1):
        quotes = _QUOTES.match(line)
        if quotes and quotes.group(1).count(">") > MAX_DEPTH:
            return number, f"block quotes nested more than {MAX_DEPTH} deep"
        item = _LIST_ITEM.match(line)
        if item and len(item.group(1).expandtabs(4)) // 2 > MAX_DEPTH:
            return number, f"lists nested more than {MAX_DEPTH} deep"
    return html_depth_problem(text)


def html_depth_problem(text: str, limit: int = MAX_DEPTH) -> tuple[int, str] | None:
    """(line of ``text``, message) where HTML elements nest more than ``limit`` deep."""
    parser = _DepthParser(limit)
    try:
        parser.feed(text)
    except _TooDeep:
        return parser.getpos()[0], f"HTML elements nested more than {limit} deep"
    return None


class _TooDeep(Exception):
    pass


class _DepthParser(HTMLParser):
    def __init__(self, limit: int) -> None:
        super().__init__(convert_charrefs=False)
        self.open: list[str] = []
        self.limit = limit

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in _VOID:
            return
        self.open.append(tag)
        if len(self.open) > self.limit:
            raise _TooDeep

    def handle_endtag(self, tag: str) -> None:
        if tag in self.open:
            while self.open and self.open.pop() != tag:
                pass


def css_depth_problem(text: str) -> tuple[int, str] | None:
    """(line, message) where a stylesheet's brackets nest too deeply, or None."""
    depth, line = 0, 1
    for char in text:
        if char == "\n":
            line += 1
        elif char in "([{":
            depth += 1
            if depth > MAX_DEPTH:
                return line, f"CSS brackets nested more than {MAX_DEPTH} deep"
        elif char in ")]}":
            depth = max(depth - 1, 0)
    return None
