"""A web page's article: its main text without the page around it (navigation, sidebars,
comments, share buttons, signup forms), and what the page says about it (title, author,
date, site). trafilatura finds the main text; signup boxes and share bars are taken out first,
as its boilerplate rules keep a signup box's sentences that sit right under the article."""
from __future__ import annotations

import re
from dataclasses import dataclass

import lxml.html
import trafilatura

_CHROME = re.compile(r"(?:^|[-_ ])(?:share|sharing|sharedaddy|social|comments?|respond|related|"
                     r"newsletter|opt-?in|subscribe|subscription|signup|sign-up|cookies?|"
                     r"popup|modal|breadcrumbs?|sidebar|advert|ads|promo|author-bio|"
                     r"post-navigation|jp-relatedposts|forms?|cta|lead-?gen|mailchimp|mc4wp|"
                     r"convertkit|formkit|klaviyo|hs-form|wpforms)(?:$|[-_ ])", re.IGNORECASE)
_BOX_WORDS = 150  # a signup box's pitch is shorter than this; an article is longer
_PITCH_WORDS = 60  # more words than this beside the box: the block is the post, not the box
_MIN_TEXT = 80  # characters: less than this is not an article


class NoArticle(ValueError):
    """The page has no main text to import."""


@dataclass(frozen=True)
class Article:
    """One post, page or document, as HTML, with what is known about it."""

    title: str
    html: str
    source: str  # the address, or the file name, it came from
    base: str | None = None  # what its relative addresses resolve against (a web address)
    author: str = ""
    date: str = ""  # YYYY-MM-DD when known
    site_name: str = ""
    description: str = ""
    slug: str = ""


def article_from_page(page: str, source: str, url: str | None) -> Article:
    """The article of the HTML page ``page`` (fetched from ``url``, or a saved file)."""
    body = _main_text(_without_chrome(page))
    alone = _main_text(page)  # trafilatura's own judgement, boxes and all
    if len(_text(body)) < len(_text(alone)) / 2:
        body = alone  # taking the boxes out took the post with them: keep what it found
    if len(_text(body)) < _MIN_TEXT:
        raise NoArticle("no article found on the page (only navigation, forms or too little "
                        "text)")
    meta = trafilatura.extract_metadata(page, default_url=url)
    address = (meta.url if meta and meta.url and meta.url.startswith("http") else None) or url
    return Article(
        title=(meta.title if meta else None) or "", html=body, source=address or source,
        base=address, author=(meta.author if meta else None) or "",
        date=(meta.date if meta else None) or "",
        site_name=(meta.sitename if meta else None) or "",
        description=(meta.description if meta else None) or "")


def _main_text(page: str) -> str:
    body = trafilatura.extract(page, output_format="html", include_images=True,
                               include_links=True, include_formatting=True,
                               include_tables=True, include_comments=False) or ""
    return _code_repaired(body, _code_languages(page)) if body else ""


def _code_languages(page: str) -> dict[str, str]:
    """Each code block's text → its language, from the page's ``class="language-x"``."""
    try:
        root = lxml.html.document_fromstring(page)
    except (lxml.etree.ParserError, ValueError):
        return {}
    found = {}
    for code in root.iter("code", "pre"):
        names = f"{code.get('class', '')} {code.getparent().get('class', '')}".split()
        language = next((n.split("-", 1)[1] for n in names
                         if n.startswith(("language-", "lang-")) and "-" in n), None)
        if language:
            found[code.text_content().strip()] = language
    return found


def _code_repaired(body: str, languages: dict[str, str]) -> str:
    """trafilatura writes every code element as ``<pre>``: inline code back to ``<code>``, a
    block to ``<pre><code class="language-x">`` (its language from the page)."""
    try:  # as XML, trafilatura's output is: an HTML parser would move <pre> out of its <p>
        root = lxml.etree.fromstring(body)
    except lxml.etree.XMLSyntaxError:
        root = lxml.html.document_fromstring(body)
    for pre in list(root.iter("pre")):
        if pre.getparent() is not None and pre.getparent().tag == "pre":
            continue  # the outer one takes it
        inner = pre.find("pre")
        if inner is not None and len(pre) == 1 and not (pre.text or "").strip():
            pre.text, pre[:] = inner.text, list(inner)  # <pre><pre>code</pre></pre>
        text = "".join(pre.itertext())
        if "\n" not in text.strip() and _inline(pre):
            pre.tag = "code"
            continue
        code = lxml.etree.SubElement(pre, "code")
        pre.remove(code)
        code.text, pre.text = pre.text, None
        for child in list(pre):
            code.append(child)
        pre.append(code)
        if language := languages.get(text.strip()):
            code.set("class", f"language-{language}")
    return lxml.etree.tostring(root, encoding="unicode", method="html")


def _inline(element: lxml.html.HtmlElement) -> bool:
    """Inside running text: a paragraph, list item, cell or inline element, with words or
    other elements beside it."""
    parent = element.getparent()
    return parent is not None and parent.tag in ("p", "li", "td", "th", "a", "span", "em",
                                                 "strong", "b", "i", "dd", "dt", "h1", "h2",
                                                 "h3", "h4", "h5", "h6", "q", "blockquote")


def _text(html: str) -> str:
    if not html.strip():
        return ""
    return " ".join(lxml.html.document_fromstring(html).text_content().split())


def _without_chrome(page: str) -> str:
    """The page without its signup boxes, share bars, comments and sidebars (never what holds
    the article itself)."""
    try:
        root = lxml.html.document_fromstring(page)
    except (lxml.etree.ParserError, ValueError):
        return page
    for form in list(root.iter("form")):
        box = _signup_box(form)
        if box is not None and box.getparent() is not None:
            box.drop_tree()
    for element in list(root.iter()):
        if (isinstance(element.tag, str) and element.getparent() is not None
                and _is_chrome(element) and not _holds_article(element)):
            element.drop_tree()
    return lxml.html.tostring(root, encoding="unicode")


def _signup_box(form: lxml.html.HtmlElement) -> lxml.html.HtmlElement:
    """The largest block around a form that holds little else (its pitch and privacy line),
    never the post it sits in (a short post with a subscribe form inside)."""
    box = form
    parent = form.getparent()
    while (parent is not None and parent.tag not in ("body", "html") and
           not _holds_article(parent) and _words(parent) < _BOX_WORDS and
           _words(parent) - _words(box) <= _PITCH_WORDS):
        box, parent = parent, parent.getparent()
    return box


def _words(element: lxml.html.HtmlElement) -> int:
    return len(element.text_content().split())


def _is_chrome(element: lxml.html.HtmlElement) -> bool:
    if element.tag in ("aside", "footer") and element.getparent().tag != "article":
        return True
    names = f"{element.get('class', '')} {element.get('id', '')}"
    return bool(_CHROME.search(names))


def _holds_article(element: lxml.html.HtmlElement) -> bool:
    return element.tag in ("article", "main") or bool(element.xpath(
        ".//article | .//main | .//h1 | .//*[@itemprop='articleBody']"))
