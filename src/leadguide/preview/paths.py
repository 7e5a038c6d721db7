"""The preview folder's pages and files, which guide files matter to it, and URLs between them."""
from __future__ import annotations

import html
import os
import re
from pathlib import Path

from ..errors import GuideError
from ..guide.assets import (BUILTIN_KITS, BUILTIN_STYLES, BUILTIN_TEMPLATES, output_dirs,
                            outside_the_pdf)
from ..guide.config import load_config
from ..web.markup import unique_name

PREVIEW_FOLDER = "preview"  # in the guide's output folder
SCREEN_STYLESHEET = "screen.css"
INDEX = "index.html"
PAGES_DIR = "pages"
# Files of the guide that the browser loads (and the server may serve); never its sources.
ASSET_SUFFIXES = frozenset({".svg", ".png", ".jpg", ".jpeg", ".gif", ".webp", ".avif",
                            ".otf", ".ttf", ".woff", ".woff2", ".pdf"})
# What a guide's styles/ folder may hand the browser: stylesheets, fonts, images.
STYLE_SUFFIXES = frozenset({".css"}) | ASSET_SUFFIXES - {".pdf"}
# Files whose change can alter a page; anything else (an editor's temp file) is ignored.
SOURCE_SUFFIXES = frozenset({".md", ".yaml", ".yml", ".html", ".css"})
# The preview's own pages, which a chapter's page must not take the name of.
COVER, CONTENTS, PDF_PAGES = "cover.html", "contents.html", "pdf.html"
SITE_PAGES = (INDEX, PDF_PAGES, COVER, CONTENTS)
_RESERVED = {"index", "cover", "contents", "pdf"}
_RELATIVE_URL = re.compile(
    r"""(\s(?:src|href|poster)=)(["'])(?![a-zA-Z][a-zA-Z0-9+.-]*:|[#/?])([^"']+)\2""")


def default_out(guide_dir: Path | str) -> Path:
    """``<guide>/build/preview`` (or under guide.yaml's output folder), whatever the current
    directory."""
    return output_dir(guide_dir) / PREVIEW_FOLDER


def output_dir(guide_dir: Path | str) -> Path:
    """The guide's output folder; ``build/`` in it while its guide.yaml cannot be read."""
    try:
        return load_config(guide_dir).output_dir
    except GuideError:
        return Path(guide_dir).resolve() / "build"


def page_name(stem: str) -> str:
    """The preview file of a chapter file stem; never the index."""
    slug = re.sub(r"[^a-z0-9]+", "-", stem.lower()).strip("-") or "chapter"
    return f"{slug}.html" if slug not in _RESERVED else f"{slug}-chapter.html"


def rebase_urls(markup: str, prefix: str) -> str:
    """Point the relative src/href URLs of guide content at the guide folder."""
    return _RELATIVE_URL.sub(lambda m: f"{m[1]}{m[2]}{prefix}{m[3]}{m[2]}", markup)


def newest_edit(root: Path, since: float, *skip: Path) -> Path | None:
    """The newest file the PDF is made from that changed after ``since`` (None if none)."""
    newest, when = None, since
    outputs = output_dirs(root, output_dir(root))
    for folder in (root, BUILTIN_TEMPLATES, BUILTIN_STYLES, BUILTIN_KITS):
        for path in folder.rglob("*"):
            if (path.name.startswith(".") or path.suffix.lower() not in
                    SOURCE_SUFFIXES | ASSET_SUFFIXES or outside_the_pdf(path, outputs)
                    or any(path.is_relative_to(s) for s in skip)):
                continue
            mtime = _mtime(path)
            if mtime > when:
                newest, when = path, mtime
    return newest


def relative_url(path: Path, start: Path) -> str:
    try:
        return Path(os.path.relpath(path, start)).as_posix() + "/"
    except ValueError:  # another drive: only an absolute URL reaches it
        return path.as_uri() + "/"


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def shown(path: Path | str, root: Path) -> str:
    """A path as the author knows it: from the guide's folder, or the built-in folder's name;
    never an absolute path into a temporary folder."""
    path = Path(path)
    if not path.is_absolute():
        return path.as_posix()
    real = path.resolve()
    for base, label in ((root.parent, ""), (BUILTIN_TEMPLATES.parent, "leadguide/")):
        if real.is_relative_to(base):
            return label + real.relative_to(base).as_posix()
    return path.name


_TABLE_TAG = re.compile(r"<(/?)table\b[^>]*>", re.IGNORECASE)
_CAPTION = re.compile(r"<caption\b[^>]*>(.*?)</caption>", re.IGNORECASE | re.DOTALL)
_HEADING = re.compile(r"<h[1-6]\b[^>]*>(.*?)</h[1-6]>", re.IGNORECASE | re.DOTALL)


def scrollable_tables(markup: str) -> str:
    """Each outermost table in a box that scrolls sideways on a narrow screen: a region a
    keyboard can reach and scroll (tabindex), named by the table's caption, else by the
    heading before it (a landmark's name must be unique on the page)."""
    out, depth, start, last, names = [], 0, 0, 0, set()
    for tag in _TABLE_TAG.finditer(markup):
        if not tag.group(1):
            depth += 1
            if depth == 1:
                start = tag.start()
        elif depth:
            depth -= 1
            if depth == 0:
                table = markup[start:tag.end()]
                name = unique_name(_table_name(table, markup[:start]), names)
                out += [markup[last:start], '<div class="table-scroll" tabindex="0" role="region" '
                        f'aria-label="{html.escape(name, quote=True)}">', table, "</div>"]
                last = tag.end()
    return "".join(out) + markup[last:]


def _table_name(table: str, before: str) -> str:
    caption = _CAPTION.search(table)
    headings = _HEADING.findall(before)
    words = caption.group(1) if caption else (headings[-1] if headings else "")
    return html.unescape(re.sub(r"<[^>]+>|\s+", " ", words)).strip() or "Table"
