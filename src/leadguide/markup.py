"""A chapter's body to HTML: Jinja2 macros place data, then Markdown renders the text."""
from __future__ import annotations

import re
import traceback
from dataclasses import dataclass
from typing import Any, Callable

import jinja2

from .chapters import Chapter
from .codeguard import protect
from .errors import GuideError, TemplateError
from .mdengine import converter as markdown_converter

_CHAPTER_TEMPLATE = "<chapter>"
_TOKEN = "LGBLOCK{}X"
_TOKEN_RE = re.compile(r"(?:<p>)?LGBLOCK(\d+)X(?:</p>)?")


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

    def __getattr__(self, name: str) -> Any:
        # Templates read chapter fields (title, number, anchor) straight off the result.
        return getattr(self.chapter, name)


class BlockStash:
    """Keeps macro HTML out of Markdown's way: a token goes in, the HTML comes back after."""

    def __init__(self) -> None:
        self.blocks: list[str] = []

    def wrap(self, macro: Callable[..., Any]) -> Callable[..., str]:
        def placed(*args: Any, **kwargs: Any) -> str:
            self.blocks.append(str(macro(*args, **kwargs)))
            return f"\n\n{_TOKEN.format(len(self.blocks) - 1)}\n\n"
        return placed

    def restore(self, html: str) -> str:
        return _TOKEN_RE.sub(lambda m: self.blocks[int(m.group(1))], html)


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
    except jinja2.TemplateError as exc:
        raise TemplateError(f"{exc}", name) from None


def render_chapter(chapter: Chapter, env: jinja2.Environment, context: dict[str, Any],
                   macros: dict[str, Callable] | None = None) -> RenderedChapter:
    """``macros`` (from macro_functions) can be shared by all chapters of one guide."""
    stash = BlockStash()
    macros = {name: stash.wrap(fn) for name, fn in
              (macros or macro_functions(env, context)).items()}
    source = (_run_jinja(chapter, env, {**context, **macros, "chapter": chapter})
              if chapter.templating else chapter.body)
    converter = markdown_converter(chapter.slug)
    html = stash.restore(converter.convert(source))
    html = html.replace('id="fn:', f'id="{chapter.slug}-fn:').replace(
        'href="#fn:', f'href="#{chapter.slug}-fn:').replace(
        'id="fnref:', f'id="{chapter.slug}-fnref:').replace(
        'href="#fnref:', f'href="#{chapter.slug}-fnref:')
    return RenderedChapter(chapter, html, tuple(_headings(converter.toc_tokens)))


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
    except Exception as exc:  # a macro's bad argument, an unknown name, a lookup that failed
        line = _chapter_line(exc)
        raise _chapter_error(chapter, _describe(exc), line) from None


def _chapter_line(exc: BaseException) -> int | None:
    lines = [frame.lineno for frame in traceback.extract_tb(exc.__traceback__)
             if frame.filename == _CHAPTER_TEMPLATE]
    return lines[-1] if lines else None


def _describe(exc: BaseException) -> str:
    if isinstance(exc, jinja2.UndefinedError):
        return f"{exc.message}: check the spelling of the name or the macro's arguments"
    if isinstance(exc, LookupError):
        return str(exc.args[0]) if exc.args else "lookup failed"
    return f"{type(exc).__name__}: {exc}"


def _chapter_error(chapter: Chapter, message: str, line: int | None) -> TemplateError:
    absolute = chapter.body_line + line - 1 if line else None
    return TemplateError(message, chapter.path, absolute)
