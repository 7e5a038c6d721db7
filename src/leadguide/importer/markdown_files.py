"""Markdown files and folders (MkDocs, mdBook, Obsidian): one page per file, in the site's
order, each with its front matter kept, its first ``# heading`` as the title, and its links
and images rewritten for the guide: a link to another imported page becomes a chapter link,
a link to a page left behind stays relative to the folder (``links.base_url`` makes it a web
link), wiki-links and embeds are read as Obsidian reads them, and images are read from inside
the folder only."""
from __future__ import annotations

import os
import posixpath
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable
from urllib.parse import quote, unquote, urljoin, urlsplit

import yaml

from ..guide.guard import MAX_TEXT_BYTES
from ..guide.links import folder_url, is_web_base, site_page_path
from ..markdown.codeguard import protect

_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)^(?:---|\.\.\.)[ \t]*\r?$\n?",
                           re.DOTALL | re.MULTILINE)
_ATX = re.compile(r"\A\s*#[ \t]+(.+?)(?:[ \t]+#+)?[ \t]*$", re.MULTILINE)
_SETEXT = re.compile(r"\A\s*([^\n]*\S[^\n]*)\n=+[ \t]*$", re.MULTILINE)
_IMAGE = re.compile(r"!\[((?:[^\[\]]|\[[^\[\]]*\])*)\]\(\s*<?([^)\s>]+)>?((?:\s+\"[^\"]*\")?)\s*\)")
_LINK = re.compile(r"(?<!!)\[((?:[^\[\]]|\[[^\[\]]*\])*)\]"
                   r"\(\s*<?([^)\s>]+)>?((?:\s+\"[^\"]*\")?)\s*\)")
_DEFINITION = re.compile(r"^( {0,3}\[[^\]]+\]:[ \t]*)<?(\S+?)>?([ \t]+.*)?$", re.MULTILINE)
_HTML_IMAGE = re.compile(r"(<img\b[^>]*?\bsrc\s*=\s*[\"'])([^\"']+)([\"'])", re.IGNORECASE)
_EMBED = re.compile(r"!\[\[([^\]|#]+)(?:#[^\]|]*)?(?:\|([^\]]*))?\]\]")
_WIKI = re.compile(r"\[\[([^\]|#]*)(#[^\]|]*)?(?:\|([^\]]*))?\]\]")
_JINJA = re.compile(r"\{\{|\{%|\{#")
_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp", ".bmp", ".tif", ".tiff")
_MARKERS = ("mkdocs.yml", "book.toml", "SUMMARY.md", ".obsidian", ".git")
_SKIPPED_FOLDERS = {".git", ".obsidian", "node_modules", "site", "book", "_build", ".venv"}
_KEPT_KEYS = {"title", "summary", "description", "author", "authors", "date"}


class MarkdownProblem(ValueError):
    """A Markdown file or folder leadguide cannot read."""


@dataclass
class MarkdownPage:
    """One file, read: its place in the folder, what its front matter says, its body."""

    path: Path
    relative: str  # posix path from the folder's root
    title: str
    body: str
    meta: dict[str, str] = field(default_factory=dict)
    dropped_keys: list[str] = field(default_factory=list)


def markdown_pages(source: Path) -> tuple[Path, list[MarkdownPage]]:
    """The folder's root and its pages in the site's order (a file: itself, with the root its
    site's folder, so ``../images`` inside the site can be read)."""
    if source.is_dir():
        root = source.resolve()
        files = _ordered(root, _markdown_files(root))
    elif source.is_file():  # a regular file: never a pipe or device named .md
        root = _site_root(source.resolve())
        files = [source.resolve()]
    else:
        raise MarkdownProblem("not a file" if source.exists() else "no such file or folder")
    if not files:
        raise MarkdownProblem("no Markdown (.md) files in this folder")
    named = source.is_dir()  # in a folder, a problem names the file
    pages = [page for page in (_read_page(path, root, named) for path in files)
             if page.body.strip()]
    if not pages:
        raise MarkdownProblem("no text to import" if len(files) == 1 else
                              "no text to import: every Markdown file in it is empty")
    return root, pages


def _site_root(file: Path) -> Path:
    for folder in file.parents:
        if any((folder / marker).exists() for marker in _MARKERS):
            return folder
    return file.parent


def _markdown_files(root: Path) -> list[Path]:
    found = []
    for folder, folders, names in os.walk(root):
        folders[:] = sorted(f for f in folders if f not in _SKIPPED_FOLDERS and
                            not f.startswith("."))
        for name in names:
            path = Path(folder) / name
            if name.lower().endswith((".md", ".markdown")) and name != "SUMMARY.md" and \
                    path.resolve().is_relative_to(root) and path.is_file():
                found.append(path.resolve())
    return found


def _ordered(root: Path, files: list[Path]) -> list[Path]:
    """mdBook's SUMMARY.md order, else MkDocs' nav, else by path with index/README first."""
    listed = _summary_order(root) or _mkdocs_order(root)
    rank = {path: index for index, path in enumerate(listed)}
    def key(path: Path) -> tuple[int, tuple[str, ...]]:
        parts = path.relative_to(root).parts
        named = tuple(("" if p.lower() in ("index.md", "readme.md") else p.lower()) for p in parts)
        return rank.get(path, len(rank)), named
    return sorted(files, key=key)


def _summary_order(root: Path) -> list[Path]:
    for summary in (root / "SUMMARY.md", root / "src" / "SUMMARY.md"):
        if summary.is_file():
            text = summary.read_text(encoding="utf-8", errors="replace")
            return [(summary.parent / unquote(target)).resolve()
                    for _, target, _ in _LINK.findall(text) if not urlsplit(target).scheme]
    return []


def _mkdocs_order(root: Path) -> list[Path]:
    folder, config = _mkdocs_config(root)
    docs = folder / str(config.get("docs_dir", "docs"))
    return [(docs / name).resolve() for name in _nav_files(config.get("nav", []))]


def _mkdocs_config(root: Path) -> tuple[Path, dict[str, Any]]:
    """mkdocs.yml beside the docs folder (or in it), and its folder; empty when none."""
    for folder in (root, root.parent):
        config = folder / "mkdocs.yml"
        if config.is_file():
            try:
                data = yaml.safe_load(config.read_text(encoding="utf-8", errors="replace"))
            except yaml.YAMLError:
                return folder, {}
            return folder, data if isinstance(data, dict) else {}
    return root, {}


def site_of(root: Path) -> tuple[str | None, str]:
    """Where the folder is published, as mkdocs.yml's ``site_url`` says, and how it shows a
    ``.md`` page (``folder`` with MkDocs' directory URLs, else ``html``)."""
    _, config = _mkdocs_config(root)
    site = config.get("site_url")
    if not isinstance(site, str) or not is_web_base(site):
        return None, "md"
    return folder_url(site), "folder" if config.get("use_directory_urls", True) else "html"


def _nav_files(nav: Any) -> list[str]:
    if isinstance(nav, str):
        return [] if urlsplit(nav).scheme else [nav]
    if isinstance(nav, list):
        return [name for item in nav for name in _nav_files(item)]
    if isinstance(nav, dict):
        return [name for value in nav.values() for name in _nav_files(value)]
    return []


def _read_page(path: Path, root: Path, named: bool) -> MarkdownPage:
    label = f"{path.relative_to(root).as_posix()}: " if named else ""
    with path.open("rb") as stream:
        data = stream.read(MAX_TEXT_BYTES + 1)
    if len(data) > MAX_TEXT_BYTES:
        raise MarkdownProblem(f"{label}larger than {MAX_TEXT_BYTES // 1024 // 1024} MB")
    try:
        text = data.decode("utf-8-sig").replace("\r\n", "\n")
    except UnicodeDecodeError:
        raise MarkdownProblem(f"{label}not UTF-8 text") from None
    meta, dropped, body = _front_matter(text, label)
    title, body = _title(meta.pop("title", ""), body, path)
    return MarkdownPage(path, path.relative_to(root).as_posix(), title, body, meta, dropped)


def _front_matter(text: str, label: str) -> tuple[dict[str, str], list[str], str]:
    match = _FRONT_MATTER.match(text)
    if not match:
        return {}, [], text
    try:
        raw = yaml.safe_load(match.group(1))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 2}: " if mark else ""
        problem = getattr(error, "problem", None) or "not YAML"
        raise MarkdownProblem(f"{label}front matter {where}{problem}") from None
    raw = raw if isinstance(raw, dict) else {}
    meta = {}
    for key in _KEPT_KEYS & set(raw):
        value = raw[key]
        if isinstance(value, list):
            value = ", ".join(str(item) for item in value)
        meta[key] = str(value) if value is not None else ""
    if "description" in meta:
        meta.setdefault("summary", meta.pop("description"))
    if "authors" in meta:
        meta.setdefault("author", meta.pop("authors"))
    dropped = sorted(str(key) for key in raw if key not in _KEPT_KEYS)
    return meta, dropped, text[match.end():]


def _title(title: str, body: str, path: Path) -> tuple[str, str]:
    """The front matter's title, else the first ``# heading`` (taken out of the body)."""
    for pattern in (_ATX, _SETEXT):
        match = pattern.match(body)
        if match and (not title or " ".join(match.group(1).split()) == " ".join(title.split())):
            return title or match.group(1).strip(), body[match.end():].lstrip("\n")
    return title or path.stem.replace("-", " ").replace("_", " ").strip().capitalize(), body


# ---- links and images, for the guide

ImageSaver = Callable[[str, str], "str | None"]  # (address, alt) -> chapter path, or None


@dataclass(frozen=True)
class Rewriter:
    """How the pages' links and images become the guide's: ``chapters`` maps each imported
    page's path (from the root) to its chapter file name."""

    root: Path
    chapters: dict[str, str]
    files: tuple[str, ...] = ()  # every file in the folder, for wiki-links and embeds
    site: str | None = None  # where the folder is published (mkdocs.yml's site_url)
    site_pages: str = "md"  # how the site shows a .md page (links.markdown_pages' values)

    def body(self, page: MarkdownPage, save_image: ImageSaver) -> str:
        # Code samples are left as written (a <script> HTML block counts as code to protect)
        protected, restore = protect(without_active_html(page.body))
        folder = posixpath.dirname(page.relative)
        text = _IMAGE.sub(lambda m: self._image(m, folder, save_image), protected)
        text = _HTML_IMAGE.sub(lambda m: m.group(1) + (self._image_path(
            m.group(2), folder, "", save_image) or m.group(2)) + m.group(3), text)
        text = _LINK.sub(lambda m: f"[{m.group(1)}]({self.link(m.group(2), folder)}"
                                   f"{m.group(3)})", text)
        text = _DEFINITION.sub(lambda m: m.group(1) + self._definition(
            m.group(2), folder, save_image) + (m.group(3) or ""), text)
        text = _EMBED.sub(lambda m: self._embed(m, save_image), text)  # after the links: they
        text = _WIKI.sub(lambda m: self._wiki(m, folder), text)  # write finished links
        return restore(text)

    def link(self, target: str, folder: str) -> str:
        parts = urlsplit(target)
        if parts.scheme or parts.netloc or not parts.path or parts.path.startswith("/"):
            return target
        path = posixpath.normpath(posixpath.join(folder, unquote(parts.path)))
        fragment = f"#{parts.fragment}" if parts.fragment else ""
        chapter = self.chapters.get(path) or self.chapters.get(f"{path}/index.md") or \
            self.chapters.get(f"{path}/README.md")
        if chapter:
            return f"{chapter}{fragment}"
        # A page left behind: on the site when it is known and the page is on it, else
        # relative to the folder's root, where links.base_url points.
        query = f"?{parts.query}" if parts.query else ""
        page = path + ("/" if parts.path.endswith("/") and path != "." else "")
        if self.site and not page.startswith("../"):
            return urljoin(self.site, quote(site_page_path(page, self.site_pages)) + query +
                           fragment)
        return f"{quote(page)}{query}{fragment}"

    def _definition(self, target: str, folder: str, save_image: ImageSaver) -> str:
        if urlsplit(target).path.lower().endswith(_IMAGE_SUFFIXES):
            return self._image_path(target, folder, "", save_image) or target
        return self.link(target, folder)

    def _image(self, match: re.Match[str], folder: str, save_image: ImageSaver) -> str:
        alt, target = match.group(1), match.group(2)
        path = self._image_path(target, folder, alt, save_image)
        return f"![{alt}]({path}{match.group(3)})" if path else alt

    def _image_path(self, target: str, folder: str, alt: str,
                    save_image: ImageSaver) -> str | None:
        parts = urlsplit(target)
        if parts.scheme or parts.netloc:
            return save_image(target, alt)
        path = posixpath.normpath(posixpath.join(folder, unquote(parts.path)))
        return save_image(path, alt)  # relative to the root: the saver keeps it inside

    def _embed(self, match: re.Match[str], save_image: ImageSaver) -> str:
        name, size = match.group(1).strip(), match.group(2)
        alt = "" if size is None or size.strip().isdigit() else size.strip()
        if name.lower().endswith(_IMAGE_SUFFIXES):
            found = self._find(name)
            path = save_image(found, alt) if found else None
            return f"![{alt}]({path})" if path else alt
        return self._wiki_text(name, None, None)  # an embedded note: its name, as a link

    def _wiki(self, match: re.Match[str], folder: str) -> str:
        return self._wiki_text(match.group(1).strip(), match.group(2), match.group(3))

    def _wiki_text(self, name: str, heading: str | None, label: str | None) -> str:
        text = (label or (f"{name} {heading.lstrip('#')}" if heading and name else name)
                or (heading or "").lstrip("#")).strip()
        found = self._find(name if name.lower().endswith(".md") else f"{name}.md")
        chapter = self.chapters.get(found or "")
        if not chapter:
            return text  # a note that is not in the guide: its words
        anchor = f"#{_slug(heading.lstrip('#'))}" if heading else ""
        return f"[{text}]({chapter}{anchor})"

    def _find(self, name: str) -> str | None:
        """A file by name anywhere in the folder, as Obsidian finds it."""
        wanted = name.casefold().replace("\\", "/")
        candidates = [*self.chapters, *self.files]
        return next((c for c in candidates if c.casefold() == wanted or
                     c.casefold().endswith("/" + wanted)), None)


def folder_files(root: Path, limit: int = 20000) -> tuple[str, ...]:
    """The folder's files, from its root (skipping hidden and build folders)."""
    found: list[str] = []
    for folder, folders, names in os.walk(root):
        folders[:] = [f for f in folders if f not in _SKIPPED_FOLDERS and not f.startswith(".")]
        found += [(Path(folder) / name).relative_to(root).as_posix() for name in names]
        if len(found) > limit:
            break
    return tuple(found)


def _slug(heading: str) -> str:
    return re.sub(r"[\s]+", "-", re.sub(r"[^\w\s-]", "", heading.strip().lower()))


_ACTIVE_ELEMENT = re.compile(r"<(script|style|iframe|object|embed|form|noscript)\b[^>]*>.*?"
                             r"</\1\s*>|<(?:script|iframe|object|embed|form)\b[^>]*>",
                             re.IGNORECASE | re.DOTALL)
_HANDLER = re.compile(r"(<[a-zA-Z][^>]*?)\s+on[a-zA-Z]+\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s>]+)",
                      re.DOTALL)
_CODE_SAMPLE = re.compile(r"^[ \t]*(`{3,}|~{3,}).*?^[ \t]*\1|(`+)(?:(?!\2).)+?\2",
                          re.MULTILINE | re.DOTALL)


def without_active_html(text: str) -> str:
    """Raw HTML in Markdown without what runs or reaches out: scripts, frames, embeds, forms
    and event handlers; fenced code and code spans are left as written."""
    pieces, position = [], 0
    for sample in _CODE_SAMPLE.finditer(text):
        pieces += [_inactive(text[position:sample.start()]), sample.group(0)]
        position = sample.end()
    return "".join([*pieces, _inactive(text[position:])])


def _inactive(text: str) -> str:
    text = _ACTIVE_ELEMENT.sub("", text)
    while _HANDLER.search(text):
        text = _HANDLER.sub(r"\1", text)
    return text


def uses_jinja_syntax(body: str) -> bool:
    """Whether text outside code looks like template code (MkDocs macros, mdBook includes):
    the chapter is then imported with templating off, so it prints as written."""
    protected, _ = protect(body)
    return bool(_JINJA.search(protected))
