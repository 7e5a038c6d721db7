"""The web edition (``build --web``): every chapter on its own page, readable at 390 px in
Chromium without sideways scroll, axe-core clean, no request to any other site, from disk and
from a static host; written whole; images sized for screens; served by the signup service at
/read/TOKEN/ behind the download token, and offered in the welcome email."""
from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import threading
import time
from pathlib import Path
from typing import Iterator
from urllib.parse import unquote, urlsplit

import pytest
import uvicorn
from PIL import Image
from signup_support import SECRET, make_guide
from starlette.testclient import TestClient
from test_preview_browser import AXE, WCAG_AA, axe_problems, axe_script, browser

from leadguide.build import build, build_if_stale, read_sources
from leadguide.cli import main
from leadguide.email.message import PersonalLinks, build_message
from leadguide.email.recipients import recipient
from leadguide.email.settings import load_email_settings
from leadguide.errors import GuideError
from leadguide.guide.chapters import load_chapters
from leadguide.guide.config import load_config
from leadguide.signup.app import create_app
from leadguide.signup.hooks import email_send_hooks
from leadguide.signup.service import bind_web_only, open_service
from leadguide.signup.tasks import Links
from leadguide.signup.tokens import Tokens
from leadguide.starters.scaffold import new_guide
from leadguide.web.edition import web_folder, write_web_edition
from leadguide.web.images import ScreenImages

DEFAULT = Path(__file__).parents[1] / "guide"
__all__ = ["axe_script", "browser"]  # the fixtures, shared with the preview's browser tests


def _write_edition(guide: Path, pdf: Path) -> Path:
    config = load_config(guide)
    chapters, data = read_sources(config)
    return write_web_edition(config, chapters, data, pdf).folder


@pytest.fixture(scope="module")
def default_web(built_default) -> Path:
    """The default guide's web edition, beside the session's build of its PDF."""
    return _write_edition(DEFAULT, built_default.output)


@pytest.fixture(scope="module")
def starter_web(tmp_path_factory) -> tuple[Path, Path]:
    """A workbook starter (trackers) in the bold look, built by the command with --web."""
    guide = new_guide(tmp_path_factory.mktemp("starter") / "workbook", "workbook", "bold")
    assert main(["build", str(guide), "--web"]) == 0
    pdf = load_config(guide).output_path
    return guide, web_folder(pdf)


@pytest.fixture(scope="module")
def bakery_web(built_bakery) -> tuple[Path, Path]:
    """The bakery guide (no kit, A4, a light brand accent, its own macros and extra.css)."""
    guide, result = built_bakery
    return guide, _write_edition(guide, result.output)


@pytest.fixture(scope="module", params=["default", "starter", "bakery"])
def edition(request) -> tuple[Path, Path]:
    """(guide folder, web edition folder) of each guide."""
    if request.param == "default":
        return DEFAULT, request.getfixturevalue("default_web")
    return request.getfixturevalue(f"{request.param}_web")


def _pages(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.html"))


# ----- what is written -----

def test_every_chapter_has_its_page_with_its_hooks_and_the_contents_links_them(edition):
    guide, folder = edition
    chapters = load_chapters(load_config(guide))
    index = (folder / "index.html").read_text(encoding="utf-8")
    assert len(_pages(folder)) == len(chapters) + 1
    for chapter in chapters:
        page = folder / f"{chapter.slug}.html"
        text = page.read_text(encoding="utf-8")
        assert f'data-chapter="{chapter.slug}"' in text and 'data-chapter-end' in text
        assert str(chapter.title_html) in text
        assert f'href="{page.name}"' in index
    for page in _pages(folder):  # every link and file is relative and inside the folder
        text = page.read_text(encoding="utf-8")
        assert "Content-Security-Policy" in text
        for url in re.findall(r'(?:href|src)="([^"#]+)', text):
            if url.startswith(("http://", "https://", "mailto:", "data:")):
                assert 'rel="stylesheet"' not in text.split(url)[0][-60:], url
                continue
            target = (folder / unquote(url)).resolve()
            assert target.exists() and (target.is_relative_to(folder)
                                        or target == web_folder_pdf(folder)), url


def test_every_fragment_link_lands_on_an_id_of_its_page(edition):
    """Links between chapters (``#ch-…``, ``#heading``) go to the page that has the id."""
    _, folder = edition
    ids = {page.name: set(re.findall(r' id="([^"]+)"', page.read_text(encoding="utf-8")))
           for page in _pages(folder)}
    crossing = 0
    for page in _pages(folder):
        for file, fragment in re.findall(r'href="([^"#:]*)#([^"]+)"',
                                         page.read_text(encoding="utf-8")):
            assert fragment in ids[file or page.name], (page.name, file, fragment)
            crossing += bool(file)
    assert crossing or folder.name != "guide-web"  # the default guide links across chapters


def test_every_page_ends_with_the_guides_call_to_action_and_no_link_goes_nowhere(
        default_web):
    """The PDF's back page asks the reader to act; the web edition asks on every page. A
    link to a part of the PDF the web has no page for (the back page) is left as words."""
    cta = load_config(DEFAULT).cta
    for page in _pages(default_web):
        text = page.read_text(encoding="utf-8")
        href = f'href="{cta.url.replace("&", "&amp;")}"'
        assert text.count('class="web-cta"') + ('<aside class="cta"' in text) == 1, page.name
        assert href in text, page.name
        assert 'href="#back"' not in text, page.name
    welcome = (default_web / "01-welcome.html").read_text(encoding="utf-8")
    assert "the last page" in welcome


def test_a_fragment_link_with_no_page_keeps_its_words():
    from leadguide.web.markup import link_pages
    markup = '<p>See <a class="pageref" href="#back">the <em>last</em> page</a> and ' \
             '<a href="#here">here</a>.</p><h2 id="here">Here</h2>'
    out = link_pages(markup, {"here"}, {})
    assert out == '<p>See the <em>last</em> page and <a href="#here">here</a>.</p>' \
                  '<h2 id="here">Here</h2>'


def test_scroll_boxes_are_named_by_caption_file_name_or_heading():
    from leadguide.web.markup import scroll_boxes
    boxed = scroll_boxes('<h2>Plan</h2><div class="highlight"><span class="filename">x.py'
                         '</span><pre>1</pre></div><div class="highlight"><pre>2</pre></div>'
                         '<table><caption>Week <em>1</em></caption></table><table></table>'
                         '<table><tr><td><table></table></td></tr></table>')
    assert re.findall(r'aria-label="([^"]+)"', boxed) == [
        "Code: x.py", "Code: Plan", "Week 1", "Plan", "Plan (2)"]
    assert boxed.count('tabindex="0"') == 5


def web_folder_pdf(folder: Path) -> Path:
    return folder.with_name(folder.name.removesuffix("-web") + ".pdf").resolve()


def test_tables_and_code_scroll_in_named_focusable_boxes_and_trackers_link_the_pdf(default_web):
    trackers = (default_web / "09-trackers.html").read_text(encoding="utf-8")
    for page in _pages(default_web):
        text = page.read_text(encoding="utf-8")
        boxes = re.findall(r'<div class="scroll-box scroll-(?:table|pre)" tabindex="0" '
                           r'role="region" aria-label="([^"]+)">\s*<(table|pre)', text)
        assert text.count("<table") == len([b for b in boxes if b[1] == "table"])
        assert text.count("<pre") == len([b for b in boxes if b[1] == "pre"])
        labels = [label for label, _ in boxes]
        assert len(labels) == len(set(labels))  # each region's name is its own
    assert trackers.count('download the fillable PDF') == trackers.count('data-tracker="') >= 3
    assert 'href="../guide.pdf" download' in trackers


def test_web_true_in_guide_yaml_asks_for_it_and_anything_else_is_an_error(tmp_path):
    guide = tmp_path / "guide"
    shutil.copytree(Path(__file__).parent / "sample_guide", guide)
    config = guide / "guide.yaml"
    text = config.read_text()
    assert not load_config(guide).web_edition
    config.write_text(text + "web: true\n")
    assert load_config(guide).web_edition
    config.write_text(text + "web: maybe\n")
    with pytest.raises(GuideError) as refused:
        load_config(guide)
    assert refused.value.line == len(text.splitlines()) + 1 and "web" in str(refused.value)


def test_a_fresh_pdf_without_its_web_edition_is_completed_by_whoever_needs_it(tmp_path,
                                                                              built_sample):
    """``web: true``, the PDF up to date, the web folder gone (never built, or deleted): the
    service and ``email`` (through ``build_if_stale``) write it again instead of leaving the
    link out."""
    guide = tmp_path / "guide"
    shutil.copytree(Path(__file__).parent / "sample_guide", guide)
    (guide / "guide.yaml").write_text((guide / "guide.yaml").read_text() + "web: true\n")
    pdf = build(guide).output
    folder = web_folder(pdf)
    assert (folder / "index.html").is_file()
    shutil.rmtree(folder)
    _, again = build_if_stale(guide)
    assert again is not None and (folder / "index.html").is_file()
    assert build_if_stale(guide)[1] is None  # complete now: nothing to do


def test_rebuilding_replaces_the_edition_whole_and_a_failure_keeps_the_last(tmp_path,
                                                                           monkeypatch):
    guide = tmp_path / "guide"
    shutil.copytree(Path(__file__).parent / "sample_guide", guide)
    pdf = tmp_path / "out" / "sample.pdf"
    folder = _write_edition(guide, pdf)
    (folder / "stale.html").write_text("from an older build")
    first = {p.name for p in _pages(folder)}
    _write_edition(guide, pdf)
    assert not (folder / "stale.html").exists() and {p.name for p in _pages(folder)} == \
        first - {"stale.html"}
    (folder / "stale.html").write_text("from an older build")
    import leadguide.web.edition as edition_module

    def broken(*args, **kwargs):
        raise RuntimeError("the disk filled up")
    monkeypatch.setattr(edition_module, "scroll_boxes", broken)
    with pytest.raises(RuntimeError):
        _write_edition(guide, pdf)
    assert (folder / "stale.html").exists()  # the last edition, untouched
    assert [p.name for p in folder.parent.iterdir() if p.name.startswith(".")] == []
    killed, running = folder.with_name(".sample-web.killed"), folder.with_name(".sample-web.now")
    killed.mkdir()
    running.mkdir()
    os.utime(killed, (time.time() - 7200, time.time() - 7200))
    monkeypatch.undo()
    _write_edition(guide, pdf)
    assert not killed.exists() and running.exists()  # a killed build's litter goes


def test_images_get_screen_sized_copies_with_srcset_and_size(tmp_path):
    guide = tmp_path / "guide"
    (guide / "images").mkdir(parents=True)
    Image.new("RGB", (2400, 1200), "#336699").save(guide / "images" / "wide photo.jpg")
    Image.new("RGBA", (300, 200), (1, 2, 3, 128)).save(guide / "images" / "small.png")
    images = ScreenImages(guide, tmp_path / "web" / "images", (guide,))
    markup = images.rewrite('<p><img src="images/wide%20photo.jpg" alt="A wide photo"></p>'
                            '<img alt="Small" src="images/small.png" />'
                            '<img src="data:image/png;base64,AAAA" alt="QR">'
                            '<img src="../outside.png" alt="Outside">')
    wide = re.search(r'<img[^>]*alt="A wide photo"[^>]*>', markup).group(0)
    assert 'width="960" height="480"' in wide and 'sizes="' in wide
    widths = [int(w) for w in re.findall(r" (\d+)w", wide)]
    assert widths == [480, 960, 1600]
    for name in re.findall(r"images/([^ \"]+)", wide):
        with Image.open(tmp_path / "web" / "images" / name) as copy:
            assert copy.size[0] in widths and copy.size[0] == 2 * copy.size[1]
    small = re.search(r'<img[^>]*alt="Small"[^>]*>', markup).group(0)
    assert 'width="300" height="200"' in small and small.endswith("/>")
    assert 'src="data:image/png;base64,AAAA"' in markup and 'src="../outside.png"' in markup


# ----- in the browser -----

def test_no_sideways_scroll_at_390px_and_no_request_leaves_the_disk(edition, browser):
    _, folder = edition
    context = browser.new_context(viewport={"width": 390, "height": 844})
    tab = context.new_page()
    requests: list[str] = []
    failed: list[str] = []
    refused: list[str] = []
    tab.on("request", lambda r: requests.append(r.url))
    tab.on("requestfailed", lambda r: failed.append(f"{r.url} {r.failure}"))
    tab.on("console", lambda m: refused.append(m.text) if "Content Security" in m.text else None)
    for page in _pages(folder):
        tab.goto(page.as_uri())
        tab.wait_for_load_state("load")
        assert _every_image_loads(tab) == [], page.name  # so no goto cuts a lazy one short
        wide = tab.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert wide[0] <= wide[1], (page.name, wide)
        assert "Inter" in _loaded_fonts(tab), page.name
    context.close()
    assert requests and all(urlsplit(url).scheme in ("file", "data") for url in requests)
    assert failed == [] and refused == []


def _every_image_loads(tab) -> list[str]:
    """Loads the lazy images too and names those that fail to decode."""
    return tab.evaluate("""Promise.all([...document.images].map(image => {
        image.loading = 'eager';
        return image.decode().then(() => null, () => image.src);
    })).then(broken => broken.filter(Boolean))""")


def _loaded_fonts(tab) -> set[str]:
    return {family.strip('"') for family in tab.evaluate(
        "document.fonts.ready.then(fonts => [...fonts].filter(f => f.status === 'loaded')"
        ".map(f => f.family))")}


def test_the_guides_own_fonts_and_the_built_in_woff2_travel_with_it(tmp_path, browser,
                                                                     default_web):
    guide = tmp_path / "guide"
    shutil.copytree(Path(__file__).parent / "sample_guide", guide)
    (guide / "fonts").mkdir()
    shutil.copy(Path(__file__).parents[1] / "styles" / "fonts" / "JetBrainsMono-Bold.ttf",
                guide / "fonts" / "My Serif.ttf")
    config = guide / "guide.yaml"
    config.write_text(config.read_text().replace("theme:\n", "theme:\n  fonts:\n    body: "
                      "{family: My Serif, files: {regular: fonts/My Serif.ttf}}\n", 1))
    folder = _write_edition(guide, tmp_path / "out" / "sample.pdf")
    assert (folder / "styles" / "fonts" / "My Serif.ttf").is_file()
    tab = browser.new_page()
    tab.goto((folder / "index.html").as_uri())
    assert "My Serif" in _loaded_fonts(tab)
    tab.close()
    built_in = default_web / "styles" / "fonts"
    assert sorted(p.suffix for p in built_in.glob("Inter-*")) == [".woff2"] * 4
    assert "Inter-Regular.woff2) format(\"woff2\")" in (
        default_web / "styles" / "theme.css").read_text()


def test_axe_core_finds_no_wcag_aa_violation_on_any_page(edition, browser, axe_script):
    _, folder = edition
    context = browser.new_context(viewport={"width": 390, "height": 844}, bypass_csp=True)
    tab = context.new_page()
    for page in _pages(folder):
        tab.goto(page.as_uri())
        found = axe_problems(tab, axe_script, ("minor", "moderate", "serious", "critical"),
                             WCAG_AA)
        assert found == [], (page.name, found)
    context.close()
    assert AXE.is_file()


@pytest.fixture
def static_host(default_web) -> Iterator[str]:
    """The build folder on a plain static web server on 127.0.0.1."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler,
                                directory=str(default_web.parent))
    handler.log_message = lambda *args: None  # type: ignore[assignment]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/{default_web.name}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_a_static_host_serves_it_and_nothing_leaves_127_0_0_1(static_host, browser):
    tab = browser.new_page(viewport={"width": 1280, "height": 900})
    hosts: set[str] = set()
    tab.on("request", lambda r: hosts.add(urlsplit(r.url).hostname or urlsplit(r.url).scheme))
    tab.goto(static_host + "index.html")
    tab.click("a[href='05-program.html']")
    tab.wait_for_load_state("load")
    assert tab.title().startswith("The 12-week program")
    tab.click("a[rel='next']")
    tab.wait_for_load_state("load")
    assert tab.evaluate("document.querySelector('main').dataset.chapter") == "06-exercise-library"
    assert tab.evaluate("document.documentElement.scrollWidth <= innerWidth")
    tab.close()
    assert hosts <= {"127.0.0.1", "data"}


# ----- served by the signup service, offered in the email -----

@pytest.fixture
def reading_service(tmp_path, built_sample, monkeypatch):
    guide = make_guide(tmp_path, built_sample[0].output, 8100)
    _write_edition(guide, guide / "build" / "sample.pdf")
    monkeypatch.chdir(guide.parent)
    service = open_service(guide, env={"LEADGUIDE_SECRET": SECRET})
    bind_web_only(service)
    yield service, TestClient(create_app(service), base_url="http://127.0.0.1:8100")
    service.close()


def test_read_serves_the_edition_behind_the_download_token(reading_service):
    service, client = reading_service
    token = service.tokens.download("ana@example.com", service.guide)
    start = client.get(f"/read/{token}/", follow_redirects=True)
    assert start.status_code == 200 and start.url.path == f"/read/{token}/sample-web/index.html"
    assert start.headers["content-type"] == "text/html; charset=utf-8"
    policies = start.headers.get_list("content-security-policy")
    assert len(policies) == 1 and "style-src 'self'" in policies[0]
    assert start.headers["referrer-policy"] == "no-referrer"
    assert start.headers["cache-control"] == "private, no-cache"
    css = client.get(f"/read/{token}/sample-web/styles/web.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert css.headers["cache-control"] == "private, max-age=86400"
    assert css.headers["x-content-type-options"] == "nosniff"
    font = client.get(f"/read/{token}/sample-web/styles/fonts/Inter-Regular.woff2")
    assert font.status_code == 200 and font.headers["content-type"] == "font/woff2"
    for href in re.findall(r'href="([0-9][^"#]*\.html)"', start.text):
        assert client.get(f"/read/{token}/sample-web/{href}").status_code == 200
    folder = client.get(f"/read/{token}/sample-web", follow_redirects=False)
    assert folder.status_code == 303 and folder.headers["location"].endswith("/index.html")
    pdf = client.get(f"/read/{token}/sample.pdf", follow_redirects=False)
    assert pdf.status_code == 303 and pdf.headers["location"] == f"/download/{token}/pdf"


@pytest.fixture
def served_reading(reading_service) -> Iterator[tuple]:
    """The signup app on a free loopback port (uvicorn in a thread)."""
    service, _ = reading_service
    server = uvicorn.Server(uvicorn.Config(create_app(service), host="127.0.0.1", port=0,
                                           log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield service, f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_read_in_chromium_behind_the_link_loads_only_its_own_files(served_reading, browser):
    service, base = served_reading
    token = service.tokens.download("ana@example.com", service.guide)
    context = browser.new_context(viewport={"width": 390, "height": 844})
    tab = context.new_page()
    hosts, refused, failed = set(), [], []
    tab.on("request", lambda r: hosts.add(urlsplit(r.url).hostname or urlsplit(r.url).scheme))
    tab.on("requestfailed", lambda r: failed.append(f"{r.url} {r.failure}"))
    tab.on("console", lambda m: refused.append(m.text) if "Content Security" in m.text else None)
    tab.goto(f"{base}/read/{token}")
    assert urlsplit(tab.url).path == f"/read/{token}/sample-web/index.html"
    assert _every_image_loads(tab) == []
    tab.click("ol.web-toc a >> nth=1")
    tab.wait_for_load_state("load")
    assert tab.evaluate("document.querySelector('main').dataset.chapter") == "02-training"
    assert tab.evaluate("document.documentElement.scrollWidth <= innerWidth")
    assert "Inter" in _loaded_fonts(tab)
    pdf_url = tab.evaluate("document.querySelector('a.web-pdf').href")
    pdf = context.request.get(pdf_url)
    assert pdf.ok and pdf.body()[:5] == b"%PDF-"
    context.close()
    assert hosts <= {"127.0.0.1", "data"} and refused == [] and failed == []


def test_read_refuses_forged_and_expired_tokens_and_paths_out(reading_service):
    service, client = reading_service
    token = service.tokens.download("ana@example.com", service.guide)
    assert client.get(f"/read/{token[:-4]}AAAA/sample-web/index.html").status_code == 400
    assert client.get("/read/forged/sample-web/index.html").status_code == 400
    old = Tokens(SECRET, clock=lambda: time.time() - 60 * 86400).download(
        "ana@example.com", service.guide)
    assert client.get(f"/read/{old}/sample-web/index.html").status_code == 410
    for path in ("sample-web/%2e%2e/%2e%2e/guide.yaml", "sample-web/..%2fsample.build.json",
                 "sample-web/%2E%2E/sample.build.json", "sample-web/.hidden.html",
                 "sample-web/styles/%2e%2e/%2e%2e/sample.pdf", "sample-web/..\\guide.yaml",
                 "guide.yaml", "sample.build.json", "sample-web/index.html%00.css",
                 "sample-web/images/../../../guide/guide.yaml", "sample-web/styles",
                 "sample-web/images/", "sample-web/styles/fonts/LICENSE-Inter"):
        answer = client.get(f"/read/{token}/{path}", follow_redirects=False)
        assert answer.status_code in (400, 404, 307), (path, answer.status_code)
        if answer.status_code == 307:  # a trailing slash: the same path without it, then 404
            assert answer.headers["location"].endswith(f"/read/{token}/{path.rstrip('/')}")
        assert "chapters" not in answer.text and "%PDF" not in answer.text


def test_read_says_so_when_the_guide_has_no_web_edition(reading_service):
    service, client = reading_service
    shutil.rmtree(web_folder(service.pdf))
    token = service.tokens.download("ana@example.com", service.guide)
    answer = client.get(f"/read/{token}", follow_redirects=False)
    assert answer.status_code == 404 and f"/download/{token}" in answer.text


def test_the_welcome_email_offers_read_on_your_phone_with_the_download_token(reading_service):
    service, _ = reading_service
    links = Links("https://guide.example.com", Tokens(SECRET), service.guide, reading=True)
    person = recipient("ana@example.com", "Ana")
    own = links.personal(person)
    assert own.read and own.read.split("/read/")[1] == own.download.split("/download/")[1]
    config = load_config(service.config.root)
    settings = load_email_settings(config)
    message = build_message(config, settings, person, None, links=own)
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert f"Read on your phone: {own.read}" in text
    assert f'<a href="{own.read}"' in html and "Read on your phone</a>" in html
    without = build_message(config, settings, person, None,
                            links=PersonalLinks(own.unsubscribe, own.download))
    assert "Read on your phone" not in without.as_string()
    assert service.links.reading  # the service saw the edition beside its PDF
    _, personal = email_send_hooks(config, {"LEADGUIDE_SECRET": SECRET})
    assert "/read/" in personal(person).read  # and `email send` links it too


def test_the_live_pdf_writes_no_edition_and_the_build_keeps_guide_yamls(tmp_path):
    """``web: true`` and ``print: true`` are the build's: serve's live PDF, rebuilt on every
    save, writes neither; ``leadguide build`` with no flag does as guide.yaml says."""
    from leadguide.cli import main
    from leadguide.preview.background import build_live_pdf
    guide = tmp_path / "guide"
    shutil.copytree(Path(__file__).parent / "sample_guide", guide)
    (guide / "guide.yaml").write_text((guide / "guide.yaml").read_text()
                                      + "web: true\nprint: true\n")
    live = tmp_path / "live" / "live.pdf"
    live.parent.mkdir()
    assert build_live_pdf(guide, live) == "" and live.is_file()
    assert sorted(p.name for p in live.parent.iterdir()) == ["live.build.json", "live.pdf"]
    assert main(["build", str(guide)]) == 0
    pdf = load_config(guide).output_path
    assert (web_folder(pdf) / "index.html").is_file() and pdf.with_suffix(".print.pdf").is_file()
