"""The landing page's parts: guide.yaml's ``signup.landing:`` (headline, subtitle, what is
inside, the footer's links), what is derived when they are unset, the cover rendered from the
PDF's first page (PDFium, cached beside the PDF) and the brand's font files served to browsers.
"""
from __future__ import annotations

import io
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from ..atomic import write_bytes
from ..guide.assets import BUILTIN_STYLES
from ..guide.chapters import load_chapters
from ..guide.config import KEYS, GuideConfig
from ..guide.theme import FONT_STYLES, FONT_SUFFIXES
from ..guide.yamlsource import FieldReader, LocatedDict

MAX_HEADLINE = 60  # characters: about three lines of the phone's H1
COVER_WIDTH = 600  # pixels: sharp at the page's 300 CSS px on a 2x screen
# The bundled families' files (styles/fonts), as theme.css declares them.
BUNDLED_FACES = {"League Spartan": {"semibold": "LeagueSpartan-SemiBold.otf",
                                    "bold": "LeagueSpartan-Bold.otf"},
                 "Inter": {"regular": "Inter-Regular.otf", "italic": "Inter-Italic.otf",
                           "semibold": "Inter-SemiBold.otf", "bold": "Inter-Bold.otf"}}
_FONT_TYPES = {".otf": "font/otf", ".ttf": "font/ttf", ".woff": "font/woff",
               ".woff2": "font/woff2"}


@dataclass(frozen=True)
class Landing:
    """What the landing page says besides the form."""

    headline: str
    subtitle: str
    inside: tuple[str, ...]
    byline: str
    privacy_url: str | None
    website: str | None


def read_landing(config: GuideConfig, raw: LocatedDict, reader: FieldReader) -> Landing:
    """``signup.landing:``, each key optional: unset ones are derived from the guide."""
    section = reader.mapping(reader.get(raw, "landing", dict, LocatedDict()), "signup.landing",
                             raw.line_of("landing"))
    reader.unknown_keys(section, KEYS["signup.landing"], "signup.landing")
    get = lambda key, default: " ".join(  # noqa: E731
        str(reader.get(section, key, str, default, "signup.landing")).split())
    inside = reader.get(section, "inside", list, [], "signup.landing")
    bullets = tuple(" ".join(str(item).split()) for item in inside if str(item).strip())
    if inside and not 1 <= len(bullets) <= 6:
        reader.fail("'signup.landing.inside' lists 1 to 6 short lines", section.line_of("inside"))
    website = get("website", config.url or "") or None
    if website and "://" not in website:
        website = "https://" + website
    heading = " ".join(str(raw.get("heading") or "").split())  # signup.heading, if set
    return Landing(headline=get("headline", heading or derived_headline(config)),
                   subtitle=get("subtitle", _subtitle(config)),
                   inside=bullets or chapter_bullets(config),
                   byline=get("byline", config.author),
                   privacy_url=_link(get("privacy_url", ""), "privacy_url", section, reader),
                   website=_link(website or "", "website", section, reader))


def derived_headline(config: GuideConfig) -> str:
    """The cover's own short title lines when they fit, else the title shortened."""
    lines = " ".join(config.cover.get(key, "") for key in ("title_line_1", "title_line_2"))
    lines = " ".join(lines.split())
    return lines if 0 < len(lines) <= MAX_HEADLINE else short_headline(config.title)


def short_headline(title: str) -> str:
    """A headline that fits a phone: the title's part before a colon or dash, else the title
    cut at the last whole word under ``MAX_HEADLINE`` characters."""
    head = re.split(r"\s*(?::|\s[–—-]\s)\s*", title, maxsplit=1)[0].strip()
    if len(head) <= MAX_HEADLINE:
        return head
    cut = head[:MAX_HEADLINE + 1].rsplit(" ", 1)[0].rstrip(" ,;(")
    return cut + "…"


def _subtitle(config: GuideConfig) -> str:
    if config.subtitle:
        return config.subtitle
    rest = re.split(r"\s*:\s*", config.title, maxsplit=1)
    return rest[1] if len(rest) == 2 else ""


def chapter_bullets(config: GuideConfig, most: int = 5) -> tuple[str, ...]:
    """The chapters' titles (an opening welcome left out), up to ``most``."""
    try:
        titles = [chapter.title for chapter in load_chapters(config)]
    except Exception:  # noqa: BLE001 - a page without bullets beats a service that won't start
        return ()
    kept = [t for t in titles if not re.match(r"(welcome|introduction|intro)\b", t, re.IGNORECASE)]
    return tuple((kept or titles)[:most])


def _link(value: str, key: str, section: LocatedDict, reader: FieldReader) -> str | None:
    if not value:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        reader.fail(f"'signup.landing.{key}' must be an http(s):// address, not '{value}'",
                    section.line_of(key))
        return None
    return value


# ----- the cover -----

# PDFium is not thread-safe, and the service answers requests on a pool of threads.
PDFIUM_LOCK = threading.Lock()


def cover_image(pdf: Path) -> Path:
    """The PDF's first page as a PNG beside it (made again when the PDF is newer)."""
    png = pdf.with_name(pdf.stem + ".cover.png")
    if png.is_file() and png.stat().st_mtime >= pdf.stat().st_mtime:
        return png
    import pypdfium2  # imported here: only the landing page needs PDFium

    with PDFIUM_LOCK:
        document = pypdfium2.PdfDocument(str(pdf))
        try:
            page = document[0]
            width = page.get_width()
            image = page.render(scale=COVER_WIDTH / width).to_pil()
            page.close()
        finally:
            document.close()
    out = io.BytesIO()
    image.convert("RGB").save(out, format="PNG", optimize=True)
    write_bytes(png, out.getvalue())
    return png


# ----- the brand's fonts, for browsers -----

@dataclass
class FontFiles:
    """The font files the pages may load, by the name in their URL (never a path)."""

    files: dict[str, Path] = field(default_factory=dict)
    faces: list[str] = field(default_factory=list)

    def add(self, family: str, style: str, path: Path) -> None:
        if path.suffix.lower() not in FONT_SUFFIXES or not path.is_file():
            return
        name = f"{len(self.files)}{path.suffix.lower()}"
        family = re.sub(r"[^A-Za-z0-9 -]", "", family)  # it goes into <style> as is
        self.files[name] = path
        weight, slant = FONT_STYLES.get(style, (400, "normal"))
        self.faces.append(f'@font-face {{ font-family: "{family}"; font-weight: {weight}; '
                          f'font-style: {slant}; font-display: swap; '
                          f'src: url("/fonts/{name}"); }}')

    def css(self) -> str:
        return "\n".join(self.faces)

    def media_type(self, name: str) -> str:
        return _FONT_TYPES[self.files[name].suffix.lower()]


def brand_fonts(config: GuideConfig) -> FontFiles:
    """The guide's own font files (theme.fonts.<role>.files), else the bundled families'."""
    fonts, root = FontFiles(), config.root.resolve()
    for font in config.theme.fonts.values():
        for style, relative in font.files.items():
            path = (root / relative).resolve()
            if path.is_relative_to(root):  # the guard's rule: nothing outside the guide
                fonts.add(font.family, style, path)
        if not font.files:
            for style, name in BUNDLED_FACES.get(font.family, {}).items():
                fonts.add(font.family, style, BUILTIN_STYLES / "fonts" / name)
    return fonts
