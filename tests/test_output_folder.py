"""Builds go beside the guide (``<guide>/build/``), whatever the current directory, and every
command agrees; nothing a build writes there is read back as a source. A --draft PDF carries
a visible DRAFT mark on every page, tagged as an artifact."""
from __future__ import annotations

import os
import re

import pikepdf
import pypdfium2 as pdfium
import pytest
from conftest import copy_sample

from leadguide.build import build, is_stale
from leadguide.check import ensure_pdf
from leadguide.cli import main
from leadguide.errors import GuideError
from leadguide.guide.config import load_config
from leadguide.preview.paths import default_out


@pytest.fixture(scope="module")
def built_from_elsewhere(tmp_path_factory):
    """The sample guide built by `leadguide build GUIDE` from another folder, then built
    again unchanged."""
    root = tmp_path_factory.mktemp("beside")
    guide = copy_sample(root)
    elsewhere = root / "elsewhere"
    elsewhere.mkdir()
    before = os.getcwd()
    os.chdir(elsewhere)
    try:
        assert main(["build", str(guide)]) == 0
        again = build(guide)
    finally:
        os.chdir(before)
    return guide, elsewhere, again


def test_build_writes_beside_the_guide_whatever_the_current_directory(built_from_elsewhere):
    guide, elsewhere, _ = built_from_elsewhere
    assert (guide / "build" / "sample.pdf").is_file()
    assert (guide / "build" / "sample.build.json").is_file()
    assert not any(elsewhere.iterdir())  # nothing at all where the command ran


def test_what_a_build_wrote_beside_the_guide_is_never_a_source(built_from_elsewhere):
    guide, _, again = built_from_elsewhere
    # the manifest and the cache written after the PDF would make it look stale, and the
    # unchanged guide look changed, if the build folder counted as the guide's sources
    assert again.laid_out is None and again.timings.keys() == {"unchanged"}
    assert not is_stale(guide / "build" / "sample.pdf", guide)
    assert ensure_pdf(guide, None) == (guide / "build" / "sample.pdf", None)


def test_every_command_agrees_on_the_output_folder(built_from_elsewhere):
    guide, _, _ = built_from_elsewhere
    config = load_config(guide)
    assert config.output_path == guide.resolve() / "build" / "sample.pdf"
    assert default_out(guide) == guide.resolve() / "build" / "preview"


def test_output_may_name_a_folder_inside_the_guide_never_outside(sample_guide):
    config_file = sample_guide / "guide.yaml"
    text = config_file.read_text(encoding="utf-8")
    config_file.write_text(text.replace("output: sample.pdf", "output: dist/sample.pdf"))
    config = load_config(sample_guide)
    assert (config.output, config.output_dir) == ("sample.pdf", sample_guide.resolve() / "dist")
    for bad in ("../sample.pdf", "/tmp/sample.pdf", "dist/../../x.pdf", "dist/notes.txt"):
        config_file.write_text(text.replace("output: sample.pdf", f"output: {bad}"))
        with pytest.raises(GuideError, match=r"guide.yaml:\d+: 'output' must be a file name"):
            load_config(sample_guide)


@pytest.fixture(scope="module")
def draft_pdf(tmp_path_factory):
    root = tmp_path_factory.mktemp("draft")
    guide = copy_sample(root)
    return build(guide, out=root / "draft.pdf", draft=True).output


def test_a_draft_carries_a_visible_draft_mark_on_every_page(draft_pdf, built_sample):
    def red_at_top(pdf, index: int) -> int:
        page = pdfium.PdfDocument(pdf)[index]
        image = page.render(scale=1).to_pil().convert("RGB")
        band = image.crop((image.width // 2 - 20, 0, image.width // 2 + 20, 12))
        pixels = band.tobytes()
        return sum(1 for i in range(0, len(pixels), 3)
                   if pixels[i] > 150 and pixels[i + 1] < 80 and pixels[i + 2] < 80)

    pages = len(pdfium.PdfDocument(draft_pdf))
    assert all(red_at_top(draft_pdf, index) > 100 for index in range(pages))
    clean = built_sample[0].output
    assert all(red_at_top(clean, index) == 0 for index in range(pages))


def test_the_draft_mark_is_an_artifact_outside_the_text_and_tags(draft_pdf):
    with pikepdf.open(draft_pdf) as document:
        for page in document.pages:
            content = b"".join(s.read_bytes() for s in (
                page.Contents if isinstance(page.Contents, pikepdf.Array) else [page.Contents]))
            assert re.search(rb"/Artifact <</Type /Pagination /Subtype /Watermark>> BDC", content)
    text = "".join(page.get_textpage().get_text_range() for page in pdfium.PdfDocument(draft_pdf))
    assert "DRAFT" not in text  # drawn as outlines: a reader copying text never gets it
