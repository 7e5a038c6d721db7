"""Headings and page breaks, read from a real PDF: a side-head too long for its column is set
above its text (no hole beside it), h4-h6 print at least at body size, and code blocks and
table rows broken over two pages keep at least three lines (rows) on each side."""
from __future__ import annotations

import re
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
import pytest
import yaml

from leadguide.build import build

SPACERS = range(100, 200, 8)  # each chapter puts its block a little lower on its page
LINES = 12


def code_chapter(spacer: int) -> str:
    code = "\n".join(f"c{spacer:03d}n{i:02d} = {i}  # a line of code" for i in range(LINES))
    return f'<div style="height: {spacer}pt"></div>\n\n```python\n{code}\n```\n'


def table_chapter(spacer: int) -> str:
    rows = "\n".join(f"| t{spacer:03d}n{i:02d} | a cell | another cell |" for i in range(LINES))
    return (f'<div style="height: {spacer}pt"></div>\n\n| Item | What | Note |\n| --- | --- | --- |\n'
            f"{rows}\n")


HEADINGS = """
## How to prepare your kitchen before the first week begins

Sidehead paragraph starts here and runs on for a while so that it makes a line or two of text.

## Short head

Shorthead paragraph starts here beside its heading, level with it.

##### A fifth-level heading

Body text under the fifth-level heading, at the size every paragraph has.

<div class="disclaimer" markdown="1">General information only.</div>
"""


@pytest.fixture(scope="module")
def pdf(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("breaks") / "guide"
    (root / "chapters").mkdir(parents=True)
    bodies = {f"{i:02d}-code.md": code_chapter(s) for i, s in enumerate(SPACERS)}
    bodies |= {f"{50 + i:02d}-table.md": table_chapter(s) for i, s in enumerate(SPACERS)}
    bodies["99-headings.md"] = HEADINGS
    for name, body in bodies.items():
        (root / "chapters" / name).write_text(f"---\ntitle: {name[3:-3].title()}\n---\n\n{body}",
                                              encoding="utf-8")
    (root / "guide.yaml").write_text(yaml.safe_dump({
        "title": "Breaks", "author": "Test Studio", "pages": 1, "output": "breaks.pdf",
        "page_size": "8in x 6in", "chapters": sorted(bodies)}), encoding="utf-8")
    return build(root, out=root.parent / "breaks.pdf", draft=True).output


def page_texts(pdf: Path) -> list[str]:
    return [page.get_textpage().get_text_range() for page in pdfium.PdfDocument(pdf)]


@pytest.mark.parametrize("prefix", ["c", "t"])
def test_a_block_broken_over_pages_keeps_three_lines_on_each_side(pdf, prefix):
    texts = page_texts(pdf)
    splits = 0
    for spacer in SPACERS:
        marker = re.compile(rf"{prefix}{spacer:03d}n\d\d")
        counts = [len(marker.findall(text)) for text in texts]
        on_pages = [count for count in counts if count]
        assert sum(on_pages) == LINES
        splits += len(on_pages) > 1
        assert all(count >= 3 for count in on_pages), (spacer, on_pages)
    assert splits >= 3  # the spacers did push blocks over a page break


def _line_tops(pdf: Path, needle: str) -> tuple[int, float, float]:
    """(page index, top of the first char, font size) of ``needle`` in the PDF."""
    for index, page in enumerate(pdfium.PdfDocument(pdf)):
        textpage = page.get_textpage()
        text = textpage.get_text_range()
        at = text.find(needle)
        if at >= 0:
            _, _, _, top = textpage.get_charbox(at)
            return index, top, pdfium_c.FPDFText_GetFontSize(textpage, at)
    raise AssertionError(f"{needle!r} not in the PDF")


def test_a_side_head_too_long_for_its_column_is_set_above_its_text(pdf):
    page, head_top, _ = _line_tops(pdf, "How to prepare")
    _, last_top, _ = _line_tops(pdf, "begins")
    _, text_top, _ = _line_tops(pdf, "Sidehead paragraph")
    assert text_top < last_top - 5  # below the heading's last line: no hole beside it
    # a short side-head still hangs beside its text, level with its first line
    _, short_top, _ = _line_tops(pdf, "Short head")
    _, beside_top, _ = _line_tops(pdf, "Shorthead paragraph")
    assert abs(short_top - beside_top) < 4


def test_h5_prints_at_least_at_body_size(pdf):
    _, _, heading = _line_tops(pdf, "A fifth-level heading")
    _, _, body = _line_tops(pdf, "Body text under")
    assert heading >= body - 0.01
