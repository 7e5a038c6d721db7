"""guide.yaml: read, validate and freeze a guide's configuration."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError, raise_all
from .yamlsource import FieldReader, LocatedDict, LocatedList, load_yaml

CONFIG_NAME = "guide.yaml"
PAGE_SIZES = {"letter": "Letter", "a4": "A4"}
_COLOR = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
_NAME = re.compile(r"^[a-z][a-z0-9-]*$")
_FONT_FAMILY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 -]*$")
_KNOWN = {"title", "subtitle", "author", "language", "page_size", "pages", "chapters",
          "toc_after", "output", "theme", "metadata", "cover", "cta", "email", "url", "back_page"}


@dataclass(frozen=True)
class Theme:
    colors: dict[str, str] = field(default_factory=dict)
    fonts: dict[str, str] = field(default_factory=dict)
    logo: str | None = None


@dataclass(frozen=True)
class CallToAction:
    heading: str
    text: str
    button: str
    url: str


@dataclass(frozen=True)
class GuideConfig:
    """Everything guide.yaml says, checked. Paths are absolute."""

    root: Path
    title: str
    subtitle: str
    author: str
    language: str
    page_size: str
    pages: int
    output: str
    chapters: tuple[str, ...]
    toc_after: str | None
    theme: Theme
    subject: str
    keywords: tuple[str, ...]
    cover: dict[str, str]
    cta: CallToAction | None
    url: str | None
    back_page: bool
    email: LocatedDict | None = None

    @property
    def config_path(self) -> Path:
        return self.root / CONFIG_NAME

    @property
    def chapters_dir(self) -> Path:
        return self.root / "chapters"


def load_config(guide_dir: Path | str) -> GuideConfig:
    """Read ``guide_dir/guide.yaml``; every problem is reported at once."""
    root = Path(guide_dir).resolve()
    path = root / CONFIG_NAME
    if not root.is_dir():
        raise ConfigError(f"guide folder not found: {guide_dir}", Path(guide_dir))
    if not path.is_file():
        raise ConfigError(f"no {CONFIG_NAME} in this folder: create one (see docs/AUTHORING.md)",
                          path)
    shown = _display_path(path)
    raw = load_yaml(path.read_text(encoding="utf-8"), shown, ConfigError)
    reader = FieldReader(shown, ConfigError)
    config = _read(root, reader.mapping(raw, CONFIG_NAME, 1), reader)
    raise_all(reader.errors)
    return config


def _display_path(path: Path) -> Path:
    try:
        return path.relative_to(Path.cwd())
    except ValueError:
        return path


def _read(root: Path, raw: LocatedDict, reader: FieldReader) -> GuideConfig:
    reader.unknown_keys(raw, _KNOWN)
    get = reader.get
    pages = get(raw, "pages", int)
    if pages is not None and pages < 1:
        reader.fail("'pages' must be at least 1", raw.line_of("pages"))
    metadata = reader.mapping(get(raw, "metadata", dict, LocatedDict()), "metadata",
                              raw.line_of("metadata"))
    return GuideConfig(
        root=root,
        title=get(raw, "title", str),
        subtitle=get(raw, "subtitle", str, ""),
        author=get(raw, "author", str),
        language=get(raw, "language", str, "en"),
        page_size=_page_size(raw, reader),
        pages=pages,
        output=_output_name(raw, reader),
        chapters=_chapters(root, raw, reader),
        toc_after=get(raw, "toc_after", str, None),
        theme=_theme(raw, reader),
        subject=get(metadata, "subject", str, "", "metadata"),
        keywords=tuple(_text_list(metadata, "keywords", reader, "metadata")),
        cover=_text_mapping(raw, "cover", reader),
        cta=_cta(raw, reader),
        url=get(raw, "url", str, None),
        back_page=get(raw, "back_page", bool, False),
        email=reader.mapping(raw["email"], "email", raw.line_of("email")) if "email" in raw else None,
    )


def _page_size(raw: LocatedDict, reader: FieldReader) -> str:
    value = reader.get(raw, "page_size", str, "Letter")
    if value.lower() not in PAGE_SIZES:
        reader.fail(f"'page_size' must be Letter or A4, not '{value}'", raw.line_of("page_size"))
        return "Letter"
    return PAGE_SIZES[value.lower()]


def _output_name(raw: LocatedDict, reader: FieldReader) -> str:
    value = reader.get(raw, "output", str, "guide.pdf")
    if "/" in value or "\\" in value or not value.endswith(".pdf") or value.startswith("."):
        reader.fail(f"'output' must be a file name ending in .pdf, not '{value}'",
                    raw.line_of("output"))
        return "guide.pdf"
    return value


def _chapters(root: Path, raw: LocatedDict, reader: FieldReader) -> tuple[str, ...]:
    """Chapter order from guide.yaml, or the sorted file names."""
    chapters_dir = root / "chapters"
    if "chapters" not in raw:
        return tuple(sorted(p.name for p in chapters_dir.glob("*.md")))
    names = _text_list(raw, "chapters", reader)
    items: LocatedList = raw["chapters"] if isinstance(raw["chapters"], list) else LocatedList()
    for index, name in enumerate(names):
        line = items.line_of(index) if isinstance(items, LocatedList) else raw.line_of("chapters")
        if "/" in name or "\\" in name or not name.endswith(".md"):
            reader.fail(f"chapter '{name}' must be a .md file name inside chapters/", line)
        elif not (chapters_dir / name).is_file():
            reader.fail(f"chapter file not found: chapters/{name} (create it or remove this line)",
                        line)
    if not names:
        reader.fail("'chapters' lists no chapter", raw.line_of("chapters"))
    return tuple(names)


def _text_list(raw: LocatedDict, key: str, reader: FieldReader, where: str = "") -> list[str]:
    items = reader.get(raw, key, list, [], where)
    for index, item in enumerate(items):
        if not isinstance(item, str):
            line = items.line_of(index) if isinstance(items, LocatedList) else raw.line_of(key)
            reader.fail(f"'{key}' item {index + 1} must be text", line)
    return [str(item) for item in items if isinstance(item, str)]


def _text_mapping(raw: LocatedDict, key: str, reader: FieldReader) -> dict[str, str]:
    mapping = reader.mapping(reader.get(raw, key, dict, LocatedDict()), key, raw.line_of(key))
    return {name: reader.get(mapping, name, str, "", key) for name in mapping}


def _theme(raw: LocatedDict, reader: FieldReader) -> Theme:
    theme = reader.mapping(reader.get(raw, "theme", dict, LocatedDict()), "theme",
                           raw.line_of("theme"))
    reader.unknown_keys(theme, {"colors", "fonts", "logo"}, "theme")
    colors = _text_mapping(theme, "colors", reader)
    for name, value in colors.items():
        line = theme["colors"].line_of(name)
        if not _NAME.match(name):
            reader.fail(f"colour name '{name}' must be lowercase letters, digits and '-'", line)
        if not _COLOR.match(value):
            reader.fail(f"colour '{name}' must be a hex colour like #1B2A41, not '{value}'", line)
    fonts = _text_mapping(theme, "fonts", reader)
    for name in fonts:
        if name not in {"heading", "body"}:
            reader.fail(f"unknown font role '{name}' (use heading or body)",
                        theme["fonts"].line_of(name))
        if not _FONT_FAMILY.match(fonts[name]):
            reader.fail(f"font family '{fonts[name]}' may only use letters, digits, spaces and '-'",
                        theme["fonts"].line_of(name))
    return Theme(colors=colors, fonts=fonts, logo=reader.get(theme, "logo", str, None, "theme"))


def _cta(raw: LocatedDict, reader: FieldReader) -> CallToAction | None:
    if "cta" not in raw:
        return None
    cta = reader.mapping(raw["cta"], "cta", raw.line_of("cta"))
    reader.unknown_keys(cta, {"heading", "text", "button", "url"}, "cta")
    values = {key: reader.get(cta, key, str, where="cta") for key in ("heading", "text",
                                                                       "button", "url")}
    return CallToAction(**{key: value or "" for key, value in values.items()})


def as_dict(config: GuideConfig) -> dict[str, Any]:
    """The config as plain values for templates."""
    return {name: getattr(config, name) for name in config.__dataclass_fields__}
