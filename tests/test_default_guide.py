"""The shipped Inside Out Strength guide: strict build, exactly 24 pages, every promise kept."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from conftest import assert_pdf_ua_1
from pypdf import PdfReader
from tagtexts import field_cell_headers

from leadguide.guide.data import load_data

GUIDE = Path(__file__).parents[1] / "guide"


@pytest.fixture(scope="module")
def default_build(built_default):
    result = built_default  # strict
    assert result.warnings == [] and result.page_error is None
    return result


@pytest.fixture(scope="module")
def default_pdf(default_build) -> PdfReader:
    return PdfReader(default_build.output)


@pytest.fixture(scope="module")
def text(default_pdf) -> str:
    # Table cells wrap their text: fold all white space to single spaces.
    folded = " ".join(" ".join(page.extract_text() for page in default_pdf.pages).split())
    return re.sub(r"(?<=\w)- (?=\w)", "-", folded)  # a line broken after a hyphen


def test_page_validation_passes_pdf_ua_1_and_the_claim_is_kept(default_build):
    # Before: a ToUnicode entry to U+FEFF (Inter) and an L holding two TOCs failed it.
    assert_pdf_ua_1(default_build.output)


def test_every_tracker_cell_names_its_row_and_column_headers(default_build):
    # Before: 356 data cells named the wrong headers (after rowspans "Mon / Her" read as
    # "Mon, Him"; set 1 as "Set 2"), and no header cell had /Scope.
    cells, scopes = field_cell_headers(default_build.output)
    assert scopes and set(scopes) <= {"/Row", "/Column"}
    days = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"}
    habits = {name: heads for name, heads in cells.items() if name.startswith("habit-")
              and name.split("-")[2] in days}
    assert len(habits) == 7 * 14  # seven habits, her and him each day
    for name, heads in habits.items():
        _, _, day, who = name.split("-")
        assert len(heads) == 3 and heads[1:] == [day.title(), who.title()], (name, heads)
    assert cells["checkin-5-sleep-her"] == ["5", "Sleep (h)", "Her"]  # third edition: split
    assert cells["checkin-12-waist-him"] == ["12", "Waist", "Him"]
    logs = {name: heads for name, heads in cells.items()
            if name.startswith("log-") and name.rsplit("-", 1)[-1].isdigit()}
    assert logs
    for name, heads in logs.items():
        who, number = name.split("-")[-2:]
        assert heads[0].startswith(f"Day {name.split('-')[1][0].upper()} ·"), (name, heads)
        assert heads[2:] == [f"{who.title()}: load × reps", f"Set {number}"], (name, heads)


SPACED_LETTERS = re.compile(r"\b(?:[A-Z] ){3,}[A-Z]\b")  # "I N T H I S"


def test_letter_spaced_labels_extract_as_words(default_build):
    # Before: 50 lines in pdftotext, 34 runs in PDFium read as single letters.
    poppler = subprocess.run(["pdftotext", str(default_build.output), "-"], check=True,
                             capture_output=True, text=True).stdout
    document = pdfium.PdfDocument(default_build.output)
    pdfium_text = "\n".join(page.get_textpage().get_text_range() for page in document)
    document.close()
    for text in (poppler, pdfium_text):
        assert not SPACED_LETTERS.findall(text)
        assert "IN THIS CHAPTER" in text and "BEFORE YOU START" in text
        assert "INSIDE OUT STRENGTH" in text  # the running head, an artifact


def test_exactly_24_letter_pages(default_pdf):
    assert len(default_pdf.pages) == 24
    box = default_pdf.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (612, 792)


def test_cover_keeps_the_signup_promise(default_pdf):
    cover = " ".join(default_pdf.pages[0].extract_text().split())
    assert "Burn 10 (or more) pounds of fat." in cover
    assert "Build 10 pounds of muscle." in cover
    assert default_pdf.metadata.title == ("The Ultimate Guide To Burning 10 (Or More) Pounds of "
                                          "Fat and Building 10 Pounds of Muscle")


def test_program_tables_for_three_days_with_home_options(text):
    program = load_data(GUIDE)["program"]
    assert [day.id for day in program.days] == ["A", "B", "C"]
    for day in program.days:
        assert f"Day {day.id}" in text
        for exercise in day.exercises:
            assert exercise.name in text and exercise.home in text
    assert "Learn" in text and "Build" in text and "Push" in text


def test_at_least_ten_exercise_cards_with_illustrations(default_pdf):
    library = next(item for index, item in enumerate(default_pdf.outline)
                   if isinstance(item, list) and
                   default_pdf.outline[index - 1].title == "Exercise library")
    assert len(library) >= 10
    exercises = load_data(GUIDE)["exercises"]
    assert [b.title for b in library] == [e.name for e in exercises]
    for exercise in exercises:
        assert (GUIDE / "images" / "exercises" / f"{exercise.slug}.svg").is_file()


def test_nutrition_numbers_are_computed_from_the_inputs(text):
    nutrition = load_data(GUIDE)["nutrition"]
    for partner in nutrition.partners:
        assert f"{partner.plan.target_kcal:,} kcal" in text
        assert f"{partner.plan.protein_g} g" in text
    assert "1,700 kcal" in text and "2,450 kcal" in text  # the fact sheet's worked examples


def test_trackers_are_form_fields(default_pdf, text):
    fields = default_pdf.get_fields()
    kinds = {name.split("-")[0] for name in fields}
    assert {"log", "habit", "checkin"} <= kinds
    assert sum(1 for f in fields.values() if f.get("/FT") == "/Btn") >= 7 * 14
    assert sum(1 for f in fields.values() if f.get("/FT") == "/Tx") >= 12 * 8
    for title in ("Workout log", "Habit tracker", "Weekly check-in"):
        assert title in text


def test_disclaimer_and_sources(text):
    assert "not medical or physical-therapy advice" in text
    assert re.search(r"Stop right away", text)
    assert "Sources" in text and "Mifflin" in text


def test_call_to_action_appears_two_or_three_times(default_pdf):
    urls = [annot.get_object()["/A"]["/URI"] for page in default_pdf.pages
            for annot in page.get("/Annots", []) if "/A" in annot.get_object()
            and "consult" in str(annot.get_object()["/A"].get("/URI", ""))]
    assert 2 <= len(set(zip(urls, range(len(urls))))) and 2 <= len(urls)
    assert all("utm_source=" in url for url in urls)


def test_every_glyph_maps_back_to_real_text(default_pdf):
    """Copy, search and screen readers need real characters, not private-use glyph codes."""
    for number, page in enumerate(default_pdf.pages, start=1):
        odd = re.findall(r"[\ue000-\uf8ff]", page.extract_text())
        assert not odd, f"page {number}: {len(odd)} unmapped glyphs"


def test_default_guide_passes_every_preflight_check(default_build):
    from leadguide.check import PASS, run_checks
    results = run_checks(GUIDE, default_build.output)
    assert len({r.name for r in results}) >= 17
    assert [r for r in results if r.status != PASS] == []


# ---- second edition: numbers a reader can redo, typography, a CTA that works on paper
@pytest.fixture(scope="module")
def lines(default_build):
    from leadguide.pdf.text import text_lines
    return text_lines(default_build.output)


def test_sample_days_add_up_to_each_protein_target():
    nutrition = load_data(GUIDE)["nutrition"]
    for partner in nutrition.partners:
        total = sum(meal.protein_g for meal in nutrition.sample_day(partner.id))
        assert abs(total - partner.plan.protein_g) <= 5, (partner.id, total)


def test_the_numbers_box_shows_sums_a_reader_can_redo(text):
    nutrition = load_data(GUIDE)["nutrition"]
    for partner in nutrition.partners:
        plan = partner.plan
        assert f"{plan.maintenance_kcal:,} − {plan.deficit_kcal}" in text
        assert f"{plan.deficit_kcal} × 7 ÷ 3,500" in text
        assert f"≈ {plan.weekly_loss_lb} lb a week" in text
        assert f"{plan.protein_g} ÷ {plan.meals}" in text
    assert "2 g × 85 kg (goal weight)" in text  # his protein basis, stated
    assert "whichever is smaller" in text


def test_body_lines_are_55_to_80_characters(lines):
    body = [line for line in lines if line.size_pt == 10.5 and line.page not in (1, 3, 24)]
    lengths = sorted(len(line.text) for line in body)
    assert len(body) > 200
    assert lengths[-1] <= 80, [line.text for line in body if len(line.text) > 80]
    assert 55 <= lengths[len(lengths) // 2] <= 80  # the median line: wrapped lines dominate


def test_a_range_never_breaks_across_lines(lines):
    for before, after in zip(lines, lines[1:]):
        assert not (before.text.endswith("–") and after.text[:1].isdigit()), before.text
        # nor a number from its unit, or "6 to 30" at its "to"
        assert not (before.page == after.page and before.text[-1:].isdigit()
                    and re.match(r"%|(lb|kg|g|kcal|reps|sets|to \d+)\b", after.text)), before.text


def test_the_reader_can_redo_the_numbers_on_a_worksheet(default_pdf):
    fields = [f for f in default_pdf.get_fields() if f.startswith("my-numbers-")]
    assert len(fields) == 2 * 8  # her and him: weight … protein a meal
    nutrition = " ".join(page.extract_text() for page in default_pdf.pages[15:18])
    assert "Your numbers" in nutrition and "Maintenance − deficit = daily target" in nutrition


def test_every_chapter_reads_at_grade_six_or_below():
    import runpy
    readability = runpy.run_path(str(GUIDE.parent / "bench" / "readability.py"))
    from leadguide.guide.chapters import load_chapters
    from leadguide.guide.config import load_config
    for chapter in load_chapters(load_config(GUIDE)):
        score, words = readability["grade"](readability["plain_text"](chapter.body))
        assert words == 0 or score <= 6, (chapter.path.name, round(score, 1))


def test_card_text_and_notes_are_large_enough_to_print(default_build):
    css = (Path(__file__).parents[1] / "src" / "leadguide" / "kits" / "fitness" / "styles"
           / "fitness.css").read_text()
    sizes = {rule: float(re.search(rf"\{rule} {{[^}}]*?font-size: ([\d.]+)pt", css).group(1))
             for rule in (".card-rows", ".card-caution", ".card-evidence")}
    assert min(sizes.values()) >= 9, sizes
    assert "italic" not in re.search(r"\.card-evidence {[^}]*}", css).group(0)


def test_the_call_to_action_works_on_paper_early_midway_and_at_the_end(lines):
    printed = sorted({line.page for line in lines if "insideoutstrength.com/consult" in line.text})
    assert printed[0] <= 5 and printed[-1] == 24 and any(8 <= n <= 16 for n in printed), printed
    back = " ".join(line.text for line in lines if line.page == 24)
    assert "phase two" in back and "No sales pitch" in back and "20-minute" in back


def test_every_program_lift_has_cues(text):
    program = load_data(GUIDE)["program"]
    exercises = {e.slug for e in load_data(GUIDE)["exercises"]}
    for day in program.days:
        for item in day.exercises:
            if item.exercise not in exercises:
                assert re.search(rf"{re.escape(item.name)} [A-Z]", text), item.name


def test_safety_comes_before_the_program(default_pdf):
    welcome = " ".join(default_pdf.pages[1].extract_text().split())
    assert "See a doctor first" in welcome and "Stop right away" in welcome


def test_the_week_plan_keeps_brisk():
    week = load_data(GUIDE)["program"].week
    assert any(day.note == "45 min, brisk" for day in week)


def test_the_tag_tree_says_what_the_pages_say(default_build):
    from leadguide.check.tagtree import described, read_tag_tree
    tree = read_tag_tree(default_build.output)
    assert tree.unreachable() == {}  # running heads are artifacts; "wk 1–4", "65 kg" are tagged
    assert len(tree.links) > 60 and {link.tag for link in tree.links} == {"Link"}
    assert all(described(link.contents) for link in tree.links) and tree.nested_links == []
    described_as = {link.contents for link in tree.links}
    assert {"01 Welcome (page 2)", "10 Disclaimer and sources (page 23)"} <= described_as
    assert "Book my free consult (opens insideoutstrength.com)" in described_as
    assert not any(" p. (page" in words or ". . ." in words for words in described_as)
    assert tree.empty_headers == [] and tree.contents_lists >= 1 and tree.untagged_contents == []
    assert tree.xmp_language == "en-US"


def test_every_tag_check_passes(default_build):
    from leadguide.check import run_checks
    names = ("tagged-text", "link-tags", "table-headers", "contents-tags", "xmp-language")
    found = {r.name: r.status for r in run_checks(GUIDE, default_build.output) if r.name in names}
    assert found == dict.fromkeys(names, "pass")
