"""The starters in every look: the three kinds x the three looks on Letter, A4 and A5 (and
the ebook on 6x9 in) build strictly and pass every check (no page under fit.min_fill, nothing
outside the trim box, no two cover parts overlapping), with running text 50-85 characters a
line, read from the PDF. On the smaller papers the starter's text is sized for the page
(`leadguide new --page-size`). Built once per session."""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
import pytest

from leadguide.build import build
from leadguide.check import fit_to_send, run_checks
from leadguide.errors import GuideError
from leadguide.fit.starter import new_sized_guide
from leadguide.guide.assets import LOOKS
from leadguide.guide.config import load_config
from leadguide.starters.scaffold import KINDS, new_guide

STRICT = [(kind, look, size) for kind in KINDS for look in LOOKS
          for size in ("Letter", "A4", "A5")] + [("ebook", look, "6in x 9in") for look in LOOKS]


def _build(root: Path, kind: str, look: str, size: str) -> tuple[Path, Path]:
    name = f"{kind}-{look}-{size.replace(' ', '')}"
    guide = new_sized_guide(root / name, kind, look, size)
    assert f"page_size: {size}" in (guide / "guide.yaml").read_text(encoding="utf-8")
    return guide, build(guide, out=root / f"{name}.pdf").output


@pytest.fixture(scope="session")
def matrix(tmp_path_factory) -> dict[tuple[str, str, str], tuple[Path, Path]]:
    root = tmp_path_factory.mktemp("looks")
    # one after another: each build lays its parts out on every core already
    return {combo: _build(root, *combo) for combo in STRICT}


def prose_line_lengths(pdf: Path) -> list[int]:
    """Characters per printed line of running text (lines of eight words or more that start
    at the text column's left edge), on every chapter page."""
    lengths = []
    document = pdfium.PdfDocument(pdf)
    for index in range(2, len(document)):
        textpage = document[index].get_textpage()
        rows: dict[int, list[tuple[float, str]]] = defaultdict(list)
        for i in range(textpage.count_chars()):
            if pdfium_c.FPDFText_GetFontSize(textpage, i) < 9.5:
                continue  # small print (a disclaimer, captions) is not running text
            left, bottom, _, _ = textpage.get_charbox(i, loose=True)
            rows[round(bottom)].append((left, textpage.get_text_range(i, 1)))
        for row in rows.values():
            for text in _columns_of(sorted(row)):
                if len(text.split()) >= 8 and text.startswith("Replace"):
                    lengths.append(len(text))
    return lengths


def _columns_of(row: list[tuple[float, str]]) -> list[str]:
    """A printed row split where a gap wider than a few spaces parts two columns (cards)."""
    texts, current, last = [], "", None
    for left, char in row:
        if last is not None and left - last > 14:
            texts.append(current.strip())
            current = ""
        current, last = current + char, left
    return [*texts, current.strip()]


@pytest.mark.parametrize("combo", STRICT, ids="-".join)
def test_every_kind_and_look_builds_strictly_and_passes_every_check(matrix, combo):
    guide, pdf = matrix[combo]
    results = run_checks(guide, pdf)
    failed = [r for r in results if r.status == "fail"]
    assert fit_to_send(results), failed
    names = {r.name for r in results if r.status == "pass"}
    assert {"page-fill", "trim-box", "cover", "page-count"} <= names


@pytest.mark.parametrize("combo", STRICT, ids="-".join)
def test_running_text_keeps_its_measure(matrix, combo):
    _, pdf = matrix[combo]
    lengths = prose_line_lengths(pdf)
    assert lengths and 50 <= max(lengths) <= 85, lengths


@pytest.mark.parametrize("combo", [c for c in STRICT if c[2] not in ("Letter", "A4")],
                         ids="-".join)
def test_a_smaller_page_keeps_the_promise_with_less_starter_text(matrix, combo):
    """The same page count as on Letter, each chapter on its one-page budget, with fewer
    placeholder blocks to replace: what the page had no room for was left out."""
    kind, look, _ = combo
    guide, pdf = matrix[combo]
    assert len(pdfium.PdfDocument(pdf)) == KINDS[kind].pages
    letter = matrix[(kind, look, "Letter")][0]
    words = [sum(len(path.read_text(encoding="utf-8").split())
                 for path in (folder / "chapters").glob("*.md")) for folder in (guide, letter)]
    assert words[0] < words[1]
    assert "<!--" not in "".join(p.read_text(encoding="utf-8")
                                 for p in (guide / "chapters").glob("*.md"))


def test_the_looks_differ_where_a_reader_sees_them(matrix):
    """The cover of each look is drawn differently: the page's corner colour and the title."""
    covers = {look: pdfium.PdfDocument(matrix[("ebook", look, "Letter")][1])[0]
              .render(scale=0.2).to_pil().convert("RGB") for look in LOOKS}
    corners = {look: image.getpixel((2, image.height // 2)) for look, image in covers.items()}
    assert corners["editorial"] != corners["classic"]  # a paper cover, not a colour block
    assert len({covers[look].tobytes() for look in LOOKS}) == 3


def test_an_unknown_look_is_an_error_with_its_line(tmp_path):
    guide = new_guide(tmp_path / "g", "ebook", "bold")
    config = guide / "guide.yaml"
    assert "look: bold" in config.read_text(encoding="utf-8")
    config.write_text(config.read_text(encoding="utf-8").replace("look: bold", "look: glossy"))
    with pytest.raises(GuideError, match=r"guide.yaml:\d+: unknown look 'glossy' "
                                         r"\(looks: classic, editorial, bold\)"):
        load_config(guide)


def test_a_letter_starter_keeps_every_block_and_no_marks(tmp_path):
    guide = new_sized_guide(tmp_path / "g", "ebook", "classic", "Letter")
    text = (guide / "chapters" / "01-introduction.md").read_text(encoding="utf-8")
    assert "## How to use it" in text and "## What you will need" in text
    assert "<!--" not in text


def test_an_unknown_page_size_writes_nothing(tmp_path, capsys):
    from leadguide.cli import main

    assert main(["new", str(tmp_path / "g"), "--page-size", "B7"]) != 0
    assert "unknown page size 'B7' (Letter, A4, A5 or a size like '6in x 9in'" in \
        capsys.readouterr().err
    assert not (tmp_path / "g").exists()


def test_new_takes_the_page_size_and_sizes_the_starter_for_it(tmp_path, capsys):
    from leadguide.cli import main

    assert main(["new", str(tmp_path / "dental"), "--kind", "checklist",
                 "--page-size", "A5"]) == 0
    captured = capsys.readouterr()
    assert "a 5-page checklist, classic look, A5 paper" in captured.out
    assert "sizing the starter's text for A5 paper" in captured.err
    assert "page_size: A5" in (tmp_path / "dental" / "guide.yaml").read_text(encoding="utf-8")
