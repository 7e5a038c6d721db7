"""The block shape of Markdown source, read line by line the way CommonMark reads it.

Python-Markdown nests blocks on a grid of four spaces; CommonMark nests a list item's content at
the column its text starts (two spaces after ``-``, three after ``1.``). ``scan`` finds, for each
line, the containers it sits in (list items, admonitions, footnotes, definitions), whether it is
code (fenced, indented, or a raw ``<pre>``) and where Python-Markdown needs it to start. Two
stages use it: ``codeguard`` keeps code away from Jinja, ``mdlists`` re-indents lists.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterator

TAB = 4
_MARKER = re.compile(r"(?P<marker>[-+*]|\d{1,9}[.)])(?P<space>[ ]+|$)(?P<rest>.*)")
_RULE = re.compile(r"(?:(?:\*[ ]*){3,}|(?:-[ ]*){3,}|(?:_[ ]*){3,})$")
_FENCE = re.compile(r"(?P<fence>`{3,}|~{3,})(?P<info>.*)")
_BLOCK = re.compile(r"(?:!!!|\?\?\?\+?)[ ]+\S|\[\^[^\]]+\]:|:[ ]+\S")  # admonition, footnote, definition
_RAW_OPEN = re.compile(r"<(pre|script|style|textarea)(?:[\s>]|$)", re.IGNORECASE)
_STARTS_BLOCK = re.compile(r"#{1,6}(?:\s|$)|>|<|\||(?:`{3,}|~{3,})")


@dataclass
class _Container:
    source: int     # the column its content starts at in the source
    output: int     # the column Python-Markdown expects its content at
    item: bool      # a list item (else an admonition, footnote or definition body)
    tight: bool = True  # a list item still in its first paragraph (no blank line yet)


@dataclass(frozen=True)
class Line:
    """One source line: ``code`` if it is code or a fence around it, ``indent`` the number of
    spaces Python-Markdown needs before ``text`` (the line without its own indentation)."""

    text: str
    indent: int
    code: bool
    blank_before: bool = False  # a list that interrupts a paragraph needs one for Python-Markdown
    quoted: Line | None = None  # for a "> " line: the line inside the quote

    def render(self) -> str:
        """The line as Python-Markdown needs it (two lines if it needs a blank one before)."""
        if self.quoted:
            inner = self.quoted.render().split("\n")
            return "\n".join(" " * self.indent + ">" + (" " + part if part else "")
                             for part in inner)
        line = " " * self.indent + self.text if self.text else ""
        return "\n" + line if self.blank_before else line


@dataclass
class _State:
    stack: list[_Container] = field(default_factory=list)
    fence: tuple[str, int, int] | None = None  # char, length, shift (output - source)
    raw_end: str | None = None                 # the closing tag of a raw <pre> block
    raw_shift: int = 0
    indented_code: bool = False
    paragraph_depth: int | None = None         # container depth of the paragraph just read
    previous_blank: bool = True
    quote: _State | None = None                # the inside of the block quote being read


def scan(source: str) -> Iterator[Line]:
    """Each line of ``source`` (tabs expanded), as ``Line``s in order."""
    state = _State()
    for raw in source.expandtabs(TAB).split("\n"):
        yield _line(state, raw)


def _line(state: _State, raw: str) -> Line:
    text = raw.lstrip(" ")
    indent = len(raw) - len(text)
    if state.fence:
        return _in_fence(state, text, indent)
    if state.raw_end:
        return _in_raw(state, raw, text, indent)
    if not text:
        return _blank(state)
    if state.quote and not text.startswith(">"):
        state.quote = None
    lazy = _is_lazy(state, text, indent)
    while not lazy and state.stack and indent < state.stack[-1].source:
        state.stack.pop()
    base_source, base_output = _bases(state)
    line = _block_line(state, text, 0 if lazy else indent - base_source, base_output)
    state.previous_blank = False
    return line


def _bases(state: _State) -> tuple[int, int]:
    top = state.stack[-1] if state.stack else None
    return (top.source, top.output) if top else (0, 0)


def _is_lazy(state: _State, text: str, indent: int) -> bool:
    """A paragraph's continuation line may be less indented than its container (CommonMark's
    lazy continuation) as long as it starts no block of its own."""
    return (bool(state.stack) and state.paragraph_depth == len(state.stack)
            and not state.previous_blank and indent < state.stack[-1].source
            and not _MARKER.match(text) and not _STARTS_BLOCK.match(text)
            and not _RULE.match(text))


def _blank(state: _State) -> Line:
    state.quote = None
    state.previous_blank = True
    state.paragraph_depth = None
    for container in state.stack:
        container.tight = False
    return Line("", 0, state.indented_code)


def _block_line(state: _State, text: str, relative: int, base: int) -> Line:
    if relative >= TAB:
        if state.previous_blank or state.indented_code or state.paragraph_depth is None:
            state.indented_code = True
            return Line(text, base + relative, True)
        return Line(text, base + relative, False)  # a paragraph's continuation
    state.indented_code = False
    if text.startswith(">"):
        return _quote_line(state, text, base)
    fence = _FENCE.match(text)
    if fence and not (fence.group("fence")[0] == "`" and "`" in fence.group("info")):
        state.fence = (fence.group("fence")[0], len(fence.group("fence")), base - _bases(state)[0])
        state.paragraph_depth = None
        return Line(text, base, True)
    raw = _RAW_OPEN.match(text)
    if raw:
        return _open_raw(state, text, raw.group(1).lower(), base)
    marker = None if _RULE.match(text) else _MARKER.match(text)
    interrupting = _interrupting(state)
    if marker and (not interrupting or _may_interrupt(marker)):
        return _open_item(state, marker, relative, base, interrupting)
    depth = len(state.stack)
    if _BLOCK.match(text):
        state.stack.append(_Container(_bases(state)[0] + relative + TAB, base + TAB, item=False))
        state.paragraph_depth = depth + 1 if text.startswith(("[^", ":")) else None
        return Line(text, base, False)
    state.paragraph_depth = None if _STARTS_BLOCK.match(text) else depth
    return Line(text, base + relative, False)


def _quote_line(state: _State, text: str, base: int) -> Line:
    """A block quote's line: what follows ``>`` is read as a document of its own."""
    state.quote = state.quote or _State()
    state.paragraph_depth = None
    inner = text[1:]
    inner = _line(state.quote, inner[1:] if inner.startswith(" ") else inner)
    return Line(text, base, inner.code, quoted=inner)


def _interrupting(state: _State) -> bool:
    """A list starting here would interrupt a paragraph of the same container (except right
    under a list item's first line, where Python-Markdown nests it by itself)."""
    top = state.stack[-1] if state.stack else None
    return (state.paragraph_depth == len(state.stack) and not state.previous_blank
            and not (top and top.item and top.tight))


def _may_interrupt(marker: re.Match[str]) -> bool:
    """CommonMark: an empty item, or an ordered one not numbered 1, cannot interrupt."""
    sign = marker.group("marker")
    return bool(marker.group("rest").strip()) and (not sign[0].isdigit() or sign[:-1] == "1")


def _open_item(state: _State, marker: re.Match[str], relative: int, base: int,
               interrupting: bool) -> Line:
    spaces = len(marker.group("space"))
    width = len(marker.group("marker")) + (spaces if 1 <= spaces <= TAB else 1)
    state.stack.append(_Container(_bases(state)[0] + relative + width, base + TAB, item=True))
    state.paragraph_depth = len(state.stack)
    sign = marker.group("marker")
    if sign.endswith(")"):
        sign = sign[:-1] + "."  # Python-Markdown knows only "1."
    return Line(f"{sign} {marker.group('rest')}".rstrip(), base, False, blank_before=interrupting)


def _open_raw(state: _State, text: str, tag: str, base: int) -> Line:
    if f"</{tag}" not in text.lower():
        state.raw_end = f"</{tag}"
        state.raw_shift = base - _bases(state)[0]
    state.paragraph_depth = None
    return Line(text, base, True)


def _in_raw(state: _State, raw: str, text: str, indent: int) -> Line:
    if state.raw_end and state.raw_end in raw.lower():
        state.raw_end = None
    return Line(text, max(0, indent + state.raw_shift) if text else 0, True)


def _in_fence(state: _State, text: str, indent: int) -> Line:
    char, length, shift = state.fence or ("`", 3, 0)
    closing = re.fullmatch(rf"{re.escape(char)}{{{length},}}[ ]*", text)
    if closing and indent - _bases(state)[0] < TAB:
        state.fence = None
        state.previous_blank = False
        return Line(text, _bases(state)[1], True)
    return Line(text, max(0, indent + shift) if text else 0, True)
