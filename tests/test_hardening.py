"""Surprising input ends in ``path:line: message``: numbers, nesting, surrogates, images, links."""
from __future__ import annotations

from pathlib import Path

import pikepdf
import pytest

from leadguide.build import build
from leadguide.errors import GuideError


def _append(path: Path, text: str) -> None:
    path.write_text(path.read_text() + text)


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def _first_error(guide: Path, draft: bool = False) -> str:
    with pytest.raises(GuideError) as error:
        build(guide, out=guide / "out.pdf", draft=draft)
    errors = getattr(error.value, "errors", [error.value])
    assert all(e.path is not None for e in errors), str(error.value)
    return str(errors[0])


def _training(guide: Path) -> Path:
    return guide / "chapters" / "02-training.md"


@pytest.mark.parametrize("value", [".nan", ".inf", "-.inf", "0", "-3", "1e400"])
def test_a_bad_activity_factor_is_refused_at_its_line(sample_guide, value):
    _replace(sample_guide / "data" / "nutrition.yaml", "activity_factor: 1.55",
             f"activity_factor: {value}")
    assert "data/nutrition.yaml:1: 'activity_factor' must be" in _first_error(sample_guide)


def test_a_huge_page_count_is_refused_at_its_line(sample_guide):
    _replace(sample_guide / "guide.yaml", "pages: 6", "pages: 1000000000000000000000")
    assert "guide.yaml:6: 'pages' must be a number between" in _first_error(sample_guide)


@pytest.mark.parametrize("nest, what", [
    (">" * 3000 + " deep", "block quotes nested"),
    ("<div>" * 3000 + "x" + "</div>" * 3000, "HTML elements nested"),
    ("".join("  " * i + "- x\n" for i in range(300)), "lists nested"),
])
def test_deep_nesting_in_a_chapter_is_refused_at_its_line(sample_guide, nest, what):
    lines = len(_training(sample_guide).read_text().splitlines())
    _append(_training(sample_guide), "\n" + nest + "\n")
    message = _first_error(sample_guide)
    assert f"02-training.md:{lines + 2}: {what}" in message or (
        what == "lists nested" and "02-training.md:" in message and what in message), message


def test_deep_css_is_refused_at_its_line(sample_guide):
    (sample_guide / "styles").mkdir()
    (sample_guide / "styles" / "extra.css").write_text(
        "p {}\n" + ":is(" * 3000 + "p" + ")" * 3000 + " { color: red }\n")
    assert "styles/extra.css:2: CSS: CSS brackets nested" in _first_error(sample_guide)


def test_a_lone_surrogate_in_a_title_is_refused_at_its_line(sample_guide):
    _replace(sample_guide / "guide.yaml", "title: The Sample Guide", 'title: "A \\ud800 guide"')
    assert "guide.yaml:1: YAML: '\\ud800' is half of a character" in _first_error(sample_guide)


def test_a_lone_surrogate_from_a_chapter_expression(sample_guide):
    _append(_training(sample_guide), "\n{{ '\\udfff' }}\n")
    assert "02-training.md:" in _first_error(sample_guide)


CONTROLS = ["\x00", "\x07", "\x1b", "\x7f", "\x85", "\x9b"]


@pytest.mark.parametrize("control", CONTROLS)
def test_a_control_character_in_a_chapter_is_refused_at_its_line_and_column(sample_guide,
                                                                             control):
    lines = len(_training(sample_guide).read_text().splitlines())
    _append(_training(sample_guide), f"\nSome{control} text\n")
    message = _first_error(sample_guide)
    assert f"02-training.md:{lines + 2}: a control character (U+{ord(control):04X}) at " \
           "column 5" in message, message


@pytest.mark.parametrize("control", CONTROLS)
def test_a_control_character_in_a_stylesheet_or_template_is_refused(sample_guide, control):
    (sample_guide / "styles").mkdir()
    (sample_guide / "styles" / "extra.css").write_text(f"p {{}}\n/* {control} */\n")
    assert "styles/extra.css:2: a control character" in _first_error(sample_guide)


@pytest.mark.parametrize("escape", ["\\x00", "\\x1b", "\\x85", "\\u009b", "\\x7f"])
def test_a_control_character_escaped_in_yaml_is_refused_at_its_line(sample_guide, escape):
    _replace(sample_guide / "guide.yaml", "title: The Sample Guide", f'title: "A{escape}B"')
    assert "guide.yaml:1: YAML: a control character" in _first_error(sample_guide)


def test_a_control_character_made_by_a_chapter_expression_is_refused(sample_guide):
    _append(_training(sample_guide), "\n{{ 'a' ~ '\\x1b' ~ 'b' }}\n")
    message = _first_error(sample_guide)
    assert "02-training.md:" in message and "control character (U+001B)" in message, message


@pytest.mark.parametrize("name, body", [
    ("cut.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00"),
    ("cut.jpg", b"\xff\xd8\xff\xe0garbage"),
    ("bad.svg", b"<svg><<<"),
])
def test_a_broken_image_is_an_error_at_its_chapter_line(sample_guide, name, body):
    (sample_guide / "images" / name).write_bytes(body)
    lines = len(_training(sample_guide).read_text().splitlines())
    _append(_training(sample_guide), f"\n![x](../images/{name})\n")
    message = _first_error(sample_guide)
    assert f"02-training.md:{lines + 2}: cannot use" in message and "not a valid" in message


def test_the_block_token_cannot_be_forged(sample_guide):
    _append(_training(sample_guide), "\nLGBLOCK0X and LGBLOCK7X\n")
    result = build(sample_guide, out=sample_guide / "out.pdf", draft=True)
    text = "".join(page.extract_text() for page in
                   __import__("pypdf").PdfReader(result.output).pages)
    assert "LGBLOCK0X and LGBLOCK7X" in text


@pytest.mark.parametrize("raw", [
    '<link rel="attachment" href="../guide.yaml">',
    '<a rel="Attachment nofollow" href="../data/program.yaml">x</a>',
])
def test_attachments_never_reach_a_pdf_even_a_draft(sample_guide, raw):
    lines = len(_training(sample_guide).read_text().splitlines())
    _append(_training(sample_guide), f"\n{raw}\n")
    assert f"02-training.md:{lines + 2}:" in _first_error(sample_guide)
    try:
        result = build(sample_guide, out=sample_guide / "draft.pdf", draft=True)
    except GuideError:
        return  # refused even in a draft: nothing shipped
    with pikepdf.open(result.output) as pdf:
        assert len(pdf.attachments) == 0
        annotations = [a for page in pdf.pages for a in page.get("/Annots", [])]
        assert not any(a.get("/Subtype") == "/FileAttachment" for a in annotations)


@pytest.mark.parametrize("href", ["javascript:alert(1)", "java\tscript:alert(1)",
                                  " JavaScript:alert(1)", "vbscript:x",
                                  "data:text/html,<b>x</b>", "file:///etc/passwd",
                                  "ftp://example.com/x"])
def test_a_page_template_cannot_put_a_bad_scheme_in_the_pdf(sample_guide, href):
    (sample_guide / "templates").mkdir()
    (sample_guide / "templates" / "back.html").write_text(f'<a href="{href}">x</a>\n')
    _replace(sample_guide / "guide.yaml", "kit: fitness", "kit: fitness\nback_page: true")
    assert _first_error(sample_guide)
    try:
        result = build(sample_guide, out=sample_guide / "draft.pdf", draft=True)
    except GuideError:
        return  # refused even in a draft: nothing shipped
    with pikepdf.open(result.output) as pdf:
        for page in pdf.pages:
            for annotation in page.get("/Annots", []):
                action = annotation.get("/A")
                uri = str(action.get("/URI", "")) if action is not None else ""
                assert not uri or uri.startswith(("http", "mailto", "tel")), uri
                assert action is None or action.get("/S") != "/JavaScript"


@pytest.mark.parametrize("old, new", [("author: Test Clinic", 'author: "Test Clinic'),
                                      ("author: Test Clinic", "author: 'Test Clinic")])
def test_an_unclosed_quote_is_reported_where_it_opens(sample_guide, old, new):
    _replace(sample_guide / "guide.yaml", old, new)
    assert "guide.yaml:3: YAML: this quote is not closed on its line" in _first_error(sample_guide)


def test_a_toc_after_naming_no_chapter_is_refused_at_its_line(sample_guide):
    _replace(sample_guide / "guide.yaml", "toc_after: 01-intro.md", "toc_after: nope.md")
    assert "guide.yaml:8: 'toc_after' names 'nope.md'" in _first_error(sample_guide)


def test_a_broken_data_uri_image_is_refused_at_the_line_that_uses_it(sample_guide):
    lines = len(_training(sample_guide).read_text().splitlines())
    _append(_training(sample_guide), "\n![x](data:image/png;base64,AAAA)\n")
    message = _first_error(sample_guide)
    assert f"02-training.md:{lines + 2}:" in message, message


def test_a_css_message_without_a_position_gets_the_line_of_what_it_quotes(sample_guide):
    (sample_guide / "styles").mkdir()
    (sample_guide / "styles" / "extra.css").write_text("p { color: red }\n\n.x }}}} { color: blue }\n")
    assert "styles/extra.css:3: CSS: Invalid or unsupported selector" in _first_error(sample_guide)
