"""The whole guide as one HTML document: chapters through the page templates."""
from __future__ import annotations

import re
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import jinja2

from ..errors import GuideError, TemplateError, raise_all
from ..guide.assets import allowed_roots, macro_templates, stylesheets, template_dirs
from ..guide.chapters import Chapter, chapter_anchor
from ..guide.config import GuideConfig
from ..guide.fitfile import fit_css
from ..guide.guard import CONTROL_CHARACTER, describe_control
from ..guide.nesting import MAX_DEPTH, html_depth_problem
from ..guide.theme import COVER_EXTRAS, theme_css as _theme_css
from .chapter import RenderedChapter, chapter_view, macro_functions, render_chapter
from .qr import qr_data_uri
from .references import file_links, resolve_chapters
from .sandbox import GuideSandbox, describe, make_sandbox, template_frame
from .values import plain


@dataclass(frozen=True)
class GuideHtml:
    """The assembled document and what the PDF stage needs to render it."""

    html: str
    base_url: str
    stylesheets: tuple[Path, ...]
    chapters: tuple[RenderedChapter, ...]

    @property
    def warnings(self) -> list[GuideError]:
        """What a draft prints and a strict build refuses: links to pages that are not
        chapters, with nothing to resolve them against."""
        return [warning for chapter in self.chapters for warning in chapter.link_warnings]


class ChapterStore(Protocol):
    """Rendered chapters kept between builds (``cache.ChapterCache``); Jinja2 keeps the
    templates' compiled code in ``templates``."""

    templates: Path

    def get(self, chapter: Chapter) -> RenderedChapter | None: ...
    def put(self, rendered: RenderedChapter) -> None: ...


def make_environment(config: GuideConfig, bytecode_folder: Path | None = None) -> GuideSandbox:
    """The guide's templates, its kit's, then the built-in ones, in the sandbox.

    With a ``bytecode_folder``, Jinja2 keeps the templates' compiled code there (by template
    and source checksum; this environment's alone, as the code depends on its settings)."""
    env = make_sandbox(template_dirs(config.root, config.kit), allowed_roots(config.root),
                       filters={"slug": _slug, "printed_url": printed_url},
                       globals={"qr_data_uri": qr_data_uri, "data_list": _data_list})
    if bytecode_folder is not None:
        bytecode_folder.mkdir(parents=True, exist_ok=True)
        env.bytecode_cache = jinja2.FileSystemBytecodeCache(str(bytecode_folder))
    return env


def guide_view(config: GuideConfig) -> Any:
    """guide.yaml as plain read-only data for templates: no paths, nothing that reads files."""
    return plain({f.name: getattr(config, f.name) for f in fields(config) if f.name != "root"})


@jinja2.pass_context
def _data_list(context: jinja2.runtime.Context, value: Any, macro: str) -> list:
    """A macro's list argument: the list itself, or the name of a data file that is one."""
    if isinstance(value, str):
        data = context.get("data", {})
        if value not in data:
            raise LookupError(f"{macro}(): no data file data/{value}.yaml "
                              f"(data files: {', '.join(sorted(data)) or 'none'})")
        value = data[value]
    if not isinstance(value, (list, tuple)) or not value:
        raise LookupError(f"{macro}() needs a non-empty list (or the name of a data file "
                          f"holding one), not {type(value).__name__}")
    return list(value)


def _slug(value: Any) -> str:
    return re.sub(r"[^a-z0-9]+", "-", str(value).lower()).strip("-")[:40] or "item"


def printed_url(url: str) -> str:
    """A link as a reader types it from paper: no scheme, no www, no tracking query."""
    parts = urlsplit(url)
    host = parts.netloc.removeprefix("www.")
    return f"{host}{parts.path.rstrip('/')}" if host else url


def template_context(config: GuideConfig, data: dict[str, Any]) -> dict[str, Any]:
    return {"guide": guide_view(config), "data": data}


def render_chapters(config: GuideConfig, chapters: list[Chapter], data: dict[str, Any],
                    env: jinja2.Environment, cache: ChapterStore | None = None
                    ) -> list[RenderedChapter]:
    """Every chapter body rendered (or found in ``cache``); all broken chapters are reported
    together."""
    context = template_context(config, data)
    macros: dict[str, Any] | None = None  # made when a chapter that needs them is rendered
    rendered, errors = [], []
    for chapter in chapters:
        found = cache.get(chapter) if cache else None
        if found:
            rendered.append(found)
            continue
        if macros is None and chapter.templating:  # a broken macro file stops the build here
            macros = macro_functions(env, context, macro_templates(config.root, config.kit))
        try:
            rendered.append(render_chapter(chapter, env, context, macros or {}))
            if cache:
                cache.put(rendered[-1])
        except GuideError as error:
            errors.append(error)
    raise_all(errors)
    return resolve_chapters(config, rendered)


def theme_css(config: GuideConfig) -> str:
    """guide.yaml's theme and page as CSS custom properties, overriding theme.css, then the
    typography fit.yaml gives each fitted chapter."""
    extras = tuple(key for key in COVER_EXTRAS if config.cover.get(key))
    rules = [_theme_css(config.theme, config.page, extras)]
    rules += [fit_css(chapter_anchor(name, config.chapters.index(name) + 1), values)
              for name, values in config.fit.chapters.items() if values]
    return "\n".join(rules)


def assemble(config: GuideConfig, chapters: list[Chapter], data: dict[str, Any],
             page_template: str = "guide.html", cache: ChapterStore | None = None) -> GuideHtml:
    """Render chapters, then lay them into the page template as one document.

    With a ``cache``, compiled templates and rendered chapters are kept there, so a build
    after a one-chapter edit renders that chapter only."""
    env = make_environment(config, cache.templates if cache else None)
    rendered = render_chapters(config, chapters, data, env, cache)
    context = {**template_context(config, data),
               "chapters": tuple(chapter_view(r) for r in rendered),
               "theme_css": theme_css(config),
               "toc_index": _toc_index(config, rendered)}
    html = render_page(env, page_template, context)
    if re.search("[\ud800-\udfff]", html):
        raise TemplateError("the page templates make half a character (a lone surrogate): "
                            "write the character itself", page_template)
    if control := CONTROL_CHARACTER.search(html):
        raise TemplateError(f"the page templates make {describe_control(control.group())}, an "
                            "invisible character: remove it from the value it comes from",
                            page_template)
    too_deep = html_depth_problem(html, limit=2 * MAX_DEPTH)  # chapters are checked alone
    if too_deep:
        raise TemplateError(f"the page templates make {too_deep[1]}", page_template)
    raise_all([_file_link_error(config, url, page_template) for url in file_links(html)])
    return GuideHtml(html, config.root.as_uri() + "/", stylesheets(config.root, config.kit, config.look),
                     tuple(rendered))


def render_page(env: jinja2.Environment, name: str, context: dict[str, Any]) -> str:
    """A page template rendered; any failure is a TemplateError at the template's line."""
    try:
        return env.get_template(name).render(context)
    except GuideError:
        raise
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"template syntax: {exc.message}", exc.filename or name,
                            exc.lineno) from None
    except jinja2.TemplateNotFound as exc:
        folders = ", ".join(str(f) for f in getattr(env.loader, "folders", []))
        raise TemplateError(f"template not found: {exc.name} (looked in {folders})",
                            *_template_location(env, exc, name)) from None
    except Exception as exc:  # a template's own runtime error or a sandbox limit
        raise TemplateError(describe(exc), *_template_location(env, exc, name)) from None


def _template_location(env: jinja2.Environment, exc: BaseException,
                       name: str) -> tuple[str, int | None]:
    folders = tuple(str(f) for f in getattr(env.loader, "folders", []))
    found = template_frame(exc, lambda filename: filename.startswith(folders))
    return found if found else (name, None)


def _file_link_error(config: GuideConfig, url: str, page_template: str) -> GuideError:
    """A link from guide.yaml or a template that would point at a file on the build machine."""
    text = config.config_path.read_text(encoding="utf-8")
    index = text.find(url)
    where = ((config.config_path, text.count("\n", 0, index) + 1) if index >= 0
             else (Path(page_template), None))
    return TemplateError(f"link '{url}' is not a web or mail address: in the PDF it would point "
                         "at a file on the machine that built it", *where)


def _toc_index(config: GuideConfig, rendered: list[RenderedChapter]) -> int:
    """How many chapters come before the table of contents."""
    if not config.toc_after:
        return 0
    names = [r.chapter.path.name for r in rendered]
    return names.index(config.toc_after) + 1 if config.toc_after in names else 0

