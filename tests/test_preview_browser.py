"""The preview in a real browser (Debian's Chromium through Playwright): errors in view, an index
that tells the truth, saves into new folders, narrow screens, accessibility (axe-core)."""
from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path
from typing import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from serve_support import serving

from leadguide.preview.paths import SITE_PAGES
from leadguide.preview.server import PreviewServer
from leadguide.preview.site import Preview, build_preview

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
REPO = Path(__file__).resolve().parents[1]
AXE = REPO / ".venv" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
DEFAULT_GUIDE = REPO / "guide"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def tab(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 600})
    yield context.new_page()
    context.close()


@pytest.fixture
def served(sample_guide: Path, built_sample, tmp_path: Path) -> Iterator[PreviewServer]:
    """The sample guide served and watched in this process, its spans from a real build."""
    result, _ = built_sample
    pdf = tmp_path / "build" / "sample.pdf"
    pdf.parent.mkdir()
    shutil.copy2(result.output, pdf)
    shutil.copy2(result.manifest_path(), pdf.with_name("sample.build.json"))
    preview = Preview(sample_guide, tmp_path / "out", pdf)
    preview.build_all()
    lines: list[str] = []
    with serving(preview, lines.append) as running:
        running.lines = lines  # type: ignore[attr-defined]
        yield running


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def long_chapter(guide: Path) -> Path:
    """01-intro.md made long enough to scroll through."""
    chapter = guide / "chapters" / "01-intro.md"
    paragraphs = "\n\n".join(f"Paragraph {n}: " + "words to scroll past " * 30 for n in range(40))
    chapter.write_text(chapter.read_text() + "\n" + paragraphs + "\n")
    return chapter


# ----- errors in view -----

@pytest.mark.parametrize("where", ["top", "middle", "bottom"])
def test_a_new_error_is_in_view_and_in_the_title_and_the_place_comes_back(
        served: PreviewServer, sample_guide: Path, tab: Page, where: str):
    chapter = long_chapter(sample_guide)
    tab.goto(served.url + "01-intro.html")
    expect(tab.locator("#sheet")).to_contain_text("Paragraph 39", timeout=5000)
    height = tab.evaluate("document.documentElement.scrollHeight - innerHeight")
    assert height > 2000
    target = {"top": 0, "middle": height // 2, "bottom": height}[where]
    tab.evaluate(f"scrollTo(0, {target})")
    tab.wait_for_timeout(300)  # the reload stream is open
    reading = tab.evaluate("document.elementFromPoint(300, 400).textContent.slice(0, 14)")

    edit(chapter, "title: Welcome aboard", "title Welcome aboard")
    banner = tab.locator(".preview-errors")
    expect(banner).to_contain_text("guide/chapters/01-intro.md:", timeout=5000)
    box = banner.bounding_box()
    assert box and box["height"] > 20 and 0 <= box["y"] and box["y"] + box["height"] <= 600
    assert tab.title().startswith("⚠ 1 problem · 01 Welcome aboard")
    assert tab.evaluate("scrollY") > 0 or where == "top"

    edit(chapter, "title Welcome aboard", "title: Welcome aboard")
    expect(banner).to_have_count(0, timeout=5000)
    assert not tab.title().startswith("⚠")
    tab.wait_for_timeout(300)
    assert tab.evaluate("document.elementFromPoint(300, 400).textContent.slice(0, 14)") == reading


# ----- the index tells the truth -----

def test_index_badges_a_broken_and_a_deleted_chapter(served: PreviewServer, sample_guide: Path,
                                                     tab: Page):
    tab.goto(served.url)
    rows = tab.locator(".preview-chapters tbody tr")
    expect(rows.nth(1)).to_contain_text("fits")
    tab.wait_for_timeout(300)

    edit(sample_guide / "chapters" / "02-training.md", "title: Training plan", "title Training")
    expect(rows.nth(1).locator(".badge-error")).to_have_text("error", timeout=5000)
    expect(rows.nth(1)).not_to_contain_text("fits")
    sidebar = tab.locator(".preview-sidebar")
    expect(sidebar.locator("li", has_text="02 Training plan")).to_contain_text("error")

    (sample_guide / "chapters" / "03-food.md").unlink()
    expect(rows.nth(2).locator(".badge-error")).to_have_text("file missing", timeout=5000)
    expect(rows.nth(2)).not_to_contain_text("fits")
    tab.goto(served.url + "03-food.html")  # the page is no longer the deleted text
    expect(tab.locator("#sheet")).to_contain_text("The chapter file is gone")
    assert tab.locator("#ch-03-food").count() == 0
    expect(tab.locator(".preview-errors")).to_contain_text("guide/chapters/03-food.md")


# ----- no missed saves -----

def test_a_save_into_a_folder_created_a_moment_before_is_picked_up(served: PreviewServer,
                                                                   sample_guide: Path):
    copied = served.preview.out / "styles" / "screen.css"
    for attempt in range(6):
        styles = sample_guide / "styles"
        styles.mkdir()
        (styles / "screen.css").write_text(f".sheet {{ width: {attempt + 5}in; }}\n")
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and f"{attempt + 5}in" not in copied.read_text():
            time.sleep(0.02)
        assert f"{attempt + 5}in" in copied.read_text(), f"attempt {attempt + 1} missed"
        shutil.rmtree(styles)
        deadline = time.monotonic() + 5  # the built-in screen.css comes back
        while time.monotonic() < deadline and ".preview-top" not in copied.read_text():
            time.sleep(0.02)
        assert ".preview-top" in copied.read_text()


# ----- a save swaps the page in; a style save reloads it -----

def test_a_chapter_save_swaps_the_page_in_and_a_style_save_reloads_it(
        served: PreviewServer, sample_guide: Path, tab: Page):
    chapter = long_chapter(sample_guide)
    tab.goto(served.url + "01-intro.html")
    expect(tab.locator("#sheet")).to_contain_text("Paragraph 39", timeout=5000)
    tab.evaluate("window.sameDocument = true")
    tab.evaluate("scrollTo(0, 1500)")
    edit(chapter, "Paragraph 39:", "Paragraph thirty-nine:")
    expect(tab.locator("#sheet")).to_contain_text("Paragraph thirty-nine", timeout=5000)
    assert tab.evaluate("window.sameDocument") is True  # swapped in, not reloaded
    assert abs(tab.evaluate("scrollY") - 1500) < 5
    # The swapped-in page listens again: a second save shows too.
    edit(chapter, "Paragraph 38:", "Paragraph thirty-eight:")
    expect(tab.locator("#sheet")).to_contain_text("Paragraph thirty-eight", timeout=5000)
    # Its click-to-source script ran again on the new body.
    expect(tab.locator("#sheet .chapter-body > p[data-source]").first).to_be_attached()
    styles = sample_guide / "styles"
    styles.mkdir()
    (styles / "screen.css").write_text(".sheet { outline: 7px solid rgb(1, 2, 3); }\n")
    tab.wait_for_function("getComputedStyle(document.querySelector('.sheet')).outlineWidth"
                          " === '7px'", timeout=5000)
    assert tab.evaluate("window.sameDocument") is None  # reloaded: new stylesheets
    assert "?v=" in tab.locator('link[href*="screen.css"]').get_attribute("href")


# ----- the whole guide -----

def test_cover_contents_sidebar_and_pdf_pages(served: PreviewServer, tab: Page):
    tab.goto(served.url + "contents.html")
    expect(tab.locator("#sheet h1")).to_have_text("Contents")
    tab.locator("#sheet a", has_text="Food basics").click()
    expect(tab).to_have_url(served.url + "03-food.html")
    sidebar = tab.locator(".preview-sidebar")
    expect(sidebar.locator(".guide-total")).to_contain_text("6 pages now, 6 promised")
    expect(sidebar.locator('[aria-current="page"]')).to_have_text("03 Food basics")
    tab.goto(served.url + "cover.html")
    expect(tab.locator("#sheet .cover")).to_contain_text("Free guide")
    tab.goto(served.url + "pdf.html")
    images = tab.locator(".pdf-grid img")
    expect(images).to_have_count(6)
    tab.wait_for_function("Array.from(document.images).every(i => i.complete && i.naturalWidth)")
    link = tab.locator(".pdf-status a.pdf-link").get_attribute("href")
    assert link and link.startswith("/_pdf?")
    assert tab.request.get(served.url + link.lstrip("/")).body()[:5] == b"%PDF-"


def test_a_data_edit_says_the_pdf_is_older_naming_the_file(served: PreviewServer,
                                                           sample_guide: Path, tab: Page):
    tab.goto(served.url + "02-training.html")
    tab.wait_for_timeout(300)
    edit(sample_guide / "data" / "program.yaml", "\n", "\n# a comment\n")
    expect(tab.locator(".pdf-status")).to_contain_text(
        "older than your edit to guide/data/program.yaml", timeout=5000)


def test_a_click_on_a_block_names_its_source_line(served: PreviewServer, tab: Page):
    tab.goto(served.url + "01-intro.html")
    tab.locator("#sheet .chapter-body > p", has_text="Hello from").click()
    expect(tab.locator("#source-tip")).to_have_text("guide/chapters/01-intro.md:7")
    tab.locator("#sheet .admonition").click()
    expect(tab.locator("#source-tip")).to_have_text("guide/chapters/01-intro.md:9")


# ----- narrow screens -----

@pytest.fixture(scope="module")
def default_preview(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default guide's preview, from disk (HTML only: no PDF, no layout)."""
    out = tmp_path_factory.mktemp("default-preview")
    guide = out / "guide"
    shutil.copytree(DEFAULT_GUIDE, guide)
    update = build_preview(guide, out / "preview", out / "none.pdf", quick=True)
    assert update.errors == []
    return out / "preview"


def preview_pages(out: Path) -> list[str]:
    return sorted(p.name for p in out.glob("*.html"))


def test_at_390_px_nothing_scrolls_sideways_overlaps_or_truncates(default_preview: Path,
                                                                  browser: Browser):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    tab = context.new_page()
    pages = preview_pages(default_preview)
    chapters = len(list((Path(__file__).parents[1] / "guide" / "chapters").glob("*.md")))
    assert len(pages) == len(SITE_PAGES) + chapters
    for name in pages:
        tab.goto((default_preview / name).as_uri())
        tab.wait_for_load_state("load")
        assert tab.evaluate("document.documentElement.scrollWidth") <= 390, name
        truncated = tab.evaluate("""() => Array.from(document.querySelectorAll('.preview-nav a'))
            .filter(a => a.scrollWidth > a.clientWidth + 1).map(a => a.textContent)""")
        assert truncated == [], name
        overlaps = tab.evaluate("""() => {
            const cards = Array.from(document.querySelectorAll('.exercise-card'))
                .map(c => c.getBoundingClientRect());
            return cards.slice(1).filter((box, i) => box.top < cards[i].bottom - 1).length; }""")
        assert overlaps == 0, name
    context.close()


@pytest.mark.parametrize("width", [1280, 1600])
def test_pdf_pages_sit_beside_the_text_when_there_is_room(served: PreviewServer,
                                                          browser: Browser, width: int):
    context = browser.new_context(viewport={"width": width, "height": 800})
    tab = context.new_page()
    tab.goto(served.url + "03-food.html")
    sheet, pages = tab.locator("#sheet").bounding_box(), tab.locator("#pdf-pages").bounding_box()
    assert sheet and pages and pages["x"] >= sheet["x"] + sheet["width"]
    assert abs(pages["y"] - sheet["y"]) < 5 and pages["width"] >= 280
    tab.set_viewport_size({"width": 900, "height": 800})
    sheet, pages = tab.locator("#sheet").bounding_box(), tab.locator("#pdf-pages").bounding_box()
    assert sheet and pages and pages["y"] >= sheet["y"] + sheet["height"]
    context.close()


# ----- fonts -----

def test_svg_text_is_drawn_with_the_guides_font(served: PreviewServer, sample_guide: Path,
                                                tab: Page):
    svg = ('<svg xmlns="http://www.w3.org/2000/svg" width="300" height="40">'
           '<text x="0" y="30" font-family="Inter" font-weight="700" font-size="24">Keep building'
           '</text></svg>')
    (sample_guide / "images" / "words.svg").write_text(svg)
    body = tab.request.get(served.url + "_guide/images/words.svg").body()
    assert b"@font-face{" in body and b"data:font/otf;base64," in body
    # Drawn, the text is as wide as Inter Bold makes it, not as a fallback font would.
    tab.goto(served.url)
    widths = tab.evaluate("""async () => {
        const load = src => new Promise(done => { const i = new Image(); i.onload = () => done(i);
                                                  i.src = src; });
        const canvas = document.createElement('canvas'); canvas.width = 300; canvas.height = 40;
        const ink = async src => { const g = canvas.getContext('2d');
            g.clearRect(0, 0, 300, 40); g.drawImage(await load(src), 0, 0);
            const data = g.getImageData(0, 0, 300, 40).data; let right = 0;
            for (let x = 0; x < 300; x++) for (let y = 0; y < 40; y++)
                if (data[(y * 300 + x) * 4 + 3] > 0) right = x;
            return right; };
        const plain = 'data:image/svg+xml,' + encodeURIComponent(%s);
        return [await ink('/_guide/images/words.svg'), await ink(plain)]; }""" % repr(svg))
    fonted, fallback = widths
    assert fonted > 100 and fonted != fallback


# ----- accessibility -----

@pytest.fixture(scope="module")
def axe_script() -> str:
    """axe-core from npm (``make test`` installs it; installed here if it is missing)."""
    if not AXE.is_file():
        done = subprocess.run(["npm", "install", "--silent", "--no-audit", "--no-fund",
                               "--prefix", str(AXE.parents[2]), "axe-core@4"],
                              capture_output=True, text=True, timeout=300)
        assert AXE.is_file(), f"npm install axe-core failed: {done.stderr[-500:]}"
    return AXE.read_text(encoding="utf-8")


WCAG_AA = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa")


def axe_problems(tab: Page, script: str,
                 impacts: tuple[str, ...] = ("serious", "moderate", "critical"),
                 tags: tuple[str, ...] = (*WCAG_AA, "best-practice")) -> list[str]:
    tab.add_script_tag(content=script)
    result = tab.evaluate("""tags => axe.run(document, {runOnly: {type: 'tag', values: tags},
        resultTypes: ['violations']})""", list(tags))
    return [f"{v['id']} ({v['impact']}): {v['help']} ×{len(v['nodes'])} e.g. "
            f"{v['nodes'][0]['target']}"
            for v in result["violations"] if v["impact"] in impacts]


def test_axe_finds_nothing_serious_or_moderate_on_any_default_guide_page(
        default_preview: Path, browser: Browser, axe_script: str):
    context = browser.new_context(viewport={"width": 1600, "height": 900})
    tab = context.new_page()
    problems = {}
    for name in preview_pages(default_preview):
        tab.goto((default_preview / name).as_uri())
        if found := axe_problems(tab, axe_script):
            problems[name] = found
    context.close()
    assert problems == {}, "\n".join(f"{k}: {v}" for k, v in problems.items())


def test_axe_on_the_served_sample_with_pdf_pages_and_an_error(served: PreviewServer,
                                                             sample_guide: Path, tab: Page,
                                                             axe_script: str):
    edit(sample_guide / "chapters" / "02-training.md", "title: Training plan", "title Training")
    index = served.preview.out / "index.html"
    deadline = time.monotonic() + 10
    while "badge-error" not in index.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.0)  # every page rewritten, no reload on its way
    problems = {}
    for name in sorted(p.name for p in served.preview.out.glob("*.html")):
        tab.goto(served.url + name)
        tab.wait_for_load_state("load")
        if found := axe_problems(tab, axe_script):
            problems[name] = found
    assert problems == {}, "\n".join(f"{k}: {v}" for k, v in problems.items())


def test_at_390_px_every_aa_rule_passes_on_every_default_guide_page(
        default_preview: Path, browser: Browser, axe_script: str):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    tab = context.new_page()
    problems = {}
    for name in preview_pages(default_preview):
        tab.goto((default_preview / name).as_uri())
        if found := axe_problems(tab, axe_script, ("minor", "moderate", "serious", "critical"),
                                 WCAG_AA):
            problems[name] = found
    context.close()
    assert problems == {}, "\n".join(f"{k}: {v}" for k, v in problems.items())


def test_at_390_px_side_heads_sit_above_their_text_and_tables_scroll_in_their_box(
        default_preview: Path, browser: Browser):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    tab = context.new_page()
    tables = 0
    for name in preview_pages(default_preview):
        tab.goto((default_preview / name).as_uri())
        beside = tab.evaluate("""() => Array.from(document.querySelectorAll(
                '#sheet .chapter-body > h2:not(.stacked)'))
            .filter(h => h.nextElementSibling && h.nextElementSibling.getBoundingClientRect().top
                         < h.getBoundingClientRect().bottom - 1).map(h => h.textContent)""")
        assert beside == [], f"{name}: side-heads still beside their text: {beside}"
        text_width = tab.evaluate("""() => { const p = document.querySelector(
            '#sheet .chapter-body > p'); return p ? p.getBoundingClientRect().width : 999; }""")
        assert text_width > 0.7 * 390, f"{name}: the text column is {text_width:.0f} px wide"
        found = tab.evaluate("""() => Array.from(document.querySelectorAll('#sheet table')).map(t => ({
            boxed: !!t.closest('.table-scroll[tabindex="0"][role="region"][aria-label]'),
            broken: Array.from(t.querySelectorAll('td, th')).filter(c =>
                getComputedStyle(c).overflowWrap === 'anywhere'
                || getComputedStyle(c).wordBreak === 'break-all').length}))""")
        tables += len(found)
        assert all(t["boxed"] and not t["broken"] for t in found), f"{name}: {found}"
    assert tables >= 4  # the trackers, the program's days, the nutrition numbers
    context.close()


def test_the_pdf_pages_toggle_says_its_state_and_the_keyboard_shows_a_source_line(
        served: PreviewServer, tab: Page):
    tab.goto(served.url + "01-intro.html")
    toggle = tab.locator(".toggle-pages")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    toggle.focus()
    tab.keyboard.press("Enter")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(tab.locator("#pdf-pages")).to_be_hidden()
    tab.keyboard.press("Space")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    tab.evaluate("window.scrollTo(0, 0)")
    tab.keyboard.press("Alt+s")  # the block at the top of the view
    expect(tab.locator("#source-tip")).to_contain_text("guide/chapters/01-intro.md:")
