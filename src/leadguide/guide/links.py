"""guide.yaml's ``links:`` section: where a link to a page that is not a chapter points
(``links.base_url``, and how the site spells its Markdown pages).
"""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from .yamlsource import FieldReader, LocatedDict

# What a link to another page's ``.md`` file becomes under links.base_url: the site kept the
# file (GitHub, GitLab), made it ``.html`` (mdBook, Sphinx) or a folder (MkDocs).
LINK_KEYS = {"base_url", "markdown_pages"}
MARKDOWN_PAGES = ("md", "html", "folder")


@dataclass(frozen=True)
class LinkSettings:
    """Where links to pages that are not chapters point (guide.yaml's ``links:``)."""

    base_url: str | None = None  # ends in "/": relative links resolve against it
    markdown_pages: str = "md"


def read_links(raw: LocatedDict, reader: FieldReader) -> LinkSettings:
    section = reader.mapping(reader.get(raw, "links", dict, LocatedDict()), "links",
                             raw.line_of("links"))
    reader.unknown_keys(section, LINK_KEYS, "links")
    base = reader.get(section, "base_url", str, None, "links")
    if base is not None and not is_web_base(base):
        reader.fail(f"'links.base_url' must be a web address like https://example.com/docs/, "
                    f"not '{base}'", section.line_of("base_url"))
        base = None
    pages = reader.get(section, "markdown_pages", str, "md", "links")
    if pages not in MARKDOWN_PAGES:
        reader.fail(f"'links.markdown_pages' must be one of {', '.join(MARKDOWN_PAGES)}, not "
                    f"'{pages}'", section.line_of("markdown_pages"))
        pages = "md"
    return LinkSettings(folder_url(base) if base else None, pages)


def site_page_path(path: str, markdown_pages: str) -> str:
    """What a ``.md`` page's path is on its site (``links.markdown_pages``): kept,
    ``.html`` or a folder; ``index.md`` and ``README.md`` are their folder's page."""
    stem, dot, suffix = path.rpartition(".")
    if markdown_pages == "md" or not dot or suffix.lower() not in ("md", "markdown"):
        return path
    folder, _, name = stem.rpartition("/")
    prefix = f"{folder}/" if folder or stem.startswith("/") else ""
    if name.lower() in ("index", "readme"):
        return prefix if markdown_pages == "folder" else f"{prefix}index.html"
    return f"{stem}/" if markdown_pages == "folder" else f"{stem}.html"


def is_web_base(url: str) -> bool:
    """An absolute http(s) address with a host: what a relative link can resolve against."""
    parts = urlsplit(url.strip())
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


def folder_url(url: str) -> str:
    """``https://x/docs`` → ``https://x/docs/``: the base is a folder, so ``setup.md`` lands in
    it (a bare ``urljoin`` would replace ``docs``)."""
    parts = urlsplit(url.strip())
    path = parts.path if parts.path.endswith("/") else parts.path + "/"
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))
