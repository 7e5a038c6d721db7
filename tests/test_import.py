"""`leadguide import`: pages, posts, documents and folders become chapters that build."""
from __future__ import annotations

import hashlib
import io
import re
import shutil
import zipfile
from pathlib import Path

import pytest
import yaml
from import_support import BLOG_PATH, SOURCES, Site, jpeg
from PIL import Image
from pypdf import PdfReader

from leadguide.cli import main
from leadguide.errors import ErrorGroup
from leadguide.importer.fetch import USER_AGENT, Limits
from leadguide.importer.sources import SourceError
from leadguide.importer.write import import_sources
from leadguide.pdf.text import text_lines

BENEFITS = ["1: Improved Knee, Back, and Hip Pain", "2: Better Prepared For Life",
            "3: Improved Quad Strength/Development and Ankle Mobility",
            "4: Increased Potential In The Gym and In Sport"]
PAGE_CHROME = ["Share:", "Facebook", "Recent Posts", "Great post", "Comments", "Fill out the form",
               "You're safe", "Online Coaching", "Privacy", "Subscribe", "24 Page Free Guide",
               "fbevents", "gtag", "utm_source"]


@pytest.fixture(scope="module")
def site():
    with Site() as running:
        yield running


def _front(path: Path) -> tuple[dict, str]:
    _, front, body = path.read_text(encoding="utf-8").split("---\n", 2)
    return yaml.safe_load(front), body


def _snapshot(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_blog_post_by_address_is_its_article_alone(site, sample_guide):
    report = import_sources([site.url + "/old-address"], sample_guide)  # redirected
    [chapter] = report.chapters
    assert chapter.path.name == "04-4-benefits-of-knees-over-toes-training.md"
    front, body = _front(chapter.path)
    assert front == {"title": "4 Benefits of Knees Over Toes Training",
                     "source": "https://www.insideoutstrength.com/blog/"
                               "4-benefits-of-knees-over-toes-training",
                     "author": "Dr Ryan Kennedy", "date": "2023-09-28"}
    assert [line[3:] for line in body.splitlines() if line.startswith("## ")] == BENEFITS
    assert "*“Sit Your Hips Back”*" in body and "‘knees over toes guy’" in body
    assert "# 4 Benefits" not in body and not [c for c in PAGE_CHROME if c in body]
    assert "[next points](/blog/how-to-improve-ankle-mobility)" in body  # no tracking query
    image = sample_guide / "images" / chapter.path.stem / "knee-over-toe-split-squat.jpg"
    assert ("![A split squat with the front knee travelling over the toes]"
            f"(../images/{chapter.path.stem}/knee-over-toe-split-squat.jpg)") in body
    assert Image.open(image).size == (2400, 1800)  # 3200 x 2400, made small enough for print
    assert "  - 04-4-benefits-of-knees-over-toes-training.md\n" in (
        sample_guide / "guide.yaml").read_text()
    assert set(site.user_agents) == {USER_AGENT} and "robots.txt" in "".join(site.paths)


def test_the_seed_post_builds_with_its_title_once_and_its_benefits_as_headings(site,
                                                                               sample_guide):
    import_sources([site.url + BLOG_PATH], sample_guide, at=1)
    pdf = sample_guide / "out" / "guide.pdf"
    assert main(["build", str(sample_guide), "--draft", "--out", str(pdf)]) == 0
    lines = text_lines(pdf)
    start = next(line.page for line in lines if "Sit Your Hips Back" in line.text)
    on_start = [line.text for line in lines if line.page == start]
    assert sum("4 Benefits of Knees Over Toes Training" in text for text in on_start) == 1
    texts = [line.text for line in lines]
    for benefit in BENEFITS:  # each heading on one line: set above its text, full width
        assert benefit in texts, (benefit, [t for t in texts if t[:2] == benefit[:2]])
    assert "“Sit Your Hips Back”" in texts and "“Don’t Let The Knees Come Forward”" in texts
    outline = [item.title for item in _flat(PdfReader(pdf).outline)]
    assert [title for title in outline if title[:2] in ("1:", "2:", "3:", "4:")] == BENEFITS


def _flat(outline: list) -> list:
    return [leaf for item in outline for leaf in (_flat(item) if isinstance(item, list)
                                                  else [item])]


@pytest.mark.parametrize("path,message", [
    ("/missing-post", "the server answered 404 Not Found"),
    ("/report.pdf", "not an HTML page or a feed but application/pdf"),
    ("/menu-only", "no article found on the page"),
    ("/private/notes", "the site's robots.txt asks robots not to fetch this page"),
    ("/loop", "more than 5 redirects (or a redirect loop)"),
    ("/slow", "cannot reach it (timed out)"),
    ("/huge", "larger than 1 MB"),
    ("/drip", "cannot reach it (timed out: still sending after 1 s)"),
])
def test_a_bad_address_is_one_line_and_the_guide_is_unchanged(site, sample_guide, path, message):
    before = _snapshot(sample_guide)
    limits = Limits(timeout=0.5, whole_seconds=1, page_bytes=1024 * 1024)
    with pytest.raises(SourceError) as error:
        import_sources([site.url + BLOG_PATH, site.url + path], sample_guide, limits=limits)
    assert str(error.value).startswith(f"{site.url}{path}: {message}")
    assert "\n" not in str(error.value) and _snapshot(sample_guide) == before


def test_bad_files_each_get_one_line_from_the_command(tmp_path, sample_guide, capsys):
    corrupt = tmp_path / "notes.docx"
    corrupt.write_bytes(b"PK\x03\x04 this is not really a zip file")
    feed = tmp_path / "export.xml"
    feed.write_text((SOURCES / "wordpress-export.xml").read_text().replace("{SERVER}",
                                                                           "http://127.0.0.1:9"))
    empty = tmp_path / "empty"
    empty.mkdir()
    broken = tmp_path / "broken.md"
    broken.write_text("---\ntitle: [unclosed\n---\n\nText.\n")
    before = _snapshot(sample_guide)
    code = main(["import", str(corrupt), str(feed), str(tmp_path / "gone.html"),
                 str(empty), str(broken), "--post", "rye breads (draft)",
                 "--guide", str(sample_guide)])
    lines = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(lines) == 5, lines
    assert lines[0].startswith(f"{corrupt}: not a Word document")
    assert lines[1].startswith(f"{feed}: no post titled or named 'rye breads (draft)' (posts: "
                               "'Feed Your Starter Like a Pro' (feed-your-starter);")
    assert lines[2] == f"{tmp_path / 'gone.html'}: no such file or folder"
    assert lines[3].startswith(f"{empty}: no Markdown (.md) files in this folder")
    assert lines[4].startswith(f"{broken}: front matter line 3: ")
    assert _snapshot(sample_guide) == before


def test_wordpress_posts_chosen_by_slug_or_title_link_to_each_other(site, sample_guide):
    (sample_guide / "chapters" / "01-intro.md").write_text(
        (sample_guide / "chapters" / "01-intro.md").read_text() + "\nSee [food](03-food.md).\n")
    (sample_guide / "fit.yaml").write_text("chapters:\n  03-food.md:\n    leading: 1.5\n")
    report = import_sources([site.url + "/feed.xml"], sample_guide, at=2,
                            posts=["your-first-loaf", "Feed your starter like a pro"])
    first, second = report.chapters
    assert [first.path.name, second.path.name] == ["02-your-first-loaf.md",
                                                   "03-feed-your-starter.md"]
    front, body = _front(first.path)
    assert front["author"] == "Ann Baker" and front["date"] == "2023-09-21"
    assert "[feeding your starter](03-feed-your-starter.md)" in body
    assert "![A crusty sourdough loaf cooling on a wire rack](../images/02-your-first-loaf/" \
           "sourdough-loaf-1024x768.jpg)" in body
    assert "1. **9:00** Mix 500" in body and "### How to tell it is proofed" in body
    assert not re.search(r"script|iframe|tracker|youtube|wp:", body)
    _, other = _front(second.path)
    assert "| 1–3 | 50 g | 0 g | 50 g |" in other and "> A starter that doubles" in other
    assert "[your first loaf](02-your-first-loaf.md)" in other
    # the chapters after --at renumbered, so no number repeats; what names them follows
    chapters = yaml.safe_load((sample_guide / "guide.yaml").read_text())["chapters"]
    assert chapters == ["01-intro.md", "02-your-first-loaf.md", "03-feed-your-starter.md",
                        "04-training.md", "05-food.md"]
    assert sorted(p.name for p in (sample_guide / "chapters").glob("*.md")) == chapters
    assert "See [food](05-food.md)." in (sample_guide / "chapters" / "01-intro.md").read_text()
    assert "05-food.md:" in (sample_guide / "fit.yaml").read_text()


def test_wordpress_classic_posts_keep_captions_and_lose_forms_and_embeds():
    from leadguide.importer.feeds import read_feed

    export = (SOURCES / "wordpress-export.xml").read_text().replace("{SERVER}", "http://x.test")
    storing = read_feed(export.encode(), "export.xml")[2]
    assert storing.html.startswith("<p>Bread goes stale in the fridge")
    assert 'alt="A loaf in a linen bread bag"' in storing.html
    assert "A linen bag keeps the crust crisp." in storing.html
    assert not re.search(r"\[/?(caption|mc4wp_form|embed)|youtube", storing.html)


def _docx(path: Path) -> Path:
    from docx import Document
    from docx.shared import Inches

    document = Document()
    document.core_properties.title = "Warm Up Before You Lift"
    document.core_properties.author = "Inside Out Strength"
    document.add_paragraph("Five minutes that make every set better.")
    document.add_heading("The routine", level=1)
    for step in ("Walk or cycle for two minutes", "Ten tibialis raises", "Ten slow squats"):
        document.add_paragraph(step, style="List Number")
    document.add_heading("Why it works", level=2)
    document.add_paragraph("Warm muscles contract faster.", style="List Bullet")
    table = document.add_table(rows=2, cols=2)
    for cell, text in zip(table._cells, ("Move", "Reps", "Squat", "10")):
        cell.text = text
    picture = io.BytesIO(jpeg(600, 400))
    document.add_picture(picture, width=Inches(3))
    document.inline_shapes[0]._inline.docPr.set("descr", "A lifter warming up on a bike")
    document.save(path)
    return path


def test_a_word_document_keeps_headings_lists_tables_and_images(tmp_path, sample_guide):
    [chapter] = import_sources([str(_docx(tmp_path / "warm-up.docx"))], sample_guide).chapters
    front, body = _front(chapter.path)
    assert front == {"title": "Warm Up Before You Lift", "source": "warm-up.docx",
                     "author": "Inside Out Strength", "date": front["date"]}
    assert "## The routine" in body and "### Why it works" in body
    assert "1. Walk or cycle for two minutes" in body and "- Warm muscles contract faster." in body
    assert "| Squat | 10 |" in body
    assert re.search(r"!\[A lifter warming up on a bike\]\(\.\./images/04-warm-up/[a-z0-9-]+"
                     r"\.jpg\)", body)


def test_a_zip_bomb_docx_is_refused_before_unpacking(tmp_path, sample_guide):
    bomb = tmp_path / "bomb.docx"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", b"\0" * (8 * 1024 * 1024))
    with pytest.raises(SourceError, match="refused: it would unpack to 8 MB"):
        import_sources([str(bomb)], sample_guide)


def _docs_folder(tmp_path: Path) -> Path:
    site = tmp_path / "site"
    shutil.copytree(SOURCES / "docs-site", site)
    (site / "docs" / "images").mkdir(exist_ok=True)
    Image.new("RGB", (800, 500), (40, 90, 160)).save(site / "docs" / "images" / "flow.png")
    return site / "docs"


def test_a_docs_folder_keeps_its_order_links_and_images(tmp_path, sample_guide):
    report = import_sources([str(_docs_folder(tmp_path))], sample_guide)
    names = [chapter.path.name for chapter in report.chapters]
    assert names == ["04-index.md", "05-install.md", "06-first-guide.md"]  # mkdocs.yml's nav
    front, body = _front(sample_guide / "chapters" / "06-first-guide.md")
    assert front["title"] == "Your first guide" and front["summary"] == "From nothing to a PDF."
    assert front["source"] == "guide/first-guide.md" and "templating" not in front
    assert "[install it first](05-install.md#requirements)" in body
    assert "[the overview](04-index.md)" in body and "[Installing](05-install.md)" in body
    assert "![How a guide is made](../images/06-first-guide/flow.png)" in body
    # a page left behind: on the site mkdocs.yml names (directory URLs), or outside it
    assert "The [API reference](https://docs.example.com/reference/api/#render)" in body
    assert "[the changelog](../CHANGELOG.md)" in body
    assert "```markdown\n[not a link](install.md)\n```" in body  # code is left as written
    assert any("were left out: hide, tags" in note for note in report.notes)
    assert any("outside the imported folder" in note for note in report.notes)
    _, install = _front(sample_guide / "chapters" / "05-install.md")
    assert '<p class="note">Needs a terminal.</p>' in install
    assert not re.search(r"script|iframe|onclick|analytics|youtube", install)
    _, index = _front(sample_guide / "chapters" / "04-index.md")
    assert "{{ version }}" in index
    assert _front(sample_guide / "chapters" / "04-index.md")[0]["templating"] is False


def test_an_imported_docs_folder_builds_strictly_with_its_site_address(tmp_path, sample_guide):
    import_sources([str(_docs_folder(tmp_path))], sample_guide)
    config = sample_guide / "guide.yaml"
    config.write_text(config.read_text().replace("pages: 6", "pages: 9") +
                      "links:\n  base_url: https://docs.example.com/\n  markdown_pages: folder\n")
    pdf = tmp_path / "docs.pdf"
    assert main(["build", str(sample_guide), "--out", str(pdf), "--jobs", "1"]) == 0, \
        PdfReader(pdf).pages if pdf.exists() else None
    uris = {a.get_object()["/A"].get("/URI") for page in PdfReader(pdf).pages
            for a in page.get("/Annots", []) if a.get_object().get("/A")}
    assert "https://docs.example.com/CHANGELOG/" in uris


def test_a_guide_from_three_posts_builds_strictly_and_passes_check(site, tmp_path, capsys,
                                                                   monkeypatch):
    """Posts end where they end: a post too short to fill its last page within the fit
    bounds is joined with the next as a section, each chapter gets the budget it lands on,
    and the guide passes every check, the page-fill one included."""
    monkeypatch.chdir(tmp_path)
    assert main(["new", "bread", "--from", site.url + "/feed.xml"]) == 0
    captured = capsys.readouterr()
    assert "bread/chapters/01-feed-your-starter.md  Feed Your Starter Like a Pro" in captured.out
    assert "bread/chapters/01-feed-your-starter.md  Your First Loaf, Step by Step" in captured.out
    assert ("note: chapters/02-your-first-loaf.md joined chapters/01-feed-your-starter.md as "
            "a section: alone, its last page is 57% full") in captured.err
    config = yaml.safe_load((tmp_path / "bread" / "guide.yaml").read_text())
    assert config["title"] == "Feed Your Starter Like a Pro"
    assert config["author"] == "Crumb & Crust Bakery"
    # numbered in order: the starter's closing chapter after the posts, no number twice
    assert config["chapters"] == ["01-feed-your-starter.md", "02-storing-bread.md",
                                  "03-next-steps.md"]
    front, body = _front(tmp_path / "bread" / "chapters" / "01-feed-your-starter.md")
    assert front["pages"] == 2 and "\n## Your First Loaf, Step by Step\n" in body
    assert "\n### The timeline\n" in body and "\n#### How to tell it is proofed\n" in body
    assert "(02-your-first-loaf.md)" not in body and "(01-feed-your-starter.md)" in body
    pdf = tmp_path / "bread" / "build" / "bread.pdf"  # beside the guide
    assert len(PdfReader(pdf).pages) == config["pages"]
    assert main(["check", "bread"]) == 0
    report = capsys.readouterr().out
    assert not [line for line in report.splitlines() if line.startswith("FAIL")], report
    assert "PASS" in report and "page-fill" in report


def test_a_guide_from_posts_that_cannot_meet_the_promise_says_so(site, tmp_path, capsys,
                                                                  monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["new", "bread", "--from", site.url + "/feed.xml", "--pages", "5"]) == 1
    err = capsys.readouterr().err
    assert "the chapters take 4 pages and the other parts 3, but guide.yaml promises 5" in err
    assert "bread: the guide is written; cut or add what the table says" in err
    assert (tmp_path / "bread" / "chapters" / "03-storing-bread.md").is_file()


def test_a_guide_from_a_bad_source_writes_nothing(site, tmp_path):
    with pytest.raises(ErrorGroup) as error:
        main(["--debug", "new", str(tmp_path / "g"), "--from", site.url + "/missing",
              "--from", site.url + "/report.pdf"])
    assert len(error.value.errors) == 2 and not (tmp_path / "g").exists()


def test_images_from_anyone_are_checked_cleaned_and_named_safely():
    from leadguide.importer.images import ImageProblem, ImageSink, prepared

    svg = (b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"'
           b' onload="steal()"><script>steal()</script><image xlink:href="file:///etc/passwd"/>'
           b'<a href="javascript:x()"><rect width="4" height="4"/></a></svg>')
    cleaned, kind = prepared(svg)
    assert kind == "svg" and b"<rect" in cleaned
    assert not re.search(rb"script|onload|passwd|javascript", cleaned)
    bomb = io.BytesIO()
    Image.new("1", (13000, 13000)).save(bomb, "PNG")
    with pytest.raises(ImageProblem, match="too many pixels"):
        prepared(bomb.getvalue())
    with pytest.raises(ImageProblem, match="not an image"):
        prepared(b"GIF89a but not really")
    sink = ImageSink()
    assert sink.add(jpeg(10, 10), "../../etc/cron.d/evil.jpg") == "etc-cron-d-evil.jpg"
    assert sink.add(jpeg(10, 10), "../../etc/cron.d/evil.jpg") == "etc-cron-d-evil.jpg"  # once
    assert sink.add(jpeg(12, 10), "../../etc/cron.d/evil.jpg") == "etc-cron-d-evil-2.jpg"


ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>Field Notes</title>
  <entry>
    <title>Hill Sprints &amp; Why They Work</title>
    <link rel="alternate" href="https://notes.example.com/2024/hill-sprints/"/>
    <published>2024-03-02T07:00:00Z</published>
    <author><name>Sam Rivera</name></author>
    <content type="html">&lt;p&gt;Short, steep and hard: &lt;em&gt;eight&lt;/em&gt;
      of them.&lt;/p&gt;</content>
  </entry>
  <entry>
    <title>Rest days</title>
    <link href="https://notes.example.com/2024/rest-days/"/>
    <updated>2024-03-09T07:00:00Z</updated>
    <summary>Plain text: take them.</summary>
  </entry>
</feed>"""
RSS = """<rss version="2.0"><channel><title>Club news</title><item><title>Spring 5K</title>
<link>https://club.example.org/news/spring-5k.html</link><author>club@example.org</author>
<pubDate>Sat, 06 Apr 2024 09:00:00 GMT</pubDate><description>&lt;p&gt;Entries open.&lt;/p&gt;
</description></item></channel></rss>"""


def test_atom_and_rss_feeds_give_their_posts():
    from leadguide.importer.feeds import choose, read_feed

    sprints, rest = read_feed(ATOM.encode(), "notes.xml")
    assert (sprints.title, sprints.slug, sprints.author, sprints.date, sprints.site_name) == (
        "Hill Sprints & Why They Work", "hill-sprints", "Sam Rivera", "2024-03-02",
        "Field Notes")
    assert "<em>eight</em>" in sprints.html and rest.html == "<p>Plain text: take them.</p>"
    assert choose([sprints, rest], ["rest-days"], "notes.xml") == [rest]
    [race] = read_feed(RSS.encode(), "club.xml")
    assert (race.slug, race.date, race.author) == ("spring-5k", "2024-04-06", "club@example.org")


def test_an_mdbook_folder_keeps_its_summary_order(tmp_path):
    from leadguide.importer.markdown_files import markdown_pages

    (tmp_path / "src").mkdir()
    (tmp_path / "book.toml").write_text("[book]\ntitle = 'A book'\n")
    (tmp_path / "src" / "SUMMARY.md").write_text(
        "# Summary\n\n[Introduction](intro.md)\n\n- [Usage](usage.md)\n- [Basics](basics.md)\n")
    for name, title in (("basics", "Basics"), ("intro", "Introduction"), ("usage", "Usage")):
        (tmp_path / "src" / f"{name}.md").write_text(f"# {title}\n\nText about {name}.\n")
    root, pages = markdown_pages(tmp_path / "src")
    assert root == (tmp_path / "src").resolve()
    assert [(page.relative, page.title) for page in pages] == [
        ("intro.md", "Introduction"), ("usage.md", "Usage"), ("basics.md", "Basics")]
    assert pages[0].body == "Text about intro.\n"


def test_a_short_newsletter_post_keeps_its_text_around_an_inline_subscribe_form(sample_guide):
    page = SOURCES / "short-newsletter-post.html"
    [chapter] = import_sources([str(page)], sample_guide).chapters
    front, body = _front(chapter.path)
    assert front["title"] == "Why we stopped counting macros" and front["author"] == "Jamie Lee"
    assert front["source"] == "https://strength.substack.com/p/why-we-stopped-counting-macros"
    assert body.lstrip().startswith("For three years we weighed every gram.")
    assert "## What changed" in body and "> Count what matters" in body
    assert not [word for word in ("Subscribe", "Thanks for reading", "Discussion", "Copy link",
                                  "Sign in", "♡") if word in body]


def test_a_docs_page_keeps_its_code_tables_and_title(sample_guide):
    page = SOURCES / "docs-page-mdbook.html"
    [chapter] = import_sources([str(page)], sample_guide).chapters
    front, body = _front(chapter.path)
    assert front["title"] == "The test command"  # its h1, not <title>'s site name
    assert "mdBook supports a `test` command that will run" in body
    assert "## Disable tests on a code block\n" in body  # no permalink left in the heading
    assert "````\n```rust,ignore\nfn main() {}\n```\n````" in body
    assert '```rust\nfn main() {\n    println!("Hello, {}!", "world");\n}\n```' in body
    assert "| `--dest-dir` | Where to put the output |" in body
    assert "[the build options](build.html#options)" in body and "Introduction" not in body


def test_a_plain_text_post_imports_with_its_title_date_and_headings(sample_guide):
    """The seed post copied from its page as plain text: the blog's name and tagline above
    the title left out (with a note), the date under it kept, the four numbered benefits as
    headings, the quoted cues as paragraphs with their curly quotes."""
    report = import_sources([str(SOURCES / "knees-over-toes.txt")], sample_guide)
    (chapter,) = report.chapters
    front, body = _front(chapter.path)
    assert front["title"] == "4 Benefits of Knees Over Toes Training"
    assert front["date"] == "2023-09-28" and front["source"] == "knees-over-toes.txt"
    assert [line for line in body.splitlines() if line.startswith("## ")][:4] == [
        "## 1: Improved Knee, Back, and Hip Pain", "## 2: Better Prepared For Life",
        "## 3: Improved Quad Strength/Development and Ankle Mobility",
        "## 4: Increased Potential In The Gym and In Sport"]
    assert body.lstrip().startswith("“Sit Your Hips Back”\n")
    assert "Inside Out Strength" not in body.split("## 1:")[0]
    assert any("left out above the title" in note for note in report.notes)


def test_chapters_are_numbered_in_order_after_new_from(tmp_path):
    """The starter's closing chapter follows the posts' numbers, never repeats one."""
    from leadguide.importer.guide import guide_from_sources

    guide = guide_from_sources(tmp_path / "g", [str(SOURCES / "knees-over-toes.txt")]).guide
    names = yaml.safe_load((guide / "guide.yaml").read_text())["chapters"]
    assert names == ["01-knees-over-toes.md", "02-next-steps.md"]
    assert sorted(p.name for p in (guide / "chapters").glob("*.md")) == names
