"""Typography a chapter may be fitted with: the bounds in guide.yaml, the values in fit.yaml.

``leadguide fit`` writes ``fit.yaml`` beside ``guide.yaml``; every build reads it, so a fitted
guide builds the same way each time and the values are there to review in a diff.
"""
from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..errors import ConfigError, raise_all
from .yamlsource import FieldReader, LocatedDict, load_yaml

FIT_NAME = "fit.yaml"
DEFAULT_MIN_FILL = 0.75  # every page at least three quarters full, starters included


@dataclass(frozen=True)
class Knob:
    """One setting fit may change: a CSS custom property of the chapter, within bounds."""

    name: str
    prop: str
    unit: str
    low: float
    high: float
    step: float
    label: str
    default: float  # the built-in theme's value, used when no stylesheet sets the property

    def css(self, value: float) -> str:
        return f"{self.prop}: {format_value(value, self.unit)};"

    def text(self, value: float) -> str:
        return format_value(value, self.unit)


# In the order fit tries them: the change a reader notices least comes first.
KNOBS: tuple[Knob, ...] = (
    Knob("paragraph_space", "--space-paragraph", "em", 0.4, 0.9, 0.05, "space after paragraphs",
         0.65),
    Knob("heading_space", "--space-heading", "", 0.6, 1.3, 0.05, "space around headings", 1.0),
    Knob("leading", "--leading", "", 1.3, 1.6, 0.01, "line height", 1.45),
    Knob("image_scale", "--scale-image", "", 0.8, 1.0, 0.05, "figure width", 1.0),
    Knob("body_size", "--size-body", "pt", 10.0, 11.5, 0.1, "body text size", 10.5),
)
KNOB_NAMES = {knob.name: knob for knob in KNOBS}
_VALUE = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*([a-z%]*)\s*$")


def format_value(value: float, unit: str) -> str:
    return f"{round(value, 3):g}{unit}"


@dataclass(frozen=True)
class FitSettings:
    """guide.yaml's ``fit:`` section (the bounds) and fit.yaml (the chosen values)."""

    bounds: dict[str, tuple[float, float]] = field(
        default_factory=lambda: {k.name: (k.low, k.high) for k in KNOBS})
    min_fill: float = DEFAULT_MIN_FILL
    chapters: dict[str, dict[str, float]] = field(default_factory=dict)

    def knob(self, name: str) -> Knob:
        knob = KNOB_NAMES[name]
        low, high = self.bounds[name]
        return replace(knob, low=low, high=high)

    def knobs(self) -> tuple[Knob, ...]:
        return tuple(self.knob(k.name) for k in KNOBS)


def parse_value(raw: object, knob: Knob) -> float | None:
    """``0.5em``, ``10.5pt``, ``1.4`` or a bare number, in the knob's unit."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, (int, float)):
        return float(raw)
    match = _VALUE.match(str(raw))
    if not match or match.group(2) not in ("", knob.unit):
        return None
    return float(match.group(1))


def read_fit_section(raw: LocatedDict, reader: FieldReader) -> tuple[dict[str, tuple[float, float]],
                                                                     float]:
    """The ``fit:`` section of guide.yaml: ``min_fill`` and ``[low, high]`` per knob."""
    reader.unknown_keys(raw, {"min_fill", *KNOB_NAMES}, "fit")
    bounds = {k.name: (k.low, k.high) for k in KNOBS}
    for name in (known for known in KNOB_NAMES if known in raw):  # errors in a fixed order
        pair = _bounds(raw[name], KNOB_NAMES[name])
        if pair is None:
            reader.fail(f"'fit.{name}' must be two values [lowest, highest] like "
                        f"[{KNOB_NAMES[name].text(KNOB_NAMES[name].low)}, "
                        f"{KNOB_NAMES[name].text(KNOB_NAMES[name].high)}]", raw.line_of(name))
        else:
            bounds[name] = pair
    min_fill = reader.get(raw, "min_fill", float, DEFAULT_MIN_FILL, "fit")
    if min_fill is not None and not 0 <= min_fill <= 1:
        reader.fail("'fit.min_fill' must be a share of the page from 0 to 1, like 0.75",
                    raw.line_of("min_fill"))
        min_fill = DEFAULT_MIN_FILL
    return bounds, min_fill


def _bounds(raw: object, knob: Knob) -> tuple[float, float] | None:
    if not isinstance(raw, list) or len(raw) != 2:
        return None
    low, high = (parse_value(value, knob) for value in raw)
    if low is None or high is None or low > high or low <= 0:
        return None
    return low, high


def load_fit_values(root: Path, shown: Path, chapters: tuple[str, ...],
                    bounds: dict[str, tuple[float, float]]) -> dict[str, dict[str, float]]:
    """fit.yaml's per-chapter values, checked against the chapters and the bounds."""
    path = root / FIT_NAME
    if not path.is_file():
        return {}
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError("not UTF-8 text: save the file as UTF-8", shown) from None
    raw = load_yaml(text, shown, ConfigError)
    reader = FieldReader(shown, ConfigError)
    top = reader.mapping(raw if raw is not None else LocatedDict(), FIT_NAME, 1)
    reader.unknown_keys(top, {"chapters"})
    found = reader.mapping(reader.get(top, "chapters", dict, LocatedDict()), "chapters",
                           top.line_of("chapters"))
    values = {name: _chapter_values(found, name, chapters, bounds, reader) for name in found}
    raise_all(reader.errors)
    return values


def _chapter_values(found: LocatedDict, name: str, chapters: tuple[str, ...],
                    bounds: dict[str, tuple[float, float]], reader: FieldReader) -> dict[str, float]:
    if name not in chapters:
        reader.fail(f"chapter '{name}' is not in guide.yaml's chapters: run 'leadguide fit' "
                    "again or delete its entry", found.line_of(name))
        return {}
    entry = reader.mapping(found[name], f"chapter '{name}'", found.line_of(name))
    reader.unknown_keys(entry, set(KNOB_NAMES), name)
    values: dict[str, float] = {}
    for key in (known for known in KNOB_NAMES if known in entry):  # KNOB_NAMES' order, not
        # a set's: the CSS they make is in every part's HTML, and a part's cache key with it
        knob, (low, high) = KNOB_NAMES[key], bounds[key]
        value = parse_value(entry[key], knob)
        if value is None or not low - 1e-9 <= value <= high + 1e-9:
            reader.fail(f"'{name}.{key}' must be from {knob.text(low)} to {knob.text(high)} "
                        f"(the bounds in guide.yaml's fit: section), not {entry[key]!r}",
                        entry.line_of(key))
        else:
            values[key] = value
    return values


def fit_css(anchor: str, values: dict[str, float]) -> str:
    """A chapter's fitted values as custom properties on its section."""
    if not values:
        return ""
    declarations = " ".join(KNOB_NAMES[name].css(values[name]) for name in KNOB_NAMES
                            if name in values)
    return f"#{anchor} {{ {declarations} }}"


def write_fit_file(root: Path, chapters: dict[str, dict[str, float]]) -> Path:
    """fit.yaml, written whole or not at all; chapters with no values are left out."""
    lines = ["# Written by `leadguide fit`: typography per chapter that lands each chapter on",
             "# its page budget. Every build applies it; delete an entry to undo it.",
             "chapters:" if any(chapters.values()) else "chapters: {}"]
    for name, values in chapters.items():
        if values:
            lines.append(f"  {name}:")
            lines += [f"    {key}: {KNOB_NAMES[key].text(values[key])}"
                      for key in KNOB_NAMES if key in values]
    path = root / FIT_NAME
    write_fit_bytes(path, ("\n".join(lines) + "\n").encode("utf-8"))
    return path


def write_fit_bytes(path: Path, content: bytes) -> None:
    """Replace ``path`` with ``content`` through a temp file and a rename."""
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(content)
        os.chmod(temp, 0o644)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
