"""A part re-lays only when a page number it prints moves: the "chapter 3" case of issue 27.

The hub guide's chapter 3 is linked from every other chapter and from the contents; only
chapter 5 prints the page of the anchor it links to ("on page N"). An edit that moves that
anchor to chapter 3's next page re-lays chapter 3 and chapter 5, not the four chapters that
only link to it, and the PDF is the one a cold build of the edited guide gives.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from conftest import SAMPLE
from pypdf import PdfReader
from test_fast_build import summary

from leadguide.build import build

_PARAGRAPH = ("Strength comes from showing up, week after week, with a plan you can keep. "
              "Each session builds on the last one, and small steps add up to real change. ") * 3
_CHAPTERS = [f"0{i}-part{i}.md" for i in range(1, 7)]


def _hub_guide(root: Path) -> Path:
    """The sample guide with six chapters, all linking to an anchor in chapter 3."""
    guide = root / "guide"
    shutil.copytree(SAMPLE, guide, ignore=shutil.ignore_patterns("chapters"))
    (guide / "chapters").mkdir()
    config = (guide / "guide.yaml").read_text(encoding="utf-8")
    listed = "chapters:\n  - 01-intro.md\n  - 02-training.md\n  - 03-food.md"
    assert listed in config
    config = config.replace(listed, "chapters:\n" + "\n".join(f"  - {n}" for n in _CHAPTERS))
    config = config.replace("toc_after: 01-intro.md", f"toc_after: {_CHAPTERS[0]}")
    (guide / "guide.yaml").write_text(config.replace("pages: 6", "pages: 9"), encoding="utf-8")
    for number, name in enumerate(_CHAPTERS, start=1):
        pages = 1
        if number == 3:
            body = ("## Start\n\n" + "\n\n".join([_PARAGRAPH] * 4)
                    + "\n\n## The target {: #hub-target }\n\n" + "\n\n".join([_PARAGRAPH] * 3))
            pages = 2
        else:
            printed = "{: .pageref }" if number == 5 else ""
            body = f"{_PARAGRAPH}\n\nRead [the hub's target](#hub-target){printed} for more.\n"
        (guide / "chapters" / name).write_text(
            f"---\ntitle: Part {number}\nsummary: Part {number} of six.\npages: {pages}\n---\n\n"
            f"{body}", encoding="utf-8")
    return guide


def _push_the_target_down(guide: Path) -> None:
    chapter = guide / "chapters" / _CHAPTERS[2]
    text = chapter.read_text(encoding="utf-8")
    chapter.write_text(text.replace("## The target", f"{_PARAGRAPH}\n\n## The target", 1),
                       encoding="utf-8")


def _text(pdf: Path) -> str:
    return " ".join(" ".join(page.extract_text() for page in PdfReader(pdf).pages).split())


def _manifest(pdf_manifest: Path) -> dict:
    manifest = json.loads(pdf_manifest.read_text(encoding="utf-8"))
    return {k: v for k, v in manifest.items() if k not in ("pdf", "size", "built_at")}


def test_only_the_parts_that_print_a_moved_page_number_re_lay(tmp_path):
    guide = _hub_guide(tmp_path)
    out = tmp_path / "out" / "hub.pdf"
    cold = build(guide, out=out, draft=True)
    assert cold.laid_out == (8, 8)  # cover, chapter 1, contents, chapters 2 to 6
    assert "target on page 5 for more" in _text(out)
    assert cold.page_error is None

    _push_the_target_down(guide)
    edited = build(guide, out=out, draft=True)
    # Chapter 3 and chapter 5, which prints the target's page; before: all six chapters.
    assert edited.laid_out == (2, 8)
    assert "target on page 6 for more" in _text(out)
    assert edited.pages == cold.pages == 9

    fresh = build(guide, out=tmp_path / "fresh" / "hub.pdf", draft=True)
    whole = build(guide, out=tmp_path / "whole" / "hub.pdf", draft=True, whole=True)
    assert fresh.laid_out == (8, 8)
    assert summary(out) == summary(fresh.output) == summary(whole.output)
    assert _manifest(edited.manifest_path()) == _manifest(fresh.manifest_path())


def test_a_part_that_reads_no_moved_anchor_stays_cached_when_the_contents_moves(tmp_path):
    """Chapter 3 one page longer: every later chapter starts a page later and re-lays, the
    contents prints new page numbers and re-lays; the cover and chapter 1 stay."""
    guide = _hub_guide(tmp_path)
    out = tmp_path / "out" / "hub.pdf"
    build(guide, out=out, draft=True)
    chapter = guide / "chapters" / _CHAPTERS[2]
    text = chapter.read_text(encoding="utf-8")
    chapter.write_text(text + "\n\n" + "\n\n".join([_PARAGRAPH] * 6) + "\n", encoding="utf-8")
    edited = build(guide, out=out, draft=True)
    assert edited.pages == 10
    assert edited.laid_out == (5, 8)  # the contents and chapters 3 to 6 (their folios move)
    whole = build(guide, out=tmp_path / "whole" / "hub.pdf", draft=True, whole=True)
    assert summary(out) == summary(whole.output)


def test_a_part_that_read_an_anchor_now_gone_is_laid_out_again(tmp_path):
    """Chapter 5 printed the target's page; the target is gone: it prints none, as a whole
    build does, instead of the page it had."""
    guide = _hub_guide(tmp_path)
    out = tmp_path / "out" / "hub.pdf"
    build(guide, out=out, draft=True)
    chapter = guide / "chapters" / _CHAPTERS[2]
    chapter.write_text(chapter.read_text(encoding="utf-8").replace(" {: #hub-target }", ""),
                       encoding="utf-8")
    edited = build(guide, out=out, draft=True)
    whole = build(guide, out=tmp_path / "whole" / "hub.pdf", draft=True, whole=True)
    assert "target on page for more" in _text(whole.output)  # the page number is dropped
    assert summary(out) == summary(whole.output)
    assert edited.laid_out[0] >= 2
