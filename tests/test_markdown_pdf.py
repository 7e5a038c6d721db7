"""tests/markdown_guide, Markdown written as GitHub READMEs and MkDocs pages are, built once
strictly and read back from the PDF: code line by line in a monospace font, nothing off the
page, nested list markers, links landing on their pages, no file: URI anywhere."""
from __future__ import annotations

import re
import shutil
import zlib
from pathlib import Path

import pikepdf
import pytest
from conftest import assert_pdf_ua_1
from pypdf import PdfReader

from leadguide.build import build
from leadguide.check import run_checks
from leadguide.check.facts import Facts
from leadguide.check.structure import drawn_objects, object_text
from leadguide.check.tagtree import stale_parent_entries
from leadguide.pdf.structtree import Tree

GUIDE = Path(__file__).parent / "markdown_guide"
README = GUIDE / "chapters" / "01-readme.md"


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, Path]:
    guide = tmp_path_factory.mktemp("markdown") / "guide"
    shutil.copytree(GUIDE, guide)
    result = build(guide, out=guide.parent / "markdown.pdf")  # strict: any problem raises
    assert result.pages == 7
    return guide, result.output


def test_the_markdown_guide_passes_pdf_ua_1(built):
    # Before: Markdown list items holding P and Div straight under LI failed it.
    assert_pdf_ua_1(built[1])


def _link_contents(pdf: Path) -> list[tuple[int, str]]:
    with pikepdf.open(pdf) as document:
        return [(number, str(annotation.get("/Contents", "")))
                for number, page in enumerate(document.pages, start=1)
                for annotation in page.obj.get("/Annots", [])
                if annotation.get("/Subtype") == "/Link"]


def test_a_link_wrapped_over_lines_is_whole(built):
    # Before: its /Contents read "download/ v2.4.1" and 2 of its runs kept a parent-tree
    # entry naming a fragment merged away.
    url = ("https://example.com/mdtool/releases/download/v2.4.1/"
           "changelog-and-migration-notes-for-every-release-since-version-one.html")
    wrapped = [text for _, text in _link_contents(built[1]) if "changelog" in text]
    assert len(wrapped) == 3 and set(wrapped) == {f"{url} (opens example.com)"}
    with pikepdf.open(built[1]) as document:
        assert stale_parent_entries(document) == {}


def test_footnotes_are_notes_and_their_links_read_as_words(built):
    # Before: the footnote list was retagged TOC and its back-link read "↩ (page 5)".
    contents = dict((text.split(" (")[0], (page, text)) for page, text in _link_contents(built[1]))
    assert "↩" not in contents
    assert contents["Back to the text"] == (6, "Back to the text (page 5)")
    assert contents["Note 1"] == (5, "Note 1 (page 6)")
    with pikepdf.open(built[1]) as document:
        tree = Tree(document.Root.StructTreeRoot,
                    {page.objgen: index for index, page in enumerate(document.pages)})
        notes = [element for element, _ in tree.elements if element.tag == "/Note"]
        assert len(notes) == 1 and notes[0].page == 5 and "/ID" in notes[0].obj
        inside_toc = [element for element, ancestors in tree.elements
                      if element.page == 5 and any(a.tag == "/TOC" for a in ancestors)]
        assert not inside_toc


@pytest.fixture(scope="module")
def facts(built):
    facts = Facts(*built)
    yield facts
    facts.close()


def fenced(path: Path, language: str) -> list[str]:
    """The lines of the first ``language`` fence in a chapter, as written."""
    text = path.read_text(encoding="utf-8")
    match = re.search(rf"^( *)```{language}\n(.*?)^\1```", text, re.MULTILINE | re.DOTALL)
    assert match, language
    return [line[len(match.group(1)):] for line in match.group(2).splitlines()]


def page_lines(facts: Facts, number: int) -> list[str]:
    """The page's lines, runs of spaces as one (as PDFium extracts them)."""
    return [" ".join(line.split()) for line in facts.text(number).splitlines()]


def mono_text(facts: Facts, number: int) -> str:
    """The text the page sets in JetBrains Mono."""
    textpage = facts.textpage(number)
    return "".join(object_text(textpage, drawn.handle) for drawn in drawn_objects(
        facts.page(number)) if drawn.kind == "text" and "JetBrains-Mono" in _font_of(drawn.handle))


def _font_of(handle) -> str:
    import ctypes

    import pypdfium2.raw as pdfium_c
    font = pdfium_c.FPDFTextObj_GetFont(handle)
    size = pdfium_c.FPDFFont_GetBaseFontName(font, None, 0)
    buffer = ctypes.create_string_buffer(size)
    pdfium_c.FPDFFont_GetBaseFontName(font, buffer, size)
    return buffer.value.decode()


@pytest.mark.parametrize("language,page", [("python", 2), ("django", 2), ("bash", 2)])
def test_code_lines_are_printed_line_by_line_in_a_monospace_font(facts, language, page):
    lines = page_lines(facts, page)
    mono = " ".join(mono_text(facts, page).split())
    for line in fenced(README, language):
        if line.strip():
            assert " ".join(line.split()) in lines, line
            assert " ".join(line.split()) in mono, line


def test_code_in_a_list_item_and_in_other_languages(facts):
    text = "\n".join(facts.text(n) for n in facts.numbers)
    for line in ("theme: light", "port: 8000,", 'theme = "light"', "usage: mdtool [OPTIONS] COMMAND",
                 'print("a fence inside a fence")', "A four-backtick fence can hold ``` lines."):
        assert line in text, line
    assert "python -m pip install mdtool" in page_lines(facts, 2)


def test_the_200_character_line_wraps_onto_the_page_with_every_character(facts):
    long = next(line for line in README.read_text(encoding="utf-8").splitlines()
                if len(line) == 200)
    mono = mono_text(facts, 2)
    assert "".join(long.split()) in "".join(mono.split())


def test_a_monospace_font_is_embedded(facts):
    names = {font.name for fonts in facts.fonts.values() for font in fonts}
    assert any(name.endswith("+JetBrains-Mono") for name in names)
    assert all(font.embedded for fonts in facts.fonts.values() for font in fonts)


def test_templating_braces_in_code_are_printed_as_written(facts):
    text = facts.text(2)
    assert "{{ value }}" in text and "{% csrf_token %}" in text and "{{ form.as_p }}" in text


def test_nothing_is_drawn_outside_the_trim_box_and_every_check_passes(built):
    results = run_checks(*built)
    assert [r for r in results if r.status == "fail"] == []
    trim = [r for r in results if r.name == "trim-box"]
    assert trim and trim[0].status == "pass" and "all inside the page" in trim[0].message


def markers(facts: Facts, number: int) -> list[tuple[str, float]]:
    """(marker, left edge) of each list bullet on the page, top to bottom."""
    textpage = facts.textpage(number)
    found = [(object_text(textpage, drawn.handle).strip(), drawn.rect)
             for drawn in drawn_objects(facts.page(number)) if drawn.kind == "text"]
    found = [(text, rect) for text, rect in found if text in ("•", "◦", "▪")]
    return [(text, round(rect[0])) for text, rect in sorted(found, key=lambda f: -f[1][3])]


def test_nested_list_markers_step_in_at_each_level(facts):
    found = markers(facts, 7)  # * at 0, 2 and 4 spaces; then * at 0, 4 and 8
    assert [text for text, _ in found] == ["•", "◦", "▪", "•", "◦", "▪"]
    lefts = [left for _, left in found]
    assert lefts[0] < lefts[1] < lefts[2] and lefts[:3] == lefts[3:]
    readme = [text for text, _ in markers(facts, 2)]  # "- run" two spaces under "2."
    assert readme == ["◦", "▪", "▪", "◦"]


def test_internal_links_land_on_the_right_pages(facts):
    links = {link.dest: link for link in facts.links if link.dest}
    heading = facts.anchor_pages
    assert links["02-configuration-options"].target == heading["02-configuration-options"] == 5
    assert links["ch-03-recipes"].target == 7
    assert links["01-readme-install-mdtool"].target == 2  # from chapter 2, with an anchor
    assert links["02-configuration-the-serve-command"].target == 5  # inside its own chapter
    assert links["ch-01-readme"].target == 2


def test_no_file_uri_anywhere_in_the_pdf(built, facts):
    data = built[1].read_bytes()
    assert b"file:" not in data
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", data, re.DOTALL):
        try:
            assert b"file:" not in zlib.decompress(stream)
        except zlib.error:
            pass  # not a Flate stream (an image)
    assert not [link for link in facts.links if link.uri and link.uri.startswith("file:")]


def test_no_backticks_in_the_contents_running_heads_or_bookmarks(built, facts):
    contents = facts.anchor_pages["contents"]
    assert "`" not in facts.text(contents) and "Getting started with mdtool" in facts.text(
        contents)
    for number in facts.numbers:
        width, height = facts.page(number).get_size()
        head = facts.text_in(number, (0, height - 0.8 * 72, width, height))
        assert "`" not in head
    assert "GETTING STARTED WITH MDTOOL" in facts.text_in(2, (0, 792 - 58, 612, 792))
    titles = list(_outline_titles(PdfReader(built[1]).outline))
    assert {"Getting started with mdtool", "Install mdtool", "A heading with code"} <= set(titles)
    assert not any("`" in title for title in titles)


def _outline_titles(outline: list) -> list[str]:
    for item in outline:
        yield from _outline_titles(item) if isinstance(item, list) else [item.title]


def test_alerts_footnotes_definitions_details_and_images(facts):
    text = "\n".join(facts.text(n) for n in facts.numbers)
    for title in ("NOTE", "TIP", "IMPORTANT", "WARNING", "CAUTION", "WHERETHEFILELIVES"):
        assert title in text.replace(" ", "")  # letter-spaced
    assert "[!" not in text and "!!!" not in text
    assert "Or the file named by --config" in text                 # footnote
    assert "Turns warnings into errors." in text                    # definition list
    assert "Why port 8000?" in text and "It is free on most machines" in text  # <details>
    assert "read render write" in page_lines(facts, 3)  # the ../images SVG draws text
    assert "- [x]" not in text and "~~" not in text


def test_task_list_boxes_are_drawn_not_form_fields(built):
    assert not PdfReader(built[1]).get_fields()
