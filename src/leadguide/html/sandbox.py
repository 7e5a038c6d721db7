"""Every template leadguide renders runs here: Jinja2's immutable sandbox, with bounded work.

A guide may come from a stranger, so its chapters and templates are untrusted code. The
sandbox refuses private attributes, mutation and anything that reaches the file system;
the meter bounds what a template may make (text size, total allocation, integer size) and
how long it may run (loop steps, calls and look-ups), so a hostile template ends in a
TemplateLimit at its line, not in a hang or a gigabyte process.
"""
from __future__ import annotations

import dataclasses
import io
import os
import re
import string
import threading
import time
import traceback
import types
from contextlib import contextmanager
from pathlib import Path, PurePath
from typing import Any, Callable, Iterable, Iterator, Mapping

import jinja2
from jinja2 import nodes
from jinja2.compiler import CodeGenerator
from jinja2.runtime import LoopContext, markup_join, str_join
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError
from jinja2.utils import Namespace
from markupsafe import Markup

from ..guide.guard import MAX_TEXT_BYTES, RefusedFile, read_text

MAX_TEXT = 2_000_000         # characters in any one value a template makes
MAX_OUTPUT = 8_000_000       # characters one render may output
MAX_ALLOCATED = 40_000_000   # characters one render may make in all its values together
MAX_STEPS = 300_000          # loop turns, look-ups, calls (5 each), includes (100) per render
MAX_SECONDS = 10.0           # a backstop for steps that cost more than most
MAX_INT_BITS = 20_000        # about 6,000 digits
MAX_ITEMS = 100_000          # items in a list a template makes (Jinja's range() cap too)


class TemplateLimit(SecurityError):
    """A template tried to do more work or make more text than any guide needs."""


# ---------------------------------------------------------------- the meter, per render


class _Meter(threading.local):
    depth = 0
    steps = 0
    allocated = 0
    deadline = 0.0


_METER = _Meter()


@contextmanager
def metered() -> Iterator[None]:
    """One render's budget; nested renders (includes, macros) share the outer one."""
    if _METER.depth == 0:
        _METER.steps = _METER.allocated = 0
        _METER.deadline = time.monotonic() + MAX_SECONDS
    _METER.depth += 1
    try:
        yield
    finally:
        _METER.depth -= 1


def tick(count: int = 1) -> None:
    if not _METER.depth:
        return  # not inside a render (loading a template, say): nothing to meter
    _METER.steps += count
    if _METER.steps > MAX_STEPS:
        raise TemplateLimit(f"the template does too much work (more than {MAX_STEPS:,} loop "
                            "turns, calls and look-ups): is a loop or macro running away?")
    if _METER.steps & 0xFF < count and time.monotonic() > _METER.deadline:
        raise TemplateLimit(f"the template takes too long (more than {MAX_SECONDS:.0f} s)")


def charge(size: int, what: str = "text") -> None:
    """Account for a value about to be made; refuse it if it is too big."""
    if size > MAX_TEXT:
        raise TemplateLimit(f"the template makes {what} too long ({size:,} characters; at most "
                            f"{MAX_TEXT:,})")
    _METER.allocated += size
    if _METER.depth and _METER.allocated > MAX_ALLOCATED:
        raise TemplateLimit(f"the template makes too much text in all (more than "
                            f"{MAX_ALLOCATED:,} characters)")


def size_of(value: Any, limit: int = MAX_ALLOCATED + 1) -> int:
    """About how many characters ``str(value)`` would be, counting shared parts each time.

    Stops counting past ``limit``; cycles count once."""
    seen: set[int] = set()

    def size(item: Any, left: int) -> int:
        if isinstance(item, (str, bytes, bytearray)):
            return len(item)
        if isinstance(item, bool) or item is None:
            return 5
        if isinstance(item, int):
            return item.bit_length() // 3 + 2
        if isinstance(item, float):
            return 24
        if id(item) in seen:
            return 5
        children = _children(item)
        if children is None:
            return 64
        seen.add(id(item))
        total = 2
        for child in children:
            total += size(child, left - total) + 2
            if total > left:
                break
        seen.discard(id(item))
        return total

    return size(value, limit)


def _children(item: Any) -> Iterable[Any] | None:
    if isinstance(item, Mapping):
        return (part for pair in item.items() for part in pair)
    if isinstance(item, (list, tuple, set, frozenset, range)):
        return item
    if isinstance(item, Namespace):
        return _children(item._Namespace__attrs)  # type: ignore[attr-defined]
    if dataclasses.is_dataclass(item) and not isinstance(item, type):
        return (getattr(item, f.name) for f in dataclasses.fields(item))
    return None


def _iter_metered(iterable: Any) -> Iterator[Any]:
    for item in iterable:
        tick()
        yield _text_if_path(item)


# ---------------------------------------------------------------- sizes before making them

_PERCENT = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?([a-zA-Z%])")


def _percent_size(template: str, args: Any) -> int:
    """An upper bound for ``template % args``."""
    values = list(args.values()) if isinstance(args, Mapping) else (
        list(args) if isinstance(args, tuple) else [args])
    largest = max((size_of(v) for v in values), default=0)
    total = len(template)
    for match in _PERCENT.finditer(template):
        width, precision, kind = match.groups()
        if "*" in (width, precision):
            raise TemplateLimit("'*' widths in % formatting are not allowed in templates")
        total += int(width or 0) + int(precision or 0) + (largest if kind != "%" else 0)
    return total


_SPEC_NUMBERS = re.compile(r"(\d+)")


def _format_size(template: str, args: tuple, kwargs: Mapping[str, Any]) -> int:
    """An upper bound for ``template.format(*args, **kwargs)``."""
    values = [*args, *kwargs.values()]
    largest = max((size_of(v) for v in values), default=0)
    total = 0
    try:
        fields = list(string.Formatter().parse(template))
    except ValueError:
        return len(template)  # str.format will raise the same error
    for literal, field, spec, _ in fields:
        total += len(literal)
        if field is None:
            continue
        if spec and "{" in spec:
            raise TemplateLimit("nested fields in format specs are not allowed in templates")
        total += largest + sum(int(n) for n in _SPEC_NUMBERS.findall(spec or ""))
    return total


def _str_method_size(text: str, method: str, args: tuple, kwargs: dict) -> int | None:
    """An upper bound for what a growing str method returns; None for the others."""
    def arg(index: int, name: str, default: Any = None) -> Any:
        return args[index] if len(args) > index else kwargs.get(name, default)

    if method in ("ljust", "rjust", "center", "zfill"):
        width = arg(0, "width", 0)
        return max(len(text), width if isinstance(width, int) else 0)
    if method == "expandtabs":
        tabsize = arg(0, "tabsize", 8)
        return len(text) + text.count("\t") * (tabsize if isinstance(tabsize, int) else 8)
    if method == "replace":
        old, new = arg(0, "old", ""), arg(1, "new", "")
        if isinstance(old, str) and isinstance(new, str):
            return len(text) + (text.count(old) if old else len(text) + 1) * len(new)
    if method == "join":
        parts = arg(0, "iterable", ())
        count = len(parts) if hasattr(parts, "__len__") else 0
        return size_of(parts) + max(count - 1, 0) * len(text)
    if method == "translate":
        table = arg(0, "table", {})
        if isinstance(table, Mapping):
            widest = max((size_of(v) for v in table.values()), default=1)
            return len(text) * max(widest, 1)
    if method in ("format", "format_map"):
        return None  # sized by _MeteredFormatter
    return None


def _binop_size(operator: str, left: Any, right: Any) -> None:
    """Refuse an operation whose result would be too big, before it is made."""
    if operator == "*":
        for seq, count in ((left, right), (right, left)):
            if isinstance(count, int) and not isinstance(seq, (int, float, bool)):
                if hasattr(seq, "__len__"):
                    charge(size_of(seq) * max(count, 0), "a repeated value")
                    if isinstance(seq, (list, tuple)) and len(seq) * count > MAX_ITEMS:
                        raise TemplateLimit(f"the template makes a list too long "
                                            f"(more than {MAX_ITEMS:,} items)")
                    return
        _check_int_bits(left, right, _bits(left) + _bits(right))
    elif operator == "**":
        if isinstance(left, int) and isinstance(right, int) and right > 0:
            _check_int_bits(left, right, max(_bits(left), 1) * right)
    elif operator == "+":
        if not isinstance(left, (int, float)) or not isinstance(right, (int, float)):
            charge(size_of(left) + size_of(right))
    elif operator == "%" and isinstance(left, str):
        charge(_percent_size(left, right), "formatted text")


def _bits(value: Any) -> int:
    return value.bit_length() if isinstance(value, int) else 0


def _check_int_bits(left: Any, right: Any, bits: int) -> None:
    if isinstance(left, int) and isinstance(right, int) and bits > MAX_INT_BITS:
        raise TemplateLimit(f"the template makes a number too big (about {bits:,} bits; at "
                            f"most {MAX_INT_BITS:,})")


class _MeteredFormatter(jinja2.sandbox.SandboxedFormatter):
    def vformat(self, format_string: str, args: Any, kwargs: Any) -> str:
        charge(_format_size(format_string, tuple(args), kwargs), "formatted text")
        return super().vformat(format_string, args, kwargs)


class _MeteredEscapeFormatter(_MeteredFormatter, jinja2.sandbox.SandboxedEscapeFormatter):
    pass


# ---------------------------------------------------------------- what templates may touch

# Values a template may never hold or look inside: files, paths, modules, classes.
_FORBIDDEN = (PurePath, io.IOBase, types.ModuleType, type, os.DirEntry, types.FrameType,
              types.CodeType, types.TracebackType)


# The classes among Jinja's own globals, which templates call to make helpers.
_ALLOWED_CLASSES = (dict, Namespace, jinja2.utils.Cycler, jinja2.utils.Joiner)


_METHOD_TYPES = (types.MethodType, types.BuiltinMethodType, types.MethodWrapperType)
_FORBIDDEN_TYPES: dict[type, bool] = {}


def _forbidden(value: Any) -> bool:
    """True for a file, path, module or class, or a method bound to one."""
    if any(value is allowed for allowed in _ALLOWED_CLASSES):
        return False
    if isinstance(value, _METHOD_TYPES):
        value = getattr(value, "__self__", None)
    kind = type(value)
    verdict = _FORBIDDEN_TYPES.get(kind)
    if verdict is None:
        verdict = _FORBIDDEN_TYPES[kind] = issubclass(kind, _FORBIDDEN)
    return verdict and not any(value is allowed for allowed in _ALLOWED_CLASSES)


def plain(value: Any) -> Any:
    """``value`` as read-only template data: dataclasses become attribute records, Paths
    are refused (a template has no business with the file system)."""
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, PurePath):
        raise TypeError(f"a path cannot be handed to a template: {value}")
    if isinstance(value, Mapping):
        return Record({str(k): plain(v) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        return tuple(plain(v) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return Record({f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)})
    raise TypeError(f"not plain template data: {type(value).__name__}")


class Record(Mapping):
    """A read-only bag of named values that templates read as ``record.name`` or
    ``record["name"]``."""

    def __init__(self, values: Mapping[str, Any]):
        self._values = dict(values)

    def __getattr__(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(name) from None

    def __getitem__(self, name: str) -> Any:
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Record({self._values!r})"


# ---------------------------------------------------------------- the environment


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
        return _iter_metered(iterable)

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
        return (super().is_safe_attribute(obj, attr, value) and not _forbidden(obj)
                and (isinstance(value, PurePath) or not _forbidden(value)))

    def is_safe_callable(self, obj: Any) -> bool:
        return super().is_safe_callable(obj) and not _forbidden(obj)

    def getattr(self, obj: Any, attribute: str) -> Any:
        tick()
        return _text_if_path(super().getattr(obj, attribute))

    def getitem(self, obj: Any, argument: Any) -> Any:
        tick()
        value = _text_if_path(super().getitem(obj, argument))
        if _forbidden(value):
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
        formatter: _MeteredFormatter = (
            _MeteredEscapeFormatter(self, escape=text.escape) if isinstance(text, Markup)
            else _MeteredFormatter(self))

        def formatted(*args: Any, **kwargs: Any) -> str:
            if value.__name__ == "format_map":
                if kwargs or len(args) != 1:
                    raise TypeError("format_map() takes exactly one argument")
                args, kwargs = (), args[0]
            return type(text)(formatter.vformat(text, args, kwargs))
        return formatted

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        tick()
        _binop_size(operator, left, right)
        return super().call_binop(context, operator, left, right)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        tick(5)
        if isinstance(__obj, LoopContext) and args:  # a recursive loop's next level
            args = (_iter_metered(args[0]), *args[1:])
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, str) and isinstance(__obj, types.BuiltinMethodType):
            plain_kwargs = {k: v for k, v in kwargs.items() if not k.startswith("_")}
            if __obj.__name__ == "join" and args and not hasattr(args[0], "__len__"):
                args = (_bounded_list(args[0]), *args[1:])
            size = _str_method_size(owner, __obj.__name__, args, plain_kwargs)
            if size is not None:
                charge(size)
        result = _text_if_path(super().call(__context, __obj, *args, **kwargs))
        if isinstance(result, (str, list, tuple)) and not isinstance(owner, LoopContext):
            charge(size_of(result, MAX_TEXT + 1))
        return result


def _text_if_path(value: Any) -> Any:
    """A path is only ever text to a template: it can be printed, never opened."""
    return str(value) if isinstance(value, PurePath) else value


def _bounded_list(iterable: Any) -> list:
    items = []
    for item in iterable:
        items.append(item)
        if len(items) > MAX_ITEMS:
            raise TemplateLimit(f"the template makes a list too long (more than "
                                f"{MAX_ITEMS:,} items)")
    return items


def _finalize(value: Any) -> Any:
    if _forbidden(value):
        raise SecurityError(f"a template cannot print a {type(value).__name__}")
    if not isinstance(value, str):
        charge(size_of(value, MAX_TEXT + 1))
    return value


# ---------------------------------------------------------------- filters, with sizes


def _sized_filter(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    pass_arg = getattr(fn, "jinja_pass_arg", None)

    def filtered(*args: Any, **kwargs: Any) -> Any:
        tick()
        first = 1 if pass_arg is not None else 0
        if name == "join" and len(args) > first and not hasattr(args[first], "__len__"):
            args = (*args[:first], _bounded_list(args[first]), *args[first + 1:])
        plain_args = args[first:]
        size = _filter_size(name, plain_args, kwargs)
        if size is not None:
            charge(size)
        result = _text_if_path(fn(*args, **kwargs))
        if isinstance(result, (str, list, tuple)):
            charge(size_of(result, MAX_TEXT + 1))
        return result

    filtered.__name__ = getattr(fn, "__name__", name)
    if pass_arg is not None:
        filtered.jinja_pass_arg = pass_arg  # type: ignore[attr-defined]
    return filtered


def _filter_size(name: str, args: tuple, kwargs: dict) -> int | None:
    """An upper bound for what a growing built-in filter returns; None for the others."""
    if not args:
        return None
    value, rest = args[0], args[1:]

    def arg(index: int, key: str, default: Any) -> Any:
        return rest[index] if len(rest) > index else kwargs.get(key, default)

    text = str(value) if isinstance(value, str) else None
    if name == "center" and text is not None:
        return _str_method_size(text, "center", rest, kwargs)
    if name == "indent" and text is not None:
        width = arg(0, "width", 4)
        pad = len(width) if isinstance(width, str) else (width if isinstance(width, int) else 4)
        return len(text) + (text.count("\n") + 1) * pad
    if name == "format" and text is not None:
        return _percent_size(text, kwargs or tuple(rest))
    if name == "replace" and text is not None:
        return _str_method_size(text, "replace", rest[:2], {})
    if name == "wordwrap" and text is not None:
        wrap = arg(3, "wrapstring", "\n")
        return len(text) * (1 + len(wrap or "\n"))
    if name in ("batch", "slice"):
        count = arg(0, "linecount" if name == "batch" else "slices", 1)
        if isinstance(count, int) and count > MAX_ITEMS:
            raise TemplateLimit(f"'{name}' of more than {MAX_ITEMS:,} is not allowed")
    if name == "join":
        separator = arg(0, "d", "")
        items = len(value) if hasattr(value, "__len__") else 0
        return size_of(value) + items * len(str(separator))
    return None


def _thousands(number: Any) -> str:
    return f"{number:,}"


class _RaiseError:
    """``raise_error("...")`` lets a template stop the build with a message at its line."""

    def __call__(self, message: str) -> None:
        raise TemplateRaised(str(message))

    def __repr__(self) -> str:
        return "raise_error"


_raise_error = _RaiseError()


class TemplateRaised(Exception):
    """raise_error("...") in a template."""


# ---------------------------------------------------------------- loading templates


class GuideLoader(jinja2.BaseLoader):
    """Templates by name from folders in order (a guide's own first), read through the guard."""

    def __init__(self, folders: list[Path], roots: tuple[Path, ...] | None = None):
        self.folders = [Path(folder) for folder in folders]
        self.roots = roots or tuple(self.folders)

    def get_source(self, environment: jinja2.Environment,
                   template: str) -> tuple[str, str, Callable[[], bool]]:
        parts = template.split("/")
        if template.startswith("/") or "\\" in template or any(p in ("", ".", "..")
                                                                   for p in parts):
            raise jinja2.TemplateNotFound(template)
        for folder in self.folders:
            path = folder.joinpath(*parts)
            if not os.path.lexists(path):
                continue
            try:
                text = read_text(path, self.roots, path, RefusedFile, MAX_TEXT_BYTES)
            except RefusedFile as refused:
                raise TemplateFileError(refused.message, path, refused.line) from None
            mtime = os.path.getmtime(path)
            return text, str(path), lambda path=path, mtime=mtime: _unchanged(path, mtime)
        raise jinja2.TemplateNotFound(template)

    def list_templates(self) -> list[str]:
        return sorted({p.relative_to(f).as_posix() for f in self.folders if f.is_dir()
                       for p in f.rglob("*") if p.is_file()})


class TemplateFileError(RefusedFile):
    """A template file the guard refused (outside the guide, not a file, not UTF-8)."""


def _unchanged(path: Path, mtime: float) -> bool:
    try:
        return os.path.getmtime(path) == mtime
    except OSError:
        return False


# ---------------------------------------------------------------- the factory


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
    env.filters["thousands"] = _thousands
    env.filters.update(filters or {})
    env.globals.update(globals or {})
    env.filters = {name: _sized_filter(name, fn) for name, fn in env.filters.items()}
    return env


def _metered_range(*args: int) -> range:
    charge(16 * len(range(*args)) if len(range(*args)) <= MAX_ITEMS else MAX_TEXT + 1,
           "a range")
    return jinja2.sandbox.safe_range(*args)


# ---------------------------------------------------------------- errors to messages


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
