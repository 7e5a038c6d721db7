"""Every text colour pair the styles print meets WCAG AA (4.5:1, or 3:1 for large text): the
built-in palette, the default guide's hand-tuned shades, and shades derived for other brands."""
from __future__ import annotations

import re

import pytest
from conftest import SAMPLE

from leadguide.errors import ConfigError
from leadguide.guide.assets import BUILTIN_STYLES
from leadguide.guide.config import load_config
from leadguide.guide.theme import CONTRAST_PAIRS, ROLES, contrast, resolve_colors

BRANDS = {
    "built-in": {},
    "bakery": {"primary": "#6B3E26", "accent": "#F2A541", "secondary": "#9DBF9E",
               "surface": "#FFF7E8"},
    "pale primary": {"primary": "#F4D35E", "accent": "#0D3B66", "surface": "#FAF0CA"},
    "neon": {"primary": "#00E5FF", "accent": "#FF00AA", "secondary": "#39FF14"},
    "dark surface": {"primary": "#102A43", "accent": "#D64545", "surface": "#D9E2EC",
                     "paper": "#F0F4F8"},
    "monochrome": {"primary": "#222222", "accent": "#777777", "secondary": "#999999"},
}


def test_contrast_formula_on_known_values():
    assert contrast("#000000", "#FFFFFF") == pytest.approx(21)
    assert contrast("#777777", "#FFFFFF") == pytest.approx(4.48, abs=0.01)


@pytest.mark.parametrize("brand", BRANDS)
def test_derived_palettes_pass_every_pair(brand):
    colours, problems = resolve_colors(BRANDS[brand])
    assert not problems, [p.message for p in problems]
    assert set(colours) == set(ROLES)
    for fg, bg, large in CONTRAST_PAIRS:
        ratio = contrast(colours[fg], colours[bg])
        assert ratio >= (3.0 if large else 4.5), f"{brand}: {fg} on {bg}: {ratio:.2f}"


def test_a_light_accent_gets_a_darker_text_shade_and_keeps_its_own_hue():
    colours, _ = resolve_colors(BRANDS["bakery"])
    assert colours["accent"] == "#F2A541"
    assert colours["accent-text"] != colours["accent"]
    assert contrast(colours["accent-text"], "#FFFFFF") >= 4.5
    red, green, blue = (int(colours["accent-text"][i:i + 2], 16) for i in (1, 3, 5))
    assert red > green > blue  # still an orange, only darker


def test_the_default_guide_keeps_its_hand_tuned_shades():
    theme = load_config(SAMPLE.parent.parent / "guide").theme
    assert (theme.colors["primary"], theme.colors["accent-text"], theme.colors["on-accent"],
            theme.colors["secondary-text"]) == ("#1B2A41", "#B4441F", "#0F1722", "#3F6657")


def test_theme_css_holds_the_built_in_palette():
    css = (BUILTIN_STYLES / "theme.css").read_text()
    declared = dict(re.findall(r"--color-([\w-]+):\s*(#[0-9A-Fa-f]{6})", css))
    assert declared == resolve_colors({})[0]


def test_an_explicit_pair_below_aa_is_an_error_with_its_line(sample_guide):
    path = sample_guide / "guide.yaml"
    path.write_text(path.read_text().replace('    primary: "#1B2A41"\n',
                                             '    primary: "#1B2A41"\n    on-accent: "#FFFFFF"\n'))
    with pytest.raises(ConfigError) as error:
        load_config(sample_guide)
    line = path.read_text().splitlines().index('    on-accent: "#FFFFFF"') + 1
    assert error.value.line == line and "below the 4.5:1 WCAG AA" in str(error.value)


CODE_COLOURS = ("text", "comment", "keyword", "string", "number", "name", "builtin", "deleted",
                "inserted")


@pytest.mark.parametrize("role", CODE_COLOURS)
def test_code_colours_pass_on_the_code_background(role):
    css = (BUILTIN_STYLES / "theme.css").read_text()
    code = dict(re.findall(r"--code-([\w-]+):\s*(#[0-9A-Fa-f]{6})", css))
    assert contrast(code[role], code["background"]) >= 4.5, role
