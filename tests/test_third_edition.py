"""The default guide's third edition: numbers a reader can follow, computed from the data and
printed; one call to action for this week; the clinic's places; partner labels; safety."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_raw
import pytest
from PIL import Image
from pypdf import PdfReader

from leadguide.build import build
from leadguide.errors import GuideError
from leadguide.guide.config import load_config
from leadguide.guide.data import load_data
from leadguide.kits.fitness.nutrition import cap_ceiling_lb

GUIDE = Path(__file__).parents[1] / "guide"


@pytest.fixture(scope="module")
def pdf(built_default) -> PdfReader:
    assert built_default.warnings == [] and built_default.page_error is None
    return PdfReader(built_default.output)


def _fold(text: str) -> str:
    folded = " ".join(text.split())
    return re.sub(r"(?<=\w)- (?=\w)", "-", folded)


@pytest.fixture(scope="module")
def text(pdf) -> str:
    return _fold(" ".join(page.extract_text() for page in pdf.pages))


@pytest.fixture(scope="module")
def data():
    return load_data(GUIDE)


def test_the_expected_pace_band_is_computed_and_not_pinned_at_the_cap(data, text):
    for partner in data["nutrition"].partners:
        plan = partner.plan
        low, high = plan.expected_pace_lb
        assert 0 < low < high <= plan.weekly_loss_lb  # a band, below what the deficit gives
        assert high <= plan.pace_window_lb[1]          # never faster than 1 % a week
        assert f"{low}–{high} lb a week" in text
    him = data["nutrition"].partner("him").plan
    assert him.expected_pace_lb == (0.5, 1.0)  # 480 kcal × 7 ÷ 3,500 = 0.96 → 1.0, half 0.5


def test_ten_pounds_is_the_ceiling_under_the_cap_and_her_ceiling_is_said(data, text):
    assert cap_ceiling_lb() == 12.0  # 500 kcal × 84 days ÷ 3,500
    assert "takes off at most 12 lb in 12 weeks" in text
    her = data["nutrition"].partner("her").plan
    assert her.plan_ceiling_lb == 9.2  # 385 × 84 ÷ 3,500
    assert re.search(r"Our sample woman.s ceiling is about 9 lb", text)
    assert "failed to gain any" in text  # Garthe 2011: the fast group kept lean mass


def test_cutting_more_is_offered_only_inside_the_headroom(data, text):
    her, him = (p.plan for p in data["nutrition"].partners)
    assert (her.headroom_kcal, him.headroom_kcal) == (30, 20)
    assert f"our couple has {her.headroom_kcal} and {him.headroom_kcal} calories of room" in text
    assert "up to 100 more calories" not in text


def test_one_protein_rule_and_meals_that_add_up_to_it(data, text):
    nutrition = data["nutrition"]
    assert nutrition.protein_rule == 2.0
    assert {p.protein_basis for p in nutrition.partners} == {"goal weight"}
    assert "2 g per kg of your goal weight" in text
    for partner in nutrition.partners:
        meals = nutrition.sample_day(partner.id)
        assert sum(meal.protein_g for meal in meals) == partner.plan.protein_g
        assert all(25 <= meal.protein_g <= 45 for meal in meals), partner.id
        assert f"{partner.plan.protein_g} g protein in {len(meals)} meals" in text


def test_ounces_and_grams_agree(data):
    for partner in data["nutrition"].partners:
        for meal in data["nutrition"].sample_day(partner.id):
            for ounces, grams in re.findall(r"([\d.]+) oz \((\d+) g\)", meal.food):
                assert abs(float(ounces) * 28.35 - int(grams)) <= 2, meal.food


def test_session_times_per_phase_are_computed_and_printed(data, text):
    program = data["program"]
    spans = {phase.name: program.minutes(phase) for phase in program.phases}
    for (low, high) in spans.values():
        assert f"{low}–{high} min" in text
    assert spans["Push"][1] >= 75 and spans["Learn"][1] <= spans["Push"][1]
    low, high = program.session_minutes()
    assert f"A session takes {low}–{high} minutes for the two of you" in text
    assert "45–60 minutes" not in text


def test_each_day_has_a_short_version_of_30_minutes_or_less(data, text):
    program = data["program"]
    for day in program.days:
        minutes = program.short_minutes(day)
        assert 0 < minutes <= 30, day.id
        assert f"Day {day.id} " in text and f"{minutes} min" in text
    assert "each day in 30 minutes or less" in text


def test_warm_ups_carry_no_reps_in_reserve_and_every_card_a_dose_with_sets(data, text):
    program, exercises = data["program"], data["exercises"]
    warmups = [item for day in program.days for item in day.exercises if item.kind == "warmup"]
    assert {item.exercise for item in warmups} == {"backward-walk", "patrick-step",
                                                   "elephant-walk"}
    assert program.rest["warmup"] == ""
    assert "Day A warm-up: 1 × 5 min, easy" in text  # the backward-walk card's dose
    first = program.phases[0]
    for day in program.days:
        for item in day.exercises:
            if item.exercise and item.kind != "warmup":
                rx = first.prescription(item.kind)
                assert f"Day {day.id}: {item.sets or rx.sets} × {item.reps or rx.reps}" in text
    walk = exercises.get("backward-walk")
    assert "Our plan uses 5 min" in walk.evidence


def test_the_retest_comes_before_the_deload_and_has_a_tracker_row(pdf, data, text):
    retest = data["program"].retest
    assert retest.lifts and retest.rir == "2"
    names = {item.name for day in data["program"].days for item in day.exercises}
    assert set(retest.lifts) <= names
    assert "Retest first." in text and "Then deload." in text
    assert f"Week-12 retest: same weight as week 1, stop at RIR {retest.rir}" in text
    fields = pdf.get_fields()
    for row in range(1, len(retest.lifts) + 1):
        for who in ("her", "him"):
            assert {f"retest-{row}-{who}-{key}" for key in ("weight", "wk1", "wk12")} <= set(fields)


def test_every_call_to_action_says_this_week(pdf, text):
    headings = re.findall(r"Book your free 20-minute consult[^.]{0,12}", text)
    assert len(headings) >= 4 and all("this week" in h for h in headings), headings
    assert "At the week-12 retest, we build" not in text
    back = _fold(pdf.pages[-1].extract_text())
    assert "Your next step, this week" in back.replace("YOUR NEXT STEP, THIS WEEK",
                                                       "Your next step, this week")
    assert "20 minutes" in back and "insideoutstrength.com/consult" in back


def test_page_two_has_a_ten_minute_first_session_with_ticks_and_a_knee_rating(pdf):
    page = _fold(pdf.pages[1].extract_text())
    assert "10-minute first session, together, tonight" in page
    fields = pdf.get_fields()
    ticks = [name for name in fields if re.fullmatch(r"first-\d-(her|him)", name)]
    assert len(ticks) == 10 and all(fields[name].get("/FT") == "/Btn" for name in ticks)
    for when in ("before", "morning"):
        assert fields[f"first-knee-{when}-her"].get("/FT") == "/Tx"
    assert "Knee feel 0–10" in page


def test_safety_additions(data, text):
    exercises = data["exercises"]
    for slug in ("reverse-nordic", "split-squat", "nordic-curl"):
        assert exercises.get(slug).easier.startswith("Start here")
    for flag in ("gives way", "locks or catches", "hot and swollen", "aches at night"):
        assert flag in text
    setup = exercises.get("backward-walk").setup
    assert "safety key" in setup and "lowest speed" in setup and "both hands on the rails" in setup
    assert "breathe out through the effort" in text


def test_chapter_three_speaks_of_ankles_and_sport(pdf):
    page = _fold(pdf.pages[4].extract_text())
    assert "Why knees over toes?" in page
    assert "ankle" in page and "sport" in page


def test_trackers_split_by_partner_with_names(pdf):
    fields = set(pdf.get_fields())
    for key in ("steps", "sleep", "energy", "weight", "waist"):
        assert {f"checkin-12-{key}-her", f"checkin-12-{key}-him"} <= fields
    assert {"log-name-her", "log-name-him"} <= fields


def test_at_most_eight_font_sizes(built_default):
    document = pdfium.PdfDocument(str(built_default.output))
    sizes = set()
    for page in document:
        textpage = page.get_textpage()
        for index in range(pdfium_raw.FPDFText_CountChars(textpage)):
            if pdfium_raw.FPDFText_GetUnicode(textpage, index) > 32:
                sizes.add(round(pdfium_raw.FPDFText_GetFontSize(textpage, index) * 2) / 2)
    assert len(sizes) <= 8, sorted(sizes)  # the second edition had 23


def test_the_default_guide_leaves_the_clinic_empty_and_shows_no_empty_place(pdf, text):
    config = load_config(GUIDE)
    assert config.clinic.empty and config.partners == ("Her", "Him")
    back = pdf.pages[-1].extract_text()
    assert "Your consult is with" not in text and "“" not in back
    assert len(pdf.pages[1].images) == 0  # no photo, no empty frame on the welcome page


def test_clinic_and_partner_places_show_where_set(tmp_path):
    guide = tmp_path / "guide"
    shutil.copytree(GUIDE, guide, ignore=shutil.ignore_patterns("build"))
    Image.new("RGB", (600, 600), "#5E8C7A").save(guide / "images" / "clinician.jpg")
    yaml = (guide / "guide.yaml").read_text()
    (guide / "guide.yaml").write_text(yaml.replace("kit: fitness\n", (
        "kit: fitness\npartners: [Sam, Alex]\nclinic:\n  city: Testville\n  clinician:\n"
        "    name: Dana Example\n    credential: PT, DPT\n    photo: images/clinician.jpg\n"
        "    line: Coaches couples in our clinic.\n  quotes:\n"
        "    - {text: \"Our knees feel better.\", who: \"Client A\"}\n"
        "    - {text: \"We train together now.\", who: \"Client B\"}\n"), 1))
    result = build(guide, out=tmp_path / "out" / "guide.pdf", draft=True)
    reader = PdfReader(result.output)
    welcome = _fold(reader.pages[1].extract_text())
    assert "Dana Example, PT, DPT" in welcome and "Testville" in welcome
    assert len(reader.pages[1].images) == 1  # the clinician's photo
    back = _fold(reader.pages[-1].extract_text())
    assert "Your consult is with Dana Example, PT, DPT." in back
    assert "Our knees feel better." in back and "Client B" in back
    everything = _fold(" ".join(page.extract_text() for page in reader.pages))
    assert "Sam: load × reps" in everything and "Alex" in everything
    assert "Sam: a sample day" in everything


@pytest.mark.parametrize("clinic, message", [
    ("clinic:\n  quotes:\n" + "    - {text: a, who: b}\n" * 4, "at most 3 quotes"),
    ("clinic:\n  clinician: {credential: PT}\n", "'clinic.clinician.name' is needed"),
    ("clinic:\n  clinician: {name: A, photo: ../x.jpg}\n", "inside the guide folder"),
    ("clinic:\n  town: X\n", "town"),
    ("partners: [A, B, C]\n", "'partners' must name the two readers"),
])
def test_clinic_and_partner_keys_are_validated(tmp_path, clinic, message):
    guide = tmp_path / "guide"
    shutil.copytree(GUIDE, guide, ignore=shutil.ignore_patterns("build"))
    config = guide / "guide.yaml"
    config.write_text(config.read_text() + clinic)
    with pytest.raises(GuideError) as error:
        load_config(guide)
    assert message in str(error.value)
    assert "guide.yaml:" in str(error.value)
