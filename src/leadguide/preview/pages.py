"""The preview's HTML files (each chapter, the index, the PDF's pages, cover and contents),
written from a ``Preview``'s chapters through the preview templates."""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from ..atomic import write_bytes
from ..errors import GuideError
from ..guide.assets import stylesheet_names
from ..html.assemble import render_page, template_context, theme_css
from .paths import (CONTENTS, COVER, INDEX, PAGES_DIR, PDF_PAGES, SCREEN_STYLESHEET, SITE_PAGES,
                    newest_edit, rebase_urls, shown)
from .status import ChapterEntry, ShownError, Site, fallback_page, source_json, unique

if TYPE_CHECKING:  # the preview whose pages these are; it makes its SitePages
    from .site import Preview


class SitePages:
    """Writes a preview's pages, rewriting the sidebar everywhere only when what it shows moved
    on."""

    def __init__(self, preview: Preview):
        self.preview = preview
        self.written: set[str] = set()
        self.nav_written: tuple = ()

    def all_pages(self) -> list[str]:
        return [*(SITE_PAGES if self.preview.config else [INDEX]), *(s.page for s in self.preview.states.values())]

    def write_all(self) -> list[str]:
        site = self._site()
        pages = self._write_chapters(list(self.preview.states), site) + self._write_site(site)
        for gone in self.written - set(pages):  # a chapter dropped from guide.yaml
            (self.preview.out / gone).unlink(missing_ok=True)
        self.written = set(pages)
        self.nav_written = site.key
        return pages

    def write_changed(self, names: list[str], everything: bool = False) -> list[str]:
        """These chapters' pages; every page when what the sidebar and index show moved on."""
        site = self._site()
        if everything or site.key != self.nav_written:
            self.nav_written = site.key
            return self._write_chapters(list(self.preview.states), site) + self._write_site(site)
        return self._write_chapters(names, site)

    def _write_site(self, site: Site) -> list[str]:
        """The index, the whole PDF's pages, and the cover and contents as the PDF has them."""
        self._write(INDEX, "preview/index.html", {}, site)
        if not self.preview.config or not self.preview.env:
            return [INDEX]  # the error page alone
        self._write(PDF_PAGES, "preview/pdf.html", {}, site)
        for page, template, title in ((COVER, "cover.html", "Cover"),
                                      (CONTENTS, "toc.html", "Contents")):
            self._write(page, "preview/section.html",
                        {"section": self._section(page, template, site), "title": title,
                         "page_name": page}, site)
        return list(SITE_PAGES)

    def _section(self, page: str, template: str, site: Site) -> str:
        """The cover or the contents, rendered with the PDF's template, linked to the pages."""
        assert self.preview.config and self.preview.env
        self.preview.page_errors.pop(page, None)
        try:
            markup = render_page(self.preview.env, template, {
                **template_context(self.preview.config, self.preview.data), "chapters": self.preview.views()})
        except GuideError as error:
            self.preview.page_errors[page] = error
            return ""
        except Exception as error:  # a broken template must show, not stop the preview
            self.preview.page_errors[page] = GuideError(f"{type(error).__name__}: {error}", template)
            return ""
        markup = rebase_urls(markup, self.preview.guide_prefix)
        for entry in site.entries:  # contents links go to the chapters' preview pages
            if entry.anchor:
                markup = markup.replace(f'href="#{entry.anchor}"', f'href="{entry.page}"')
        return markup

    def _write_chapters(self, names: list[str], site: Site) -> list[str]:
        by_name = {entry.name: entry for entry in site.entries}
        for name in names:
            entry = by_name[name]
            at = site.entries.index(entry)
            state = self.preview.states[name]
            section = rebase_urls(state.section, self.preview.guide_prefix)
            self._write(entry.page, "preview/chapter.html", {
                "entry": entry, "section": section, "source_json": source_json(state, entry.source),
                "previous": site.entries[at - 1] if at > 0 else None,
                "next": site.entries[at + 1] if at + 1 < len(site.entries) else None}, site)
        return [by_name[name].page for name in names]

    def _site(self) -> Site:
        entries = [ChapterEntry.of(state, self.preview.last_build, self.preview.root) for state in
                   self.preview.states.values()]
        stale = newest_edit(self.preview.root, self.preview.last_build.built_at, self.preview.out, self.preview.pdf) \
            if self.preview.last_build else None
        return Site(entries, self.preview.last_build, self.preview.config.pages if self.preview.config else None,
                    stale and shown(stale, self.preview.root), self.preview.pdf_state.note(self.preview.live))

    def _write(self, page: str, template: str, context: dict[str, Any], site: Site) -> None:
        entry = context.get("entry")
        own = [entry.error] if entry and entry.error else []
        own += [self.preview.page_errors[page]] if page in self.preview.page_errors else []
        errors = [ShownError.of(e, self.preview.root) for e in unique(self.preview.global_errors + own)]
        if self.preview.config is None or self.preview.env is None:
            text = fallback_page(errors)
        else:
            try:
                text = render_page(self.preview.env, template, {
                    **template_context(self.preview.config, self.preview.data), **context,
                    "theme_css": theme_css(self.preview.config), "errors": errors, "site": site,
                    "page": page, "stylesheets": [f"styles/{name}?v={self.preview.styles_stamp}" for name in (
                        *stylesheet_names(self.preview.config.root, self.preview.config.kit,
                                           self.preview.config.look), SCREEN_STYLESHEET)],
                    "last_build": self.preview.last_build, "index": INDEX, "pdf_href": self.preview.pdf_href,
                    "page_size": re.sub(r"\W+", "", self.preview.config.page_size.lower()),
                    "pages_dir": PAGES_DIR})
            except Exception as error:  # the preview's own templates are broken: say so plainly
                problem = error if isinstance(error, GuideError) else GuideError(
                    f"{type(error).__name__}: {error}", template)
                text = fallback_page([*errors, ShownError.of(problem, self.preview.root)])
        self.preview.out.mkdir(parents=True, exist_ok=True)
        write_bytes(self.preview.out / page, text.encode("utf-8"))
