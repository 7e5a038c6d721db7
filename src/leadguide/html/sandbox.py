"""Every template leadguide renders runs here: Jinja2's immutable sandbox, with bounded work.

A guide may come from a stranger, so its chapters and templates are untrusted code. The
sandbox refuses private attributes, mutation and anything that reaches the file system;
the meter bounds what a template may make (text size, total allocation, integer size) and
how long it may run (loop steps, calls and look-ups), so a hostile template ends in a
TemplateLimit at its line, not in a hang or a gigabyte process.
"""
from __future__ import annotations

import traceback
import types
from pathlib import Path, PurePath
from typing import Any, Callable, Iterable, Iterator, Mapping

import jinja2
from jinja2 import nodes
from jinja2.compiler import CodeGenerator
from jinja2.runtime import LoopContext, markup_join, str_join
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError
from markupsafe import Markup

from .loader import GuideLoader
from .meter import (MAX_ITEMS, MAX_OUTPUT, MAX_TEXT, TemplateLimit, bounded_list, charge,
                    iter_metered, metered, size_of, tick)
from .sizes import (MeteredEscapeFormatter, MeteredFormatter, binop_size, sized_filter,
                    str_method_size, thousands)
from .values import forbidden, text_if_path


class _MeteredCode(CodeGenerator):
    """Compiles every ``{% for %}`` to count its turns and every ``~`` to size its result."""

    def visit_Template(self, node: nodes.Template, frame: Any = None) -> None:
        for loop in node.find_all(nodes.For):
            loop.iter = nodes.Call(nodes.EnvironmentAttribute("metered_iter"), [loop.iter],
                                   [], None, None, lineno=loop.iter.lineno)
        super().visit_Template(node, frame)

    def visit_Concat(self, node: nodes.Concat, frame: Any) -> None:
        self.write("environment.metered_join((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("), context.eval_ctx.autoescape)")


class MeteredTemplate(jinja2.Template):
    def render(self, *args: Any, **kwargs: Any) -> str:
        with metered():
            return super().render(*args, **kwargs)

    def make_module(self, *args: Any, **kwargs: Any) -> Any:
        with metered():
            return super().make_module(*args, **kwargs)


class GuideSandbox(ImmutableSandboxedEnvironment):
    """Jinja2's immutable sandbox with the meter and file-system refusals."""

    code_generator_class = _MeteredCode
    template_class = MeteredTemplate
    intercepted_binops = frozenset({"*", "**", "+", "%"})

    @staticmethod
    def metered_iter(iterable: Any) -> Iterator[Any]:
        return iter_metered(iterable)

    @staticmethod
    def metered_join(parts: tuple, autoescape: bool) -> str:
        charge(sum(size_of(part) for part in parts))
        return markup_join(parts) if autoescape else str_join(parts)

    @staticmethod
    def concat(parts: Iterable[str]) -> str:  # type: ignore[override]
        collected, total = [], 0
        for part in parts:
            total += len(part)
            if total > MAX_OUTPUT:
                limit = TemplateLimit(f"the template's output is too long (more than "
                                      f"{MAX_OUTPUT:,} characters)")
                # Raised inside the template's generator, the error carries its line.
                throw = getattr(parts, "throw", None)
                if throw is not None:
                    throw(limit)
                raise limit
            collected.append(part)
        return "".join(collected)

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        return (super().is_safe_attribute(obj, attr, value) and not forbidden(obj)
                and (isinstance(value, PurePath) or not forbidden(value)))

    def is_safe_callable(self, obj: Any) -> bool:
        return super().is_safe_callable(obj) and not forbidden(obj)

    def getattr(self, obj: Any, attribute: str) -> Any:
        tick()
        return text_if_path(super().getattr(obj, attribute))

    def getitem(self, obj: Any, argument: Any) -> Any:
        tick()
        value = text_if_path(super().getitem(obj, argument))
        if forbidden(value):
            return self.unsafe_undefined(obj, str(argument))
        return value

    def get_template(self, name: Any, parent: str | None = None,
                     globals: Any = None) -> jinja2.Template:
        tick(100)
        return super().get_template(name, parent, globals)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        if not isinstance(value, (types.MethodType, types.BuiltinMethodType)) or \
                value.__name__ not in ("format", "format_map") or \
                not isinstance(value.__self__, str):
            return None
        text: str = value.__self__
        formatter: MeteredFormatter = (
            MeteredEscapeFormatter(self, escape=text.escape) if isinstance(text, Markup)
            else MeteredFormatter(self))

        def formatted(*args: Any, **kwargs: Any) -> str:
            if value.__name__ == "format_map":
                if kwargs or len(args) != 1:
                    raise TypeError("format_map() takes exactly one argument")
                args, kwargs = (), args[0]
            return type(text)(formatter.vformat(text, args, kwargs))
        return formatted

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        tick()
        binop_size(operator, left, right)
        return super().call_binop(context, operator, left, right)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        tick(5)
        if isinstance(__obj, LoopContext) and args:  # a recursive loop's next level
            args = (iter_metered(args[0]), *args[1:])
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, str) and isinstance(__obj, types.BuiltinMethodType):
            plain_kwargs = {k: v for k, v in kwargs.items() if not k.startswith("_")}
            if __obj.__name__ == "join" and args and not hasattr(args[0], "__len__"):
                args = (bounded_list(args[0]), *args[1:])
            size = str_method_size(owner, __obj.__name__, args, plain_kwargs)
            if size is not None:
                charge(size)
        result = text_if_path(super().call(__context, __obj, *args, **kwargs))
        if isinstance(result, (str, list, tuple)) and not isinstance(owner, LoopContext):
            charge(size_of(result, MAX_TEXT + 1))
        return result


def _finalize(value: Any) -> Any:
    if forbidden(value):
        raise SecurityError(f"a template cannot print a {type(value).__name__}")
    if not isinstance(value, str):
        charge(size_of(value, MAX_TEXT + 1))
    return value


class _RaiseError:
    """``raise_error("...")`` lets a template stop the build with a message at its line."""

    def __call__(self, message: str) -> None:
        raise TemplateRaised(str(message))

    def __repr__(self) -> str:
        return "raise_error"


_raise_error = _RaiseError()


class TemplateRaised(Exception):
    """raise_error("...") in a template."""


def make_sandbox(folders: list[Path] | None = None, roots: tuple[Path, ...] | None = None,
                 autoescape: bool | Callable[[str | None], bool] | None = None,
                 filters: Mapping[str, Callable] | None = None,
                 globals: Mapping[str, Any] | None = None) -> GuideSandbox:
    """The one way leadguide makes a template environment.

    ``folders``: where templates are looked up by name, in order; ``roots``: the folders the
    guard lets them resolve into (default: the same). HTML templates autoescape. ``filters``
    and ``globals`` add the caller's own (filters are metered like the built-in ones)."""
    loader = GuideLoader(folders, roots) if folders else None
    env = GuideSandbox(
        loader=loader, undefined=jinja2.StrictUndefined,
        autoescape=jinja2.select_autoescape(["html", "htm", "xml"], default_for_string=True)
        if autoescape is None else autoescape,
        trim_blocks=True, lstrip_blocks=True, finalize=_finalize, auto_reload=True)
    env.globals.pop("lipsum", None)  # makes unbounded text and no guide needs it
    env.globals["raise_error"] = _raise_error
    env.globals["range"] = _metered_range
    env.filters["thousands"] = thousands
    env.filters.update(filters or {})
    env.globals.update(globals or {})
    env.filters = {name: sized_filter(name, fn) for name, fn in env.filters.items()}
    return env


def _metered_range(*args: int) -> range:
    charge(16 * len(range(*args)) if len(range(*args)) <= MAX_ITEMS else MAX_TEXT + 1,
           "a range")
    return jinja2.sandbox.safe_range(*args)


def template_frame(exc: BaseException, filenames: Callable[[str], bool]) -> tuple[str, int] | None:
    """The innermost template line in ``exc``'s traceback (Jinja rewrites frames to those)."""
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if filenames(frame.filename):
            return frame.filename, frame.lineno or 0
    return None


def describe(exc: BaseException) -> str:
    """What went wrong in a template, for a ``path:line: message``."""
    if isinstance(exc, jinja2.UndefinedError):
        return f"{exc.message}: check the spelling of the name or the macro's arguments"
    if isinstance(exc, (TemplateLimit, TemplateRaised)):
        return str(exc)
    if isinstance(exc, SecurityError):
        return f"not allowed in a template: {exc}"
    if isinstance(exc, RecursionError):
        return ("nested too deeply: does a template include or extend itself, or a macro "
                "call itself without end?")
    if isinstance(exc, MemoryError):
        return "the template needs more memory than any guide should"
    if isinstance(exc, ZeroDivisionError):
        return "division by zero"
    if isinstance(exc, LookupError):
        return str(exc.args[0]) if exc.args else "lookup failed"
    if isinstance(exc, jinja2.TemplateNotFound):
        return f"template not found: {exc.name}"
    return f"{type(exc).__name__}: {exc}"
