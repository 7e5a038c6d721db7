"""Each SOURCE on the command line read into chapter drafts: a web address, a saved page, a
feed or WordPress export, a Word file, a Markdown file or folder. Everything is read before
anything is written; a bad source is one ``SourceError`` line."""
from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

from trafilatura.utils import decode_file

from ..errors import GuideError, raise_all
from .article import Article, NoArticle, article_from_page
from .feeds import FeedProblem, choose, read_feed
from .fetch import (DEFAULT_LIMITS, FEED_TYPES, HTML_TYPES, IMAGE_TYPES, FetchError, Limits, fetch,
                    robots_allow)
from .images import ImageProblem, ImageSink
from .markdown_files import (MarkdownPage, MarkdownProblem, Rewriter, folder_files, markdown_pages,
                             site_of, uses_jinja_syntax)
from .plaintext import article_from_text
from .tomarkdown import html_to_markdown
from .word import WordProblem, article_from_docx

IMAGE_FOLDER = "LGIMPORTIMAGEFOLDER"  # the chapter's image folder, named when it is written
#                                      (letters only: it passes URL quoting unchanged)
CHAPTER_OPEN, CHAPTER_CLOSE = "\ue012", "\ue013"  # around a sibling page's path: its chapter
_FILE_LIMIT = 64 * 1024 * 1024  # a saved page, feed or .docx read from disk
_HTML_SUFFIXES = (".html", ".htm", ".xhtml")
_FEED_SUFFIXES = (".xml", ".rss", ".atom", ".wxr")
_MARKDOWN_SUFFIXES = (".md", ".markdown")


class SourceError(GuideError):
    """A source that cannot be imported, printed as ``SOURCE: why``."""

    def __init__(self, source: str, message: str):
        super().__init__(message)
        self.source = source

    def __str__(self) -> str:
        return f"{self.source}: {self.message}"


@dataclass
class Draft:
    """One chapter, read and converted, not yet written."""

    title: str
    body: str  # Markdown; image paths start with IMAGE_FOLDER
    front: dict[str, object]  # front matter besides the title
    images: ImageSink
    slug_hint: str  # a page's slug or file name, for the chapter's file name
    notes: list[str] = field(default_factory=list)
    origin: str = ""  # the source it came from, as given
    site_name: str = ""
    description: str = ""
    markdown_path: str = ""  # a Markdown page's path in its folder (sibling links)


def read_sources(sources: list[str], posts: list[str] | tuple[str, ...] = (),
                 limits: Limits = DEFAULT_LIMITS) -> list[Draft]:
    """Every source read, in order; all bad sources are reported together."""
    drafts, errors = [], []
    for source in sources:
        try:
            drafts += read_source(source, list(posts), limits)
        except SourceError as error:
            errors.append(error)
    raise_all(errors)
    return drafts


def read_source(source: str, posts: list[str], limits: Limits) -> list[Draft]:
    try:
        if urlsplit(source).scheme.lower() in ("http", "https"):
            return _web_source(source, posts, limits)
        return _file_source(Path(source), source, posts, limits)
    except (FetchError, NoArticle, FeedProblem, WordProblem, MarkdownProblem, ImageProblem,
            OSError) as problem:
        raise SourceError(source, _reason(problem)) from None


def _reason(problem: Exception) -> str:
    if isinstance(problem, FileNotFoundError):
        return "no such file or folder"
    if isinstance(problem, OSError):
        return problem.strerror or str(problem)
    return str(problem)


# ---- web addresses

def _web_source(url: str, posts: list[str], limits: Limits) -> list[Draft]:
    if not robots_allow(url, limits):
        raise FetchError("the site's robots.txt asks robots not to fetch this page: save it "
                         "from your browser (File → Save Page As) and import the .html file")
    page = fetch(url, limits, HTML_TYPES + FEED_TYPES, limits.page_bytes,
                 "an HTML page or a feed")
    if page.content_type in FEED_TYPES:
        return _feed_drafts(page.body, url, posts, limits)
    article = article_from_page(_decoded(page.body, page.charset), url, page.url)
    # Images come from where the page was fetched (its canonical address may be elsewhere).
    return [_article_draft(article, url, _Saver(page.url, None, limits))]


def _decoded(body: bytes, charset: str | None) -> str:
    """The page's text in the charset the server names, else as the page says or guesses."""
    try:
        return body.decode(charset, "replace") if charset else decode_file(body)
    except LookupError:  # a charset Python does not know
        return decode_file(body)


# ---- files and folders

def _file_source(path: Path, source: str, posts: list[str], limits: Limits) -> list[Draft]:
    if path.is_dir():
        return _markdown_drafts(path, source, limits)
    suffix = path.suffix.lower()
    if suffix not in (*_HTML_SUFFIXES, *_FEED_SUFFIXES, ".docx", *_MARKDOWN_SUFFIXES, ".txt"):
        raise FetchError("not a source leadguide can import: give an http(s) address, a saved "
                         ".html page, a feed or WordPress export (.xml), a Word .docx, a "
                         "Markdown .md file or a folder of them, or a plain .txt file")
    if suffix in _MARKDOWN_SUFFIXES:
        return _markdown_drafts(path, source, limits)
    data = _read_file(path, _FILE_LIMIT)
    if suffix in _FEED_SUFFIXES:
        return _feed_drafts(data, source, posts, limits)
    if suffix == ".docx":
        return [_word_draft(data, path, source, limits)]
    if suffix == ".txt":
        article, notes = article_from_text(decode_file(data), path)
        draft = _article_draft(article, source, _Saver(None, None, limits))
        draft.notes[:0] = notes
        return [draft]
    article = article_from_page(decode_file(data), path.name, None)
    # A saved page's images are read from beside it, as the browser saved them: no network.
    return [_article_draft(article, source, _Saver(None, path.resolve().parent, limits))]


def _read_file(path: Path, limit: int) -> bytes:
    if not path.is_file():
        raise FetchError("not a file" if path.exists() else "no such file or folder")
    with path.open("rb") as stream:
        data = stream.read(limit + 1)
    if len(data) > limit:
        raise FetchError(f"larger than {limit // 1024 // 1024} MB")
    return data


def _feed_drafts(data: bytes, source: str, posts: list[str], limits: Limits) -> list[Draft]:
    chosen = choose(read_feed(data, source), posts, source)
    if not chosen:
        raise FeedProblem("the feed has no posts")
    return [_article_draft(post, source, _Saver(post.base, None, limits)) for post in chosen]


def _word_draft(data: bytes, path: Path, source: str, limits: Limits) -> Draft:
    saver = _Saver(None, None, limits)

    def keep(body: bytes, content_type: str, alt: str) -> str:
        try:
            return f"{IMAGE_FOLDER}/{saver.sink.add(body, alt or 'image')}"
        except ImageProblem as problem:
            saver.notes.append(f"an image left out ({problem})")
            return ""

    article = article_from_docx(data, path, limits.unpacked_bytes, keep)
    draft = _article_draft(article, source, saver)
    draft.slug_hint = path.stem
    return draft


# ---- articles (pages, posts, documents) to drafts

def _article_draft(article: Article, source: str, saver: _Saver) -> Draft:
    body, title = html_to_markdown(article.html, saver, article.title)
    if not title:
        raise NoArticle("the text has no title (no <title>, first heading or document title)")
    front = _front(source=article.source or source, author=article.author, date=article.date)
    notes = [*saver.notes, *(f"image without alt text: {line.strip()[:80]} (add what it shows)"
                             for line in body.splitlines() if line.startswith("![]("))]
    _templating(front, body)
    return Draft(title, body, front, saver.sink,
                 article.slug or _slug_of(article.source) or title, notes, source,
                 article.site_name, article.description)


def _front(**values: str) -> dict[str, object]:
    return {key: value for key, value in values.items() if value}


def _templating(front: dict[str, object], body: str) -> None:
    if uses_jinja_syntax(body):
        front["templating"] = False  # "{{" in a post is text, never template code


def _slug_of(address: str) -> str:
    path = unquote(urlsplit(address).path).rstrip("/")
    return re.sub(r"\.[a-z]+$", "", path.rsplit("/", 1)[-1]) if path else ""


class _Saver:
    """Images of one article: fetched (web) or read from ``folder`` (a saved page or a
    Markdown folder: real paths inside it only), checked, kept in ``sink``."""

    def __init__(self, base: str | None, folder: Path | None, limits: Limits):
        self.base, self.folder, self.limits = base, folder, limits
        self.sink, self.notes = ImageSink(), []

    def __call__(self, address: str, alt: str) -> str | None:
        if address.startswith(IMAGE_FOLDER):
            return address  # kept already (a Word file's images come with it)
        if len(self.sink.images) >= self.limits.images_per_source:
            self.notes.append(f"image left out: {address} (more than "
                              f"{self.limits.images_per_source} images)")
            return None
        try:
            data, hint = self._read(address)
            return f"{IMAGE_FOLDER}/{self.sink.add(data, hint or alt)}"
        except (FetchError, ImageProblem, OSError) as problem:
            self.notes.append(f"image left out: {address} ({_reason(problem)})")
            return None

    def _read(self, address: str) -> tuple[bytes, str]:
        parts = urlsplit(address)
        hint = posixpath.basename(unquote(parts.path)) or "image"
        local = self._local(address) if self.folder and not parts.scheme else None
        if local is not None:
            return _read_file(local, self.limits.image_bytes), hint
        if self.folder is not None:
            raise FetchError("not found beside the source (a saved page's or a folder's images "
                             "are read from the disk only)")
        url = urljoin(self.base, address) if self.base else address
        if urlsplit(url).scheme.lower() not in ("http", "https"):
            raise FetchError("not a web address")
        fetched = fetch(url, self.limits, IMAGE_TYPES, self.limits.image_bytes, "an image")
        return fetched.body, hint

    def _local(self, address: str) -> Path | None:
        assert self.folder is not None
        path = unquote(urlsplit(address).path)
        candidate = (self.folder / path.lstrip("/")).resolve()
        if not candidate.is_relative_to(self.folder):
            raise FetchError("outside the imported folder")
        return candidate if candidate.is_file() else None


# ---- Markdown files and folders

def _markdown_drafts(path: Path, source: str, limits: Limits) -> list[Draft]:
    root, pages = markdown_pages(path)
    names = {page.relative: f"{CHAPTER_OPEN}{page.relative}{CHAPTER_CLOSE}" for page in pages}
    site, site_pages = site_of(root)
    rewriter = Rewriter(root, names, folder_files(root), site, site_pages)
    return [_markdown_draft(page, rewriter, root, source, limits) for page in pages]


def _markdown_draft(page: MarkdownPage, rewriter: Rewriter, root: Path, source: str,
                    limits: Limits) -> Draft:
    saver = _Saver(None, root, limits)
    body = rewriter.body(page, saver)
    shown = page.path.relative_to(root).as_posix()
    front = _front(source=page.meta.get("source") or shown, author=page.meta.get("author", ""),
                   date=page.meta.get("date", ""), summary=page.meta.get("summary", ""))
    _templating(front, body)
    notes = list(saver.notes)
    if page.dropped_keys:
        notes.append(f"front matter keys leadguide does not use were left out: "
                     f"{', '.join(page.dropped_keys)}")
    return Draft(page.title, body, front, saver.sink, page.path.stem, notes, source,
                 markdown_path=page.relative)
