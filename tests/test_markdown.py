"""Markdown as GitHub, MkDocs and Pandoc authors write it: lists, code, alerts, paths, links.

These render HTML only (fast); tests/test_markdown_pdf.py reads the built PDF."""
from __future__ import annotations

import re
from pathlib import Path

import jinja2
import pytest

from leadguide.errors import ContentError, GuideError, TemplateError
from leadguide.guide.chapters import load_chapters
from leadguide.guide.config import load_config
from leadguide.guide.data import load_data
from leadguide.html.assemble import assemble
from leadguide.markdown.codeguard import protect
from leadguide.markdown.engine import converter
from leadguide.markdown.source import scan


def html(source: str) -> str:
    return converter("ch").convert(source)


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


# ---- lists nest at the column the item's text starts
@pytest.mark.parametrize("source", [
    "- a\n  - b\n    - c\n- d",            # two spaces (GitHub, Prettier)
    "- a\n    - b\n        - c\n- d",      # four spaces (Python-Markdown's own)
    "* a\n   * b\n      * c\n* d",         # three
])
def test_nested_bullets_at_two_three_or_four_spaces(source):
    assert squash(html(source)) == ("<ul><li>a<ul><li>b<ul><li>c</li></ul></li></ul></li>"
                                    "<li>d</li></ul>")


def test_ordered_items_nest_three_spaces_in():
    assert squash(html("1. a\n   1. b\n   2. c\n2. d")) == (
        "<ol><li>a<ol><li>b</li><li>c</li></ol></li><li>d</li></ol>")


def test_a_list_may_interrupt_a_paragraph_but_not_with_a_number_other_than_one():
    assert squash(html("Steps:\n1. one\n2. two")) == "<p>Steps:</p><ol><li>one</li><li>two</li></ol>"
    assert squash(html("Steps:\n- one")) == "<p>Steps:</p><ul><li>one</li></ul>"
    assert squash(html("In\n2024. it rained")) == "<p>In2024.itrained</p>"


def test_a_fence_inside_a_two_space_item_is_code_in_that_item():
    out = html("- step:\n\n  ```bash\n  # not a heading\n  pip install x\n  ```\n- next")
    assert "<h1" not in out
    item = out[out.index("<li>"):out.index("</li>")]
    assert 'class="language-bash highlight"' in item and "# not a heading" in item


def test_lists_nest_inside_callouts_and_quotes():
    assert "<li>a<ul>\n<li>b</li>" in html("!!! tip\n    - a\n      - b")
    assert "<li>a<ul>\n<li>b</li>" in html("> [!TIP]\n> - a\n>   - b")


def test_paragraphs_and_code_keep_their_place_inside_items():
    out = html("- a\n\n  more about a\n\n      indented code\n- b")
    assert squash(out).startswith("<ul><li><p>a</p><p>moreabouta</p><divclass=")
    assert "indented code" in out


def test_scan_marks_code_lines():
    lines = list(scan("text\n\n    code\n\n```\nfence {{ x }}\n```\n- item\n  `inline`"))
    assert [line.code for line in lines] == [False, False, True, True, True, True, True,
                                             False, False]


# ---- code
def test_fences_of_any_length_and_tildes_and_indented_code():
    out = html("````md\n```\ninner\n```\n````\n\n~~~\ntilde\n~~~\n\n    indented\n")
    assert out.count('<div class="language-') == 3 and "inner" in out and "```" in out
    assert out.count('<span class="line">') == 5  # ``` inner ``` tilde indented


def test_code_is_highlighted_by_pygments_one_span_per_line():
    out = html('```python\ndef f():\n    return "s"  # c\n```')
    assert '<span class="k">def</span>' in out and '<span class="c1"># c</span>' in out
    assert out.count('<span class="line">') == 2


def test_strikethrough_task_lists_bare_urls_and_hashtags():
    assert "<del>old</del>" in html("~~old~~ new")
    out = html("- [x] done\n- [ ] open")
    assert out.count('type="checkbox"') == 2 and out.count("checked") == 1
    assert '<a href="https://example.com/a">' in html("See https://example.com/a today.")
    assert "<h1" not in html("#hashtag is text")


@pytest.mark.parametrize("kind,look", [("NOTE", "tip"), ("TIP", "tip"),
                                       ("IMPORTANT", "quickwin"), ("WARNING", "caution"),
                                       ("CAUTION", "caution")])
def test_github_alerts_are_the_guide_callouts(kind, look):
    out = html(f"> [!{kind}]\n> Body text.")
    assert re.search(rf'<div class="admonition {kind.lower()}( {look})?">', out), out
    assert f'<p class="admonition-title">{kind.title()}</p>' in out and "[!" not in out


def test_mkdocs_admonitions_and_collapsibles_print_open_as_callouts():
    assert '<div class="admonition danger caution">' in html("!!! danger\n    Stop.")
    out = html('??? note "More"\n    Hidden on the web, printed here.')
    assert "<details" not in out and '<p class="admonition-title">More</p>' in out
    assert "Hidden on the web" in out


def test_footnotes_tables_definition_lists_and_raw_html_keep_working():
    out = html("A[^1]\n\n[^1]: Note.\n\n| a | b |\n| - | - |\n| 1 | 2 |\n\nterm\n:   def\n\n"
               "<details><summary>S</summary>Body</details>")
    assert 'class="footnote"' in out and "<table>" in out and "<dt>term</dt>" in out
    assert "<details><summary>S</summary>Body</details>" in out


def test_inline_code_in_headings_is_code_and_ids_are_plain():
    assert html("## Install `pip`") == '<h2 id="ch-install-pip">Install <code>pip</code></h2>'


# ---- Jinja never sees code
def render_jinja(source: str, **context) -> str:
    protected, restore = protect(source)
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, trim_blocks=True,
                             lstrip_blocks=True)
    return restore(env.from_string(protected).render(context))


CODE_CASES = [
    "```\n{{ value }}\n```",
    "~~~django\n{% csrf_token %}\n~~~",
    "`````\n````\n{{ x }}\n````\n`````",
    "1. step\n\n   ```\n   {% url 'home' %}\n   ```",
    "- item\n  ~~~\n  {{ x }}\n  ~~~",
    "> ```\n> {{ quoted }}\n> ```",
    "Use `{{ value }}` or ``{{ a `b` }}`` here.",
    "Para.\n\n    {{ indented }}",
    "<pre>\n{{ raw }}\n</pre>",
]


@pytest.mark.parametrize("code", CODE_CASES)
def test_code_reaches_markdown_untemplated(code):
    source = f"Hi {{{{ name }}}}.\n\n{code}\n\nBye {{{{ name }}}}."
    out = render_jinja(source, name="Ana")
    assert out == source.replace("{{ name }}", "Ana")


def test_backticks_inside_a_macro_call_stay_jinja_text():
    source = '{{ say("the `ls` command") }} and `{{ kept }}`'
    out = render_jinja(source, say=lambda text: f"<{text}>")
    assert out == "<the `ls` command> and `{{ kept }}`"


def test_an_unclosed_fence_runs_to_the_end():
    assert render_jinja("```\n{{ x }}\n") == "```\n{{ x }}\n"


def test_jinja_errors_after_code_keep_their_line(sample_guide):
    path = sample_guide / "chapters" / "01-intro.md"
    text = path.read_text(encoding="utf-8")
    path.write_text(text + "\n```\n{{ fine }}\nline\n```\n\n{{ nope }}\n", encoding="utf-8")
    config = load_config(sample_guide)
    with pytest.raises(TemplateError, match="nope") as error:
        assemble(config, load_chapters(config), load_data(sample_guide))
    assert error.value.line == text.count("\n") + 7


def test_templating_false_leaves_the_body_to_markdown(sample_guide):
    path = sample_guide / "chapters" / "01-intro.md"
    path.write_text(path.read_text(encoding="utf-8").replace(
        "pages: 1", "pages: 1\ntemplating: false") + "\n{{ not_a_name }} {% if %}\n",
        encoding="utf-8")
    guide = _assembled(sample_guide)
    assert "{{ not_a_name }} {% if %}" in guide.html


def _assembled(root: Path):
    config = load_config(root)
    return assemble(config, load_chapters(config), load_data(root))


def test_chapter_titles_with_code(sample_guide):
    path = sample_guide / "chapters" / "01-intro.md"
    path.write_text(path.read_text(encoding="utf-8").replace(
        "title: Welcome aboard", "title: Welcome to `pip` <now>"), encoding="utf-8")
    chapter = load_chapters(load_config(sample_guide))[0]
    assert chapter.title == "Welcome to pip <now>"
    assert chapter.title_html == "Welcome to <code>pip</code> &lt;now&gt;"
    page = _assembled(sample_guide).html
    assert '<h1 class="chapter-title">Welcome to <code>pip</code> &lt;now&gt;</h1>' in page
    assert "`" not in page[page.index('<nav class="contents"'):page.index("</nav>")]


# ---- paths and links
def _chapter(root: Path, name: str, body: str, title: str = "Extra") -> None:
    (root / "chapters" / name).write_text(f"---\ntitle: {title}\n---\n\n{body}\n",
                                          encoding="utf-8")
    config = root / "guide.yaml"
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("  - 03-food.md", f"  - 03-food.md\n  - {name}"),
                      encoding="utf-8")


def test_paths_resolve_from_the_chapter_and_links_to_chapters_become_pdf_links(sample_guide):
    (sample_guide / "assets").mkdir()
    (sample_guide / "assets" / "pic.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    _chapter(sample_guide, "04-more.md", "![Pic](../assets/pic.svg)\n\n## Deep dive\n\n"
             "[intro](01-intro.md) [here](#deep-dive) [food](03-food.md#"
             "what-to-eat) [mail](mailto:a@b.c)")
    (sample_guide / "chapters" / "03-food.md").write_text(
        (sample_guide / "chapters" / "03-food.md").read_text() + "\n## What to eat\n")
    page = _assembled(sample_guide).html
    assert '<img alt="Pic" src="assets/pic.svg" />' in page
    assert '<a href="#ch-01-intro">intro</a>' in page
    assert '<a href="#04-more-deep-dive">here</a>' in page
    assert '<a href="#03-food-what-to-eat">food</a>' in page
    assert '<a href="mailto:a@b.c">mail</a>' in page and "file:" not in page


@pytest.mark.parametrize("link,message", [
    ("01-intro.md#nowhere", "01-intro.md has no heading '#nowhere'"),
    ("file:///etc/passwd", "is a file: URL"),
    ("ftp://example.com/x", "neither a path inside the guide nor a web address"),
])
def test_bad_links_name_the_chapter_and_line(sample_guide, link, message):
    _chapter(sample_guide, "04-more.md", f"Some text.\n\nSee [this]({link}).")
    with pytest.raises(ContentError, match=re.escape(message)) as error:
        _assembled(sample_guide)
    assert (error.value.path.name, error.value.line) == ("04-more.md", 7)


@pytest.mark.parametrize("link,suffix", [
    ("notes.md", " (it is in chapters/ but not in guide.yaml's 'chapters:')"), ("setup.md#install", ""),
    ("../images/mark.svg", ""), ("../../outside.md", ""), ("../data", ""), ("other-page/", ""),
    ("../guide/reading.md", ""), ("?page=2", ""),
])
def test_a_link_to_a_page_that_is_no_chapter_prints_as_text_and_names_the_fix(
        sample_guide, link, suffix):
    (sample_guide / "chapters" / "notes.md").write_text("# not listed\n")
    _chapter(sample_guide, "04-more.md", f"Some text.\n\nSee [this page]({link}).")
    page = _assembled(sample_guide)
    assert "See <a>this page</a>." in page.html
    [warning] = page.warnings
    assert (warning.path.name, warning.line) == ("04-more.md", 7)
    assert warning.message.startswith(f"link '{link}' is not a chapter of this guide{suffix}, ")
    assert "set links.base_url in guide.yaml" in warning.message


def _set_links(root: Path, yaml: str) -> None:
    config = root / "guide.yaml"
    config.write_text(config.read_text(encoding="utf-8") + yaml, encoding="utf-8")


@pytest.mark.parametrize("pages,link,url", [
    ("md", "setup.md", "https://docs.example.com/book/setup.md"),
    ("html", "setup.md#install", "https://docs.example.com/book/setup.html#install"),
    ("html", "guide/README.md", "https://docs.example.com/book/guide/index.html"),
    ("folder", "../guide/reading.md", "https://docs.example.com/guide/reading/"),
    ("folder", "index.md", "https://docs.example.com/book/"),
    ("md", "other-page/", "https://docs.example.com/book/other-page/"),
    ("md", "//cdn.example.org/x.pdf", "https://cdn.example.org/x.pdf"),
    ("md", "?page=2#top", "https://docs.example.com/book/?page=2#top"),
])
def test_links_base_url_makes_links_to_other_pages_web_links(sample_guide, pages, link, url):
    _set_links(sample_guide, f"links:\n  base_url: https://docs.example.com/book\n"
                             f"  markdown_pages: {pages}\n")
    _chapter(sample_guide, "04-more.md", f"See [this]({link}) and [intro](01-intro.md).")
    page = _assembled(sample_guide)
    assert f'<a href="{url}">this</a>' in page.html and page.warnings == []
    assert '<a href="#ch-01-intro">intro</a>' in page.html


def test_a_chapter_source_address_resolves_its_own_links(sample_guide):
    (sample_guide / "chapters" / "04-more.md").write_text(
        "---\ntitle: More\nsource: https://blog.example.com/posts/knees/\n---\n\n"
        "[next](../squats/) [top](/about) [intro](01-intro.md)\n", encoding="utf-8")
    _chapter_listed(sample_guide, "04-more.md")
    page = _assembled(sample_guide)
    assert '<a href="https://blog.example.com/posts/squats/">next</a>' in page.html
    assert '<a href="https://blog.example.com/about">top</a>' in page.html
    assert '<a href="#ch-01-intro">intro</a>' in page.html


def _chapter_listed(root: Path, name: str) -> None:
    config = root / "guide.yaml"
    config.write_text(config.read_text(encoding="utf-8").replace(
        "  - 03-food.md", f"  - 03-food.md\n  - {name}"), encoding="utf-8")


def test_a_link_written_five_times_is_reported_once_at_its_lines_never_in_code(sample_guide):
    body = ("Use `[setup](setup.md)` to link.\n\n"   # line 5: a code span, not a link
            "```markdown\n[setup](setup.md)\n```\n\n"  # lines 7-9: a code block
            "See [setup](setup.md).\n\n"              # line 11
            "Again [the setup page](setup.md) and [here][s].\n\n"  # line 13
            "- [setup](setup.md)\n\n"                  # line 15
            "[s]: setup.md\n")                         # line 17
    _chapter(sample_guide, "04-more.md", body)
    [warning] = _assembled(sample_guide).warnings
    assert warning.line == 11
    assert warning.message.endswith("(also on lines 13, 15, 17)")


def test_a_missing_image_is_reported_once_at_its_lines(sample_guide):
    _chapter(sample_guide, "04-more.md", "![a](gone.png)\n\nText.\n\n![b](gone.png)")
    with pytest.raises(ContentError) as error:
        _assembled(sample_guide)
    assert error.value.line == 5 and str(error.value).count("gone.png") == 2
    assert error.value.message.endswith("(also on line 9)")


def test_reference_links_with_code_or_emphasis_in_the_label_are_links():
    text = html("Run [`mdbook test`] or [*the* guide][] or [`x`][Code  X].\n\n"
                "[`mdbook test`]: https://example.com/test\n"
                "[*the* guide]: https://example.com/guide\n"
                "[`code x`]: https://example.com/x\n")
    assert '<a href="https://example.com/test"><code>mdbook test</code></a>' in text
    assert '<a href="https://example.com/guide"><em>the</em> guide</a>' in text
    assert '<a href="https://example.com/x"><code>x</code></a>' in text


def test_every_bad_link_is_reported_at_once(sample_guide):
    _chapter(sample_guide, "04-more.md", "[a](x.md)\n\n![b](missing.png)\n\n[c](file:///x)")
    with pytest.raises(GuideError) as error:
        _assembled(sample_guide)
    assert all(name in str(error.value) for name in ("x.md", "missing.png", "file:///x"))


def test_a_file_link_from_guide_yaml_is_an_error(sample_guide):
    config = sample_guide / "guide.yaml"
    config.write_text(config.read_text().replace("https://example.com/book?utm_source=guide",
                                                 "file:///tmp/book.html") + "back_page: true\n")
    with pytest.raises(ContentError, match="is a file: URL") as error:
        _assembled(sample_guide)  # the cta() macro prints it in a chapter
    assert error.value.path.name == "guide.yaml" and error.value.line
    (sample_guide / "chapters" / "03-food.md").write_text("---\ntitle: Food\n---\n\nNo cta.\n")
    with pytest.raises(TemplateError, match="not a web or mail address") as error:
        _assembled(sample_guide)  # back.html prints it
    assert error.value.path.name == "guide.yaml" and error.value.line


@pytest.mark.parametrize("opening", [
    "# Welcome aboard\n", "#  Welcome *aboard* #\n", "Welcome Aboard\n==========\n",
    "\n# Welcome aboard {: #top }\n",
])
def test_a_body_heading_that_repeats_the_title_is_left_out_with_a_notice(sample_guide, opening):
    path = sample_guide / "chapters" / "01-intro.md"
    path.write_text(f"---\ntitle: Welcome aboard\n---\n{opening}\nHello.\n", encoding="utf-8")
    [chapter] = [c for c in load_chapters(load_config(sample_guide)) if c.path.name == path.name]
    assert "aboard" not in chapter.body.lower() and chapter.body.endswith("\nHello.\n")
    assert chapter.body.count("\n") == f"{opening}\nHello.\n".count("\n")  # lines keep numbers
    [notice] = chapter.notices
    assert notice.line == 4 + opening.startswith("\n") and "repeats the title" in notice.message


def test_a_body_heading_with_another_title_stays(sample_guide):
    path = sample_guide / "chapters" / "01-intro.md"
    path.write_text("---\ntitle: Welcome aboard\n---\n# Before you start\n\nHi.\n")
    [chapter] = [c for c in load_chapters(load_config(sample_guide)) if c.path.name == path.name]
    assert chapter.body.startswith("# Before you start") and chapter.notices == ()


def test_a_reference_link_without_its_definition_is_named_at_its_line(sample_guide):
    _chapter(sample_guide, "04-more.md", "Run [`mdbook test`][test] and [the guide][].\n\n"
             "See [`mdbook build`][build] and `[not][a link]` and [x][y](https://e.org).\n\n"
             "[build]: https://example.com/build\n")
    test, guide = _assembled(sample_guide).warnings
    assert (test.path.name, test.line, guide.line) == ("04-more.md", 5, 5)
    assert test.message.startswith("reference link '[`mdbook test`][test]' has no definition: "
                                   "add a line '[test]: https://…'")
    assert guide.message.startswith("reference link '[the guide][]' has no definition")
