"""The print edition: bleed, crop marks, fields as lines to write on, links as addresses;
made from the default guide's PDF, rendered with PDFium, and by `leadguide build --print`."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pikepdf
import pypdfium2 as pdfium
import pytest
from conftest import SAMPLE

from leadguide.check import run_checks
from leadguide.cli import main
from leadguide.pdf.conformance import claims
from leadguide.pdf.printed import BLEED_INCH, MARK, MARK_GAP, SLUG, print_edition

LETTER = (612.0, 792.0)
SCALE = 2  # render at 144 dpi


@pytest.fixture(scope="module")
def printed(built_default, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("print") / "guide.print.pdf"
    path.write_bytes(print_edition(built_default.output.read_bytes()))
    return path


@pytest.fixture(scope="module")
def renders(printed):
    """Page number → (image, sheet origin in points) for the pages the tests look at."""
    document = pdfium.PdfDocument(printed)
    found = {}
    for number in (1, 2, 21):
        page = document[number - 1]
        found[number] = (page.render(scale=SCALE).to_pil().convert("RGB"),
                         page.get_mediabox()[:2])
    document.close()
    return found


def _pixel(renders, number: int, x: float, y: float) -> tuple[int, int, int]:
    """The colour at (x, y) in the page's own points (origin: the trim box's corner)."""
    image, (left, bottom) = renders[number]
    return image.getpixel((round((x - left) * SCALE), round(image.height - (y - bottom) * SCALE)))


def test_every_page_has_its_trim_bleed_and_sheet_boxes(printed, built_default):
    with pikepdf.open(printed) as pdf:
        assert len(pdf.pages) == 24
        for page in pdf.pages:
            assert [float(v) for v in page.obj.TrimBox] == [0, 0, *LETTER]
            b = BLEED_INCH
            assert [float(v) for v in page.obj.BleedBox] == pytest.approx(
                [-b, -b, LETTER[0] + b, LETTER[1] + b])
            s = b + SLUG
            assert [float(v) for v in page.obj.MediaBox] == pytest.approx(
                [-s, -s, LETTER[0] + s, LETTER[1] + s])


def test_backgrounds_run_into_the_bleed(renders):
    dark = _pixel(renders, 1, 20, 400)  # the cover's navy, inside the page
    assert sum(dark) < 200
    for x, y in ((-BLEED_INCH / 2, 400), (LETTER[0] + BLEED_INCH / 2, 400),
                 (300, -BLEED_INCH / 2), (300, LETTER[1] + BLEED_INCH / 2)):
        assert _pixel(renders, 1, x, y) == dark, (x, y)
    assert _pixel(renders, 1, -BLEED_INCH - SLUG / 2, 400) == (255, 255, 255)  # the slug


def test_crop_marks_are_drawn_outside_the_trim_and_bleed_boxes(renders):
    on_mark = BLEED_INCH + MARK_GAP + MARK / 2
    for number in (1, 2):
        for x, y in ((0, 0), (LETTER[0], 0), (0, LETTER[1]), LETTER):
            sx = -1 if x == 0 else 1
            sy = -1 if y == 0 else 1
            assert sum(_pixel(renders, number, x + sx * on_mark, y)) < 600, (number, x, y)
            assert sum(_pixel(renders, number, x, y + sy * on_mark)) < 600, (number, x, y)
    # on a white page nothing else is drawn in the bleed at the corners
    assert _pixel(renders, 2, -BLEED_INCH / 2, -BLEED_INCH / 2) == (255, 255, 255)


def test_fields_are_flattened_to_lines_to_write_on(printed, renders, built_default):
    with pikepdf.open(printed) as pdf:
        assert "/AcroForm" not in pdf.Root
        assert not [a for page in pdf.pages for a in page.obj.get("/Annots", [])
                    if a.get("/Subtype") == "/Widget"]
        assert claims(printed.read_bytes()) == {}  # flattened fields are untagged: no claim
    with pikepdf.open(built_default.output) as pdf:
        fields = [a for a in pdf.pages[20].obj.Annots if a.get("/FT") == "/Tx"]
    for field in fields:
        xs = sorted(float(v) for v in field.Rect[0::2])
        ys = sorted(float(v) for v in field.Rect[1::2])
        darkest = [min(sum(_pixel(renders, 21, x, ys[0] + 0.5 + step / 4)) for step in range(9))
                   for x in (xs[0] + 3, (xs[0] + xs[1]) / 2)]  # across the line's height
        assert all(level < 600 for level in darkest), (str(field.T), darkest)


def test_web_links_are_printed_as_short_addresses(printed):
    text = subprocess.run(["pdftotext", "-f", "3", "-l", "3", str(printed), "-"], check=True,
                          capture_output=True, text=True).stdout
    assert "Links: insideoutstrength.com/consult" in text
    assert "utm_" not in text


def test_build_print_writes_it_and_check_verifies_its_boxes(tmp_path: Path, capsys):
    guide = tmp_path / "guide"
    shutil.copytree(SAMPLE, guide)
    out = tmp_path / "out" / "sample.pdf"
    assert main(["build", str(guide), "--out", str(out), "--print"]) == 0
    edition = out.with_name("sample.print.pdf")
    assert f"{edition}  print edition" in capsys.readouterr().out
    [result] = [r for r in run_checks(guide, out) if r.name == "print-edition"]
    assert result.status == "pass"
    with pikepdf.open(edition, allow_overwriting_input=True) as pdf:
        del pdf.pages[0].obj["/BleedBox"]
        pdf.save(edition)
    [result] = [r for r in run_checks(guide, out) if r.name == "print-edition"]
    assert result.status == "fail" and "p. 1" in result.message
