"""YAML loading that remembers where every value came from, and a small field reader."""
from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import yaml

from ..errors import GuideError
from .guard import CONTROL_CHARACTER, describe_control


class LocatedDict(dict):
    """A mapping that knows its own line and the line of each key (1-based)."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.line = 0
        self.key_lines: dict[str, int] = {}

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)


class LocatedList(list):
    """A sequence that knows its own line and the line of each item (1-based)."""

    def __init__(self, *args: Any):
        super().__init__(*args)
        self.line = 0
        self.item_lines: list[int] = []

    def line_of(self, index: int) -> int:
        return self.item_lines[index] if index < len(self.item_lines) else self.line


class _Loader(yaml.SafeLoader):
    """SafeLoader building located containers and refusing duplicate keys."""

    line_offset = 0

    def _line(self, node: yaml.Node) -> int:
        return node.start_mark.line + 1 + self.line_offset

    def construct_located_mapping(self, node: yaml.MappingNode) -> LocatedDict:
        mapping = LocatedDict()
        mapping.line, mapping.key_lines = self._line(node), {}
        yield mapping
        self.flatten_mapping(node)
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, (str, int, float, bool)) and key is not None:
                raise yaml.constructor.ConstructorError(
                    None, None, "a key must be plain text", key_node.start_mark)
            key = str(key)
            if key in mapping:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key '{key}'", key_node.start_mark)
            mapping[key] = self.construct_object(value_node, deep=True)
            mapping.key_lines[key] = self._line(key_node)

    def construct_located_sequence(self, node: yaml.SequenceNode) -> LocatedList:
        sequence = LocatedList()
        sequence.line = self._line(node)
        sequence.item_lines = [self._line(child) for child in node.value]
        yield sequence
        sequence.extend(self.construct_object(child, deep=True) for child in node.value)


def _construct_text(loader: _Loader, node: yaml.ScalarNode) -> str:
    text = loader.construct_scalar(node)
    surrogate = _SURROGATE.search(text)
    if surrogate:
        raise yaml.constructor.ConstructorError(
            None, None, f"'\\u{ord(surrogate.group()):04x}' is half of a character (a lone "
            "surrogate): write the character itself", node.start_mark)
    if control := CONTROL_CHARACTER.search(text):
        raise yaml.constructor.ConstructorError(
            None, None, f"{describe_control(control.group())} in this text (written as an "
            "escape?): remove it, text never needs one", node.start_mark)
    return text


_SURROGATE = re.compile("[\ud800-\udfff]")
_Loader.add_constructor("tag:yaml.org,2002:str", _construct_text)
_Loader.add_constructor("tag:yaml.org,2002:map", _Loader.construct_located_mapping)
_Loader.add_constructor("tag:yaml.org,2002:seq", _Loader.construct_located_sequence)
# Dates stay text: a guide never needs datetime objects and they surprise templates.
_Loader.add_constructor("tag:yaml.org,2002:timestamp", yaml.SafeLoader.construct_yaml_str)


def load_yaml(text: str, path: Path, error: type[GuideError], first_line: int = 1) -> Any:
    """Parse YAML text; a syntax error becomes ``error`` with the file and line."""
    loader = None
    try:
        loader = _Loader(text)
        loader.line_offset = first_line - 1
        return loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        # A key without its ':' is noticed a line later; the key's own line is the one to fix.
        simple_key = exc.context == "while scanning a simple key" and exc.context_mark
        mark = exc.context_mark if simple_key else exc.problem_mark or exc.context_mark
        line = mark.line + first_line if mark else None
        problem = exc.problem or exc.context or "invalid YAML"
        opened = (exc.context_mark.line if exc.context == "while scanning a quoted scalar"
                  and exc.context_mark else _runaway_quote(text, mark.line if mark else None))
        # A value refused after parsing (ConstructorError) was read as written: any quote
        # spanning lines before it is a real multi-line value, not a runaway.
        if opened is not None and not isinstance(exc, yaml.constructor.ConstructorError):
            raise error(f"YAML: this quote is not closed on its line (YAML then reads on to "
                        f"line {line}: {problem}): close it, or drop the quotes",
                        path, opened + first_line) from None
        raise error(f"YAML: {problem}", path, line) from None
    except yaml.YAMLError as exc:
        raise error(f"YAML: {exc}", path, first_line) from None
    except RecursionError:
        raise error("YAML: nested too deeply", path, first_line) from None
    finally:
        if loader is not None:
            loader.dispose()


# No number in a guide is bigger (pages, grams, calories): a bigger one, NaN or infinity is
# a typo, and would only explode later in arithmetic or layout.
MAX_NUMBER = 1_000_000_000


def _sane_number(value: float) -> bool:
    return math.isfinite(value) and abs(value) <= MAX_NUMBER


def _runaway_quote(text: str, error_line: int | None) -> int | None:
    """The 0-based line of a quoted value that runs on past its line, before an error.

    An unclosed quote swallows lines until the next quote of its kind; the error shows up
    there, far from the typo."""
    if error_line is None:
        return None
    found = None
    try:
        for token in yaml.scan(text, Loader=yaml.SafeLoader):
            if token.start_mark.line > error_line:
                break
            if isinstance(token, yaml.ScalarToken) and token.style in ('"', "'") and \
                    token.end_mark.line > token.start_mark.line:
                found = token.start_mark.line
    except yaml.YAMLError:
        pass
    return found


_KIND_NAMES = {str: "text", int: "a whole number", float: "a number", bool: "true or false",
               list: "a list", dict: "a mapping"}


def _type_name(value: Any) -> str:
    for kind, name in _KIND_NAMES.items():
        if isinstance(value, kind) and not (kind is int and isinstance(value, bool)):
            return name
    return "empty" if value is None else type(value).__name__


class FieldReader:
    """Reads typed fields out of located mappings, collecting every problem it meets."""

    _MISSING = object()

    def __init__(self, path: Path, error: type[GuideError], prefix: str = ""):
        self.path, self.error, self.prefix = path, error, prefix
        self.errors: list[GuideError] = []

    def fail(self, message: str, line: int | None) -> None:
        self.errors.append(self.error(f"{self.prefix}{message}", self.path, line))

    def mapping(self, value: Any, where: str, line: int | None = None) -> LocatedDict:
        if isinstance(value, LocatedDict):
            return value
        self.fail(f"{where} must be a mapping of 'key: value' lines, not {_type_name(value)}", line)
        return LocatedDict()

    def get(self, mapping: LocatedDict, key: str, kind: type, default: Any = _MISSING,
            where: str = "") -> Any:
        """Return ``mapping[key]`` checked against ``kind``; record an error if it is wrong."""
        label = f"{where}.{key}" if where else key
        if key not in mapping or mapping[key] is None:
            if default is self._MISSING:
                self.fail(f"'{label}' is required", mapping.line or 1)
                return None
            return default
        value = mapping[key]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if kind is str and isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            self.fail(f"'{label}' must be {_KIND_NAMES.get(kind, kind.__name__)}, "
                      f"not {_type_name(value)}", mapping.line_of(key))
            return None if default is self._MISSING else default
        if kind in (int, float) and not _sane_number(value):
            self.fail(f"'{label}' must be a number between -{MAX_NUMBER:,} and {MAX_NUMBER:,}, "
                      f"not {value}", mapping.line_of(key))
            return None if default is self._MISSING else default
        return value

    def unknown_keys(self, mapping: LocatedDict, allowed: set[str], where: str = "") -> None:
        for key in mapping:
            if key not in allowed:
                label = f"{where}.{key}" if where else key
                known = ", ".join(sorted(allowed))
                self.fail(f"unknown key '{label}' (known keys: {known})", mapping.line_of(key))


def text_mapping(raw: LocatedDict, key: str, reader: FieldReader,
                  where: str = "") -> dict[str, str]:
    label = f"{where}.{key}" if where else key
    mapping = reader.mapping(reader.get(raw, key, dict, LocatedDict(), where), label,
                             raw.line_of(key))
    return {name: reader.get(mapping, name, str, "", label) for name in mapping}
