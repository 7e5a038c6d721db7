"""guide.yaml: read, validate and freeze a guide's configuration."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ..errors import ConfigError, raise_all
from .assets import LOOKS
from .fitfile import FIT_NAME, KNOB_NAMES, FitSettings, load_fit_values, read_fit_section
from .guard import read_text
from .kit import KITS
from .theme import (BUILTIN_FONTS, BUNDLED_FAMILIES, DEFAULT_MARGINS, FONT_ROLES, FONT_STYLES,
                    FONT_SUFFIXES, PAGE_SIZES, ROLES, Font, Page, Theme, default_margins, is_hex,
                    is_length, resolve_colors)
from .yamlsource import FieldReader, LocatedDict, LocatedList, load_yaml

CONFIG_NAME = "guide.yaml"
_FONT_FAMILY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 -]*$")
_PAGE_SIZE = re.compile(r"^\s*(\S+)\s*[x×]\s*(\S+)\s*$")
# Every key guide.yaml may hold, by section (docs/GUIDE-YAML.md documents each; a test checks).
KEYS: dict[str, set[str]] = {
    "": {"title", "subtitle", "author", "language", "page_size", "margins", "pages", "chapters",
         "toc_after", "output", "kit", "look", "theme", "metadata", "cover", "cta", "email",
         "url", "back_page", "fit", "links", "pdf_standard", "print"},
    "theme": {"colors", "fonts", "logo"},
    "theme.colors": set(ROLES),
    "theme.fonts": set(FONT_ROLES),
    "theme.fonts.<role>": {"family", "files"},
    "theme.fonts.<role>.files": set(FONT_STYLES),
    "metadata": {"subject", "keywords"},
    "cover": {"badge", "eyebrow", "title_line_1", "title_line_2", "byline", "art", "art_alt",
              "footer"},
    "cta": {"heading", "text", "button", "url"},
    "fit": {"min_fill", *KNOB_NAMES},
    "links": {"base_url", "markdown_pages"},
}
# What a link to another page's ``.md`` file becomes under links.base_url: the site kept the
# file (GitHub, GitLab), made it ``.html`` (mdBook, Sphinx) or a folder (MkDocs).
MARKDOWN_PAGES = ("md", "html", "folder")


def _signup_keys() -> dict[str, set[str]]:
    """The signup service's section (``leadguide signup``), read by leadguide.signup.settings."""
    return {"signup": {"base_url", "allowed_origins", "heading", "promise", "privacy", "button",
                       "consent", "thank_you", "double_opt_in", "confirm_subject",
                       "confirm_hours", "min_fill_seconds", "rate_limits", "max_body_kb",
                       "trusted_proxies", "database", "quota_wait_seconds", "max_attempts",
                       "max_connections", "header_timeout_seconds", "body_timeout_seconds",
                       "download_days", "answer_seconds", "send_rate", "alert_after_seconds"},
            "signup.thank_you": {"heading", "text"},
            "signup.rate_limits": {"per_ip", "per_address", "downloads"},
            "signup.send_rate": {"per_second", "per_day"}}


KEYS[""].add("signup")
KEYS.update(_signup_keys())


@dataclass(frozen=True)
class CallToAction:
    heading: str
    text: str
    button: str
    url: str


OUTPUT_FOLDER = "build"  # a guide's builds, beside its sources: never read as a source


@dataclass(frozen=True)
class LinkSettings:
    """Where links to pages that are not chapters point (guide.yaml's ``links:``)."""

    base_url: str | None = None  # ends in "/": relative links resolve against it
    markdown_pages: str = "md"


@dataclass(frozen=True)
class GuideConfig:
    """Everything guide.yaml says, checked. Paths are absolute."""

    root: Path
    title: str
    subtitle: str
    author: str
    language: str
    page: Page
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
    kit: str | None = None
    email: LocatedDict | None = None
    fit: FitSettings = field(default_factory=FitSettings)
    signup: LocatedDict | None = None  # the raw ``signup:`` mapping, read by leadguide.signup
    pages_line: int | None = None  # where guide.yaml promises the page count
    chapters_listed: bool = False  # guide.yaml lists the chapters (else: chapters/*.md, sorted)
    links: LinkSettings = field(default_factory=LinkSettings)
    output_folder: str = OUTPUT_FOLDER  # inside the guide folder, from guide.yaml's output
    look: str = "classic"  # one of assets.LOOKS: the built-in design it wears
    pdf_standard: str = "ua-1"  # what the PDF claims (pdf.standards.STANDARDS)
    print_edition: bool = False  # also write <output>.print.pdf (pdf.printed)

    @property
    def page_size(self) -> str:
        return self.page.name

    @property
    def output_dir(self) -> Path:
        """Where builds go: beside the sources, whatever the current directory."""
        return self.root / self.output_folder

    @property
    def output_path(self) -> Path:
        return self.output_dir / self.output

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
    if not os.path.lexists(path):
        raise ConfigError(f"no {CONFIG_NAME} in this folder: create one (see docs/AUTHORING.md)",
                          path)
    shown = _display_path(path)
    raw = load_yaml(read_text(path, (root,), shown, ConfigError), shown, ConfigError)
    reader = FieldReader(shown, ConfigError)
    config = _read(root, reader.mapping(raw, CONFIG_NAME, 1), reader)
    raise_all(reader.errors)
    values = load_fit_values(root, _display_path(root / FIT_NAME), config.chapters,
                             config.fit.bounds)
    return replace(config, fit=replace(config.fit, chapters=values))


def _display_path(path: Path) -> Path:
    try:
        return path.relative_to(Path.cwd())
    except ValueError:
        return path


def _read(root: Path, raw: LocatedDict, reader: FieldReader) -> GuideConfig:
    reader.unknown_keys(raw, KEYS[""])
    get = reader.get
    pages = get(raw, "pages", int)
    if pages is not None and pages < 1:
        reader.fail("'pages' must be at least 1", raw.line_of("pages"))
    metadata = reader.mapping(get(raw, "metadata", dict, LocatedDict()), "metadata",
                              raw.line_of("metadata"))
    reader.unknown_keys(metadata, KEYS["metadata"], "metadata")
    chapters = _chapters(root, raw, reader)
    toc_after = get(raw, "toc_after", str, None)
    if toc_after and chapters and toc_after not in chapters:
        reader.fail(f"'toc_after' names '{toc_after}', which is not in 'chapters'",
                    raw.line_of("toc_after"))
    output_folder, output_name = _output(raw, reader)
    return GuideConfig(
        root=root,
        title=get(raw, "title", str),
        subtitle=get(raw, "subtitle", str, ""),
        author=get(raw, "author", str),
        language=get(raw, "language", str, "en"),
        page=_page(raw, reader),
        pages=pages,
        output=output_name,
        output_folder=output_folder,
        chapters=chapters,
        chapters_listed="chapters" in raw,
        toc_after=toc_after,
        theme=_theme(raw, reader, root),
        subject=get(metadata, "subject", str, "", "metadata"),
        keywords=tuple(_text_list(metadata, "keywords", reader, "metadata")),
        cover=_cover(raw, reader),
        cta=_cta(raw, reader),
        url=get(raw, "url", str, None),
        back_page=get(raw, "back_page", bool, False),
        kit=_kit(raw, reader),
        look=_look(raw, reader),
        email=reader.mapping(raw["email"], "email", raw.line_of("email")) if "email" in raw else None,
        fit=_fit(raw, reader),
        signup=_section(raw, "signup", reader),
        pages_line=raw.line_of("pages"),
        links=_links(raw, reader),
        pdf_standard=_pdf_standard(raw, reader),
        print_edition=get(raw, "print", bool, False),
    )


def _links(raw: LocatedDict, reader: FieldReader) -> LinkSettings:
    section = reader.mapping(reader.get(raw, "links", dict, LocatedDict()), "links",
                             raw.line_of("links"))
    reader.unknown_keys(section, KEYS["links"], "links")
    base = reader.get(section, "base_url", str, None, "links")
    if base is not None and not is_web_base(base):
        reader.fail(f"'links.base_url' must be a web address like https://example.com/docs/, "
                    f"not '{base}'", section.line_of("base_url"))
        base = None
    pages = reader.get(section, "markdown_pages", str, "md", "links")
    if pages not in MARKDOWN_PAGES:
        reader.fail(f"'links.markdown_pages' must be one of {', '.join(MARKDOWN_PAGES)}, not "
                    f"'{pages}'", section.line_of("markdown_pages"))
        pages = "md"
    return LinkSettings(folder_url(base) if base else None, pages)


def site_page_path(path: str, markdown_pages: str) -> str:
    """What a ``.md`` page's path is on its site (``links.markdown_pages``): kept,
    ``.html`` or a folder; ``index.md`` and ``README.md`` are their folder's page."""
    stem, dot, suffix = path.rpartition(".")
    if markdown_pages == "md" or not dot or suffix.lower() not in ("md", "markdown"):
        return path
    folder, _, name = stem.rpartition("/")
    prefix = f"{folder}/" if folder or stem.startswith("/") else ""
    if name.lower() in ("index", "readme"):
        return prefix if markdown_pages == "folder" else f"{prefix}index.html"
    return f"{stem}/" if markdown_pages == "folder" else f"{stem}.html"


def is_web_base(url: str) -> bool:
    """An absolute http(s) address with a host: what a relative link can resolve against."""
    parts = urlsplit(url.strip())
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


def folder_url(url: str) -> str:
    """``https://x/docs`` → ``https://x/docs/``: the base is a folder, so ``setup.md`` lands in
    it (a bare ``urljoin`` would replace ``docs``)."""
    parts = urlsplit(url.strip())
    path = parts.path if parts.path.endswith("/") else parts.path + "/"
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


PDF_STANDARDS = ("ua-1", "a-3a+ua-1", "a-2b")


def _pdf_standard(raw: LocatedDict, reader: FieldReader) -> str:
    value = reader.get(raw, "pdf_standard", str, "ua-1")
    if value not in PDF_STANDARDS:
        reader.fail(f"'pdf_standard' must be one of {', '.join(PDF_STANDARDS)}, not "
                    f"'{value}'", raw.line_of("pdf_standard"))
        return "ua-1"
    return value


def _fit(raw: LocatedDict, reader: FieldReader) -> FitSettings:
    section = reader.mapping(reader.get(raw, "fit", dict, LocatedDict()), "fit", raw.line_of("fit"))
    bounds, min_fill = read_fit_section(section, reader)
    return FitSettings(bounds=bounds, min_fill=min_fill)


def _section(raw: LocatedDict, key: str, reader: FieldReader) -> LocatedDict | None:
    """An optional section kept raw for the stage that owns it (checked as a mapping here)."""
    return reader.mapping(raw[key], key, raw.line_of(key)) if key in raw else None


def _page(raw: LocatedDict, reader: FieldReader) -> Page:
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


def _kit(raw: LocatedDict, reader: FieldReader) -> str | None:
    name = reader.get(raw, "kit", str, None)
    if name is not None and name not in KITS:
        reader.fail(f"unknown kit '{name}' (kits: {', '.join(sorted(KITS))})", raw.line_of("kit"))
        return None
    return name


def _look(raw: LocatedDict, reader: FieldReader) -> str:
    look = reader.get(raw, "look", str, "classic")
    if look not in LOOKS:
        reader.fail(f"unknown look '{look}' (looks: {', '.join(LOOKS)})", raw.line_of("look"))
        return "classic"
    return look


def _output(raw: LocatedDict, reader: FieldReader) -> tuple[str, str]:
    """(folder inside the guide, file name): ``name.pdf`` goes to ``build/``; ``dist/name.pdf``
    to the guide's own ``dist/``. Never outside the guide folder."""
    value = reader.get(raw, "output", str, "guide.pdf")
    folder, _, name = value.replace("\\", "/").rpartition("/")
    parts = [part for part in folder.split("/") if part]
    if (not name.endswith(".pdf") or name.startswith(".") or value.startswith(("/", "~"))
            or any(part in (".", "..") or part.startswith(".") for part in parts)
            or ":" in folder):
        if "output" in raw:
            reader.fail(f"'output' must be a file name ending in .pdf, or a folder inside the "
                        f"guide and a file name (dist/guide.pdf), not '{value}'",
                        raw.line_of("output"))
        return OUTPUT_FOLDER, "guide.pdf"
    return "/".join(parts) or OUTPUT_FOLDER, name


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
        elif not os.path.lexists(chapters_dir / name):
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


def _text_mapping(raw: LocatedDict, key: str, reader: FieldReader,
                  where: str = "") -> dict[str, str]:
    label = f"{where}.{key}" if where else key
    mapping = reader.mapping(reader.get(raw, key, dict, LocatedDict(), where), label,
                             raw.line_of(key))
    return {name: reader.get(mapping, name, str, "", label) for name in mapping}


def _theme(raw: LocatedDict, reader: FieldReader, root: Path) -> Theme:
    theme = reader.mapping(reader.get(raw, "theme", dict, LocatedDict()), "theme",
                           raw.line_of("theme"))
    reader.unknown_keys(theme, KEYS["theme"], "theme")
    return Theme(colors=_colors(theme, reader), fonts=_fonts(theme, reader, root),
                 logo=reader.get(theme, "logo", str, None, "theme"))


def _colors(theme: LocatedDict, reader: FieldReader) -> dict[str, str]:
    """Colour roles: unknown roles and non-hex values are errors; so is a pair below AA."""
    colors = _text_mapping(theme, "colors", reader, "theme")
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
    reader.unknown_keys(fonts, KEYS["theme.fonts"], "theme.fonts")
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
    reader.unknown_keys(spec, KEYS["theme.fonts.<role>"], where)
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
    files = _text_mapping(spec, "files", reader, where)
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


def _cover(raw: LocatedDict, reader: FieldReader) -> dict[str, str]:
    cover = _text_mapping(raw, "cover", reader)
    if isinstance(raw.get("cover"), LocatedDict):
        reader.unknown_keys(raw["cover"], KEYS["cover"], "cover")
    return cover


def _cta(raw: LocatedDict, reader: FieldReader) -> CallToAction | None:
    if "cta" not in raw:
        return None
    cta = reader.mapping(raw["cta"], "cta", raw.line_of("cta"))
    reader.unknown_keys(cta, KEYS["cta"], "cta")
    values = {key: reader.get(cta, key, str, where="cta") for key in ("heading", "text",
                                                                       "button", "url")}
    return CallToAction(**{key: value or "" for key, value in values.items()})


def as_dict(config: GuideConfig) -> dict[str, Any]:
    """The config as plain values for templates."""
    return {name: getattr(config, name) for name in config.__dataclass_fields__}
