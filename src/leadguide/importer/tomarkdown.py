"""An article's HTML to the Markdown a chapter holds: only the text and its structure
(headings, lists, tables, quotes, code, links, images with their alt text) survive; scripts,
forms, embeds, tracking pixels and tracking parameters do not."""
from __future__ import annotations

import re
from typing import Callable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import lxml.html
from lxml import etree
from markdownify import MarkdownConverter

# Elements whose content never belongs in a guide: code that runs, forms, embeds, chrome.
_DROPPED = ("script", "style", "noscript", "template", "iframe", "object", "embed", "form",
            "input", "button", "select", "textarea", "svg", "canvas", "video", "audio", "link",
            "meta", "nav", "dialog")
_KEPT_ATTRIBUTES = {"href", "src", "alt", "title", "colspan", "rowspan", "class", "start"}
_TRACKING = re.compile(r"^(utm_[a-z]+|fbclid|gclid|dclid|msclkid|mc_cid|mc_eid|_hs[a-z]+|"
                       r"mkt_tok|igshid|ref_src)$", re.IGNORECASE)
_SAFE_SCHEMES = ("http", "https", "mailto", "tel", "")
_LAZY_SOURCES = ("data-src", "data-lazy-src", "data-original", "data-orig-file")
_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
_PERMALINK_MARKS = ("", "¶", "#", "§", "🔗", "⚓", "link")

# (the image's address as written, its alt text) -> the chapter's path to it, or None: left out
ImageSaver = Callable[[str, str], "str | None"]


def html_to_markdown(html: str, save_image: ImageSaver, title: str = "") -> tuple[str, str]:
    """The chapter's Markdown and its title (``title``, else the article's first ``h1``, which
    is then left out of the body)."""
    root = _parse(html)
    _clean(root)
    title = _take_title(root, title)
    _shift_headings(root)
    for image in list(root.iter("img")):
        _place_image(image, save_image)
    markdown = _Converter().convert(lxml.html.tostring(root, encoding="unicode"))
    return _tidy(markdown), title


def _parse(html: str) -> lxml.html.HtmlElement:
    try:
        document = lxml.html.document_fromstring(html)
    except (etree.ParserError, ValueError):  # nothing but whitespace or comments
        return lxml.html.fragment_fromstring("<div></div>")
    body = document.find("body")
    return body if body is not None else document


def _clean(root: lxml.html.HtmlElement) -> None:
    for comment in root.xpath("//comment() | //processing-instruction()"):
        if comment.getparent() is not None:
            comment.drop_tree()
    for element in list(root.iter(*_DROPPED)):
        if element.getparent() is not None:
            element.drop_tree()
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        for name in list(element.attrib):
            if name not in _KEPT_ATTRIBUTES and name not in _LAZY_SOURCES:
                del element.attrib[name]
    for link in list(root.iter("a")):
        _clean_link(link)
    for heading in root.iter(*_HEADINGS):
        for link in list(heading.iter("a")):
            if (link.get("href") or "").startswith("#"):
                link.drop_tag()  # a docs site's permalink on its own heading


def _clean_link(link: lxml.html.HtmlElement) -> None:
    href = (link.get("href") or "").strip()
    if href.startswith("#") and link.text_content().strip() in _PERMALINK_MARKS:
        link.drop_tree()  # "¶", "#", "🔗": a permalink, nothing to read
        return
    scheme = urlsplit(href).scheme.lower() if href else ""
    if not href or scheme not in _SAFE_SCHEMES:
        link.drop_tag()  # javascript:, data: and friends: the text stays, the link goes
        return
    link.attrib.clear()
    link.set("href", untracked(href))


def untracked(url: str) -> str:
    """``url`` without campaign and click-tracking parameters."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    query = [(key, value) for key, value in parse_qsl(parts.query, keep_blank_values=True)
             if not _TRACKING.match(key)]
    return urlunsplit(parts._replace(query=urlencode(query)))


def _take_title(root: lxml.html.HtmlElement, title: str) -> str:
    """The article's own ``h1`` when it opens the article (a docs page's <title> is often the
    site's name), else ``title``; the ``h1`` that is the title leaves the body."""
    first = next(root.iter("h1"), None)
    if first is None:
        return title
    text = " ".join(first.text_content().split())
    opens = not "".join(first.xpath("preceding::text()")).strip()
    if opens or not title or _same(text, title):
        first.drop_tree()
        return text if opens or not title else title
    return title


def _same(one: str, other: str) -> bool:
    squash = lambda text: re.sub(r"\W+", " ", text).strip().casefold()  # noqa: E731
    return squash(one) == squash(other)


def _shift_headings(root: lxml.html.HtmlElement) -> None:
    """The article's heading levels, in order, become ``##``, ``###``, ``####``: the chapter
    title is the only level 1, and no level is skipped."""
    headings = list(root.iter(*_HEADINGS))
    levels = sorted({int(h.tag[1]) for h in headings})
    new_level = {level: min(2 + index, 6) for index, level in enumerate(levels)}
    for heading in headings:
        heading.tag = f"h{new_level[int(heading.tag[1])]}"


def _place_image(image: lxml.html.HtmlElement, save_image: ImageSaver) -> None:
    source = (image.get("src") or "").strip()
    if not source or source.startswith("data:"):
        source = next((image.get(name) for name in _LAZY_SOURCES if image.get(name)), source)
    if _is_pixel(image):
        image.drop_tree()
        return
    path = save_image(source, image.get("alt") or "") if source else None
    if path is None:
        image.drop_tree()
        return
    alt = " ".join((image.get("alt") or "").split())
    image.attrib.clear()
    image.set("src", path)
    image.set("alt", alt)


def _is_pixel(image: lxml.html.HtmlElement) -> bool:
    """A tracking pixel: a 1 x 1 (or 0 x 0) image."""
    sizes = [image.get("width", ""), image.get("height", "")]
    return any(size.strip() in ("0", "1", "1px", "0px") for size in sizes)


class _Converter(MarkdownConverter):
    """markdownify, set to the Markdown leadguide reads; ``<`` in text stays text."""

    def __init__(self) -> None:
        super().__init__(heading_style="ATX", bullets="-", strong_em_symbol="*",
                         code_language_callback=_code_language, escape_underscores=False)

    def escape(self, text: str, parent_tags) -> str:  # type: ignore[no-untyped-def, override]
        return super().escape(text, parent_tags).replace("<", "&lt;")

    def convert_pre(self, el, text: str,  # type: ignore[no-untyped-def, override]
                    parent_tags) -> str:
        """A fence longer than any run of backticks in the code (a Markdown sample in a
        code block), as CommonMark allows."""
        block = super().convert_pre(el, text, parent_tags)
        longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
        if longest < 3:
            return block
        fence = "`" * (longest + 1)
        inner = block.strip("\n")
        return f"\n\n{fence}{inner[3:-3]}{fence}\n\n"


def _code_language(element) -> str:  # type: ignore[no-untyped-def]
    for node in (element, *element.find_all("code")):
        for name in node.get("class", []) or []:
            if name.startswith(("language-", "lang-")):
                return name.split("-", 1)[1]
    return ""


def _tidy(markdown: str) -> str:
    lines = [line.rstrip() for line in markdown.strip().splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)) + "\n"
