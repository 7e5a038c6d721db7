"""Any business: a guide with no kit (the bakery) and `leadguide new` starters, built for real."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pikepdf
import pypdfium2 as pdfium
import pytest
import zxingcpp
from conftest import BAKERY, SAMPLE, assert_pdf_ua_1
from pypdf import PdfReader

from leadguide.build import build
from leadguide.check import run_checks
from leadguide.cli import main
from leadguide.email.content import render_welcome
from leadguide.email.recipients import recipient
from leadguide.email.settings import load_email_settings
from leadguide.errors import ConfigError, ContentError, GuideError
from leadguide.guide.config import KEYS, load_config
from leadguide.guide.data import load_data
from leadguide.guide.theme import resolve_colors
from leadguide.starters.scaffold import KINDS

# Words of the fitness kit and of the clinic the default guide belongs to.
KIT_WORDS = re.compile(r"\b(exercises?|workouts?|calories?|kcal|protein|clinic|therapists?|"
                       r"her|him|knees?|train(ing)?|Mifflin|reps|sets)\b", re.IGNORECASE)
A4 = (595.28, 841.89)


def _pdf_text(pdf: Path) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(pdf).pages)


def test_the_bakery_builds_on_a4_to_its_promised_pages(built_bakery):
    _, result = built_bakery
    assert result.pages == 6 and not result.warnings and result.page_error is None
    for page in PdfReader(result.output).pages:
        assert (float(page.mediabox.width), float(page.mediabox.height)) == pytest.approx(A4, abs=0.5)


def test_the_bakery_pdf_passes_pdf_ua_1(built_bakery):
    assert_pdf_ua_1(built_bakery[1].output)


def test_the_bakery_pdf_has_no_kit_or_clinic_word(built_bakery):
    _, result = built_bakery
    text = _pdf_text(result.output)
    assert "Bake log" in text and "Country sourdough" in text
    assert not KIT_WORDS.findall(text)


def test_the_welcome_email_takes_its_words_from_the_guide(built_bakery):
    guide, _ = built_bakery
    config = load_config(guide)
    settings = load_email_settings(config)
    content = render_welcome(config, settings, recipient("ann@example.com", "Ann Baker"), True)
    for part in (content.text, re.sub(r"<[^>]+>", " ", content.html)):
        assert "We bake every morning at 4" in part and "feed your starter tonight" in part
        assert "Happy baking," in part and "The Crumb &amp; Crust Bakery team" in part.replace(
            "Crumb & Crust", "Crumb &amp; Crust")
        assert not KIT_WORDS.findall(part), KIT_WORDS.findall(part)


def _fill_colours(pdf: Path) -> set[str]:
    """Every ``r g b rg`` fill colour set in the pages' content streams, as #RRGGBB."""
    found = set()
    with pikepdf.open(pdf) as document:
        for page in document.pages:
            for operands, operator in pikepdf.parse_content_stream(page):
                if str(operator) == "rg":
                    found.add("#" + "".join(f"{round(float(v) * 255):02X}" for v in operands))
    return found


def test_the_pdf_is_drawn_in_the_brand_colours_and_their_derived_shades(built_bakery):
    guide, result = built_bakery
    palette = load_config(guide).theme.colors
    given = {"primary": "#6B3E26", "accent": "#F2A541", "surface": "#FFF7E8"}
    assert palette == resolve_colors({**given, "secondary": "#9DBF9E"})[0]
    assert palette["accent-text"] not in given.values()  # a darker shade, worked out
    colours = _fill_colours(result.output)
    for role in ("primary", "accent", "surface", "accent-text", "secondary-text", "on-accent"):
        assert palette[role] in colours, (role, palette[role], sorted(colours))
    assert "#1B2A41" not in colours  # the built-in navy is nowhere


def test_the_qr_code_is_vector_and_scans_to_its_address(built_bakery):
    _, result = built_bakery
    document = pdfium.PdfDocument(result.output)
    [page] = [p for p in document if "shaping videos" in p.get_textpage().get_text_range()]
    images = [obj for obj in page.get_objects(max_depth=4)
              if obj.type == pdfium.raw.FPDF_PAGEOBJ_IMAGE]
    assert not images  # the code is paths, not a bitmap
    bitmap = page.render(scale=200 / 72).to_pil()
    found = [code.text for code in zxingcpp.read_barcodes(bitmap)]
    assert found == ["https://crumbandcrust.example/videos"]


def test_the_tracker_from_data_has_a_fillable_field_per_cell(built_bakery):
    _, result = built_bakery
    fields = PdfReader(result.output).get_fields()
    names = {name for name in fields if name.startswith("bake-log-")}
    # 8 rows × 5 columns, plus the two note boxes
    assert len({n for n in names if not n.startswith("bake-log-notes")}) == 40
    assert fields["bake-log-1-5"]["/FT"] == "/Btn" and fields["bake-log-1-3"]["/FT"] == "/Tx"
    assert {"bake-log-notes-1", "bake-log-notes-2"} <= names
    assert sum(1 for n in fields if n.startswith("check-")) == 4  # the starter checklist


def test_the_guide_adds_css_and_macros_without_copying_built_in_files(built_bakery):
    guide, result = built_bakery
    assert not (guide / "styles" / "print.css").exists()
    assert not (guide / "templates" / "macros.html").exists()
    assert "OVEN AT 230 °C" in _pdf_text(result.output)  # its macro, styled by its extra.css


def test_check_passes_page_size_and_finds_no_starter_text(built_bakery):
    guide, result = built_bakery
    results = {r.name: r for r in run_checks(guide, result.output)}
    assert results["page-size"].status == "pass" and "A4" in results["page-size"].message
    assert results["scaffold-text"].status == "pass"


def _line_of(path: Path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def test_an_unknown_theme_key_is_an_error_with_its_line(tmp_path):
    guide = shutil.copytree(BAKERY, tmp_path / "guide")
    path = guide / "guide.yaml"
    path.write_text(path.read_text().replace('    surface: "#FFF7E8"\n',
                                             '    surface: "#FFF7E8"\n    brand: "#123456"\n'
                                             ).replace("  logo:", "  logos:"))
    with pytest.raises(GuideError) as error:
        load_config(guide)
    message = str(error.value)
    assert f"guide.yaml:{_line_of(path, 'brand:')}: unknown colour role 'theme.colors.brand'" \
        in message
    assert f"guide.yaml:{_line_of(path, 'logos:')}: unknown key 'theme.logos'" in message


def test_an_unknown_tracker_key_is_an_error_with_its_line(tmp_path):
    guide = shutil.copytree(BAKERY, tmp_path / "guide")
    path = guide / "data" / "trackers.yaml"
    path.write_text(path.read_text().replace("    - {label: Loaf, type: text}",
                                             "    - {label: Loaf, type: text, colour: red}"))
    with pytest.raises(ContentError) as error:
        load_data(guide)
    assert error.value.line == _line_of(path, "colour: red")
    assert "unknown key 'bake-log.columns[2].colour'" in str(error.value)


def test_a_kit_data_file_rejects_an_unquoted_comma(tmp_path):
    """`note: 45 min, brisk` makes `brisk` a key: the fitness kit names it, with the line."""
    guide = shutil.copytree(SAMPLE, tmp_path / "guide")
    path = guide / "data" / "program.yaml"
    path.write_text(path.read_text() + "week:\n  - {day: Tue, plan: Walk, note: 45 min, brisk}\n")
    with pytest.raises(ContentError) as error:
        load_data(guide)
    assert error.value.line == _line_of(path, "brisk")
    assert "unknown key 'week[1].brisk'" in str(error.value)


def test_without_a_kit_the_fitness_macros_do_not_exist(tmp_path):
    guide = shutil.copytree(BAKERY, tmp_path / "guide")
    chapter = guide / "chapters" / "02-loaves.md"
    chapter.write_text(chapter.read_text() + '\n{{ program_table("A") }}\n')
    with pytest.raises(GuideError, match="'program_table' is undefined"):
        build(guide, out=tmp_path / "out.pdf")


@pytest.mark.parametrize("kind", KINDS)
def test_leadguide_new_builds_strictly_on_the_first_run(kind, tmp_path, capsys):
    target = tmp_path / f"my-{kind}"
    assert main(["new", str(target), "--kind", kind]) == 0
    assert main(["build", str(target), "--out", str(tmp_path / "out.pdf")]) == 0
    assert f"{KINDS[kind].pages} pages" in capsys.readouterr().out
    results = run_checks(target, tmp_path / "out.pdf")
    scaffold = [r for r in results if r.name == "scaffold-text"]
    assert scaffold and all(r.status == "warn" for r in scaffold)
    assert any(r.where.endswith("guide.yaml:" + r.where.rsplit(":", 1)[1]) for r in scaffold)
    assert not [r for r in results if r.status == "fail"], [r for r in results if r.status == "fail"]
    assert not KIT_WORDS.findall(_pdf_text(tmp_path / "out.pdf"))
    assert_pdf_ua_1(tmp_path / "out.pdf")


def test_leadguide_new_refuses_a_folder_that_is_not_empty(tmp_path, capsys):
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.txt").write_text("mine")
    assert main(["new", str(tmp_path / "taken")]) == 1
    assert "not empty" in capsys.readouterr().err
    assert (tmp_path / "taken" / "notes.txt").read_text() == "mine"


def test_starter_guide_yaml_mentions_every_top_level_key(tmp_path):
    main(["new", str(tmp_path / "g")])
    text = (tmp_path / "g" / "guide.yaml").read_text()
    for key in KEYS[""]:
        assert re.search(rf"^#? ?{key}:", text, re.M), key


def _font_names(pdf: Path) -> set[str]:
    names = set()
    for page in PdfReader(pdf).pages:
        for font in (page.get("/Resources", {}).get("/Font") or {}).values():
            names.add(str(font.get_object()["/BaseFont"]))
    return names


def test_a_guide_bundles_its_own_font_files(tmp_path):
    from leadguide.guide.assets import BUILTIN_STYLES
    guide = shutil.copytree(BAKERY, tmp_path / "guide")
    (guide / "fonts").mkdir()
    shutil.copy(BUILTIN_STYLES / "fonts" / "Inter-Bold.otf", guide / "fonts" / "Display-Bold.otf")
    path = guide / "guide.yaml"
    path.write_text(path.read_text().replace("  logo: images/mark.svg\n", (
        "  logo: images/mark.svg\n  fonts:\n    heading:\n      family: Bakery Display\n"
        "      files: {bold: fonts/Display-Bold.otf, semibold: fonts/Display-Bold.otf}\n")))
    result = build(guide, out=tmp_path / "out.pdf")
    fonts = _font_names(result.output)
    assert not result.warnings
    assert not any("LeagueSpartan" in name for name in fonts), fonts  # headings: its own file
    assert any("Inter-Bold" in name for name in fonts)


def test_a_font_file_outside_the_guide_is_an_error_with_its_line(tmp_path):
    guide = shutil.copytree(BAKERY, tmp_path / "guide")
    path = guide / "guide.yaml"
    path.write_text(path.read_text().replace("  logo: images/mark.svg\n", (
        "  logo: images/mark.svg\n  fonts:\n    body:\n      family: Stolen\n"
        "      files:\n        regular: ../../elsewhere.otf\n")))
    with pytest.raises(ConfigError) as error:
        load_config(guide)
    assert error.value.line == _line_of(path, "elsewhere.otf")
    assert "not found inside the guide folder" in str(error.value)


def test_the_preview_lays_out_pages_of_the_guide_s_size(tmp_path):
    from leadguide.preview.site import build_preview
    guide = shutil.copytree(BAKERY, tmp_path / "guide")
    result = build_preview(guide, tmp_path / "preview", quick=True)
    assert not result.errors
    page = (tmp_path / "preview" / "01-welcome.html").read_text()
    assert "--page-width: 210mm;" in page and "--page-height: 297mm;" in page
    assert "--page-margin-x: 18mm;" in page
    assert 'href="styles/extra.css?v=' in page and (tmp_path / "preview" / "styles" / "extra.css").is_file()
