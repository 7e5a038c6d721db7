"""The size of what a template is about to make, charged to the meter before it is made:
``%`` and ``str.format``, growing ``str`` methods, operators, growing filters.
"""
from __future__ import annotations

import re
import string
from typing import Any, Callable, Mapping

import jinja2

from .meter import (MAX_INT_BITS, MAX_ITEMS, MAX_TEXT, TemplateLimit, bounded_list, charge, size_of,
                    tick)
from .values import text_if_path

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


def str_method_size(text: str, method: str, args: tuple, kwargs: dict) -> int | None:
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
        return None  # sized by MeteredFormatter
    return None


def binop_size(operator: str, left: Any, right: Any) -> None:
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


class MeteredFormatter(jinja2.sandbox.SandboxedFormatter):
    def vformat(self, format_string: str, args: Any, kwargs: Any) -> str:
        charge(_format_size(format_string, tuple(args), kwargs), "formatted text")
        return super().vformat(format_string, args, kwargs)


class MeteredEscapeFormatter(MeteredFormatter, jinja2.sandbox.SandboxedEscapeFormatter):
    pass


def sized_filter(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    pass_arg = getattr(fn, "jinja_pass_arg", None)

    def filtered(*args: Any, **kwargs: Any) -> Any:
        tick()
        first = 1 if pass_arg is not None else 0
        if name == "join" and len(args) > first and not hasattr(args[first], "__len__"):
            args = (*args[:first], bounded_list(args[first]), *args[first + 1:])
        plain_args = args[first:]
        size = _filter_size(name, plain_args, kwargs)
        if size is not None:
            charge(size)
        result = text_if_path(fn(*args, **kwargs))
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
        return str_method_size(text, "center", rest, kwargs)
    if name == "indent" and text is not None:
        width = arg(0, "width", 4)
        pad = len(width) if isinstance(width, str) else (width if isinstance(width, int) else 4)
        return len(text) + (text.count("\n") + 1) * pad
    if name == "format" and text is not None:
        return _percent_size(text, kwargs or tuple(rest))
    if name == "replace" and text is not None:
        return str_method_size(text, "replace", rest[:2], {})
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


def thousands(number: Any) -> str:
    return f"{number:,}"
