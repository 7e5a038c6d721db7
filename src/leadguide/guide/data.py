"""data/*.yaml: structured content that chapters place through macros, validated on load.

Any data file is available to templates as ``data.<stem>``. ``trackers.yaml`` is the core's
own schema; a guide's kit brings schemas for its files. A validated file rejects unknown keys.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ContentError, GuideError, raise_all
from .config import GuideConfig, load_config
from .guard import read_text
from .kit import Validator, get_kit
from .yamlsource import FieldReader, LocatedDict, LocatedList, load_yaml

CELL_TYPES = ("text", "number", "checkbox", "date")
_WIDTH = re.compile(r"^\d+(\.\d+)?(%|in|mm|cm|pt)$")
_TRACKER = {"title", "label", "rows", "columns", "notes", "style", "row_height", "cell_size"}
# grid: a spreadsheet of cells; checklist: tick box, the row's text, then notes; chart: large
# square cells to tick, mark or put a sticker in (a child's chart)
TRACKER_STYLES = ("grid", "checklist", "chart")
_LENGTH = re.compile(r"^\d+(\.\d+)?(in|mm|cm|pt)$")
_COLUMN = {"label", "type", "width"}


@dataclass(frozen=True)
class Column:
    label: str
    type: str
    width: str


@dataclass(frozen=True)
class Tracker:
    """A fillable grid: one row per label (or numbered blank rows), one cell per column."""

    name: str
    title: str
    label: str
    rows: tuple[str, ...]
    columns: tuple[Column, ...]
    notes: tuple[str, ...]
    style: str = "grid"
    row_height: str = ""  # a CSS length; "" is the style's own
    cell_size: str = ""

    @property
    def ordered_columns(self) -> tuple[tuple[int, Column], ...]:
        """(1-based field number, column) in print order: a checklist puts its tick boxes
        before the row's text, so the numbers (the fields' names) stay the data's."""
        numbered = tuple(enumerate(self.columns, start=1))
        if self.style != "checklist":
            return numbered
        return tuple(sorted(numbered, key=lambda item: item[1].type != "checkbox"))

    @property
    def label_at(self) -> int:
        """Where the row's label goes among ordered_columns: first, or after the tick boxes."""
        if self.style != "checklist":
            return 0
        return sum(1 for column in self.columns if column.type == "checkbox")

    @property
    def labelled(self) -> bool:
        return any(self.rows) or bool(self.label)


def load_data(config: GuideConfig | Path | str) -> dict[str, Any]:
    """Every ``data/*.yaml`` by file stem; files with a schema become validated objects.

    ``config`` may be a guide folder, whose guide.yaml is read first."""
    if not isinstance(config, GuideConfig):
        config = load_config(config)
    schemas = data_schemas(config)
    data: dict[str, Any] = {}
    errors: list[GuideError] = []
    for path in sorted((config.root / "data").glob("*.y*ml")):
        shown = path.relative_to(config.root.parent)
        try:
            raw = load_yaml(read_text(path, (config.root,), shown), shown, ContentError)
            data[path.stem] = _validate(schemas.get(path.stem), raw, shown)
        except GuideError as error:
            errors.append(error)
    raise_all(errors)
    return data


def data_schemas(config: GuideConfig) -> dict[str, Validator]:
    """The core's schemas, then the kit's (by data file stem)."""
    kit = dict(get_kit(config.kit).schemas) if config.kit else {}
    return {"trackers": validate_trackers, **kit}


def _validate(validator: Validator | None, raw: Any, shown: Path) -> Any:
    if validator is None:
        return raw
    reader = FieldReader(shown, ContentError)
    result = validator(reader.mapping(raw, shown.name, 1), reader)
    raise_all(reader.errors)
    return result


def validate_trackers(raw: LocatedDict, reader: FieldReader) -> dict[str, Tracker]:
    """``trackers.yaml``: tracker name → title, label, rows, columns, notes."""
    trackers = {}
    for name in raw:
        spec = reader.mapping(raw[name], f"tracker '{name}'", raw.line_of(name))
        reader.unknown_keys(spec, _TRACKER, name)
        trackers[name] = Tracker(name=name, title=reader.get(spec, "title", str, "", name),
                                 label=reader.get(spec, "label", str, "", name),
                                 rows=_rows(spec, name, reader),
                                 columns=tuple(_columns(spec, name, reader)),
                                 notes=tuple(_texts(spec, "notes", name, reader)),
                                 style=_style(spec, name, reader),
                                 row_height=_length(spec, "row_height", name, reader),
                                 cell_size=_length(spec, "cell_size", name, reader))
    return trackers


def _style(spec: LocatedDict, name: str, reader: FieldReader) -> str:
    style = reader.get(spec, "style", str, "grid", name)
    if style not in TRACKER_STYLES:
        reader.fail(f"'{name}.style' must be one of {', '.join(TRACKER_STYLES)}, not '{style}'",
                    spec.line_of("style"))
        return "grid"
    return style


def _length(spec: LocatedDict, key: str, name: str, reader: FieldReader) -> str:
    value = str(reader.get(spec, key, str, "", name) or "")
    if value and not _LENGTH.match(value):
        reader.fail(f"'{name}.{key}' must be a length like 28pt or 0.6in, not '{value}'",
                    spec.line_of(key))
        return ""
    return value


def _rows(spec: LocatedDict, name: str, reader: FieldReader) -> tuple[str, ...]:
    rows = spec.get("rows", 7)
    if isinstance(rows, int) and not isinstance(rows, bool):
        if not 1 <= rows <= 100:
            reader.fail(f"'{name}.rows' must be between 1 and 100", spec.line_of("rows"))
        return ("",) * max(min(rows, 100), 0)
    if not isinstance(rows, list):
        reader.fail(f"'{name}.rows' must be a number of rows or a list of row labels",
                    spec.line_of("rows"))
        return ()
    return tuple(_texts(spec, "rows", name, reader))


def _columns(spec: LocatedDict, name: str, reader: FieldReader):
    values = reader.get(spec, "columns", list, where=name) or []
    if not values:
        reader.fail(f"'{name}.columns' lists no column", spec.line_of("columns"))
    for index, item in enumerate(values):
        line = values.line_of(index) if isinstance(values, LocatedList) else spec.line
        where = f"{name}.columns[{index + 1}]"
        if isinstance(item, str):
            item = LocatedDict(label=item)
            item.line = line
        column = reader.mapping(item, where, line)
        reader.unknown_keys(column, _COLUMN, where)
        kind = reader.get(column, "type", str, "text", where)
        if kind not in CELL_TYPES:
            reader.fail(f"'{where}.type' must be one of {', '.join(CELL_TYPES)}, not '{kind}'",
                        column.line_of("type"))
        width = reader.get(column, "width", str, "", where)
        if width and not _WIDTH.match(width):
            reader.fail(f"'{where}.width' must be a length like 30% or 1.2in, not '{width}'",
                        column.line_of("width"))
            width = ""
        yield Column(label=reader.get(column, "label", str, where=where) or "", type=kind,
                     width=width)


def _texts(spec: LocatedDict, key: str, name: str, reader: FieldReader) -> list[str]:
    values = reader.get(spec, key, list, [], name)
    for index, value in enumerate(values):
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            line = values.line_of(index) if isinstance(values, LocatedList) else spec.line
            reader.fail(f"'{name}.{key}' item {index + 1} must be text", line)
    return [str(v) for v in values if isinstance(v, (str, int, float)) and not isinstance(v, bool)]
