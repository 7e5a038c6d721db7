"""guide.yaml: read, validate and freeze a guide's configuration."""
from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..errors import ConfigError, raise_all
from .appearance import THEME_KEYS, read_page, read_theme
from .assets import LOOKS
from .fitfile import FIT_NAME, KNOB_NAMES, FitSettings, load_fit_values, read_fit_section
from .guard import read_text
from .kit import KITS
from .links import LINK_KEYS, LinkSettings, read_links
from .people import DEFAULT_PARTNERS, PEOPLE_KEYS, Clinic, read_clinic, read_partners
from .theme import Page, Theme
from .yamlsource import FieldReader, LocatedDict, LocatedList, load_yaml, text_mapping

CONFIG_NAME = "guide.yaml"
PERSONAL_LABEL = "Prepared for {name}"  # personalize: true (pdf.personal)
# Every key guide.yaml may hold, by section (docs/GUIDE-YAML.md documents each; a test checks).
KEYS: dict[str, set[str]] = {
    "": {"title", "subtitle", "author", "language", "page_size", "margins", "pages", "chapters",
         "toc_after", "output", "kit", "look", "theme", "metadata", "cover", "cta", "email",
         "url", "back_page", "fit", "links", "pdf_standard", "print", "web",
         "personalize"},
    **THEME_KEYS,
    "metadata": {"subject", "keywords"},
    "cover": {"badge", "eyebrow", "title_line_1", "title_line_2", "byline", "art", "art_alt",
              "footer"},
    "cta": {"heading", "text", "button", "url"},
    "fit": {"min_fill", *KNOB_NAMES},
    "links": LINK_KEYS,
    **PEOPLE_KEYS,
}
KEYS[""] |= {"clinic", "partners"}


def _signup_keys() -> dict[str, set[str]]:
    """The signup service's section (``leadguide signup``), read by leadguide.signup.settings."""
    return {"signup": {"base_url", "allowed_origins", "heading", "promise", "privacy", "button",
                       "consent", "thank_you", "double_opt_in", "confirm_subject",
                       "confirm_hours", "min_fill_seconds", "rate_limits", "max_body_kb",
                       "trusted_proxies", "database", "quota_wait_seconds", "max_attempts",
                       "max_connections", "header_timeout_seconds", "body_timeout_seconds",
                       "download_days", "answer_seconds", "send_rate", "alert_after_seconds",
                       "sequence", "webhooks", "consent_mode", "marketing_consent", "landing",
                       "return_hosts", "resend_after_seconds", "remote_workers"},
            "signup.thank_you": {"heading", "text"},
            "signup.rate_limits": {"per_ip", "per_address", "downloads", "resend"},
            "signup.landing": {"headline", "subtitle", "inside", "byline", "privacy_url",
                               "website"},
            "signup.send_rate": {"per_second", "per_day"},
            "signup.sequence": {"email", "delay"},
            "signup.webhooks": {"url", "events"}}


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
    clinic: Clinic = field(default_factory=Clinic)  # who stands behind it (guide.people)
    partners: tuple[str, str] = DEFAULT_PARTNERS  # the two readers' labels (guide.people)
    web_edition: bool = False  # also write <output stem>-web/ (web.edition)
    personalize: str | None = PERSONAL_LABEL  # the cover line of personal copies; None: off

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
        page=read_page(raw, reader),
        pages=pages,
        output=output_name,
        output_folder=output_folder,
        chapters=chapters,
        chapters_listed="chapters" in raw,
        toc_after=toc_after,
        theme=read_theme(raw, reader, root),
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
        links=read_links(raw, reader),
        pdf_standard=_pdf_standard(raw, reader),
        print_edition=get(raw, "print", bool, False),
        clinic=read_clinic(raw, reader, root),
        partners=read_partners(raw, reader),
        web_edition=get(raw, "web", bool, False),
        personalize=_personalize(raw, reader),
    )


PDF_STANDARDS = ("ua-1", "a-3a+ua-1", "a-2b")


def _pdf_standard(raw: LocatedDict, reader: FieldReader) -> str:
    value = reader.get(raw, "pdf_standard", str, "ua-1")
    if value not in PDF_STANDARDS:
        reader.fail(f"'pdf_standard' must be one of {', '.join(PDF_STANDARDS)}, not "
                    f"'{value}'", raw.line_of("pdf_standard"))
        return "ua-1"
    return value


def _personalize(raw: LocatedDict, reader: FieldReader) -> str | None:
    """``personalize``: true (the default line), false (no personal copies) or the cover line
    with ``{name}`` once."""
    value = raw.get("personalize", True)
    if value is True:
        return PERSONAL_LABEL
    if value is False:
        return None
    if not isinstance(value, str) or value.count("{name}") != 1 or len(value) > 80:
        reader.fail("'personalize' must be true, false, or the cover line with {name} once "
                    "(at most 80 characters), e.g. \"Prepared for {name}\"",
                    raw.line_of("personalize"))
        return PERSONAL_LABEL
    return value


def _fit(raw: LocatedDict, reader: FieldReader) -> FitSettings:
    section = reader.mapping(reader.get(raw, "fit", dict, LocatedDict()), "fit", raw.line_of("fit"))
    bounds, min_fill = read_fit_section(section, reader)
    return FitSettings(bounds=bounds, min_fill=min_fill)


def _section(raw: LocatedDict, key: str, reader: FieldReader) -> LocatedDict | None:
    """An optional section kept raw for the stage that owns it (checked as a mapping here)."""
    return reader.mapping(raw[key], key, raw.line_of(key)) if key in raw else None


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


def _cover(raw: LocatedDict, reader: FieldReader) -> dict[str, str]:
    cover = text_mapping(raw, "cover", reader)
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
