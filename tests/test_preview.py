"""The preview builder: pages from the real templates, spans from a real build, updates."""
from __future__ import annotations

import html
import json
import os
import re
import shutil
from pathlib import Path

import pytest

from leadguide.cli import main
from leadguide.preview.paths import ASSET_SUFFIXES, rebase_urls
from leadguide.preview.plan import plan_update
from leadguide.preview.site import Preview, build_preview, read_last_build

CHAPTER_PAGES = ["01-intro.html", "02-training.html", "03-food.html"]
SITE_PAGES = ["index.html", "pdf.html", "cover.html", "contents.html"]
ALL_PAGES = CHAPTER_PAGES + SITE_PAGES


@pytest.fixture
def pdf(built_sample, tmp_path: Path) -> Path:
    """A private copy of the sample guide's real PDF and its manifest."""
    result, _ = built_sample
    target = tmp_path / "build" / "sample.pdf"
    target.parent.mkdir()
    shutil.copy2(result.output, target)
    shutil.copy2(result.manifest_path(), target.with_name("sample.build.json"))
    return target


@pytest.fixture
def preview(sample_guide: Path, pdf: Path, tmp_path: Path) -> Preview:
    built = Preview(sample_guide, tmp_path / "preview", pdf)
    assert built.build_all().errors == []
    return built


def local_urls(page: Path, attribute: str) -> list[str]:
    urls = re.findall(rf'\s{attribute}="([^"#][^"]*)"', page.read_text())
    return [u.split("?")[0] for u in urls if not re.match(r"[a-z]+:", u)]


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


# ----- the pages -----

def test_index_lists_chapters_with_spans_and_budgets(preview: Preview):
    index = (preview.out / "index.html").read_text()
    rows = re.findall(r'<tr class="[^"]*">(.*?)</tr>', index, re.S)
    assert len(rows) == 3
    assert 'href="01-intro.html">Welcome aboard' in rows[0] and "2 <span" in rows[0]
    assert 'href="03-food.html">Food basics' in rows[2] and "5–6" in rows[2]
    assert "(2 pages)" in rows[2] and "fits" in rows[2]
    assert re.search(r"<strong>6 pages</strong>,\s+as promised", index)


def test_index_warns_when_a_chapter_is_over_its_budget(sample_guide, pdf, tmp_path):
    edit(sample_guide / "chapters" / "03-food.md", "pages: 2", "pages: 1")
    build_preview(sample_guide, tmp_path / "out", pdf, quick=True)
    index = (tmp_path / "out" / "index.html").read_text()
    food = re.search(r'<tr class="[^"]*over">(.*?)</tr>', index, re.S)
    assert food and "Food basics" in food.group(1) and "1 over budget" in food.group(1)
    page = (tmp_path / "out" / "03-food.html").read_text()
    assert "1 over budget" in page


def test_without_a_build_the_index_says_not_built_yet(sample_guide, tmp_path):
    update = build_preview(sample_guide, tmp_path / "out", tmp_path / "none.pdf")
    assert sorted(update.pages) == sorted(ALL_PAGES) and update.errors == []
    index = (tmp_path / "out" / "index.html").read_text()
    rows = re.findall(r'<tr class="[^"]*">(.*?)</tr>', index, re.S)
    assert len(rows) == 3 and all("not built yet" in row for row in rows)
    assert "The PDF is not built yet" in index
    assert "not built yet" in (tmp_path / "out" / "02-training.html").read_text()
    assert not (tmp_path / "out" / "pages").exists()


def test_chapter_page_uses_the_pdf_chapter_template_and_styles(preview: Preview):
    # typeset.py joins a paragraph's last two words with a no-break space
    page = (preview.out / "01-intro.html").read_text().replace("\xa0", " ")
    assert '<section class="chapter" id="ch-01-intro">' in page  # templates/chapter.html
    assert "Welcome aboard" in page and "&ldquo;smart&rdquo; quotes" in page
    assert 'class="admonition quickwin"' in page and re.search(r'id="01-intro-fn:[\d-]+"', page)
    assert 'rel="next" href="02-training.html">02 Training plan ›</a>' in page
    sheet = page.split('id="sheet"')[1].split("</main>")[0]
    assert "Training plan" not in sheet and "Food basics" not in sheet  # one chapter a page
    stylesheets = local_urls(preview.out / "01-intro.html", "href")
    assert [s for s in stylesheets if s.endswith(".css")] == [
        "styles/theme.css", "styles/print.css", "styles/markdown.css", "styles/fitness.css",
        "styles/screen.css"]


def test_every_local_url_works_from_disk(preview: Preview):
    preview.page_images()
    for name in ALL_PAGES:
        for url in local_urls(preview.out / name, "src") + local_urls(preview.out / name, "href"):
            assert (preview.out / url).is_file(), f"{name}: {url}"
    training = local_urls(preview.out / "02-training.html", "src")
    assert any(url.endswith("images/exercises/wall-sit.svg") for url in training)
    # Guide images are read from the guide folder, not copied.
    assert not list(preview.out.rglob("wall-sit.svg"))
    theme = (preview.out / "styles" / "theme.css").read_text()
    for font in re.findall(r"url\((fonts/[^)]+)\)", theme):
        assert (preview.out / "styles" / font).is_file()


def page_starts(page: Path) -> dict:
    return json.loads(re.search(r'id="page-starts">(.*?)</script>', page.read_text()).group(1))


def test_page_break_markers_come_from_the_last_build_then_the_layout(preview: Preview):
    food = preview.out / "03-food.html"
    assert re.search(r'page-break-start[^>]*><span>Page 5</span>', food.read_text())
    assert "End of chapter · page 6" in food.read_text()
    assert page_starts(food) == {"fresh": False, "starts": []}

    assert preview.next_layout() in {"01-intro.md", "02-training.md", "03-food.md"}
    assert "03-food.html" in preview.lay_out("03-food.md")
    # The tracker did not fit under the numbers and the call to action: page 6 begins with it.
    starts = page_starts(food)
    assert starts["fresh"] and len(starts["starts"]) == 1
    start = starts["starts"][0]
    assert start == {"label": "Page 6", "path": [3], "text": ""}  # h2, table, aside, → h2
    assert '<h2 id="03-food-track-it">' in preview.states["03-food.md"].section
    assert "lays out to <strong>2 pages</strong> (budget 2)" in food.read_text()
    assert preview.lay_out("03-food.md") == []  # nothing new to lay out
    index = (preview.out / "index.html").read_text()
    assert re.search(r'title="Laid out from the chapter as it is now">2</td>', index)


def test_pages_view_lists_the_chapters_pdf_pages(preview: Preview):
    food = preview.out / "03-food.html"
    images = [u for u in local_urls(food, "src") if u.startswith("pages/")]
    assert images == ["pages/p005.png", "pages/p006.png"]
    assert preview.page_images() and (preview.out / "pages" / "p005.png").is_file()


def test_guide_styles_override_the_built_in_ones(sample_guide, tmp_path):
    (sample_guide / "styles").mkdir()
    (sample_guide / "styles" / "screen.css").write_text(".sheet { width: 5in; }\n")
    build_preview(sample_guide, tmp_path / "out", tmp_path / "none.pdf")
    assert (tmp_path / "out" / "styles" / "screen.css").read_text() == ".sheet { width: 5in; }\n"
    assert (tmp_path / "out" / "styles" / "print.css").is_file()


# ----- errors -----

def test_broken_front_matter_shows_path_line_and_message(preview: Preview, sample_guide):
    chapter = sample_guide / "chapters" / "02-training.md"
    edit(chapter, "title: Training plan", "title Training plan")
    update = preview.update([chapter])
    # Every page: the sidebar and the index show the chapter's new status.
    assert sorted(update.pages) == sorted(ALL_PAGES) and len(update.errors) == 1
    page = (preview.out / "02-training.html").read_text()
    errors = page.split('class="preview-errors"')[1].split("</section>")[0]
    assert "guide/chapters/02-training.md:3" in errors and "YAML: mapping values" in errors
    assert "showing the last good version" in errors
    assert 'id="ch-02-training"' in page  # the last good chapter is still there

    edit(chapter, "title Training plan", "title: Training plan")
    assert preview.update([chapter]).errors == []
    assert "preview-errors" not in (preview.out / "02-training.html").read_text()


def test_a_chapter_broken_from_the_start_has_only_its_error(sample_guide, tmp_path):
    edit(sample_guide / "chapters" / "03-food.md", "{{ cta() }}", "{{ nope() }}")
    update = build_preview(sample_guide, tmp_path / "out", tmp_path / "none.pdf")
    assert [str(e) for e in update.errors] == [
        "guide/chapters/03-food.md:10: 'nope' is undefined: check the spelling of the name or "
        "the macro's arguments"]
    page = (tmp_path / "out" / "03-food.html").read_text()
    assert "nothing to show until it is fixed" in page and 'id="ch-03-food"' not in page
    assert 'class="page-break' not in page
    index = (tmp_path / "out" / "index.html").read_text()
    assert "badge-error" in index and 'href="03-food.html">03-food.md</a>' in index


def test_a_chapter_broken_from_the_start_keeps_its_title_from_the_last_build(sample_guide, pdf,
                                                                           tmp_path):
    edit(sample_guide / "chapters" / "03-food.md", "{{ cta() }}", "{{ nope() }}")
    build_preview(sample_guide, tmp_path / "out", pdf, quick=True)
    index = (tmp_path / "out" / "index.html").read_text()
    assert 'href="03-food.html">Food basics</a>' in index


def test_a_chapter_dropped_from_guide_yaml_loses_its_page(preview: Preview, sample_guide):
    edit(sample_guide / "guide.yaml", "  - 03-food.md\n", "")
    update = preview.update([sample_guide / "guide.yaml"])
    assert sorted(update.pages) == sorted(["01-intro.html", "02-training.html", *SITE_PAGES])
    assert not (preview.out / "03-food.html").exists()


def test_broken_guide_yaml_keeps_the_last_good_pages(preview: Preview, sample_guide):
    edit(sample_guide / "guide.yaml", "pages: 6", "pages: six")
    update = preview.update([sample_guide / "guide.yaml"])
    assert sorted(update.pages) == sorted(ALL_PAGES)
    assert [e.line for e in update.errors] == [6]
    for name in ALL_PAGES:
        page = html.unescape((preview.out / name).read_text())
        assert "guide/guide.yaml:6" in page and "'pages' must be a whole number" in page
    assert 'id="ch-01-intro"' in (preview.out / "01-intro.html").read_text()


def test_unreadable_guide_gives_an_error_page_not_an_exception(tmp_path):
    update = build_preview(tmp_path / "missing", tmp_path / "out")
    assert update.pages == ["index.html"]
    assert "guide folder not found" in (tmp_path / "out" / "index.html").read_text()


# ----- incremental updates -----

def test_a_chapter_edit_rewrites_only_that_chapter(preview: Preview, sample_guide):
    edit(sample_guide / "chapters" / "01-intro.md", "Hello from", "Hi from")
    # The first edit after a build makes the PDF stale: every sidebar says so.
    assert sorted(preview.update([sample_guide / "chapters" / "01-intro.md"]).pages) == sorted(
        ALL_PAGES)
    assert "older than your edit to <code>guide/chapters/01-intro.md</code>" in (
        preview.out / "03-food.html").read_text()
    before = {name: (preview.out / name).stat().st_mtime_ns for name in ALL_PAGES}
    edit(sample_guide / "chapters" / "01-intro.md", "Hi from", "Greetings from")
    update = preview.update([sample_guide / "chapters" / "01-intro.md"])
    assert update.pages == ["01-intro.html"] and update.cause == "guide/chapters/01-intro.md"
    after = {name: (preview.out / name).stat().st_mtime_ns for name in ALL_PAGES}
    assert [name for name in ALL_PAGES if after[name] != before[name]] == ["01-intro.html"]
    assert "Greetings from" in (preview.out / "01-intro.html").read_text()


def test_a_new_title_also_updates_the_index_and_neighbours(preview: Preview, sample_guide):
    edit(sample_guide / "chapters" / "02-training.md", "title: Training plan", "title: Lifting")
    update = preview.update([sample_guide / "chapters" / "02-training.md"])
    assert sorted(update.pages) == sorted(ALL_PAGES)
    assert "Lifting ›" in (preview.out / "01-intro.html").read_text()
    assert ">Lifting</a>" in (preview.out / "index.html").read_text()


@pytest.mark.parametrize("changed", ["data/nutrition.yaml", "guide.yaml"])
def test_data_and_config_rebuild_everything(preview: Preview, sample_guide, changed):
    edit(sample_guide / "data" / "nutrition.yaml", "weight_kg: ", "weight_kg: 1")
    update = preview.update([sample_guide / changed])
    assert sorted(update.pages) == sorted(ALL_PAGES)


def test_an_image_change_reloads_without_rebuilding(preview: Preview, sample_guide):
    before = (preview.out / "02-training.html").stat().st_mtime_ns
    update = preview.update([sample_guide / "images" / "exercises" / "wall-sit.svg"])
    assert sorted(update.pages) == sorted(ALL_PAGES)
    assert (preview.out / "02-training.html").stat().st_mtime_ns == before


def test_a_new_build_refreshes_the_spans(preview: Preview, pdf: Path):
    manifest = pdf.with_name("sample.build.json")
    manifest.write_text(manifest.read_text().replace('"first": 5', '"first": 3'))
    update = preview.update([manifest])
    assert sorted(update.pages) == sorted(ALL_PAGES)
    assert "3–6" in (preview.out / "index.html").read_text()


def test_plan_sorts_changes(sample_guide, tmp_path):
    preview = Preview(sample_guide, tmp_path / "out", tmp_path / "b" / "g.pdf")
    preview.build_all()
    root, config, out = preview.root, preview.config, preview.out

    def plan(*paths):
        return plan_update([Path(p) for p in paths], root, config, preview.pdf, out)

    chapters = root / "chapters"
    assert plan(chapters / "01-intro.md").chapters == {"01-intro.md"}
    assert not plan(chapters / "01-intro.md").full
    assert plan(chapters / "04-new.md").full  # maybe a new chapter: re-read guide.yaml
    assert plan(root / "templates" / "chapter.html").full
    assert plan(root / "styles" / "theme.css").full
    assert plan(root / "images" / "x.jpg").reload
    assert plan(tmp_path / "b" / "g.build.json").last_build
    for ignored in (chapters / ".01-intro.md.swp", chapters / "4913", chapters / "sedX1b2c3",
                    chapters / "01-intro.md~", out / "01-intro.html", tmp_path / "other.md"):
        assert plan(ignored).empty, ignored
    assert {".svg", ".jpg", ".otf"} <= ASSET_SUFFIXES


# ----- pieces -----

def test_rebase_urls_points_relative_urls_at_the_guide():
    html = ('<img src="images/a.svg"> <a href="#x">x</a> <a href="https://e.com/b">b</a> '
            '<a href="mailto:a@b.c">m</a> <img src="/abs.png"> <a href="notes/c.pdf">c</a>')
    assert rebase_urls(html, "../../guide/") == (
        '<img src="../../guide/images/a.svg"> <a href="#x">x</a> <a href="https://e.com/b">b</a> '
        '<a href="mailto:a@b.c">m</a> <img src="/abs.png"> <a href="../../guide/notes/c.pdf">c</a>')


def test_read_last_build(pdf: Path, tmp_path: Path):
    last = read_last_build(pdf)
    assert last and last.pages == 6 and last.promised == 6
    assert [(s.first, s.last, s.budget) for s in last.spans.values()] == [
        (2, 2, 1), (4, 4, 1), (5, 6, 2)]
    assert read_last_build(tmp_path / "nothing.pdf") is None
    pdf.with_name("sample.build.json").write_text("{not json")
    assert read_last_build(pdf) is None


def test_page_images_render_on_demand_and_follow_the_pdf(preview: Preview, pdf: Path):
    image = preview.page_image(5)
    assert image and image.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    from PIL import Image
    with Image.open(image) as opened:
        assert opened.size == (918, 1188)  # Letter at 1.5 × 72 dpi
    assert preview.page_image(7) is None and preview.page_image(0) is None
    first = image.stat().st_mtime_ns
    assert preview.page_image(5).stat().st_mtime_ns == first  # cached
    stat = pdf.stat()
    os.utime(pdf, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert preview.page_image(5).stat().st_mtime_ns != first  # the PDF changed: rendered again


# ----- the command -----

def test_preview_command(sample_guide, pdf, tmp_path, capsys):
    out = tmp_path / "p"
    assert main(["preview", str(sample_guide), "--out", str(out), "--pdf", str(pdf)]) == 0
    assert "3 chapters" in capsys.readouterr().out
    assert (out / "pages" / "p006.png").is_file()
    assert page_starts(out / "03-food.html")["fresh"]  # laid out, not --quick


def test_preview_command_reports_errors_without_a_traceback(sample_guide, tmp_path, capsys):
    (sample_guide / "chapters" / "01-intro.md").write_text("no front matter\n")
    assert main(["preview", str(sample_guide), "--out", str(tmp_path / "p"), "--quick"]) == 1
    err = capsys.readouterr().err
    assert "guide/chapters/01-intro.md:1: front matter missing" in err
    assert "Traceback" not in err
    assert (tmp_path / "p" / "02-training.html").is_file()


@pytest.mark.parametrize("command", ["preview", "serve"])
def test_help_has_an_example(command, capsys):
    assert main([command, "--help"]) == 0
    assert f"leadguide {command} guide" in capsys.readouterr().out


# ----- page breaks in a real browser, from disk -----

def test_a_page_that_begins_mid_paragraph_is_marked_between_its_words(sample_guide, tmp_path):
    from playwright.sync_api import sync_playwright

    words = " ".join(f"word{n}" for n in range(1400))
    (sample_guide / "chapters" / "01-intro.md").write_text(
        f"---\ntitle: Long\n---\n\nShort opening.\n\n{words}\n\nAfter.\n")
    build_preview(sample_guide, tmp_path / "out", tmp_path / "none.pdf")
    page = tmp_path / "out" / "01-intro.html"
    starts = page_starts(page)["starts"]
    assert len(starts) >= 1 and starts[0]["path"] == [1]
    first = starts[0]["text"].split()[0]
    assert re.fullmatch(r"word\d+", first) and first != "word0"

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"])
        tab = browser.new_page()
        tab.goto(page.as_uri())
        marks = tab.evaluate("""() => Array.from(document.querySelectorAll('.page-break-inner'))
            .map(m => [m.textContent, m.parentElement.tagName,
                       (m.nextSibling && m.nextSibling.textContent || '').trim().split(' ')[0]])""")
        browser.close()
    assert marks[0] == ["Chapter page 2", "P", first]
    assert len(marks) == len(starts)


def test_a_chapter_image_by_a_path_from_the_chapter_shows_in_the_preview(sample_guide, pdf,
                                                                         tmp_path):
    edit(sample_guide / "chapters" / "01-intro.md", "Hello", "![Mark](../images/mark.svg)\n\nHello")
    built = Preview(sample_guide, tmp_path / "preview", pdf)
    assert built.build_all().errors == []
    page = built.out / "01-intro.html"
    images = [url for url in local_urls(page, "src") if url.endswith("mark.svg")]
    assert images and all((page.parent / url).resolve() == (sample_guide / "images" / "mark.svg")
                          .resolve() for url in images)


def test_a_chapter_over_budget_turns_the_guide_red_at_the_top_of_every_page(
        preview: Preview, sample_guide: Path):
    index = preview.out / "index.html"
    assert "badge-ok\">as promised" in index.read_text()
    assert "bar-total-alarm" not in index.read_text()
    assert re.search(r'class="bar-total">\s*6/6 pages', index.read_text())

    food = sample_guide / "chapters" / "03-food.md"
    food.write_text(food.read_text() + "\n" + "\n\n".join(
        f"Paragraph {n}: " + "more words about food " * 30 for n in range(30)) + "\n")
    preview.update([food])
    preview.lay_out("03-food.md")  # laid out as it is now: over its budget of 2 pages
    for page in ("index.html", "01-intro.html", "03-food.html", "cover.html"):
        text = (preview.out / page).read_text()
        assert "bar-total-alarm" in text and "1 chapter over budget" in text, page
        assert "badge-ok\">as promised" not in text, page  # the total alone does not keep it


def test_each_chapter_shows_how_full_its_pages_are_as_the_build_measured(preview: Preview,
                                                                         pdf: Path):
    manifest = json.loads(pdf.with_name("sample.build.json").read_text())
    measured = {f["page"]: f["fill"] for f in manifest["page_fill"]}
    spans = {Path(c["path"]).name: (c["first"], c["last"]) for c in manifest["chapters"]}
    index = (preview.out / "index.html").read_text()
    shown_on_index = {int(p): int(v) for p, v in re.findall(r'title="Page (\d+): (\d+) % full"',
                                                            index)}
    chapter_pages = {p for first, last in spans.values() for p in range(first, last + 1)}
    assert shown_on_index == {p: round(measured[p] * 100) for p in chapter_pages}
    food = (preview.out / "03-food.html").read_text()
    first, last = spans["03-food.md"]
    shown = re.findall(r'title="Page (\d+): (\d+) % full"', food)
    assert [(int(p), int(v)) for p, v in shown] == [
        (p, round(measured[p] * 100)) for p in range(first, last + 1)]


def test_a_page_under_min_fill_turns_its_chapter_red_with_the_checks_reason_and_fix(
        sample_guide: Path, pdf: Path, tmp_path: Path):
    """The rule is `leadguide check`'s page-fill: the light cover and contents are exempt."""
    from leadguide.check import run_checks

    edit(sample_guide / "guide.yaml", "min_fill: 0.2", "min_fill: 0.5")
    manifest = json.loads(pdf.with_name("sample.build.json").read_text())
    fills = {f["page"]: f["fill"] for f in manifest["page_fill"]}
    spans = {Path(c["path"]).name: range(c["first"], c["last"] + 1) for c in manifest["chapters"]}
    failed = {int(r.where.removeprefix("p. ")): r.message for r in run_checks(sample_guide, pdf)
              if r.name == "page-fill" and r.status == "fail"}
    assert {p for p, fill in fills.items() if fill < 0.5} > set(failed)  # some are exempt
    short = {name: [p for p in pages if p in failed] for name, pages in spans.items()}
    assert any(short.values()) and not all(short.values())

    preview = Preview(sample_guide, tmp_path / "preview", pdf)
    preview.build_all()
    alarm = f"{len(failed)} page{'s' * (len(failed) > 1)} under min_fill"
    index = (preview.out / "index.html").read_text()
    rows = re.findall(r'<tr class="[^"]*">(.*?)</tr>', index, re.S)
    for name, row in zip(CHAPTER_PAGES, rows):
        pages = short[name.replace(".html", ".md")]
        page = html.unescape((preview.out / name).read_text())
        if pages:
            assert "badge-error" in row and "under min_fill" in row, name
            for number in pages:
                assert f"<strong>Page {number}</strong> {failed[number]}" in page
                assert "add about" in failed[number] and "full" in failed[number]
        else:
            assert "badge-ok\">fits" in row and "fill-alarms" not in page, name
    for name in ("index.html", "cover.html", *CHAPTER_PAGES):
        text = (preview.out / name).read_text()
        assert "bar-total-alarm" in text and alarm in text, name
        assert "badge-ok\">as promised" not in text, name
    sidebar = dict(re.findall(r'<li><a href="(\d\d-\w+\.html)"(.*?)</li>', index, re.S))
    assert sorted(sidebar) == CHAPTER_PAGES
    for name, item in sidebar.items():
        pages = short[name.replace(".html", ".md")]
        assert ("badge-error\">⚠ p" in item) == bool(pages), name
        assert all(f"p. {number}" in item for number in pages)

    edit(sample_guide / "guide.yaml", "min_fill: 0.5", "min_fill: 0.2")  # the same PDF
    preview.update([sample_guide / "guide.yaml"])
    index = (preview.out / "index.html").read_text()
    assert "under min_fill" not in index and "badge-ok\">as promised" in index


def test_page_breaks_parse_the_stylesheets_once_per_process(preview: Preview, sample_guide: Path,
                                                             monkeypatch):
    """Parsing the stylesheets and loading their fonts was half of a save's wait for its page
    breaks: serve's layout process keeps them while they stay the same."""
    from leadguide.guide.assets import allowed_roots
    from leadguide.layout import part, render
    from leadguide.layout.pagebreaks import chapter_document, lay_out_document

    monkeypatch.setattr(part, "_parsed", None)
    parsed = []
    parse = render.parse_styles
    monkeypatch.setattr(render, "parse_styles", lambda *args: parsed.append(args) or parse(*args))
    config, state = preview.config, preview.states["03-food.md"]

    def page_breaks():
        document = chapter_document(config, preview.env, preview.data, state.section)
        return lay_out_document(document, allowed_roots(config.root), config.config_path)
    first = page_breaks()
    assert page_breaks() == first and len(parsed) == 1
    extra = sample_guide / "styles" / "extra.css"
    extra.parent.mkdir(exist_ok=True)
    extra.write_text("p, td, th, li { font-size: 30pt; }\n", encoding="utf-8")
    bigger = page_breaks()
    assert len(parsed) == 2 and bigger.pages > first.pages  # an edited stylesheet is read
