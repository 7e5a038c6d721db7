"""Reference links whose label holds code or emphasis: ``[`mdbook test`]`` finds its
``[`mdbook test`]: https://…`` definition, as in CommonMark.

Python-Markdown turns the code span into a placeholder before it reads the reference, so the
label it looks up is the placeholder, which no definition has. Here a label that matches no
definition is compared again as a reader sees it: the placeholders' text, without code and
emphasis marks, whitespace collapsed, case folded (CommonMark's label matching).
"""
from __future__ import annotations

import re

from markdown import Extension, Markdown
from markdown.inlinepatterns import (IMAGE_REFERENCE_RE, REFERENCE_RE,
                                     ImageReferenceInlineProcessor, ReferenceInlineProcessor,
                                     ShortImageReferenceInlineProcessor,
                                     ShortReferenceInlineProcessor)

_MARKS = re.compile(r"[`*_]")


def plain_label(label: str) -> str:
    """A reference label as CommonMark matches it, blind to code and emphasis marks."""
    return " ".join(_MARKS.sub("", label).split()).casefold()


class _Labelled:
    """Mixed into each reference processor: a second lookup by the label's plain text."""

    md: Markdown

    def evalId(self, data: str, index: int, text: str):  # type: ignore[no-untyped-def]
        found, end, handled = super().evalId(data, index, text)  # type: ignore[misc]
        if handled and found is not None and found not in self.md.references:
            wanted = plain_label(self.unescape(found))  # type: ignore[attr-defined]
            found = next((key for key in self.md.references if plain_label(key) == wanted),
                         found)
        return found, end, handled


class _Reference(_Labelled, ReferenceInlineProcessor):
    pass


class _ShortReference(_Labelled, ShortReferenceInlineProcessor):
    pass


class _ImageReference(_Labelled, ImageReferenceInlineProcessor):
    pass


class _ShortImageReference(_Labelled, ShortImageReferenceInlineProcessor):
    pass


class ReferenceLabelsExtension(Extension):
    """Replaces the four reference processors, at their own priorities."""

    def extendMarkdown(self, md: Markdown) -> None:
        patterns = md.inlinePatterns
        patterns.register(_Reference(REFERENCE_RE, md), "reference", 170)
        patterns.register(_ImageReference(IMAGE_REFERENCE_RE, md), "image_reference", 140)
        patterns.register(_ShortReference(REFERENCE_RE, md), "short_reference", 130)
        patterns.register(_ShortImageReference(IMAGE_REFERENCE_RE, md), "short_image_ref", 125)
