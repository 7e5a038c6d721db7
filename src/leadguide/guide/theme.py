"""A guide's look as values: colour roles (with derived, WCAG AA shades), fonts, page size."""
from __future__ import annotations

import colorsys
import re
from dataclasses import dataclass, field
from typing import Callable

# The roles a guide sets. Left out, a role keeps its built-in value.
BASE_COLORS = {
    "primary": "#1B2A41",    # headings, cover, table headers, bands
    "accent": "#E8603C",     # rules, big numbers, buttons and badges (not small text)
    "secondary": "#5E8C7A",  # second accent: quote and callout borders
    "surface": "#FBF6EE",    # callout and card tint; soft text on the cover
    "text": "#1F2933",       # body text
    "muted": "#52606D",      # running heads, captions
    "rule": "#D5D9DE",       # lines
    "paper": "#FFFFFF",      # the page
}
# The built-in palette's own shades, hand-tuned; used while every base colour is built-in.
BUILTIN_SHADES = {"accent-text": "#B4441F", "on-accent": "#0F1722", "secondary-text": "#3F6657",
                  "stripe": "#F4F6F8", "tint": "#EEF1F5", "primary-soft": "#2F4A6B",
                  "on-primary-muted": "#C9D1DC"}
DERIVED_COLORS = ("stripe", "tint", "primary-text", "primary-soft", "on-primary",
                  "on-primary-soft", "on-primary-muted", "accent-text", "on-accent",
                  "accent-on-primary", "secondary-text")
ROLES = (*BASE_COLORS, *DERIVED_COLORS)
AA, AA_LARGE = 4.5, 3.0

# (text role, background role, large text?): every pair the styles print. Each must pass AA.
CONTRAST_PAIRS = (
    *((fg, bg, False) for fg in ("text", "primary-text", "muted")
      for bg in ("paper", "surface", "stripe", "tint")),
    *((fg, bg, False) for fg in ("accent-text", "secondary-text")
      for bg in ("paper", "surface", "stripe")),
    ("paper", "primary-soft", False),
    ("on-primary", "primary", False), ("on-primary-soft", "primary", False),
    ("on-primary-muted", "primary", False), ("on-accent", "accent", False),
    ("accent-on-primary", "primary", True),
)

_HEX = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")


def is_hex(value: str) -> bool:
    return bool(_HEX.match(value))


def _rgb(hex_colour: str) -> tuple[float, float, float]:
    value = hex_colour.lstrip("#")
    if len(value) == 3:
        value = "".join(c * 2 for c in value)
    return tuple(int(value[i:i + 2], 16) / 255 for i in (0, 2, 4))  # type: ignore[return-value]


def _hex(rgb: tuple[float, float, float]) -> str:
    return "#" + "".join(f"{round(max(0.0, min(1.0, c)) * 255):02X}" for c in rgb)


def normal(hex_colour: str) -> str:
    """``#abc`` → ``#AABBCC``."""
    return _hex(_rgb(hex_colour))


def luminance(hex_colour: str) -> float:
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
              for c in _rgb(hex_colour)]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    """The WCAG 2 contrast ratio of two colours (1 to 21)."""
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def blend(a: str, b: str, share_of_b: float) -> str:
    return _hex(tuple(x + (y - x) * share_of_b for x, y in zip(_rgb(a), _rgb(b))))


def readable_against(colour: str, backgrounds: list[str], ratio: float = AA) -> str:
    """``colour``, made darker (on light backgrounds) or lighter until it passes on each one."""
    light = sum(luminance(bg) for bg in backgrounds) / len(backgrounds) > 0.18
    hue, lightness, saturation = colorsys.rgb_to_hls(*_rgb(colour))
    candidate = colour
    while not all(contrast(candidate, bg) >= ratio for bg in backgrounds):
        lightness += -0.01 if light else 0.01
        if not 0 <= lightness <= 1:
            return "#000000" if light else "#FFFFFF"
        candidate = _hex(colorsys.hls_to_rgb(hue, lightness, saturation))
    return normal(candidate)


def text_on(background: str, candidates: list[str]) -> str:
    """The first candidate readable on ``background``, or the first one adjusted until it is."""
    for candidate in candidates:
        if contrast(candidate, background) >= AA:
            return normal(candidate)
    return readable_against(candidates[0], [background])


_DERIVE: dict[str, Callable[[dict[str, str]], str]] = {
    "stripe": lambda c: blend(c["paper"], c["primary"], 0.05),
    "tint": lambda c: blend(c["paper"], c["primary"], 0.08),
    "primary-text": lambda c: readable_against(c["primary"], _light(c)),
    "primary-soft": lambda c: readable_against(blend(c["primary"], c["paper"], 0.15),
                                               [c["paper"]]),
    "on-primary": lambda c: text_on(c["primary"], [c["paper"], c["text"]]),
    "on-primary-soft": lambda c: text_on(c["primary"], [c["surface"], c["on-primary"]]),
    "on-primary-muted": lambda c: readable_against(blend(c["on-primary"], c["primary"], 0.2),
                                                   [c["primary"]]),
    "accent-text": lambda c: readable_against(c["accent"], _light(c)[:3]),
    "on-accent": lambda c: text_on(c["accent"], [c["paper"], c["text"]]),
    "accent-on-primary": lambda c: readable_against(c["accent"], [c["primary"]], AA_LARGE),
    "secondary-text": lambda c: readable_against(c["secondary"], _light(c)[:3]),
}


def _light(colours: dict[str, str]) -> list[str]:
    return [colours["paper"], colours["surface"], colours["stripe"], colours["tint"]]


@dataclass(frozen=True)
class Problem:
    """A colour pair below AA, and the role whose line to report."""

    message: str
    role: str | None


def resolve_colors(given: dict[str, str]) -> tuple[dict[str, str], list[Problem]]:
    """Every role's colour: the guide's, else the built-in base or one derived from the bases
    (the built-in palette keeps its hand-tuned shades while its bases are unchanged).

    Derived shades are made to pass; a pair the guide's own colours break is a problem.
    """
    colours = {role: normal(given.get(role, value)) for role, value in BASE_COLORS.items()}
    builtin = all(colours[role] == normal(value) for role, value in BASE_COLORS.items())
    for role in DERIVED_COLORS:
        if role in given:
            colours[role] = normal(given[role])
        elif builtin and role in BUILTIN_SHADES:
            colours[role] = BUILTIN_SHADES[role]
        else:
            colours[role] = _DERIVE[role](colours)
    problems = [_problem(fg, bg, large, colours, given)
                for fg, bg, large in CONTRAST_PAIRS
                if contrast(colours[fg], colours[bg]) < (AA_LARGE if large else AA)]
    return colours, problems


def _problem(fg: str, bg: str, large: bool, colours: dict[str, str],
             given: dict[str, str]) -> Problem:
    ratio = contrast(colours[fg], colours[bg])
    need = AA_LARGE if large else AA
    role = fg if fg in given else bg if bg in given else next(iter(given), None)
    return Problem(f"colour '{fg}' {colours[fg]} on '{bg}' {colours[bg]} is {ratio:.2f}:1, "
                   f"below the {need:g}:1 WCAG AA needs: change one (or leave a derived shade "
                   "out so it is worked out for you)", role)


# ---- fonts

FONT_ROLES = ("heading", "body")
FONT_STYLES = {"regular": (400, "normal"), "italic": (400, "italic"), "medium": (500, "normal"),
               "semibold": (600, "normal"), "bold": (700, "normal"),
               "bold-italic": (700, "italic")}
FONT_SUFFIXES = (".otf", ".ttf", ".woff", ".woff2")
BUILTIN_FONTS = {"heading": "League Spartan", "body": "Inter"}
BUNDLED_FAMILIES = ("League Spartan", "Inter")


@dataclass(frozen=True)
class Font:
    """A font role's family, and the guide's own files for it (style → path in the guide)."""

    family: str
    files: dict[str, str] = field(default_factory=dict)


# ---- page

PAGE_SIZES = {"letter": ("8.5in", "11in"), "a4": ("210mm", "297mm"), "a5": ("148mm", "210mm")}
DEFAULT_MARGINS = ("0.8in", "0.7in", "0.75in", "0.7in")
_LENGTH = re.compile(r"^(\d+(?:\.\d+)?)(in|mm|cm|pt)$")
_POINTS = {"in": 72.0, "mm": 72 / 25.4, "cm": 72 / 2.54, "pt": 1.0}


def points(length: str) -> float:
    number, unit = _LENGTH.match(length).groups()
    return float(number) * _POINTS[unit]


def is_length(value: str) -> bool:
    return bool(_LENGTH.match(value))


@dataclass(frozen=True)
class Page:
    """The paper: ``name`` is Letter, A4, A5 or ``W x H``; lengths are CSS lengths."""

    name: str
    width: str
    height: str
    margins: tuple[str, str, str, str] = DEFAULT_MARGINS

    @property
    def size_points(self) -> tuple[float, float]:
        return points(self.width), points(self.height)


@dataclass(frozen=True)
class Theme:
    """The resolved look: every colour role, every font role, the logo."""

    colors: dict[str, str] = field(default_factory=lambda: resolve_colors({})[0])
    fonts: dict[str, Font] = field(default_factory=lambda: {
        role: Font(family) for role, family in BUILTIN_FONTS.items()})
    logo: str | None = None


def theme_css(theme: Theme, page: Page, cover_extras: tuple[str, ...] = ()) -> str:
    """The theme and page as CSS custom properties, plus @font-face for a guide's own fonts."""
    faces = [_font_face(font.family, style, path) for font in theme.fonts.values()
             for style, path in font.files.items()]
    lines = [f"--color-{role}: {value};" for role, value in theme.colors.items()]
    lines += [f"--color-{role}-rgb: {_rgb_triplet(value)};" for role, value in theme.colors.items()]
    lines += [f'--font-{role}: "{font.family}";' for role, font in theme.fonts.items()]
    top, right, bottom, left = page.margins
    lines += [f"--page-width: {page.width};", f"--page-height: {page.height};",
              f"--page-margin: {top} {right} {bottom} {left};",
              f"--page-margin-top: {top};", f"--page-margin-x: {left};"]
    lines += [f"--page-{name}: {value};"
              for name, value in page_design(page, cover_extras).items()]
    return "\n".join([*faces, ":root { " + " ".join(lines) + " }"])


# ---- the design derived from the page size: styles read these as var(--page-NAME, default),
# so a guide's extra.css can still set --text-indent or --size-h1 itself
LETTER_TEXT_WIDTH = 7.1 * 72  # the text width the design was drawn for (Letter, 0.7in margins)
SIDE_INDENT = 1.9 * 72  # the side-head column and its gutter
MIN_COLUMN = 3.8 * 72  # narrower than this (about 52 characters) and the side column goes
COVER_RESERVE = 5.2 * 72  # the cover's brand row, title, subtitle and footer, at Letter size
COVER_EXTRAS = {"eyebrow": 0.8 * 72, "byline": 0.3 * 72}  # lines a cover may add above its art


def default_margins(width: str) -> tuple[str, str, str, str]:
    """The built-in margins, narrowed on a small page (A5, 6x9 in) so the text keeps its
    measure: to 70 % of Letter's at most."""
    share = min(1.0, max(0.7, points(width) / (8.27 * 72)))  # A4 and wider: as drawn
    return tuple(f"{round(points(m) * share / 72, 3):g}in" for m in DEFAULT_MARGINS)


def page_design(page: Page, cover_extras: tuple[str, ...] = ()) -> dict[str, str]:
    """Type scale, side-head column (or none), and cover measures for this page size: Letter
    and A4 keep the design as drawn; a narrow page sets its side-heads above the text and
    scales headings and the cover down with its width. ``cover_extras`` (eyebrow, byline)
    take their room from the art, so it never runs into the footer."""
    width, height = page.size_points
    text = width - points(page.margins[1]) - points(page.margins[3])
    scale = round(min(1.0, max(0.72, text / LETTER_TEXT_WIDTH)), 3)
    side = text - SIDE_INDENT >= MIN_COLUMN
    cover_pad = round(0.8 * min(1.0, max(0.6, width / (8.5 * 72))), 3)
    art_width = min(5.6 * 72, width - 2 * cover_pad * 72)
    reserve = COVER_RESERVE + sum(COVER_EXTRAS[extra] for extra in cover_extras)
    design = {
        "type-scale": f"{scale:g}",
        "text-indent": "1.9in" if side else "0in",
        "sidehead-width": "calc(1.9in - 0.22in)" if side else "auto",
        "sidehead-size": "12pt" if side else "var(--size-h2)",
        "sidehead-lift": "-14.4pt" if side else "0.35em",
        "cover-pad-x": f"{cover_pad:g}in",
        "cover-art-width": f"{round(art_width, 1):g}pt",
        # what the cover's top, title, subtitle and footer leave for the art
        # (the footer keeps its size on a small page, and wraps: the room shrinks less)
        "cover-art-height": f"{round(max(1.2 * 72, height - reserve * max(scale, 0.85)), 1):g}pt",
    }
    return design


def _rgb_triplet(hex_colour: str) -> str:
    """``R, G, B`` (0-255), for ``rgba(var(--color-x-rgb), 0.9)``: a translucent colour
    instead of CSS ``opacity``, whose transparency group falls outside the PDF's tags."""
    return ", ".join(str(round(c * 255)) for c in _rgb(hex_colour))


def _font_face(family: str, style: str, path: str) -> str:
    weight, slant = FONT_STYLES[style]
    return (f'@font-face {{ font-family: "{family}"; font-weight: {weight}; '
            f'font-style: {slant}; src: url("{path}"); }}')
