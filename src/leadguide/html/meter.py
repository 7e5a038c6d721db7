"""Bounded work for one render: the limits, the per-render meter (steps, seconds, characters
made) and the size of a value.
"""
from __future__ import annotations

import dataclasses
import threading
import time
from contextlib import contextmanager
from typing import Any, Iterable, Iterator, Mapping

from jinja2.sandbox import SecurityError
from jinja2.utils import Namespace

from .values import text_if_path

MAX_TEXT = 2_000_000         # characters in any one value a template makes
MAX_OUTPUT = 8_000_000       # characters one render may output
MAX_ALLOCATED = 40_000_000   # characters one render may make in all its values together
MAX_STEPS = 300_000          # loop turns, look-ups, calls (5 each), includes (100) per render
MAX_SECONDS = 10.0           # a backstop for steps that cost more than most
MAX_INT_BITS = 20_000        # about 6,000 digits
MAX_ITEMS = 100_000          # items in a list a template makes (Jinja's range() cap too)


class TemplateLimit(SecurityError):
    """A template tried to do more work or make more text than any guide needs."""


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


def iter_metered(iterable: Any) -> Iterator[Any]:
    for item in iterable:
        tick()
        yield text_if_path(item)


def bounded_list(iterable: Any) -> list:
    items = []
    for item in iterable:
        items.append(item)
        if len(items) > MAX_ITEMS:
            raise TemplateLimit(f"the template makes a list too long (more than "
                                f"{MAX_ITEMS:,} items)")
    return items
