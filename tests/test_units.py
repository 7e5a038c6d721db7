"""Small pieces on their own: the calorie arithmetic, the fetcher, overrides, the CLI's help."""
from __future__ import annotations

import click
import pytest
from weasyprint.urls import URLFetcherResponse

from leadguide.assemble import assemble
from leadguide.chapters import load_chapters
from leadguide.cli import main
from leadguide.config import load_config
from leadguide.data import load_data
from leadguide.fetcher import RefusedResource, SafeFetcher
from leadguide.kits.fitness.nutrition import energy_plan, mifflin_st_jeor


def test_mifflin_st_jeor_matches_the_fact_sheet():
    # Her: 65 kg, 165 cm, 35 y -> 1,345.25 kcal resting; x 1.55 -> ~2,085 kcal maintenance
    assert mifflin_st_jeor("female", 65, 165, 35) == pytest.approx(1345.25)
    # Him: 95 kg, 180 cm, 38 y -> 1,890 kcal resting; x 1.55 -> ~2,930 kcal maintenance
    assert mifflin_st_jeor("male", 95, 180, 38) == pytest.approx(1890)


def test_energy_plans_match_the_worked_examples():
    her = energy_plan("female", 65, 165, 35, 1.55, 385, 1.85, 65)
    him = energy_plan("male", 95, 180, 38, 1.55, 480, 2.0, 85)
    assert (her.maintenance_kcal, her.target_kcal, her.protein_g) == (2085, 1700, 120)
    assert (him.maintenance_kcal, him.target_kcal, him.protein_g) == (2930, 2450, 170)
    assert him.deficit_kcal < 500 and 10 <= her.deficit_percent <= 20
    assert her.weekly_loss_lb == (0.7, 1.4)  # 0.5-1 % of 143 lb


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
