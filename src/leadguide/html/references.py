"""Paths and links in chapter HTML, read the way Markdown tools read them.

A path in a chapter resolves from the chapter's own folder (``../images/x.png`` from
``chapters/``), still inside the guide folder; a path that names no file there is tried from the
guide folder, where guide.yaml's and the templates' paths start (so the paths macros print, and
older guides' ``images/x.png``, keep working). Every path is rewritten relative to the guide
folder, the document's base. A link to another chapter's ``.md`` file, with or without
``#heading``, becomes a link inside the PDF; a link to any other file, or a ``file:`` URL, is an
error that names the chapter and the line: no ``file:`` link may reach the PDF.
"""
from __future__ import annotations

import html
import os
import re
from dataclasses import dataclass, field, replace
from functools import lru_cache
from html.parser import HTMLParser
from pathlib import Path
from typing import Callable
from urllib.parse import SplitResult, quote, unquote, urljoin, urlsplit

from ..errors import ContentError, GuideError, raise_all
from ..guide.assets import asset_fallbacks
from ..guide.config import GuideConfig
from ..guide.guard import RefusedFile, real_path
from ..guide.links import is_web_base, site_page_path
from ..markdown.codeguard import protect
from ..markdown.labels import plain_label
from .chapter import RenderedChapter

_RESOURCES = {("img", "src"), ("source", "src"), ("video", "poster"), ("video", "src"),
              ("audio", "src"), ("object", "data"), ("embed", "src"), ("iframe", "src"),
              ("link", "href"), ("input", "src"), ("image", "href")}
_LINKS = {("a", "href"), ("area", "href")}
_WEB_SCHEMES = {"http", "https", "mailto", "tel", "sms"}
# What stands before a destination: "](", "]: ", '="', "<" (with optional spaces and "<")
_LINK_BEFORE = re.compile(r"(?:\]\(\s*<?|\]:[ \t]*<?|=\s*[\"']?|<)\Z")
# [text][label] and [text][] (not images, not escaped); a definition: [label]: address
_FULL_REFERENCE = re.compile(r"(?<![\\!\]])\[([^\[\]\n]+)\]\[([^\[\]\n]*)\](?![(:])")
_DEFINITION = re.compile(r"^ {0,3}\[([^\]]+)\]:", re.MULTILINE)
_MAYBE_FILE_LINK = re.compile(r"href\s*=\s*[\"']?(?![\"'\s]*(?:#|https?:|mailto:|tel:|sms:))",
                              re.IGNORECASE)


@dataclass(frozen=True)
class Tag:
    """A start tag in an HTML string: where it is and what it says."""

    start: int
    end: int
    name: str
    attrs: list[tuple[str, str | None]]
    closed: bool  # written as <tag ... />


class _TagFinder(HTMLParser):
    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[Tag] = []
        self._line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._add(tag, attrs, closed=False)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._add(tag, attrs, closed=True)

    def _add(self, tag: str, attrs: list[tuple[str, str | None]], closed: bool) -> None:
        line, column = self.getpos()
        start = self._line_starts[line - 1] + column
        self.tags.append(Tag(start, start + len(self.get_starttag_text() or ""), tag, attrs,
                             closed))


def start_tags(text: str) -> list[Tag]:
    """Every start tag, in order (not those inside comments, scripts or escaped code)."""
    return list(_start_tags(text))


@lru_cache(maxsize=256)
def _start_tags(text: str) -> tuple[Tag, ...]:
    # The preview resolves one saved chapter against all the others: their tags are reused.
    return tuple(_TagFinder(text).tags)


Rewrite = Callable[[str, str, str], "str | None"]  # (tag, attribute, value) -> new value,
#                                                  or None to drop the attribute


def rewrite_attributes(text: str, rewrite: Rewrite, tags: list[Tag] | None = None) -> str:
    """``text`` with each attribute value replaced by ``rewrite``'s answer; other tags as they
    were written. ``tags`` are ``start_tags(text)``, if already found."""
    out, position = [], 0
    for tag in start_tags(text) if tags is None else tags:
        attrs = [(name, new) for name, value in tag.attrs
                 if (new := value if value is None else rewrite(tag.name, name, value))
                 is not None or value is None]
        if attrs != tag.attrs:
            out += [text[position:tag.start], _serialize(tag, attrs)]
            position = tag.end
    return "".join(out) + text[position:]


def _serialize(tag: Tag, attrs: list[tuple[str, str | None]]) -> str:
    parts = [tag.name] + [name if value is None else f'{name}="{html.escape(value)}"'
                          for name, value in attrs]
    return f"<{' '.join(parts)}{' /' if tag.closed else ''}>"


# ---- chapters
@dataclass(frozen=True)
class _Guide:
    config: GuideConfig
    root: Path
    chapters_dir: Path
    by_file: dict[Path, RenderedChapter]
    tags: dict[str, list[Tag]]  # chapter slug -> its start tags
    ids: dict[str, set[str]]  # chapter slug -> every id in its HTML
    fallbacks: dict[Path, Path]


def resolve_chapters(config: GuideConfig,
                     rendered: list[RenderedChapter]) -> list[RenderedChapter]:
    """Every chapter with its paths and links resolved; all problems are reported together."""
    guide = _index(config, rendered)
    results, errors = [], []
    for chapter in rendered:
        try:
            results.append(_resolve(guide, chapter))
        except GuideError as error:
            errors.append(error)
    raise_all(errors)
    return results


def resolve_chapter(config: GuideConfig, chapter: RenderedChapter,
                    others: list[RenderedChapter]) -> RenderedChapter:
    """One chapter resolved, linking to ``others`` (the preview renders chapter by chapter)."""
    rest = [other for other in others if other.chapter.path.name != chapter.chapter.path.name]
    return _resolve(_index(config, [chapter, *rest]), chapter)


def _index(config: GuideConfig, rendered: list[RenderedChapter]) -> _Guide:
    root = config.root.resolve()
    tags = {r.chapter.slug: start_tags(r.html) for r in rendered}
    return _Guide(config, root, config.chapters_dir.resolve(),
                  {(config.chapters_dir / r.chapter.path.name).resolve(): r for r in rendered},
                  tags, {slug: _ids(found) for slug, found in tags.items()},
                  {own.resolve(): builtin for own, builtin in asset_fallbacks(root).items()})


def _resolve(guide: _Guide, chapter: RenderedChapter) -> RenderedChapter:
    problems = _Problems()
    text = rewrite_attributes(chapter.html, _chapter_rewrite(guide, chapter, problems),
                              guide.tags[chapter.chapter.slug])
    errors = [_located(guide, chapter, value, message)
              for value, message in problems.errors.items()]
    warnings = tuple(_located(guide, chapter, value, message)
                     for value, message in problems.pages.items())
    warnings += tuple(_undefined_references(chapter))
    if errors:  # the build stops here: say everything at once
        raise_all(sorted([*errors, *warnings], key=lambda error: error.line or 0))
    return replace(chapter, html=text, link_warnings=warnings)


def _undefined_references(chapter: RenderedChapter) -> list[ContentError]:
    """``[text][label]`` (or ``[text][]``) with no ``[label]: address`` anywhere in the chapter:
    Markdown prints it as written, brackets and all."""
    body = chapter.chapter.body
    text, restore = protect(body)
    defined = {plain_label(restore(m.group(1))) for m in _DEFINITION.finditer(text)}
    found = []
    for match in _FULL_REFERENCE.finditer(text):
        label = restore(match.group(2) or match.group(1))
        if plain_label(label) not in defined and not label.startswith("^"):
            line = chapter.chapter.body_line + text.count("\n", 0, match.start())
            found.append(ContentError(
                f"reference link '{restore(match.group(0))}' has no definition: add a line "
                f"'[{label}]: https://…' to the chapter, or it prints as written",
                chapter.chapter.path, line))
    return found


def _located(guide: _Guide, chapter: RenderedChapter, value: str, message: str) -> ContentError:
    """The problem at the first line that writes ``value`` (never inside code), naming the
    others: one report per link however often it is written."""
    path, lines = _where(guide, chapter, value)
    if len(lines) > 1:
        message += f" (also on line{'s' if len(lines) > 2 else ''} " \
                   f"{', '.join(str(line) for line in lines[1:])})"
    return ContentError(message, path, lines[0] if lines else None)


def _ids(tags: list[Tag]) -> set[str]:
    return {value for tag in tags for name, value in tag.attrs if name == "id" and value}


def _chapter_rewrite(guide: _Guide, chapter: RenderedChapter, problems: _Problems) -> Rewrite:
    def rewrite(tag: str, attribute: str, value: str) -> str | None:
        try:
            if (tag, attribute) in _LINKS:
                return _link(guide, chapter, value)
            if (tag, attribute) in _RESOURCES:
                return _resource(guide, value)
        except _Refused as refused:
            problems.errors.setdefault(value, str(refused))
        except _PageLink as page:
            problems.pages.setdefault(value, str(page))
            return None  # no base to resolve it against: the link prints as its text
        return value
    return rewrite


@dataclass
class _Problems:
    """One chapter's problems, one per link or path however often it is written."""

    errors: dict[str, str] = field(default_factory=dict)  # value -> message
    pages: dict[str, str] = field(default_factory=dict)  # unresolved links to other pages


class _Refused(ValueError):
    pass


class _PageLink(ValueError):
    """A link to a page that is not a chapter, and no address to resolve it against."""


def _link(guide: _Guide, chapter: RenderedChapter, value: str) -> str:
    parts = urlsplit(value.strip())
    if not parts.scheme and not parts.netloc and not parts.path and not parts.query:
        return _fragment(guide, chapter, parts.fragment) if parts.fragment else value
    if parts.scheme.lower() in _WEB_SCHEMES:
        return value
    if parts.scheme:
        _local(guide, parts, value)  # file: or another scheme: refused with the reason
    linked = None if parts.netloc else _linked_chapter(guide, unquote(parts.path))
    if linked is None:
        return _page_link(guide, chapter, parts, value)
    if not parts.fragment:
        return f"#{linked.chapter.anchor}"
    found = _heading_id(guide, linked, parts.fragment)
    if found is None:
        raise _Refused(f"link '{value}': {linked.chapter.path.name} has no heading "
                       f"'#{parts.fragment}' (its headings: {_heading_list(linked)})")
    return f"#{found}"


def _linked_chapter(guide: _Guide, path: str) -> RenderedChapter | None:
    """The chapter a relative path names, from the chapters folder or the guide folder."""
    starts = [guide.root] if path.startswith("/") else [guide.chapters_dir, guide.root]
    for start in starts:
        candidate = Path(os.path.normpath(start / path.lstrip("/"))).resolve()
        if candidate in guide.by_file:
            return guide.by_file[candidate]
    return None


def _page_link(guide: _Guide, chapter: RenderedChapter, parts: SplitResult, value: str) -> str:
    """A link to a page of the site the text came from (``setup.md``, ``../other/``,
    ``//host/x``): a web link against the chapter's own address (front matter ``source``),
    else links.base_url; without either it cannot be printed as a link."""
    if is_web_base(chapter.chapter.source):
        return urljoin(chapter.chapter.source, value.strip())
    if guide.config.links.base_url:
        page = parts._replace(path=site_page_path(parts.path, guide.config.links.markdown_pages))
        return urljoin(guide.config.links.base_url, page.geturl())
    if parts.netloc:  # protocol-relative: the web, by the secure protocol
        return f"https:{value.strip()}"
    linked = _unlisted(guide, unquote(parts.path))
    raise _PageLink(
        f"link '{value}' is not a chapter of this guide{linked}, and no address says where "
        "the page is: set links.base_url in guide.yaml to the address of the site it comes "
        "from (or 'source: https://…' in the chapter's front matter), link a chapter or a web "
        "address instead, or remove the link")


def _unlisted(guide: _Guide, path: str) -> str:
    """A hint when the link names a file in chapters/ that guide.yaml does not list."""
    if Path(path).suffix.lower() in (".md", ".markdown") and not path.startswith("/"):
        if (guide.chapters_dir / path).is_file():
            return " (it is in chapters/ but not in guide.yaml's 'chapters:')"
    return ""


def _fragment(guide: _Guide, chapter: RenderedChapter, fragment: str) -> str:
    """``#install`` in a chapter means its own heading ``install`` (ids carry the chapter's
    name); any other id is left for the document to have."""
    found = _heading_id(guide, chapter, fragment)
    return f"#{found or unquote(fragment)}"


def _heading_id(guide: _Guide, chapter: RenderedChapter, fragment: str) -> str | None:
    ids = guide.ids[chapter.chapter.slug]
    wanted = unquote(fragment)
    for candidate in (f"{chapter.chapter.slug}-{wanted}", wanted,
                      f"{chapter.chapter.slug}-{wanted.lower()}"):
        if candidate in ids:
            return candidate
    return None


def _heading_list(chapter: RenderedChapter) -> str:
    prefix = f"{chapter.chapter.slug}-"
    names = [f"#{h.id.removeprefix(prefix)}" for h in chapter.headings]
    return ", ".join(names) if names else "none"


def _resource(guide: _Guide, value: str) -> str:
    parts = urlsplit(value.strip())
    if parts.scheme.lower() in ("data", "http", "https"):
        return value  # data: is inline; the fetcher refuses the network with its own message
    target = _local(guide, parts, value)
    if not target.is_file() and not _builtin(guide, target):
        raise _Refused(f"'{value}' not found: {_shown(guide, target)} (a path starts from the "
                       "chapter's folder, then from the guide folder)")
    fragment = f"#{parts.fragment}" if parts.fragment else ""
    return quote(target.relative_to(guide.root).as_posix()) + fragment


def _local(guide: _Guide, parts, value: str) -> Path:  # type: ignore[no-untyped-def]
    """The file a path names: from the chapters folder, else from the guide folder (a leading
    ``/`` starts at the guide folder). Refused if it is a ``file:`` URL or leaves the guide."""
    scheme = parts.scheme.lower()
    if scheme == "file":
        raise _Refused(f"'{value}' is a file: URL, which would point at the machine building "
                       "the PDF: write a path relative to the chapter")
    if scheme or parts.netloc:
        raise _Refused(f"'{value}' is neither a path inside the guide nor a web address")
    path = unquote(parts.path)
    starts = [guide.root] if path.startswith("/") else [guide.chapters_dir, guide.root]
    candidates = [start / path.lstrip("/") for start in starts]
    for candidate in candidates:
        if os.path.lexists(candidate):
            return _guarded(candidate, guide.root, value)
    normal = [Path(os.path.normpath(c)) for c in candidates]
    inside = [c for c in normal if c.is_relative_to(guide.root)]
    if not inside:
        raise _Refused(f"'{value}' is outside the guide folder: only files inside it can be used")
    return next((c for c in inside if _builtin(guide, c)), inside[0])


def _guarded(candidate: Path, root: Path, value: str) -> Path:
    """The real file, through the guard every read of a guide file passes (symlinks out,
    folders, pipes refused)."""
    try:
        return real_path(candidate, (root,))
    except RefusedFile as refused:
        raise _Refused(f"'{value}' {refused.message}") from None


def _builtin(guide: _Guide, target: Path) -> bool:
    """A guide's styles/ or templates/ path that the built-in folder serves."""
    return any(target.is_relative_to(own) and (builtin / target.relative_to(own)).is_file()
               for own, builtin in guide.fallbacks.items())


def _shown(guide: _Guide, target: Path) -> str:
    try:
        return target.relative_to(guide.root).as_posix()
    except ValueError:
        return str(target)


def _where(guide: _Guide, chapter: RenderedChapter, value: str) -> tuple[Path, list[int]]:
    """The chapter lines that write ``value`` outside code, else guide.yaml's (a macro
    printed it)."""
    body = chapter.chapter.body
    text, _ = protect(body)  # code blocks and spans become placeholders of as many lines
    needles = list(dict.fromkeys((value, unquote(value), html.unescape(value))))
    offsets = sorted({m.start() for needle in needles for m in _written(text, needle)})
    if offsets:
        return chapter.chapter.path, list(dict.fromkeys(
            chapter.chapter.body_line + text.count("\n", 0, offset) for offset in offsets))
    config = guide.config.config_path.read_text(encoding="utf-8")
    for needle in needles:
        if needle in config:
            return guide.config.config_path, [config.count("\n", 0, config.index(needle)) + 1]
    return chapter.chapter.path, []


def _written(text: str, needle: str) -> list[re.Match[str]]:
    """Where ``needle`` is written as a link or path (``](x``, ``]: x``, ``="x``, ``<x``),
    else anywhere."""
    anywhere = list(re.finditer(re.escape(needle), text))
    as_link = [m for m in anywhere if _LINK_BEFORE.search(text, max(0, m.start() - 8), m.start())]
    return as_link or anywhere


# ---- the whole document
def file_links(document: str) -> list[str]:
    """Every link in the assembled document that would become a ``file:`` link in the PDF:
    anything but ``#id``, a web or mail address (relative paths resolve against the guide
    folder's ``file:`` URL)."""
    if not _MAYBE_FILE_LINK.search(document):
        return []  # every href is #id, web or mail: no need to parse the whole document
    found = []
    for tag in start_tags(document):
        for name, value in tag.attrs:
            if (tag.name, name) in _LINKS and value is not None and _leaves_pdf(value):
                found.append(value)
    return found


def _leaves_pdf(value: str) -> bool:
    parts = urlsplit(value.strip())
    if not parts.scheme and not parts.netloc and not parts.path and not parts.query:
        return False
    return parts.scheme.lower() not in _WEB_SCHEMES
