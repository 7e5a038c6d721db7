"""guide.yaml's ``page_size``, ``margins`` and ``theme:`` read into ``Page`` and ``Theme``
(guide/theme.py): page sizes, colours and fonts, each checked at its line.
"""
from __future__ import annotations

import re
from pathlib import Path

from .theme import (BUILTIN_FONTS, BUNDLED_FAMILIES, DEFAULT_MARGINS, FONT_ROLES, FONT_STYLES,
                    FONT_SUFFIXES, PAGE_SIZES, ROLES, Font, Page, Theme, default_margins, is_hex,
                    is_length, resolve_colors)
from .yamlsource import FieldReader, LocatedDict, text_mapping

THEME_KEYS: dict[str, set[str]] = {
    "theme": {"colors", "fonts", "logo"},
    "theme.colors": set(ROLES),
    "theme.fonts": set(FONT_ROLES),
    "theme.fonts.<role>": {"family", "files"},
    "theme.fonts.<role>.files": set(FONT_STYLES),
}
_FONT_FAMILY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 -]*$")
_PAGE_SIZE = re.compile(r"^\s*(\S+)\s*[x×]\s*(\S+)\s*$")


def read_page(raw: LocatedDict, reader: FieldReader) -> Page:
    """page_size (Letter, A4, A5 or W x H) and margins (one to four lengths, as in CSS)."""
    value = reader.get(raw, "page_size", str, "Letter")
    line = raw.line_of("page_size")
    if value.lower() in PAGE_SIZES:
        name = {"letter": "Letter"}.get(value.lower(), value.upper())
        width, height = PAGE_SIZES[value.lower()]
    else:
        match = _PAGE_SIZE.match(value)
        width, height = match.groups() if match else ("", "")
        name = f"{width} x {height}"
        if not (is_length(width) and is_length(height)):
            reader.fail(f"'page_size' must be Letter, A4, A5 or a size like '6in x 9in' "
                        f"(in, mm, cm or pt), not '{value}'", line)
            return Page("Letter", *PAGE_SIZES["letter"])
    margins = _margins(raw, reader) if "margins" in raw else default_margins(width)
    return Page(name, width, height, margins)


def _margins(raw: LocatedDict, reader: FieldReader) -> tuple[str, str, str, str]:
    value = reader.get(raw, "margins", str, " ".join(DEFAULT_MARGINS))
    parts = value.split()
    if not 1 <= len(parts) <= 4 or not all(is_length(part) for part in parts):
        reader.fail(f"'margins' must be one to four lengths like '0.8in 0.7in' (top right "
                    f"bottom left, as in CSS), not '{value}'", raw.line_of("margins"))
        return DEFAULT_MARGINS
    return _css_sides(parts)


def _css_sides(parts: list[str]) -> tuple[str, str, str, str]:
    """CSS's shorthand: 1 to 4 values → top, right, bottom, left."""
    top = parts[0]
    right = parts[1] if len(parts) > 1 else top
    bottom = parts[2] if len(parts) > 2 else top
    left = parts[3] if len(parts) > 3 else right
    return top, right, bottom, left


def read_theme(raw: LocatedDict, reader: FieldReader, root: Path) -> Theme:
    theme = reader.mapping(reader.get(raw, "theme", dict, LocatedDict()), "theme",
                           raw.line_of("theme"))
    reader.unknown_keys(theme, THEME_KEYS["theme"], "theme")
    return Theme(colors=_colors(theme, reader), fonts=_fonts(theme, reader, root),
                 logo=reader.get(theme, "logo", str, None, "theme"))


def _colors(theme: LocatedDict, reader: FieldReader) -> dict[str, str]:
    """Colour roles: unknown roles and non-hex values are errors; so is a pair below AA."""
    colors = text_mapping(theme, "colors", reader, "theme")
    lines = theme["colors"].key_lines if isinstance(theme.get("colors"), LocatedDict) else {}
    given = {}
    for role, value in colors.items():
        line = lines.get(role, theme.line_of("colors"))
        if role not in ROLES:
            reader.fail(f"unknown colour role 'theme.colors.{role}' (roles: "
                        f"{', '.join(ROLES)})", line)
        elif not is_hex(value):
            reader.fail(f"colour '{role}' must be a hex colour like #1B2A41, not '{value}'", line)
        else:
            given[role] = value
    palette, problems = resolve_colors(given)
    for problem in problems:
        reader.fail(problem.message, lines.get(problem.role, theme.line_of("colors")))
    return palette


def _fonts(theme: LocatedDict, reader: FieldReader, root: Path) -> dict[str, Font]:
    fonts = reader.mapping(reader.get(theme, "fonts", dict, LocatedDict()), "theme.fonts",
                           theme.line_of("fonts"))
    reader.unknown_keys(fonts, THEME_KEYS["theme.fonts"], "theme.fonts")
    return {role: _font(fonts, role, reader, root) if role in fonts else Font(family)
            for role, family in BUILTIN_FONTS.items()}


def _font(fonts: LocatedDict, role: str, reader: FieldReader, root: Path) -> Font:
    """A family name (bundled with leadguide), or ``family`` and the guide's own ``files``."""
    where, value = f"theme.fonts.{role}", fonts[role]
    spec = LocatedDict(family=value) if isinstance(value, str) else reader.mapping(
        value, where, fonts.line_of(role))
    spec.line = spec.line or fonts.line_of(role)
    if not isinstance(value, str):
        spec.key_lines = value.key_lines if isinstance(value, LocatedDict) else {}
    reader.unknown_keys(spec, THEME_KEYS["theme.fonts.<role>"], where)
    family = reader.get(spec, "family", str, where=where) or BUILTIN_FONTS[role]
    if not _FONT_FAMILY.match(family):
        reader.fail(f"font family '{family}' may only use letters, digits, spaces and '-'",
                    fonts.line_of(role))
    files = _font_files(spec, where, reader, root)
    if "files" not in spec and family not in BUNDLED_FAMILIES:
        reader.fail(f"font '{family}' is not bundled with leadguide ({', '.join(BUNDLED_FAMILIES)}"
                    f"): add its files under '{where}.files' (see docs/GUIDE-YAML.md)",
                    fonts.line_of(role))
    return Font(family, files)


def _font_files(spec: LocatedDict, where: str, reader: FieldReader, root: Path) -> dict[str, str]:
    files = text_mapping(spec, "files", reader, where)
    lines = spec["files"].key_lines if isinstance(spec.get("files"), LocatedDict) else {}
    found = {}
    for style, path in files.items():
        line = lines.get(style, spec.line_of("files"))
        target = (root / path).resolve()
        if style not in FONT_STYLES:
            reader.fail(f"unknown font style '{where}.files.{style}' (styles: "
                        f"{', '.join(FONT_STYLES)})", line)
        elif not path.lower().endswith(FONT_SUFFIXES) or "\\" in path:
            reader.fail(f"font file '{path}' must be a {', '.join(FONT_SUFFIXES)} file", line)
        elif not target.is_relative_to(root.resolve()) or not target.is_file():
            reader.fail(f"font file not found inside the guide folder: {path}", line)
        else:
            found[style] = path
    return found
