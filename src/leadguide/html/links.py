"""The last look at links, on the very tree WeasyPrint lays out (parsed by tinyhtml5).

Whatever the Markdown, templates or guide.yaml made, a PDF gets no link that runs code or
leaves for an unknown scheme (``javascript:``, ``vbscript:``, ``data:``, ``file:``...) and no
``rel="attachment"``, which would embed a file of the guide in the PDF. Each one found is
taken out of the tree (so a draft build cannot ship it either) and reported at the source
line that mentions it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable
from xml.etree.ElementTree import Element

from ..errors import ContentError, GuideError

ALLOWED_SCHEMES = {"http", "https", "mailto", "tel"}
_SCHEME = re.compile(r"^\s*([a-zA-Z][a-zA-Z0-9+.\-]*)\s*:")
_LINKING = {"a", "area", "link"}
_CONTROL = re.compile(r"[\x00-\x20\x7f]+")

Locator = Callable[[str], tuple[Path, int | None]]


@dataclass(frozen=True)
class Forbidden:
    """A link or attachment that cannot go into a PDF: what is wrong, and its ``href``."""

    message: str
    href: str
    fallback: str  # what to look for in the sources when the href is not there

    def error(self, locate: Locator) -> GuideError:
        return ContentError(self.message, *_where(locate, self.href, self.fallback))


def disarm(root: Element, locate: Locator) -> list[GuideError]:
    """Remove forbidden links and attachments from ``root``; return one error for each."""
    return [found.error(locate) for found in take_out_forbidden(root)]


def take_out_forbidden(root: Element) -> list[Forbidden]:
    """Remove forbidden links and attachments from ``root``; return what was found."""
    found: list[Forbidden] = []
    for element in root.iter():
        tag = element.tag.rsplit("}", 1)[-1] if isinstance(element.tag, str) else ""
        if tag not in _LINKING:
            continue
        rel = element.get("rel", "")
        href = element.get("href", "")
        if "attachment" in rel.lower().split():
            element.set("rel", " ".join(t for t in rel.split() if t.lower() != "attachment"))
            found.append(Forbidden(
                f"<{tag} rel=\"attachment\"> would embed a file in the PDF: link to a web "
                "address instead", href, "attachment"))
        scheme = _scheme(href)
        if scheme and scheme not in ALLOWED_SCHEMES and not (scheme == "file" and tag == "link"):
            del element.attrib["href"]
            found.append(Forbidden(
                f"a '{scheme}:' link cannot go into a PDF (links may be web, mailto: or tel: "
                "addresses, or #headings)", href, f"{scheme}:"))
    return found


def _scheme(href: str) -> str | None:
    # Browsers and PDF readers ignore control characters and spaces inside a scheme.
    match = _SCHEME.match(_CONTROL.sub("", href))
    return match.group(1).lower() if match else None


def _where(locate: Locator, href: str, fallback: str) -> tuple[Path, int | None]:
    path, line = locate(href) if href else (None, None)
    if line is None:
        path, line = locate(fallback)
    return path, line
