"""Bad input ends in one clear error naming the file and line, and never a half-written PDF."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from leadguide.build import CACHE_FOLDER, build
from leadguide.cli import main
from leadguide.errors import (ConfigError, ContentError, ErrorGroup, GuideError, PagePromiseError,
                              RenderError, TemplateError)


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def test_malformed_guide_yaml_reports_the_right_line(sample_guide):
    _edit(sample_guide / "guide.yaml", "pages: 6", "pages: [6")
    with pytest.raises(ConfigError) as error:
        build(sample_guide, out=sample_guide / "x.pdf")
    assert error.value.path.name == "guide.yaml"
    assert error.value.line in (6, 7)  # the unclosed bracket on line 6, seen on the next
    assert "YAML" in str(error.value)


def test_config_problems_are_all_reported_at_once(sample_guide):
    _edit(sample_guide / "guide.yaml", "pages: 6", "pages: six")
    _edit(sample_guide / "guide.yaml", "page_size: Letter", "page_size: Tabloid")
    _edit(sample_guide / "guide.yaml", "title: The Sample Guide\n", "")
    with pytest.raises(ErrorGroup) as error:
        build(sample_guide, out=sample_guide / "x.pdf")
    messages = str(error.value).splitlines()
    assert any(m.endswith("guide.yaml:5: 'pages' must be a whole number, not text")
               for m in messages), messages
    assert any("guide.yaml:4: 'page_size' must be Letter, A4, A5 or a size like" in m for m in messages)
    assert any("'title' is required" in m for m in messages)


def test_unknown_key_in_guide_yaml_is_named(sample_guide):
    _edit(sample_guide / "guide.yaml", "pages: 6", "pages: 6\npagez: 7")
    with pytest.raises(ConfigError, match=r"unknown key 'pagez'") as error:
        build(sample_guide, out=sample_guide / "x.pdf")
    assert error.value.line == 7


def test_missing_chapter_file(sample_guide):
    (sample_guide / "chapters" / "02-training.md").unlink()
    with pytest.raises(ConfigError, match="chapter file not found: chapters/02-training.md") as e:
        build(sample_guide, out=sample_guide / "x.pdf")
    assert e.value.line == 11


def test_front_matter_error_names_chapter_and_line(sample_guide):
    _edit(sample_guide / "chapters" / "03-food.md", "pages: 2", "pages: two")
    with pytest.raises(ContentError) as error:
        build(sample_guide, out=sample_guide / "x.pdf")
    assert str(error.value).endswith(
        "chapters/03-food.md:3: front matter: 'pages' must be a whole number, not text")


def test_missing_front_matter(sample_guide):
    (sample_guide / "chapters" / "01-intro.md").write_text("# Just text\n")
    with pytest.raises(ContentError, match="front matter missing") as error:
        build(sample_guide, out=sample_guide / "x.pdf")
    assert error.value.line == 1


def test_unknown_template_variable_reports_chapter_line(sample_guide):
    _edit(sample_guide / "chapters" / "03-food.md", "{{ cta() }}", "{{ nubmers_box() }}")
    with pytest.raises(TemplateError, match="'nubmers_box' is undefined") as error:
        build(sample_guide, out=sample_guide / "x.pdf")
    assert error.value.path.name == "03-food.md"
    assert error.value.line == 10


def test_unknown_exercise_in_macro_reports_chapter_line(sample_guide):
    _edit(sample_guide / "chapters" / "02-training.md", '"wall-sit"', '"wall-sitt"')
    with pytest.raises(TemplateError, match="no exercise 'wall-sitt' in data/exercises.yaml") as e:
        build(sample_guide, out=sample_guide / "x.pdf")
    assert (e.value.path.name, e.value.line) == ("02-training.md", 12)


def test_data_file_missing_field_names_file_and_line(sample_guide):
    _edit(sample_guide / "data" / "exercises.yaml", "    avoid: Holding your breath.\n", "")
    with pytest.raises(ContentError, match="'avoid' is required") as error:
        build(sample_guide, out=sample_guide / "x.pdf")
    assert (error.value.path.name, error.value.line) == ("exercises.yaml", 2)


def test_data_file_wrong_type(sample_guide):
    _edit(sample_guide / "data" / "nutrition.yaml", "age: 35", "age: thirty-five")
    with pytest.raises(ContentError, match="'age' must be a whole number, not text") as error:
        build(sample_guide, out=sample_guide / "x.pdf")
    assert error.value.line == 3


def test_missing_image_fails_the_strict_build(sample_guide):
    _edit(sample_guide / "chapters" / "01-intro.md", "Hello", "![A dog](images/dog.svg)\n\nHello")
    with pytest.raises(ContentError, match="'images/dog.svg' not found: chapters/images/dog.svg"
                       ) as error:
        build(sample_guide, out=sample_guide / "x.pdf")
    assert (error.value.path.name, error.value.line) == ("01-intro.md", 7)


@pytest.mark.parametrize("src", ["../../secret.svg", "file:///etc/hostname",
                                 "https://example.com/logo.svg", "images/link.svg",
                                 "../images/link.svg", "/../secret.svg"])
def test_images_outside_the_guide_are_refused(sample_guide, src):
    (sample_guide.parent / "secret.svg").write_text((sample_guide / "images/mark.svg").read_text())
    os.symlink(sample_guide.parent / "secret.svg", sample_guide / "images" / "link.svg")
    _edit(sample_guide / "chapters" / "01-intro.md", "Hello", f"![Logo]({src})\n\nHello")
    with pytest.raises(GuideError) as error:
        build(sample_guide, out=sample_guide / "x.pdf")
    assert any(reason in str(error.value) for reason in (
        "outside the guide folder", "network access is off", "is a file: URL"))
    assert error.value.path.name == "01-intro.md"
    assert not (sample_guide / "x.pdf").exists()


def test_bad_css_in_a_guide_stylesheet_names_file_and_line(sample_guide):
    from leadguide.guide.assets import BUILTIN_STYLES
    styles = sample_guide / "styles"
    styles.mkdir()
    css = (BUILTIN_STYLES / "print.css").read_text() + "\n.oops { colr: red; width: banana; }\n"
    (styles / "print.css").write_text(css)
    with pytest.raises(ErrorGroup) as error:
        build(sample_guide, out=sample_guide / "x.pdf")
    found = [(e.path, e.line, e.message) for e in error.value.errors]
    line = css.count("\n")
    assert found == [(styles / "print.css", line, f"CSS: Ignored `colr: red` at {line}:9, unknown property."),
                     (styles / "print.css", line, f"CSS: Ignored `width: banana` at {line}:20, invalid value.")]


def test_page_promise_mismatch_keeps_the_last_good_pdf(sample_guide, capsys):
    out = sample_guide.parent / "out" / "sample.pdf"
    assert main(["build", str(sample_guide), "--out", str(out)]) == 0
    good = out.read_bytes()
    _edit(sample_guide / "guide.yaml", "pages: 6", "pages: 5")
    capsys.readouterr()
    assert main(["build", str(sample_guide), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "guide.yaml:6: the guide promises 5 pages but the PDF has 6 (1 too many)" in err
    assert "chapters/03-food.md" in err and "5-6" in err and "OVER" in err
    assert "Traceback" not in err
    assert out.read_bytes() == good
    assert [p.name for p in out.parent.iterdir() if p.name.startswith(".")] == [CACHE_FOLDER]


def test_draft_writes_anyway_and_says_so(sample_guide, capsys):
    _edit(sample_guide / "guide.yaml", "pages: 6", "pages: 5")
    out = sample_guide.parent / "draft.pdf"
    assert main(["build", str(sample_guide), "--out", str(out), "--draft"]) == 0
    captured = capsys.readouterr()
    assert "DRAFT BUILD" in captured.err and out.is_file()
    assert f"{out}  6 pages" in captured.out


def test_cli_errors_have_no_traceback_unless_debug(sample_guide, capsys):
    _edit(sample_guide / "guide.yaml", "pages: 6", "pages: [6")
    assert main(["build", str(sample_guide)]) == 1
    err = capsys.readouterr().err
    assert "guide.yaml:" in err and "Traceback" not in err
    with pytest.raises(GuideError):
        main(["--debug", "build", str(sample_guide)])


def test_missing_guide_folder(tmp_path, capsys):
    assert main(["build", str(tmp_path / "nope")]) == 1
    assert "guide folder not found" in capsys.readouterr().err


def test_page_promise_error_carries_the_table(sample_guide):
    _edit(sample_guide / "guide.yaml", "pages: 6", "pages: 9")
    with pytest.raises(PagePromiseError) as error:
        build(sample_guide, out=sample_guide / "x.pdf")
    assert "3 too few" in str(error.value)
    assert error.value.table.splitlines()[-1].split() == ["total", "6", "9", "SHORT"]


def test_photos_are_downsampled_to_150_dpi(sample_guide):
    from PIL import Image
    from pypdf import PdfReader
    Image.new("RGB", (3000, 2000), "#5E8C7A").save(sample_guide / "images" / "photo.jpg",
                                                    quality=90)
    _edit(sample_guide / "chapters" / "01-intro.md", "Hello",
          '![A photo](images/photo.jpg){: style="width: 2in" }\n\nHello')
    result = build(sample_guide, out=sample_guide / "x.pdf")
    # WeasyPrint shares one resource dictionary between pages: count distinct images.
    images = {image.name: image for page in PdfReader(result.output).pages
              for image in page.images}
    assert len(images) == 1
    width = next(iter(images.values())).image.width
    assert 290 <= width <= 310  # 2 in at 150 dpi, down from 3000 px


def test_pdf_is_readable_by_others_like_any_written_file(sample_guide):
    out = sample_guide.parent / "shared.pdf"
    build(sample_guide, out=out)
    assert out.stat().st_mode & 0o044 == 0o044 & ~_current_umask()


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_css_rejected_after_var_substitution_names_its_stylesheet(sample_guide):
    from leadguide.guide.assets import BUILTIN_STYLES
    styles = sample_guide / "styles"
    styles.mkdir()
    css = (BUILTIN_STYLES / "theme.css").read_text() + "\nbody { width: var(--color-primary); }\n"
    (styles / "theme.css").write_text(css)
    with pytest.raises(RenderError, match=r"Ignored `width: #1B2A41`") as error:
        build(sample_guide, out=sample_guide / "x.pdf")
    assert (error.value.path, error.value.line) == (styles / "theme.css", css.count("\n"))


def test_a_key_missing_its_colon_is_reported_on_its_own_line(sample_guide):
    _edit(sample_guide / "chapters" / "03-food.md", "pages: 2", "pages 2")
    with pytest.raises(ContentError, match="could not find expected ':'") as error:
        build(sample_guide, out=sample_guide / "x.pdf")
    assert error.value.line == 3


def test_broken_macros_template_in_a_guide_names_its_line(sample_guide):
    from leadguide.guide.assets import BUILTIN_TEMPLATES
    (sample_guide / "templates").mkdir()
    text = (BUILTIN_TEMPLATES / "macros.html").read_text() + "\n{% macro oops( %}\n"
    (sample_guide / "templates" / "macros.html").write_text(text)
    with pytest.raises(TemplateError, match="template syntax") as error:
        build(sample_guide, out=sample_guide / "x.pdf")
    assert error.value.path.name == "macros.html"
    assert error.value.line == text.count("\n")
