"""Code is never templated: code blocks and spans are set aside while Jinja runs on a chapter.

A code sample may well contain ``{{ value }}`` or ``{% csrf_token %}``. Before Jinja sees the
chapter, every fenced or indented code block (any fence length, ``~~~``, inside lists and
callouts, as ``mdsource`` finds them), every raw ``<pre>`` and every inline code span (any
number of backticks) is replaced by a placeholder that keeps its line count, so Jinja's errors
still name the right line; the code goes back in before Markdown runs.
"""
from __future__ import annotations

import re
from typing import Callable

from .source import scan

_OPEN, _CLOSE = "\ue000", "\ue001"  # private-use characters: no author types them
_PLACEHOLDER = re.compile(f"{_OPEN}(\\d+){_CLOSE}(\\n*)")
_TICKS = re.compile(r"`+")
_JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.DOTALL)


def protect(source: str) -> tuple[str, Callable[[str], str]]:
    """``source`` with its code replaced by placeholders, and the function that puts it back."""
    if _OPEN in source:
        return source, lambda text: text
    pieces: list[str] = []
    lines = source.split("\n")
    out: list[str] = []
    run: list[str] = []
    code_flags = [line.code for line in scan(source)]
    for text, code in zip(lines, code_flags):
        if code:
            run.append(text)
            continue
        if run:
            out.append(_hold(pieces, "\n".join(run)))
            run = []
        out.append(text)
    if run:
        out.append(_hold(pieces, "\n".join(run)))
    protected = _protect_spans("\n".join(out), pieces)
    return protected, lambda text: _restore(text, pieces)


def _hold(pieces: list[str], code: str) -> str:
    pieces.append(code)
    return f"{_OPEN}{len(pieces) - 1}{_CLOSE}" + "\n" * code.count("\n")


def _protect_spans(text: str, pieces: list[str]) -> str:
    """Inline code spans: a run of backticks up to the next run of the same length, inside one
    paragraph (no blank line between)."""
    return "\n\n".join(_spans_in(paragraph, pieces) for paragraph in text.split("\n\n"))


def _spans_in(paragraph: str, pieces: list[str]) -> str:
    tags = [m.span() for m in _JINJA.finditer(paragraph)]
    runs = [run for run in _TICKS.finditer(paragraph)  # a backtick inside a macro call's
            if not any(start < run.start() < end for start, end in tags)]  # argument is text
    result, position, index = [], 0, 0
    while index < len(runs):
        opener = runs[index]
        closer = next((j for j in range(index + 1, len(runs))
                       if len(runs[j].group()) == len(opener.group())), None)
        if closer is None or paragraph[:opener.start()].endswith("\\"):
            index += 1  # no closing run, or an escaped backtick: plain text
            continue
        end = runs[closer].end()
        result += [paragraph[position:opener.start()],
                   _hold(pieces, paragraph[opener.start():end])]
        position, index = end, closer + 1
    return "".join(result) + paragraph[position:]


def _restore(text: str, pieces: list[str]) -> str:
    def back(match: re.Match[str]) -> str:
        code = pieces[int(match.group(1))]
        kept = len(match.group(2)) - code.count("\n")  # Jinja may have trimmed some newlines
        return code + "\n" * max(kept, 0)
    return _PLACEHOLDER.sub(back, text)
