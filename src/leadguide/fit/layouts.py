"""One chapter laid out alone with candidate typography: stylesheets parsed once, trials
memoised (``ChapterLayouts``).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from ..guide.assets import allowed_roots, asset_fallbacks, stylesheets
from ..guide.chapters import Chapter
from ..guide.config import GuideConfig
from ..guide.fetcher import SafeFetcher
from ..guide.fitfile import KNOBS, fit_css, parse_value
from ..html.assemble import (make_environment, render_chapters, render_page, template_context,
                             theme_css)
from ..html.chapter import chapter_view
from ..layout.pagebreaks import chapter_document
from ..layout.pagefill import FORCED, page_fills


@dataclass(frozen=True)
class Trial:
    pages: int
    last_fill: float
    page_height: float  # of the content area, in CSS px
    flaws: int = 0  # widows, orphans and headings alone at a page foot
    inner_fill: float = 1.0  # the emptiest page before the last not ended by a forced break


class ChapterLayouts:
    """Lays out one chapter alone with candidate values; counts the layout passes."""

    def __init__(self, config: GuideConfig, chapters: list[Chapter], data: dict[str, Any]):
        from ..layout.render import parse_styles

        self.config = config
        self.env = make_environment(config)
        context = template_context(config, data)
        rendered = render_chapters(config, chapters, data, self.env)
        views = tuple(chapter_view(r) for r in rendered)
        self.sections = {r.chapter.path.name: render_page(self.env, r.chapter.template, {
            **context, "chapter": view, "chapters": views}) for r, view in zip(rendered, views)}
        self.anchors = {c.path.name: c.anchor for c in chapters}
        self.data = data
        self.fetcher = SafeFetcher(allowed_roots(config.root), asset_fallbacks(config.root))
        paths = stylesheets(config.root, config.kit, config.look)
        self.styles = parse_styles(paths, self.fetcher)
        self.design = design_values([p.read_text(encoding="utf-8") for p in paths] +
                                    [theme_css(replace(config, fit=replace(config.fit,
                                                                           chapters={})))])
        self.passes = 0
        self.cache: dict[tuple, Trial] = {}

    def trial(self, name: str, values: dict[str, float]) -> Trial:
        key = (name, tuple(sorted((k, round(v, 4)) for k, v in values.items())))
        if key not in self.cache:
            self.cache[key] = self._lay_out(name, values)
        return self.cache[key]

    def _lay_out(self, name: str, values: dict[str, float]) -> Trial:
        from weasyprint import HTML

        from ..layout.render import RENDER_OPTIONS, captured_weasyprint_log

        page = chapter_document(self.config, self.env, self.data, self.sections[name],
                                fit_css(self.anchors[name], values)).html
        with captured_weasyprint_log():
            document = HTML(string=page, base_url=self.config.root.as_uri() + "/",
                            url_fetcher=self.fetcher).render(
                stylesheets=self.styles.sheets, font_config=self.styles.font_config,
                **RENDER_OPTIONS)
        self.passes += 1
        fills = page_fills(document.pages, {1})
        height = document.pages[-1]._page_box.height if document.pages else 0.0
        flaws = sum(bool(f.widow) + bool(f.orphan) + bool(f.heading_at_foot) for f in fills)
        inner = [f.fill for f in fills[:-1] if f.ends != FORCED]
        return Trial(len(document.pages), fills[-1].fill if fills else 0.0, height, flaws,
                     min(inner, default=1.0))


def design_values(stylesheets: list[str]) -> dict[str, float]:
    """The knobs' values in the stylesheets' ``:root`` rules (the last one wins): what a
    chapter looks like when fit.yaml says nothing about it."""
    import tinycss2

    by_prop = {knob.prop: knob for knob in KNOBS}
    found = {knob.name: knob.default for knob in KNOBS}
    for css in stylesheets:
        for rule in tinycss2.parse_stylesheet(css, skip_comments=True, skip_whitespace=True):
            if rule.type != "qualified-rule" or tinycss2.serialize(rule.prelude).strip() != ":root":
                continue
            for declaration in tinycss2.parse_blocks_contents(rule.content, skip_comments=True,
                                                              skip_whitespace=True):
                knob = by_prop.get(getattr(declaration, "name", ""))
                if knob is not None:
                    value = parse_value(tinycss2.serialize(declaration.value).strip(), knob)
                    found[knob.name] = found[knob.name] if value is None else value
    return found
