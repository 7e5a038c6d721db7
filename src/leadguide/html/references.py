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
from dataclasses import dataclass, replace
from functools import lru_cache
from html.parser import HTMLParser
from pathlib import Path
from typing import Callable
from urllib.parse import quote, unquote, urlsplit

from ..errors import ContentError, GuideError, raise_all
from ..guide.assets import asset_fallbacks
from ..guide.config import GuideConfig
from ..guide.guard import RefusedFile, real_path
from .chapter import RenderedChapter

_RESOURCES = {("img", "src"), ("source", "src"), ("video", "poster"), ("video", "src"),
              ("audio", "src"), ("object", "data"), ("embed", "src"), ("iframe", "src"),
              ("link", "href"), ("input", "src"), ("image", "href")}
_LINKS = {("a", "href"), ("area", "href")}
_WEB_SCHEMES = {"http", "https", "mailto", "tel", "sms"}
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


Rewrite = Callable[[str, str, str], str]  # (tag, attribute, value) -> new value


def rewrite_attributes(text: str, rewrite: Rewrite, tags: list[Tag] | None = None) -> str:
    """``text`` with each attribute value replaced by ``rewrite``'s answer; other tags as they
    were written. ``tags`` are ``start_tags(text)``, if already found."""
    out, position = [], 0
    for tag in start_tags(text) if tags is None else tags:
        attrs = [(name, value if value is None else rewrite(tag.name, name, value))
                 for name, value in tag.attrs]
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
    problems: list[GuideError] = []
    text = rewrite_attributes(chapter.html, _chapter_rewrite(guide, chapter, problems),
                              guide.tags[chapter.chapter.slug])
    raise_all(problems)
    return replace(chapter, html=text)


def _ids(tags: list[Tag]) -> set[str]:
    return {value for tag in tags for name, value in tag.attrs if name == "id" and value}


def _chapter_rewrite(guide: _Guide, chapter: RenderedChapter,
                     problems: list[GuideError]) -> Rewrite:
    def rewrite(tag: str, attribute: str, value: str) -> str:
        try:
            if (tag, attribute) in _LINKS:
                return _link(guide, chapter, value)
            if (tag, attribute) in _RESOURCES:
                return _resource(guide, value)
        except _Refused as refused:
            problems.append(ContentError(str(refused), *_where(guide, chapter, value)))
        return value
    return rewrite


class _Refused(ValueError):
    pass


def _link(guide: _Guide, chapter: RenderedChapter, value: str) -> str:
    parts = urlsplit(value.strip())
    if not parts.scheme and not parts.netloc and not parts.path:
        return _fragment(guide, chapter, parts.fragment) if parts.fragment else value
    if parts.scheme.lower() in _WEB_SCHEMES:
        return value
    target = _local(guide, parts, value)
    if target in guide.by_file:
        linked = guide.by_file[target]
        if not parts.fragment:
            return f"#{linked.chapter.anchor}"
        found = _heading_id(guide, linked, parts.fragment)
        if found is None:
            raise _Refused(f"link '{value}': {linked.chapter.path.name} has no heading "
                           f"'#{parts.fragment}' (its headings: "
                           f"{_heading_list(linked)})")
        return f"#{found}"
    shown = _shown(guide, target)
    if target.suffix.lower() in (".md", ".markdown"):
        raise _Refused(f"link '{value}': {shown} is not one of the guide's chapters (guide.yaml's "
                       "'chapters:' lists them)")
    raise _Refused(f"link '{value}' points at a file ({shown}): a PDF can link only to its own "
                   "chapters and headings and to web or mail addresses")


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


def _where(guide: _Guide, chapter: RenderedChapter, value: str) -> tuple[Path, int | None]:
    """The chapter line that names ``value``, else guide.yaml's (a macro printed it)."""
    body = chapter.chapter.body
    needles = list(dict.fromkeys((value, unquote(value), html.unescape(value))))
    for needle in needles:
        if needle in body:
            return chapter.chapter.path, chapter.chapter.body_line + body.count(
                "\n", 0, body.index(needle))
    config = guide.config.config_path.read_text(encoding="utf-8")
    for needle in needles:
        if needle in config:
            return guide.config.config_path, config.count("\n", 0, config.index(needle)) + 1
    return chapter.chapter.path, None


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
    if not parts.scheme and not parts.netloc and not parts.path:
        return False
    return parts.scheme.lower() not in _WEB_SCHEMES
