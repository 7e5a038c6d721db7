"""What a template may hold: plain read-only data (``plain``, ``Record``); files, paths,
modules and classes are refused.
"""
from __future__ import annotations

import dataclasses
import io
import os
import types
from pathlib import PurePath
from typing import Any, Iterator, Mapping

import jinja2
from jinja2.utils import Namespace

# Values a template may never hold or look inside: files, paths, modules, classes.
_FORBIDDEN = (PurePath, io.IOBase, types.ModuleType, type, os.DirEntry, types.FrameType,
              types.CodeType, types.TracebackType)
# The classes among Jinja's own globals, which templates call to make helpers.
_ALLOWED_CLASSES = (dict, Namespace, jinja2.utils.Cycler, jinja2.utils.Joiner)
_METHOD_TYPES = (types.MethodType, types.BuiltinMethodType, types.MethodWrapperType)
_FORBIDDEN_TYPES: dict[type, bool] = {}  # each type's verdict, once


def forbidden(value: Any) -> bool:
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


def text_if_path(value: Any) -> Any:
    """A path is only ever text to a template: it can be printed, never opened."""
    return str(value) if isinstance(value, PurePath) else value
