"""The design follows the page size, read from real PDFs: on Letter the side-heads hang in a
column beside the text; on A5 there is no side column and the text keeps a 50-85 character
measure; the cover's parts never overlap, and the cover check says so from the boxes."""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pypdfium2 as pdfium
import pytest

from leadguide.build import build
from leadguide.check import run_checks
from leadguide.starters.scaffold import new_guide

LONG_COVER = """cover:
  eyebrow: The complete starter
  byline: Written by the whole team, for everyone who wants to begin
  art: images/logo.svg
  art_alt: The logo, large
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, tuple[Path, Path]]:
    root = tmp_path_factory.mktemp("sizes")
    found = {}
    for size in ("Letter", "A5", "6in x 9in"):
        guide = new_guide(root / f"ebook-{len(found)}", "ebook")
        config = guide / "guide.yaml"
        text = config.read_text(encoding="utf-8").replace("page_size: Letter",
                                                          f"page_size: {size}")
        text = text.replace("  badge: Free guide", LONG_COVER.split("\n", 1)[1] +
                            "  badge: Free guide")
        config.write_text(text, encoding="utf-8")
        found[size] = guide, build(guide, out=root / f"{len(found)}.pdf", draft=True).output
    return found


def lines_of(pdf: Path, index: int) -> list[tuple[float, float, str]]:
    """(left, baseline, text) of each printed line of a page, top to bottom."""
    textpage = pdfium.PdfDocument(pdf)[index].get_textpage()
    rows: dict[int, list[tuple[float, str]]] = defaultdict(list)
    for i in range(textpage.count_chars()):
        char = textpage.get_text_range(i, 1)
        left, bottom, _, _ = textpage.get_charbox(i, loose=True)  # one bottom per line
        if char.strip() or char == " ":
            rows[round(bottom)].append((left, char))
    found = []
    for y, row in sorted(rows.items(), reverse=True):
        segment: list[tuple[float, str]] = []
        for left, char in sorted(row):  # a side-head and its text share a baseline: two lines
            if segment and left - segment[-1][0] > 24:
                found.append((segment[0][0], y, "".join(c for _, c in segment).strip()))
                segment = []
            segment.append((left, char))
        found.append((segment[0][0], y, "".join(c for _, c in segment).strip()))
    return found


def line_starting(pdf: Path, index: int, words: str) -> tuple[float, float, str]:
    return next(line for line in lines_of(pdf, index) if line[2].startswith(words))


def test_letter_hangs_side_heads_beside_the_text(built):
    _, pdf = built["Letter"]
    head = line_starting(pdf, 2, "Who it is for")
    text = line_starting(pdf, 2, "Replace this paragraph with the reader")
    assert head[0] + 72 < text[0]  # the text column is indented past the side-head
    assert abs(head[1] - text[1]) < 3  # level with it


@pytest.mark.parametrize("size", ["A5", "6in x 9in"])
def test_a_narrow_page_has_no_side_column_and_keeps_its_measure(built, size):
    _, pdf = built[size]
    head = line_starting(pdf, 2, "Who it is for")
    text = line_starting(pdf, 2, "Replace this paragraph with the reader")
    assert abs(head[0] - text[0]) < 2 and head[1] > text[1] + 5  # stacked, one left edge
    prose = [len(line) for left, _, line in lines_of(pdf, 2)
             if abs(left - text[0]) < 2 and len(line.split()) > 6]
    assert prose and 50 <= max(prose) <= 85, prose


@pytest.mark.parametrize("size", ["Letter", "A5", "6in x 9in"])
def test_the_cover_parts_never_overlap(built, size):
    guide, pdf = built[size]
    cover = [r for r in run_checks(guide, pdf) if r.name == "cover"]
    assert [r.status for r in cover] == ["pass"], cover
    assert set(cover[0].details["boxes"]) >= {"cover-title", "cover-art", "cover-footer"}


def test_the_cover_check_finds_art_running_into_the_footer(built, tmp_path):
    guide, _ = built["A5"]
    (guide / "styles" / "extra.css").write_text(
        ".cover-art { width: 4in; height: 5in; max-height: none; }\n", encoding="utf-8")
    pdf = build(guide, out=tmp_path / "clash.pdf", draft=True).output
    cover = [r for r in run_checks(guide, pdf) if r.name == "cover"]
    assert [r.status for r in cover] == ["fail"]
    assert "the cover's art and footer overlap" in cover[0].message
