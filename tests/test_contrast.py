"""Text colour pairs used by the styles meet WCAG AA (4.5:1, or 3:1 for large text)."""
from __future__ import annotations

import re

import pytest

from leadguide.assets import BUILTIN_STYLES

THEME = dict(re.findall(r"--color-([\w-]+):\s*(#[0-9A-Fa-f]{6})", (BUILTIN_STYLES / "theme.css")
                        .read_text()))
# (text, background, large text?) as print.css pairs them
PAIRS = [
    ("ink", "paper", False), ("ink", "cream", False), ("navy", "paper", False),
    ("muted", "paper", False), ("muted", "#F4F6F8", False), ("muted", "cream", False),
    ("coral-dark", "paper", False), ("sage-dark", "paper", False), ("sage-dark", "cream", False),
    ("paper", "navy", False), ("cream", "navy", False), ("#C9D1DC", "navy", False),
    ("on-coral", "coral", False),        # buttons and badges
    ("paper", "sage-dark", False), ("paper", "#2F4A6B", False), ("paper", "coral-dark", False),
    ("navy", "#EEF1F5", False),          # caution callout
    ("coral", "navy", True),             # cover title, second line (35 pt)
]


def _colour(name: str) -> str:
    return name if name.startswith("#") else THEME[name]


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_contrast_formula_on_known_values():
    assert contrast("#000000", "#FFFFFF") == pytest.approx(21)
    assert contrast("#777777", "#FFFFFF") == pytest.approx(4.48, abs=0.01)


@pytest.mark.parametrize("text,background,large", PAIRS)
def test_text_pairs_meet_wcag_aa(text, background, large):
    ratio = contrast(_colour(text), _colour(background))
    assert ratio >= (3.0 if large else 4.5), f"{text} on {background}: {ratio:.2f}"
