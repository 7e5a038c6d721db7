"""The preview's HTML files (each chapter, the index, the PDF's pages, cover and contents),
written from a ``Preview``'s chapters through the preview templates."""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from ..atomic import write_bytes
from ..build import source_fingerprint
from ..errors import GuideError
from ..guide.assets import stylesheet_names
from ..guide.config import GuideConfig
from ..html.assemble import render_page, template_context, theme_css
from .paths import (CONTENTS, COVER, INDEX, PAGES_DIR, PDF_PAGES, SCREEN_STYLESHEET, SITE_PAGES,
                    newest_edit, rebase_urls, scrollable_tables, shown)
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
        preview = self.preview
        return [*(SITE_PAGES if preview.config else [INDEX]),
                *(state.page for state in preview.states.values())]

    def write_all(self) -> list[str]:
        site = self._site()
        pages = self._write_chapters(list(self.preview.states), site) + self._write_site(site)
        for gone in self.written - set(pages):  # a chapter deleted, renamed or dropped
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
        preview = self.preview
        assert preview.config and preview.env
        preview.page_errors.pop(page, None)
        try:
            markup = render_page(preview.env, template, {
                **template_context(preview.config, preview.data), "chapters": preview.views()})
        except GuideError as error:
            preview.page_errors[page] = error
            return ""
        except Exception as error:  # a broken template must show, not stop the preview
            preview.page_errors[page] = GuideError(f"{type(error).__name__}: {error}", template)
            return ""
        markup = scrollable_tables(rebase_urls(markup, preview.guide_prefix))
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
            section = scrollable_tables(rebase_urls(state.section, self.preview.guide_prefix))
            self._write(entry.page, "preview/chapter.html", {
                "entry": entry, "section": section, "source_json": source_json(state, entry.source),
                "previous": site.entries[at - 1] if at > 0 else None,
                "next": site.entries[at + 1] if at + 1 < len(site.entries) else None}, site)
        return [by_name[name].page for name in names]

    def _site(self) -> Site:
        preview = self.preview
        last = preview.last_build
        entries = [ChapterEntry.of(state, last, preview.root) for state in preview.states.values()]
        edited = newest_edit(preview.root, last.built_at, preview.out, preview.pdf) \
            if last else None
        listing = bool(last and not edited and last.sources and last.sources
                       != source_fingerprint(preview.root, preview.pdf, preview.config))
        return Site(entries, last, preview.config.pages if preview.config else None,
                    edited and shown(edited, preview.root), preview.pdf_state.note(preview.live),
                    stale_listing=listing)

    def _write(self, page: str, template: str, context: dict[str, Any], site: Site) -> None:
        preview = self.preview
        entry = context.get("entry")
        own = [entry.error] if entry and entry.error else []
        own += [preview.page_errors[page]] if page in preview.page_errors else []
        errors = [ShownError.of(e, preview.root) for e in unique(preview.global_errors + own)]
        if preview.config is None or preview.env is None:
            text = fallback_page(errors)
        else:
            try:
                text = render_page(preview.env, template, {
                    **template_context(preview.config, preview.data), **context,
                    **self._page_values(preview.config), "errors": errors, "site": site,
                    "page": page})
            except Exception as error:  # the preview's own templates are broken: say so plainly
                problem = error if isinstance(error, GuideError) else GuideError(
                    f"{type(error).__name__}: {error}", template)
                text = fallback_page([*errors, ShownError.of(problem, preview.root)])
        preview.out.mkdir(parents=True, exist_ok=True)
        write_bytes(preview.out / page, text.encode("utf-8"))

    def _page_values(self, config: GuideConfig) -> dict[str, Any]:
        """What every preview template reads besides the guide: styles, the PDF, links."""
        preview = self.preview
        sheets = (*stylesheet_names(config.root, config.kit, config.look), SCREEN_STYLESHEET)
        return {"theme_css": theme_css(config),
                "stylesheets": [f"styles/{name}?v={preview.styles_stamp}" for name in sheets],
                "last_build": preview.last_build, "index": INDEX, "pdf_href": preview.pdf_href,
                "page_size": re.sub(r"\W+", "", config.page_size.lower()),
                "pages_dir": PAGES_DIR}
