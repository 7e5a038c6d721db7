"""Small pieces on their own: the calorie arithmetic, the fetcher, overrides, the CLI's help."""
from __future__ import annotations

import click
import pytest
from weasyprint.urls import URLFetcherResponse

from leadguide.cli import main
from leadguide.errors import GuideError
from leadguide.guide.chapters import load_chapters
from leadguide.guide.config import load_config
from leadguide.guide.data import load_data
from leadguide.guide.fetcher import RefusedResource, SafeFetcher
from leadguide.html.assemble import assemble
from leadguide.kits.fitness.nutrition import energy_plan, mifflin_st_jeor


def test_mifflin_st_jeor_matches_the_fact_sheet():
    # Her: 65 kg, 165 cm, 35 y -> 1,345.25 kcal resting; x 1.55 -> ~2,085 kcal maintenance
    assert mifflin_st_jeor("female", 65, 165, 35) == pytest.approx(1345.25)
    # Him: 95 kg, 180 cm, 38 y -> 1,890 kcal resting; x 1.55 -> ~2,930 kcal maintenance
    assert mifflin_st_jeor("male", 95, 180, 38) == pytest.approx(1890)


def test_energy_plans_match_the_worked_examples():
    her = energy_plan("female", 65, 165, 35, 1.55, 385, 1.85, 65)
    him = energy_plan("male", 95, 180, 38, 1.55, 480, 2.0, 85)
    assert (her.resting_kcal, her.maintenance_kcal, her.target_kcal) == (1345, 2085, 1700)
    assert (him.resting_kcal, him.maintenance_kcal, him.target_kcal) == (1890, 2930, 2450)
    assert (her.protein_g, him.protein_g) == (120, 170)  # 1.85 g x 65 kg; 2.0 g x 85 kg goal
    assert (her.protein_per_meal_g, him.protein_per_meal_g) == (30, 43)  # 120 / 4; 170 / 4
    # 300-500 kcal or 10-20 % of maintenance, whichever is smaller
    assert her.deficit_range_kcal == (210, 415) and him.deficit_range_kcal == (295, 500)
    assert her.deficit_in_range and him.deficit_in_range and him.deficit_kcal < 500
    assert (her.deficit_percent, him.deficit_percent) == (18, 16)
    # What the deficit gives by the 3,500 kcal rule, not the 0.5-1 % window
    assert (her.weekly_loss_lb, him.weekly_loss_lb) == (0.8, 1.0)  # 2,695 / 3,500; 3,360 / 3,500
    assert her.pace_window_lb == (0.7, 1.4) and him.pace_window_lb == (1.0, 2.1)  # of 143 / 209 lb


@pytest.mark.parametrize("sex,kg,cm,age,factor,deficit", [
    ("female", 58.5, 160, 52, 1.375, 300), ("male", 120, 190, 29, 1.725, 500),
    ("female", 90, 172, 41, 1.2, 250), ("male", 70, 175, 63, 1.55, 330)])
def test_every_printed_number_follows_from_the_printed_one_before(sex, kg, cm, age, factor,
                                                                  deficit):
    plan = energy_plan(sex, kg, cm, age, factor, deficit, 1.6, kg)
    assert plan.resting_kcal == round(mifflin_st_jeor(sex, kg, cm, age))
    assert abs(plan.maintenance_kcal - plan.resting_kcal * factor) <= 2.5
    assert plan.target_kcal == plan.maintenance_kcal - plan.deficit_kcal
    assert abs(plan.protein_per_meal_g * plan.meals - plan.protein_g) <= plan.meals / 2
    assert plan.weekly_loss_lb == round(deficit * 7 / 3500, 1)
    low, high = plan.deficit_range_kcal
    assert low == pytest.approx(min(300, 0.1 * plan.maintenance_kcal), abs=2.5)
    assert high == pytest.approx(min(500, 0.2 * plan.maintenance_kcal), abs=2.5)


def test_a_deficit_outside_the_safe_range_is_an_error_with_its_line(sample_guide):
    path = sample_guide / "data" / "nutrition.yaml"
    text = path.read_text()
    path.write_text(text.replace("deficit_kcal: 385", "deficit_kcal: 700"))
    line = next(n for n, row in enumerate(text.splitlines(), 1) if "deficit_kcal: 385" in row)
    with pytest.raises(GuideError) as caught:
        load_data(sample_guide)
    assert f"nutrition.yaml:{line}" in str(caught.value) and "safe range 210–415" in str(caught.value)


def test_editing_an_input_changes_every_dependent_number(sample_guide):
    path = sample_guide / "data" / "nutrition.yaml"
    before = load_data(sample_guide)["nutrition"].partner("her").plan
    path.write_text(path.read_text().replace("weight_kg: 65", "weight_kg: 75"))
    after = load_data(sample_guide)["nutrition"].partner("her").plan
    assert after.resting_kcal == before.resting_kcal + 100
    assert after.target_kcal > before.target_kcal


def test_fetcher_serves_files_inside_and_data_uris(tmp_path):
    (tmp_path / "a.svg").write_text("<svg/>")
    fetcher = SafeFetcher((tmp_path,))
    response = fetcher.fetch((tmp_path / "a.svg").as_uri())
    assert isinstance(response, URLFetcherResponse) and response.read() == b"<svg/>"
    assert fetcher.fetch("data:text/plain,hi").read() == b"hi"


@pytest.mark.parametrize("url", ["http://example.com/x.png", "https://example.com/x.png",
                                 "ftp://example.com/x", "file:///etc/passwd",
                                 "file://otherhost/x.svg"])
def test_fetcher_refuses_network_and_outside_files(tmp_path, url):
    fetcher = SafeFetcher((tmp_path,))
    with pytest.raises(RefusedResource):
        fetcher.fetch(url)
    assert fetcher.refused and fetcher.refused[0][0] == url


def test_fetcher_refuses_dot_dot_and_symlinks_out(tmp_path):
    inside, outside = tmp_path / "guide", tmp_path / "secret.txt"
    inside.mkdir()
    outside.write_text("secret")
    (inside / "link.txt").symlink_to(outside)
    fetcher = SafeFetcher((inside,))
    for url in (inside.as_uri() + "/../secret.txt", (inside / "link.txt").as_uri()):
        with pytest.raises(RefusedResource, match="outside the guide folder"):
            fetcher.fetch(url)


def test_guide_templates_override_builtin_ones_file_by_file(sample_guide):
    (sample_guide / "templates").mkdir()
    (sample_guide / "templates" / "cover.html").write_text(
        '<section class="cover" id="cover"><h1>My own cover for {{ guide.title }}</h1></section>')
    config = load_config(sample_guide)
    html = assemble(config, load_chapters(config), load_data(sample_guide)).html
    assert "My own cover for The Sample Guide" in html
    assert 'class="toc"' in html  # the other templates are still the built-in ones


def test_theme_values_from_guide_yaml_become_css_properties(sample_guide):
    config = load_config(sample_guide)
    html = assemble(config, load_chapters(config), load_data(sample_guide)).html
    assert "--color-primary: #1B2A41;" in html


def test_a_chapter_can_choose_its_template(sample_guide):
    (sample_guide / "templates").mkdir()
    (sample_guide / "templates" / "plain.html").write_text(
        '<section class="chapter" id="{{ chapter.anchor }}"><h1>PLAIN {{ chapter.title }}</h1>'
        "{{ chapter.html | safe }}</section>")
    path = sample_guide / "chapters" / "01-intro.md"
    path.write_text(path.read_text().replace("pages: 1", "pages: 1\ntemplate: plain.html"))
    config = load_config(sample_guide)
    assert "PLAIN Welcome aboard" in assemble(config, load_chapters(config),
                                              load_data(sample_guide)).html


def test_every_command_help_has_an_example(capsys):
    from leadguide.cli import cli
    for name in [None, *cli.list_commands(click.Context(cli))]:
        argv = ["--help"] if name is None else [name, "--help"]
        assert main(argv) == 0
        assert "Example" in capsys.readouterr().out, name


def test_size_limits_in_guide_yaml_must_be_numbers(sample_guide):
    from leadguide.errors import ConfigError
    from leadguide.limits import size_budget
    path = sample_guide / "guide.yaml"
    path.write_text(path.read_text() + "email:\n  max_attachment_mb: lots\n")
    config = load_config(sample_guide)
    assert size_budget({}).max_bytes == 10_000_000
    with pytest.raises(ConfigError, match="'email.max_attachment_mb' must be a number") as error:
        size_budget(config.email, config.config_path)
    assert error.value.line == path.read_text().count("\n")


def test_typeset_joins_ranges_and_the_last_two_words_with_characters():
    from leadguide.markdown.typeset import NBSP, WORD_JOINER, typeset
    html = typeset("<p>Do 6–12 sets, add 2–10 % or 3 × 8–12 reps, and rest well a week.</p>"
                   "<pre>6–12 x</pre><p>Short and single.</p>")
    assert f"6–{WORD_JOINER}12{NBSP}sets" in html and f"2–{WORD_JOINER}10{NBSP}%" in html
    assert f"3{NBSP}×{NBSP}8–{WORD_JOINER}12{NBSP}reps" in html
    assert f"a{NBSP}week.</p>" in html and "<pre>6–12 x</pre>" in html
    assert "<p>Short and single.</p>" in html  # one line: nothing to join
    assert "<span" not in html  # WeasyPrint breaks lines badly around nowrap spans
    words = typeset("<p>Sets of 6 to 30 reps; those losing 1.4 % a week, 20 lb, 3 days.</p>")
    assert f"6{NBSP}to{NBSP}30{NBSP}reps" in words and f"1.4{NBSP}%" in words
    assert f"20{NBSP}lb" in words and f"3{NBSP}days" in words
    assert "v2 to 3" in typeset("<p>v2 to 3 of them</p>")  # v2 is not a number on its own
    assert f"to{NBSP}stand.</td>" in typeset("<td>Squeeze your glutes hard to stand.</td>")  # cells too


def test_printed_url_drops_scheme_and_tracking():
    from leadguide.html.assemble import printed_url
    assert printed_url("https://www.example.com/consult/?utm_source=pdf") == "example.com/consult"
    assert printed_url("mailto:a@b.c") == "mailto:a@b.c"
