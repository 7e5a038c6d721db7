"""Preflight checks on real PDFs: each check passes on a good build of the sample guide and
fails on a build with the defect, or on a copy of the good PDF damaged with pypdf."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfWriter
from pypdf.generic import BooleanObject, DictionaryObject, NameObject, TextStringObject

from leadguide.build import build
from leadguide.check import CHECKS, PreflightError, run_checks, summary, to_json
from leadguide.check.facts import Facts
from leadguide.cli import main

SAMPLE = Path(__file__).parent / "sample_guide"

DISCLAIMER = """
<div class="disclaimer" markdown="1">
This sample is for education only and is not medical advice.
</div>
"""


def _copy(root: Path) -> Path:
    guide = root / "guide"
    shutil.copytree(SAMPLE, guide)
    return guide


def _append(path: Path, text: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> tuple[Path, Path]:
    """The sample with what a sendable guide needs: a disclaimer, a tracked call to action, a
    sharp photo, and a page left blank on purpose. Built strictly."""
    guide = _copy(tmp_path_factory.mktemp("good"))
    Image.new("RGB", (600, 300), (200, 120, 80)).save(guide / "images" / "photo.jpg")
    _append(guide / "chapters" / "01-intro.md", DISCLAIMER + '\n<img src="images/photo.jpg" '
            'alt="A warm photo" style="width: 1in">\n\n'
            # a cross-reference on the page before the contents is not a contents entry
            'The plan is in [the training chapter](#ch-02-training).\n')
    _append(guide / "chapters" / "03-food.md", '\n<div class="intentional-blank" '
            'id="left-blank" style="break-before: page"></div>\n')
    _replace(guide / "chapters" / "03-food.md", "pages: 2", "pages: 3")
    _replace(guide / "guide.yaml", "pages: 6", "pages: 7")
    _replace(guide / "guide.yaml", "utm_source=guide",
             "utm_source=guide&utm_medium=pdf&utm_campaign=sample")
    pdf = build(guide, out=guide.parent / "good.pdf").output
    return guide, pdf


@pytest.fixture(scope="module")
def defects(tmp_path_factory) -> tuple[Path, Path]:
    """The sample with one defect for each check that reads the sources. Built as a draft."""
    guide = _copy(tmp_path_factory.mktemp("defects"))
    Image.new("RGB", (60, 60), (20, 80, 160)).save(guide / "images" / "tiny.png")
    _replace(guide / "chapters" / "03-food.md", "pages: 2", "pages: 1")
    _append(guide / "chapters" / "03-food.md",
            '\n## Notes {: .notes style="break-before: page" }\n')
    _append(guide / "chapters" / "01-intro.md", "\n![](images/mark.svg)\n\n"
            "See [the missing part](#nowhere).\n\n"
            '<img src="images/tiny.png" alt="A tiny picture" style="width: 2in">\n')
    _replace(guide / "chapters" / "02-training.md", "## The move",
             "#### Too deep\n\n## The move")
    _append(guide / "chapters" / "02-training.md", '\n<div data-tracker="empty-log"></div>\n\n'
            '<div class="notes"></div>\n\n<p style="break-before: page">One lonely line.</p>\n')
    pdf = build(guide, out=guide.parent / "defects.pdf", draft=True).output
    return guide, pdf


@pytest.fixture(scope="module")
def good_results(good) -> list:
    return run_checks(*good)


@pytest.fixture(scope="module")
def defect_results(defects) -> list:
    return run_checks(*defects)


def of(results: list, name: str, status: str | None = None) -> list:
    return [r for r in results if r.name == name and (status is None or r.status == status)]


def passes(results: list, name: str) -> bool:
    found = of(results, name)
    return bool(found) and all(r.status == "pass" for r in found)


def line_of(guide: tuple[Path, Path], chapter: str, needle: str) -> int:
    text = (guide[0] / "chapters" / f"{chapter}.md").read_text(encoding="utf-8")
    return text[: text.index(needle)].count("\n") + 1


def damaged(good, tmp_path: Path, change) -> list:
    """Run every check on a copy of the good PDF that ``change(writer)`` has damaged."""
    guide, pdf = good
    writer = PdfWriter(clone_from=pdf)
    change(writer)
    target = tmp_path / "damaged.pdf"
    writer.write(target)
    return run_checks(guide, target)


def test_the_good_sample_passes_every_check(good_results):
    assert {r.name for r in good_results} == {check.name for check in CHECKS}
    assert [r for r in good_results if r.status != "pass"] == []


# ---- page count and chapter budgets
def test_a_removed_page_breaks_the_page_promise(good, tmp_path):
    results = damaged(good, tmp_path, lambda w: w.remove_page(1))
    assert of(results, "page-count", "fail")[0].message.startswith(
        "6 pages but guide.yaml promises 7 (1 too few)")


def test_a_chapter_over_its_budget_fails(good_results, defect_results):
    assert passes(good_results, "chapter-budget")
    over = of(defect_results, "chapter-budget", "fail")
    food = [r for r in over if r.where.endswith("03-food.md")]
    assert [r.message for r in food] == ["'Food basics' takes 3 pages (pp. 6-8), its budget is 1"]


# ---- contents
def test_toc_numbers_match_where_chapters_start(good_results):
    assert of(good_results, "toc-numbers")[0].message.startswith("3 entries")
    assert of(good_results, "toc-numbers")[0].where == "p. 3"


def test_a_page_inserted_before_a_chapter_makes_its_toc_number_wrong(good, tmp_path):
    results = damaged(good, tmp_path, lambda w: w.insert_blank_page(index=3))
    wrong = of(results, "toc-numbers", "fail")
    assert [r.message for r in wrong] == [
        "'Training plan' is listed on page 4 but starts on page 5",
        "'Food basics' is listed on page 5 but starts on page 6"]
    assert all(r.where == "p. 3" for r in wrong)


def test_an_inserted_blank_page_fails(good, tmp_path):
    results = damaged(good, tmp_path, lambda w: w.insert_blank_page(index=3))
    assert [(r.message, r.where) for r in of(results, "blank-pages", "fail")] == [
        ("blank page", "p. 4")]


# ---- bookmarks
def _retarget_first_bookmark(writer: PdfWriter, page_index: int) -> None:
    first = writer._root_object["/Outlines"]["/First"].get_object()
    dest = first["/Dest"] if "/Dest" in first else first["/A"]["/D"]
    dest[0] = writer.pages[page_index].indirect_reference


def test_a_bookmark_pointing_at_the_wrong_page_fails(good, good_results, tmp_path):
    assert passes(good_results, "bookmarks")
    results = damaged(good, tmp_path, lambda w: _retarget_first_bookmark(w, 4))
    wrong = of(results, "bookmarks", "fail")
    assert [(r.message, r.where) for r in wrong] == [
        ("'Welcome aboard' points to page 5 but its heading is on page 2", "p. 5")]


def test_a_bookmark_for_the_contents_fails(good, tmp_path):
    results = damaged(good, tmp_path, lambda w: w.add_outline_item(title="Contents", page_number=2))
    assert [r.message for r in of(results, "bookmarks", "fail")] == [
        "'Contents' points to the contents: they need no bookmark"]


# ---- blank pages
def test_a_page_marked_intentional_blank_passes(good_results):
    marked = [r for r in of(good_results, "blank-pages") if "on purpose" in r.message]
    assert [(r.where, r.status) for r in marked] == [("p. 7", "pass")]


def test_a_nearly_empty_page_warns_unless_marked(defect_results):
    """p. 5 holds one line that spilled over; p. 8 only a heading marked {: .notes }."""
    nearly = [(r.status, r.where) for r in of(defect_results, "blank-pages")
              if "nearly empty" in r.message]
    assert nearly == [("warn", "p. 5"), ("pass", "p. 8")]


def test_a_marker_without_an_id_warns_at_its_line(defects, defect_results):
    [unplaced] = [r for r in of(defect_results, "blank-pages") if "without an id" in r.message]
    assert unplaced.status == "warn"
    line = line_of(defects, "02-training", '<div class="notes">')
    assert unplaced.where == f"guide/chapters/02-training.md:{line}"


# ---- links
def _break_first_internal_link(writer: PdfWriter) -> None:
    for annotation in writer.pages[1]["/Annots"]:
        annotation = annotation.get_object()
        if "/Dest" in annotation:
            annotation[NameObject("/Dest")] = TextStringObject("nowhere")
            return
    raise AssertionError("no internal link on page 2")


def test_an_internal_link_without_destination_fails(good, good_results, tmp_path):
    assert passes(good_results, "internal-links")
    results = damaged(good, tmp_path, _break_first_internal_link)
    assert [(r.message, r.where) for r in of(results, "internal-links", "fail")] == [
        ("link to '#nowhere' goes nowhere", "p. 2")]


def _goto_actions(writer: PdfWriter) -> None:
    """The first two internal links on the contents page become GoTo and JavaScript actions."""
    first, second = [annotation.get_object() for annotation in writer.pages[2]["/Annots"]
                     if "/Dest" in annotation.get_object()][:2]
    for annotation, action in ((first, {"/S": NameObject("/GoTo"), "/D": TextStringObject("gone")}),
                               (second, {"/S": NameObject("/JavaScript"),
                                         "/JS": TextStringObject("app.alert(1)")})):
        del annotation["/Dest"]
        annotation[NameObject("/A")] = DictionaryObject(
            {NameObject(key): value for key, value in action.items()})


def test_links_that_run_actions_are_named(good, tmp_path):
    results = damaged(good, tmp_path, _goto_actions)
    assert [(r.status, r.message) for r in of(results, "internal-links")] == [
        ("fail", "link to '#gone' goes nowhere"),
        ("warn", "a link runs a JavaScript action: readers may block it")]


def _file_link(writer: PdfWriter) -> None:
    """The first web link becomes a link to a file on the build machine."""
    for annotation in writer.pages[-1].get("/Annots", []) + [
            a for page in writer.pages for a in page.get("/Annots", [])]:
        action = annotation.get_object().get("/A")
        if action is not None and "/URI" in action.get_object():
            action.get_object()[NameObject("/URI")] = TextStringObject("file:///home/me/x.html")
            return
    raise AssertionError("no web link to damage")


def test_a_file_link_fails(good, good_results, tmp_path):
    assert not of(good_results, "external-links", "fail")
    results = damaged(good, tmp_path, _file_link)
    assert [r.message for r in of(results, "external-links", "fail")] == [
        "link to file:///home/me/x.html: a file on the machine that built the PDF, which no "
        "reader has"]


def test_cheap_checks_leave_pypdf_alone(good):
    """pypdf's first look parses WeasyPrint's whole object stream: too slow for every build."""
    facts = Facts(*good)
    try:
        for check in CHECKS:
            if check.cheap:
                check.run(facts)
    finally:
        facts.close()
    assert "reader" not in facts.__dict__


def test_a_link_to_a_missing_id_is_found_in_the_html(good_results, defects, defect_results):
    assert passes(good_results, "link-targets")
    [broken] = of(defect_results, "link-targets", "fail")
    assert broken.message == ("link 'the missing part' goes to '#nowhere', which is nowhere "
                              "in the PDF")
    assert broken.where == f"guide/chapters/01-intro.md:{line_of(defects, '01-intro', '#nowhere')}"


def test_external_links_are_listed_and_untracked_calls_to_action_warn(good_results,
                                                                      defect_results):
    [listed] = of(good_results, "external-links")
    assert listed.status == "pass" and "utm_campaign=sample" in listed.message
    [warning] = of(defect_results, "external-links", "warn")
    assert "lacks utm_medium, utm_campaign" in warning.message and warning.where == "p. 6"
    assert "https://example.com/book?utm_source=guide " in warning.message


# ---- fonts, images, metadata, tags
def _strip_font_files(writer: PdfWriter) -> None:
    for number in range(1, len(writer._objects) + 1):
        obj = writer.get_object(number)
        if hasattr(obj, "get") and obj.get("/Type") == "/FontDescriptor":
            for key in ("/FontFile", "/FontFile2", "/FontFile3"):
                obj.pop(NameObject(key), None)


def test_nothing_off_the_page_passes(good_results):
    assert passes(good_results, "trim-box")
    assert "all inside the page" in of(good_results, "trim-box")[0].message


def test_text_and_images_off_the_page_fail_with_page_and_text(tmp_path):
    """A line that will not wrap and a photo pushed past the edge: both drawn off the page."""
    guide = _copy(tmp_path)
    Image.new("RGB", (600, 400), (90, 140, 70)).save(guide / "images" / "wide.jpg")
    _append(guide / "chapters" / "02-training.md",
            '\n<p style="white-space: nowrap">Keep going: this sentence is set on one line that '
            'never wraps, so it runs past the margin, past the edge of the paper and on into '
            'the void beyond it.</p>\n\n'
            '<img src="images/wide.jpg" alt="A wide photo" '
            'style="max-width: none; width: 3in; margin-left: 5in">\n')
    pdf = build(guide, out=tmp_path / "off.pdf", draft=True).output
    failed = of(run_checks(guide, pdf, cheap_only=True), "trim-box", "fail")
    text = [r for r in failed if r.message.startswith("text runs off the page at the right")]
    images = [r for r in failed if r.message.startswith("an image runs off the page at the right")]
    assert len(text) == 1 and len(images) == 1
    assert ": 'Keep going: this sentence is set on one line that never wra…'" in text[0].message
    assert text[0].where == images[0].where == "p. 5"


def test_fonts_not_embedded_fail(good, good_results, tmp_path):
    assert passes(good_results, "fonts")
    results = damaged(good, tmp_path, _strip_font_files)
    failed = of(results, "fonts", "fail")
    assert failed and all("is not embedded" in r.message for r in failed)


def test_a_low_resolution_image_warns(good_results, defect_results):
    [sharp] = of(good_results, "image-resolution")
    assert sharp.message == "1 raster image, all at 150 dpi or more"
    [low] = of(defect_results, "image-resolution", "warn")
    assert low.message.startswith("a 60×60 px image prints at 30 dpi")


def _strip_metadata(writer: PdfWriter) -> None:
    writer.metadata = None
    del writer._root_object["/Lang"]


def test_missing_metadata_fails(good, good_results, tmp_path):
    assert passes(good_results, "metadata")
    results = damaged(good, tmp_path, _strip_metadata)
    assert [r.message for r in of(results, "metadata", "fail")] == [
        "no document title: set it in guide.yaml", "no document author: set it in guide.yaml",
        "no document language: set it in guide.yaml"]


def test_an_untagged_pdf_fails(good, good_results, tmp_path):
    assert passes(good_results, "tagged")
    results = damaged(good, tmp_path, lambda w: [w._root_object.pop(NameObject(k))
                                                 for k in ("/StructTreeRoot", "/MarkInfo")])
    [untagged] = of(results, "tagged", "fail")
    assert "no StructTreeRoot and no MarkInfo" in untagged.message


def test_a_pdf_marked_false_is_not_tagged(good, tmp_path):
    def unmark(writer: PdfWriter) -> None:
        writer._root_object[NameObject("/MarkInfo")] = DictionaryObject(
            {NameObject("/Marked"): BooleanObject(False)})
    [untagged] = of(damaged(good, tmp_path, unmark), "tagged", "fail")
    assert untagged.message.startswith("not a tagged PDF: no MarkInfo /Marked true;")


# ---- content from the HTML
def test_an_image_without_alt_text_fails_at_its_line(good_results, defects, defect_results):
    assert passes(good_results, "alt-text")
    [missing] = of(defect_results, "alt-text", "fail")
    assert missing.message == "image images/mark.svg has no alt text"
    line = line_of(defects, "01-intro", "![](images/mark.svg)")
    assert missing.where == f"guide/chapters/01-intro.md:{line}"


def test_a_skipped_heading_level_fails_at_its_line(good_results, defects, defect_results):
    assert passes(good_results, "headings")
    [skipped] = of(defect_results, "headings", "fail")
    assert skipped.message == "'Too deep' is h4 right after h2: a level is skipped"
    line = line_of(defects, "02-training", "#### Too deep")
    assert skipped.where == f"guide/chapters/02-training.md:{line}"


def test_a_missing_disclaimer_fails(good_results, defect_results):
    [found] = of(good_results, "disclaimer")
    assert (found.status, found.where) == ("pass", "p. 2")
    [missing] = of(defect_results, "disclaimer", "fail")
    assert missing.message.startswith("no disclaimer")


def test_trackers_need_fillable_fields(good, good_results, defect_results, tmp_path):
    [habits] = of(good_results, "trackers")
    assert habits.status == "pass" and "habit-tracker': 99 fillable fields" in habits.message
    [empty] = of(defect_results, "trackers", "fail")
    assert empty.message == "tracker 'empty-log' has no fields to fill in"
    results = damaged(good, tmp_path, lambda w: w._root_object.pop(NameObject("/AcroForm")))
    [unfillable] = of(results, "trackers", "fail")
    assert "99 of 99 fields are not fillable" in unfillable.message
    assert unfillable.where.endswith("03-food.md:14")


# ---- size
@pytest.mark.parametrize("limits, status", [("warn_attachment_mb: 0.01", "warn"),
                                            ("max_attachment_mb: 0.01", "fail")])
def test_a_pdf_over_the_email_budget(good, good_results, tmp_path, limits, status):
    assert passes(good_results, "file-size")
    guide, pdf = good
    strict = tmp_path / "guide"
    shutil.copytree(guide, strict)
    _append(strict / "guide.yaml", f"email:\n  {limits}\n")
    [size] = of(run_checks(strict, pdf), "file-size")
    assert size.status == status and "MB as an email attachment" in size.message


# ---- running and reporting
def test_cheap_checks_read_only_the_pdf_structure(good):
    results = run_checks(*good, cheap_only=True)
    cheap = {check.name for check in CHECKS if check.cheap}
    assert {r.name for r in results} == cheap
    assert {"page-count", "fonts", "file-size"} <= cheap and "toc-numbers" not in cheap
    assert summary(results, "cheap checks") == f"cheap checks: {len(results)} passed, 0 warnings"


def test_json_has_every_result(good, good_results):
    data = json.loads(to_json(good_results, good[1]))
    assert data["fit_to_send"] is True
    assert data["counts"] == {"pass": len(good_results), "warn": 0, "fail": 0}
    assert data["checks"][0] == {"name": "page-count", "status": "pass",
                                 "message": "7 pages, as guide.yaml promises",
                                 "where": data["checks"][0]["where"], "details": {}}
    fill = next(c for c in data["checks"] if c["name"] == "page-fill")
    assert [p["page"] for p in fill["details"]["pages"]] == list(range(1, 8))


def test_a_file_that_is_not_a_pdf_is_a_guide_error(good, tmp_path):
    junk = tmp_path / "junk.pdf"
    junk.write_bytes(b"not a pdf at all")
    with pytest.raises(PreflightError, match="cannot read the PDF"):
        run_checks(good[0], junk)


def test_check_command_builds_a_missing_pdf_then_passes(good, tmp_path, capsys):
    target = tmp_path / "fresh.pdf"
    assert main(["check", str(good[0]), "--pdf", str(target)]) == 0
    out, err = capsys.readouterr()
    assert target.is_file() and f"Built {target} first" in err
    # one result per check, and a second from trackers and from page-fill (its exempt pages)
    assert out.splitlines()[-1] == (f"checks: {len(CHECKS) + 2} passed, 0 warnings: {target} "
                                    "is fit to send")
    assert "PASS  toc-numbers" in out


def test_check_command_json_and_exit_code_for_a_defective_pdf(defects, capsys):
    assert main(["check", str(defects[0]), "--pdf", str(defects[1]), "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["fit_to_send"] is False and data["counts"]["fail"] >= 7
    [disclaimer] = [c for c in data["checks"] if c["name"] == "disclaimer"]
    assert disclaimer["status"] == "fail" and disclaimer["message"].startswith("no disclaimer")
    assert set(disclaimer) == {"name", "status", "message", "where", "details"}


def test_check_command_reports_an_unreadable_pdf_without_a_traceback(good, tmp_path, capsys):
    junk = tmp_path / "junk.pdf"
    junk.write_bytes(b"%PDF-1.7 broken")
    assert main(["check", str(good[0]), "--pdf", str(junk)]) == 1
    err = capsys.readouterr().err
    assert "cannot read the PDF" in err and "Traceback" not in err


def test_build_runs_the_cheap_checks_and_fails_on_one_unless_draft(good, tmp_path, capsys):
    """Food runs over its budget while the total stays right: only a check can catch it."""
    guide = tmp_path / "guide"
    shutil.copytree(good[0], guide)
    _replace(guide / "chapters" / "03-food.md", "pages: 3", "pages: 2")
    _replace(guide / "chapters" / "02-training.md", "pages: 1", "pages: 2")
    out = tmp_path / "guide.pdf"
    assert main(["build", str(guide), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "FAIL  chapter-budget" in err and "'Food basics' takes 3 pages" in err
    assert "cheap checks: 8 passed, 0 warnings, 1 failed (leadguide check runs them all)" in err
    assert "the last good PDF was kept" in err
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert main(["build", str(guide), "--out", str(out), "--draft"]) == 0
    assert "1 failed" in capsys.readouterr().err
