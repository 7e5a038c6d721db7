"""A Python-Markdown extension: lists nest the way CommonMark nests them.

Python-Markdown wants nested blocks four spaces in; CommonMark (GitHub, Pandoc, mdBook) nests
them at the column the item's text starts, so ``- item`` takes a child list two spaces in and
``1. item`` three, and a list may start right under a paragraph line. Before the block parser
runs, each line is moved onto Python-Markdown's four-space grid (see ``mdsource``); code keeps
its own indentation relative to its block.
"""
from __future__ import annotations

from markdown import Extension, Markdown
from markdown.preprocessors import Preprocessor

from .source import scan


class CommonMarkIndents(Preprocessor):
    def run(self, lines: list[str]) -> list[str]:
        return "\n".join(line.render() for line in scan("\n".join(lines))).split("\n")


class CommonMarkListsExtension(Extension):
    def extendMarkdown(self, md: Markdown) -> None:
        # after whitespace is normalized (30), before fenced code (25) and raw HTML (20)
        md.preprocessors.register(CommonMarkIndents(md), "commonmark_indents", 29)
