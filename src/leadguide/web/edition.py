"""``build --web``: the web edition, ``<name>-web/`` beside the PDF.

The chapters are the PDF's own rendered chapters (``html.assemble.render_chapters``, through
the build's chapter cache), each in its page template, then made for a screen
(``web.markup``, ``web.images``) and written as one page each, with a contents page
(index.html), into a temporary folder that replaces the last edition whole. Every link is
relative and every file is in the folder: it works from disk and from any static host, and
asks nothing of any other site (a Content-Security-Policy says so to the browser).

Reading figures hook: each chapter page's ``<main>`` carries ``data-chapter`` (the chapter's
stable id, its slug) and ``data-chapter-number``, and ends with an empty
``<div id="chapter-end" data-chapter-end>``: what a first-party script needs to tell
"opened" from "read to the end". ``POLICY`` allows the page's own scripts and connections
only: the files on disk have none, and the signup service adds its first-party beacon to the
pages it serves (``signup.reading.with_beacon``).
"""
from __future__ import annotations

import html
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..atomic import write_bytes
from ..guide.assets import allowed_roots, stylesheet_names
from ..guide.chapters import Chapter
from ..guide.config import GuideConfig
from ..html.assemble import (ChapterStore, make_environment, render_chapters, render_page,
                             template_context, theme_css)
from ..html.chapter import RenderedChapter, chapter_view
from .assets import WEB_STYLESHEET, copy_styles, copy_theme_files, prefer_woff2
from .images import FOLDER as IMAGES, ScreenImages
from .markup import element_ids, link_pages, scroll_boxes, tracker_notes

INDEX = "index.html"
STYLES = "styles"
THEME_STYLESHEET = "guide-theme.css"  # guide.yaml's theme as custom properties
# No request to any other site, no script, no form: the pages' own files and data: images.
POLICY = ("default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
          "font-src 'self'; script-src 'self'; connect-src 'self'; base-uri 'none'; "
          "form-action 'none'")


@dataclass(frozen=True)
class WebPage:
    """One chapter's page: its file, its chapter and its markup made for a screen."""

    file: str
    chapter: RenderedChapter
    section: str

    @property
    def id(self) -> str:
        """The chapter's stable id (its slug): what reading figures count it by."""
        return self.chapter.chapter.slug


@dataclass(frozen=True)
class WebEdition:
    folder: Path
    pages: tuple[str, ...]  # index.html first, then each chapter's page


def web_folder(pdf: Path) -> Path:
    """Where the web edition of ``pdf`` goes: ``<name>-web/`` beside it."""
    return pdf.with_name(f"{pdf.stem}-web")


def page_file(chapter: Chapter) -> str:
    return f"{chapter.slug}.html" if chapter.slug != "index" else "index-chapter.html"


def write_web_edition(config: GuideConfig, chapters: list[Chapter], data: dict[str, Any],
                      pdf: Path, store: ChapterStore | None = None) -> WebEdition:
    """Write the web edition of the guide whose PDF is ``pdf``; ``store`` is the build's
    chapter cache, so chapters the build just rendered are not rendered again."""
    target = web_folder(pdf)
    target.parent.mkdir(parents=True, exist_ok=True)
    _clear_litter(target)
    temp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        pages = _write_pages(config, chapters, data, pdf, store, temp)
        _replace(temp, target)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    return WebEdition(target, pages)


def _write_pages(config: GuideConfig, chapters: list[Chapter], data: dict[str, Any],
                 pdf: Path, store: ChapterStore | None, out: Path) -> tuple[str, ...]:
    env = make_environment(config, store.templates if store else None)
    rendered = render_chapters(config, chapters, data, env, store)
    context = template_context(config, data)
    views = tuple(chapter_view(r) for r in rendered)
    pages = [WebPage(page_file(r.chapter), r, render_page(env, r.chapter.template, {
        **context, "chapter": chapter_view(r), "chapters": views})) for r in rendered]
    pdf_href = f"../{pdf.name}"
    shared = {**context, "chapters": views, "pdf_href": pdf_href, "policy": POLICY,
              "theme_css": "", "stylesheets": _write_styles(config, out / STYLES),
              "index": INDEX, "entries": [{"file": p.file, "id": p.id,
                                           "chapter": chapter_view(p.chapter)} for p in pages]}
    write_bytes(out / INDEX, render_page(env, "web/index.html", shared).encode("utf-8"))
    where, entries = _where(pages), shared["entries"]
    images = ScreenImages(config.root, out / IMAGES, allowed_roots(config.root))
    for at, page in enumerate(pages):
        section = link_pages(page.section, element_ids(page.section), where)
        section = images.rewrite(tracker_notes(scroll_boxes(section), pdf_href))
        text = render_page(env, "web/chapter.html", {
            **shared, "section": section, "entry": entries[at],
            "asks_already": _asks_already(config, section),
            "previous": entries[at - 1] if at > 0 else None,
            "next": entries[at + 1] if at + 1 < len(pages) else None})
        write_bytes(out / page.file, text.encode("utf-8"))
    return (INDEX, *(page.file for page in pages))


def _asks_already(config: GuideConfig, section: str) -> bool:
    """Whether a chapter holds the call to action itself (a CTA box of its own): then the
    page does not end with a second one."""
    url = config.cta.url if config.cta else ""
    return bool(url) and (url in section or html.escape(url, quote=True) in section)


def _where(pages: list[WebPage]) -> dict[str, tuple[str, bool]]:
    """Each id to the page that has it (and whether it is the chapter's own anchor)."""
    where: dict[str, tuple[str, bool]] = {}
    for page in pages:
        where.update({i: (page.file, False) for i in element_ids(page.section)})
        where[page.chapter.chapter.anchor] = (page.file, True)
    return where


def _write_styles(config: GuideConfig, styles: Path) -> list[str]:
    """The stylesheets, fonts and icons copied in, the theme's sheet written; returns the
    sheets' addresses in cascade order: the PDF's, the theme's, then web.css."""
    copy_styles(config.root, styles, config.kit)
    theme = theme_css(config)
    write_bytes(styles / THEME_STYLESHEET, theme.encode("utf-8"))
    copy_theme_files(theme, config.root, styles)
    prefer_woff2(styles)
    names = [*stylesheet_names(config.root, config.kit, config.look), THEME_STYLESHEET,
             WEB_STYLESHEET]
    return [f"{STYLES}/{name}" for name in names]


LITTER_AGE = 3600.0  # seconds: a temp folder this old belongs to a build that was killed


def _clear_litter(target: Path) -> None:
    """Temp folders of killed builds (never a running build's: those are younger)."""
    now = time.time()
    for folder in target.parent.glob(f".{target.name}.*"):
        try:
            if folder.is_dir() and now - folder.stat().st_mtime > LITTER_AGE:
                shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            continue


def _replace(temp: Path, target: Path) -> None:
    """The new edition in place of the old one: renamed, never written into."""
    os.chmod(temp, 0o755)  # mkdtemp makes it private; a static host must read it
    if not target.exists():
        os.replace(temp, target)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=target.parent))
    os.replace(target, old / "edition")
    os.replace(temp, target)
    shutil.rmtree(old, ignore_errors=True)
