"""A plain text file (``.txt``, as copied from a page) as an article: paragraphs part at blank
lines; a short line standing alone, without closing punctuation or quotes, is a heading. The
title is the heading above a date line near the top (a blog post copied with its blog's name
and tagline above it: those are left out, with a note), else the first line when it is a
heading, else the file's name."""
from __future__ import annotations

import html
import re
from datetime import datetime
from pathlib import Path

from .article import Article

_MAX_HEADING = 90  # characters: longer is a paragraph
_CLOSING = tuple(".,;:!?\"'”’»…")
_OPENING = tuple("\"'“‘«-*•")
_DATES = ("%b %d, %Y", "%B %d, %Y", "%d %B %Y", "%d %b %Y", "%Y-%m-%d")
_LOOK_FOR_DATE = 6  # blocks from the top


def article_from_text(text: str, path: Path) -> tuple[Article, list[str]]:
    """The article in ``text`` (read from ``path``), and notes on what was left out."""
    blocks = [" ".join(block.split()) for block in re.split(r"\n\s*\n", text) if block.strip()]
    notes: list[str] = []
    title, date = "", ""
    for index, block in enumerate(blocks[:_LOOK_FOR_DATE]):
        if index and _date(block) and _is_heading(blocks[index - 1]):
            title, date = blocks[index - 1], _date(block)
            if index > 1:
                notes.append("left out above the title: " + " / ".join(
                    block[:40] for block in blocks[:index - 1]))
            blocks = blocks[index + 1:]
            break
    if not title and blocks and _is_heading(blocks[0]):
        title, blocks = blocks[0], blocks[1:]
    title = title or path.stem.replace("-", " ").replace("_", " ").strip().capitalize()
    body = "\n".join(f"<h2>{html.escape(block)}</h2>" if _is_heading(block)
                     else f"<p>{html.escape(block)}</p>" for block in blocks)
    return Article(title, f"<article>{body}</article>", path.name, date=date,
                   slug=path.stem), notes


def _is_heading(block: str) -> bool:
    return (len(block) <= _MAX_HEADING and not block.endswith(_CLOSING)
            and not block.startswith(_OPENING) and not _date(block))


def _date(block: str) -> str:
    for pattern in _DATES:
        try:
            return datetime.strptime(block.strip(), pattern).date().isoformat()
        except ValueError:
            continue
    return ""
