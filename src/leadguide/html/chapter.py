"""A chapter's body to HTML: Jinja2 macros place data, then Markdown renders the text."""
from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, fields
from typing import Any, Callable

import jinja2

from ..errors import ContentError, GuideError, TemplateError
from ..guide.chapters import Chapter
from ..guide.guard import CONTROL_CHARACTER, describe_control
from ..guide.nesting import markdown_depth_problem
from ..markdown.codeguard import protect
from ..markdown.engine import converter as markdown_converter
from ..markdown.typeset import typeset
from .sandbox import describe, template_frame
from .values import Record

_CHAPTER_TEMPLATE = "<chapter>"


@dataclass(frozen=True)
class Heading:
    level: int
    id: str
    title: str


@dataclass(frozen=True)
class RenderedChapter:
    chapter: Chapter
    html: str
    headings: tuple[Heading, ...]
    # links to pages that are not chapters, printed as text: a strict build refuses them
    link_warnings: tuple[GuideError, ...] = ()

    def __getattr__(self, name: str) -> Any:
        # Templates read chapter fields (title, number, anchor) straight off the result.
        return getattr(self.chapter, name)


class BlockStash:
    """Keeps macro HTML out of Markdown's way: a token goes in, the HTML comes back after."""

    def __init__(self) -> None:
        self.blocks: list[str] = []
        # Unguessable, so text in a chapter can never pose as a placed block.
        self.key = f"LGBLOCK{secrets.token_hex(8)}"
        self.pattern = re.compile(rf"(?:<p>)?{self.key}N(\d+)X(?:</p>)?")

    def wrap(self, macro: Callable[..., Any]) -> Callable[..., str]:
        def placed(*args: Any, **kwargs: Any) -> str:
            self.blocks.append(str(macro(*args, **kwargs)))
            return f"\n\n{self.key}N{len(self.blocks) - 1}X\n\n"
        return placed

    def restore(self, html: str) -> str:
        return self.pattern.sub(lambda m: self.blocks[int(m.group(1))], html)


def macro_functions(env: jinja2.Environment, context: dict[str, Any],
                    templates: list[str] | None = None) -> dict[str, Callable]:
    """The public macros of macros.html (and of each template after it, which may replace
    them by name: a kit's, then the guide's own), bound to the guide's data."""
    macros: dict[str, Callable] = {}
    for name in templates or ["macros.html"]:
        module = _macro_module(env, context, name)
        macros.update({attr: getattr(module, attr) for attr in dir(module)
                       if not attr.startswith("_") and callable(getattr(module, attr))})
    return macros


def _macro_module(env: jinja2.Environment, context: dict[str, Any], name: str) -> Any:
    try:
        return env.get_template(name).make_module(vars=context)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"template syntax: {exc.message}", exc.filename or name,
                            exc.lineno) from None
    except jinja2.TemplateNotFound as exc:
        raise TemplateError(f"template not found: {exc.name}", name) from None
    except GuideError:
        raise
    except Exception as exc:  # a runtime error or sandbox limit at the template's top level
        found = template_frame(exc, lambda filename: filename.endswith(name))
        raise TemplateError(describe(exc), *(found or (name, None))) from None


def render_chapter(chapter: Chapter, env: jinja2.Environment, context: dict[str, Any],
                   macros: dict[str, Callable] | None = None) -> RenderedChapter:
    """``macros`` (from macro_functions) can be shared by all chapters of one guide."""
    stash = BlockStash()
    macros = {name: stash.wrap(fn) for name, fn in
              (macro_functions(env, context) if macros is None else macros).items()}
    _check_depth(chapter, chapter.body, chapter.body_line)
    source = (_run_jinja(chapter, env, {**context, **macros, "chapter": chapter_view(chapter)})
              if chapter.templating else chapter.body)
    converter = markdown_converter(chapter.slug)
    try:
        html = typeset(stash.restore(converter.convert(source)))
    except RecursionError:
        raise ContentError("nested too deeply for Markdown (quotes, lists, emphasis or HTML)",
                           chapter.path, chapter.body_line) from None
    _check_depth(chapter, html, None)
    if _SURROGATE.search(html):
        raise ContentError("the chapter makes half a character (a lone surrogate such as "
                           "'\\ud800'): write the character itself", chapter.path,
                           _surrogate_line(chapter))
    if control := CONTROL_CHARACTER.search(html):
        raise ContentError(f"the chapter's template code makes {describe_control(control.group())}"
                           ", an invisible character: remove it from the value it comes from",
                           chapter.path, chapter.body_line)
    html = html.replace('id="fn:', f'id="{chapter.slug}-fn:').replace(
        'href="#fn:', f'href="#{chapter.slug}-fn:').replace(
        'id="fnref:', f'id="{chapter.slug}-fnref:').replace(
        'href="#fnref:', f'href="#{chapter.slug}-fnref:')
    return RenderedChapter(chapter, html, tuple(_headings(converter.toc_tokens)))


_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]|\\U0000[dD][89a-fA-F]")


def _surrogate_line(chapter: Chapter) -> int | None:
    match = _SURROGATE_ESCAPE.search(chapter.body)
    return chapter.body_line + chapter.body.count("\n", 0, match.start()) if match else None


def _check_depth(chapter: Chapter, text: str, first_line: int | None) -> None:
    """Refuse nesting deep enough to overflow a parser (Markdown's or WeasyPrint's)."""
    problem = markdown_depth_problem(text)
    if problem:
        line, message = problem
        where = first_line + line - 1 if first_line else None
        hint = "" if first_line else " (in what the chapter's macros made)"
        raise ContentError(f"{message}{hint}: no guide needs that many levels", chapter.path,
                           where)


def chapter_view(chapter: Chapter | RenderedChapter) -> Record:
    """A chapter as plain read-only data for templates (no path, nothing that reads files)."""
    source = chapter.chapter if isinstance(chapter, RenderedChapter) else chapter
    names = [f.name for f in fields(source) if f.name not in ("path", "body", "body_line")]
    values = {name: getattr(source, name) for name in [*names, "anchor", "title", "title_html"]}
    if isinstance(chapter, RenderedChapter):
        values["html"] = chapter.html
        values["headings"] = tuple(Record(vars(h)) for h in chapter.headings)
    return Record(values)


def _headings(tokens: list[dict]) -> list[Heading]:
    found: list[Heading] = []
    for token in tokens:
        found.append(Heading(token["level"], token["id"], token["name"]))
        found.extend(_headings(token.get("children", [])))
    return found


def _run_jinja(chapter: Chapter, env: jinja2.Environment, context: dict[str, Any]) -> str:
    body, restore_code = protect(chapter.body)  # code is never templated
    try:
        code = env.compile(body, _CHAPTER_TEMPLATE, _CHAPTER_TEMPLATE)
        template = env.template_class.from_code(env, code, env.make_globals(None))
        return restore_code(template.render(context))
    except jinja2.TemplateSyntaxError as exc:
        raise _chapter_error(chapter, f"template syntax: {exc.message}", exc.lineno) from None
    except GuideError:
        raise
    except Exception as exc:  # a macro's bad argument, an unknown name, a sandbox limit
        found = template_frame(exc, lambda name: name == _CHAPTER_TEMPLATE)
        raise _chapter_error(chapter, describe(exc), found[1] if found else None) from None


def _chapter_error(chapter: Chapter, message: str, line: int | None) -> TemplateError:
    absolute = chapter.body_line + line - 1 if line else None
    return TemplateError(message, chapter.path, absolute)
