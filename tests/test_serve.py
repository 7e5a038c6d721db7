"""leadguide serve: what it serves, how tabs learn of changes, a real browser watching a save."""
from __future__ import annotations

import html
import http.client
import queue
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Iterator
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect, sync_playwright
from serve_support import serving

from leadguide.cli import main
from leadguide.preview.server import PreviewServer, Versions, route
from leadguide.preview.site import Preview

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def get(url: str, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes, str]:
    """A raw request: http.client sends ``path`` exactly as given, ``..`` and all."""
    where = urlsplit(url)
    connection = http.client.HTTPConnection(where.hostname, where.port, timeout=10)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read(), response.getheader("Content-Type", "")
    finally:
        connection.close()


# ----- what may be served -----

@pytest.fixture
def site(tmp_path: Path) -> tuple[Path, Path]:
    out, guide = tmp_path / "out", tmp_path / "guide"
    for folder in (out / "styles", out / "pages", guide / "images", guide / "chapters"):
        folder.mkdir(parents=True)
    for path in (out / "index.html", out / "a.html", out / "styles" / "theme.css",
                 guide / "images" / "a.svg", guide / "guide.yaml", guide / "chapters" / "a.md",
                 out / ".a.html.tmp", tmp_path / "secret.svg"):
        path.write_text("x")
    (guide / "images" / "link.svg").symlink_to(tmp_path / "secret.svg")
    return out, guide


@pytest.mark.parametrize("raw, expected", [
    ("/", "out/index.html"),
    ("/a.html?x=1", "out/a.html"),
    ("/styles/theme.css", "out/styles/theme.css"),
    ("/_guide/images/a.svg", "guide/images/a.svg"),
    ("/_guide/images/%61.svg", "guide/images/a.svg"),
])
def test_route_serves_the_preview_and_the_guide_assets(site, raw, expected):
    out, guide = site
    target = route(raw, out, guide)
    assert target and target.kind == "file"
    assert target.path == (out.parent / expected).resolve()


@pytest.mark.parametrize("raw", [
    "/../guide/guide.yaml", "/%2e%2e/guide/guide.yaml", "/styles/../../guide/guide.yaml",
    "/_guide/../out/a.html", "/_guide/images/../guide.yaml", "//etc/passwd", "/%2Fetc/passwd",
    "/..%2fguide/guide.yaml", "/..\\guide\\guide.yaml", "http://evil.example/a.html",
    "etc/passwd", "/_guide/guide.yaml", "/_guide/chapters/a.md", "/_guide/images/link.svg",
    "/.a.html.tmp", "/missing.html", "/styles", "/a.html%00.svg",
])
def test_route_refuses_everything_else(site, raw):
    out, guide = site
    assert route(raw, out, guide) is None


def test_route_names_events_and_page_images(site):
    out, guide = site
    assert route("/_events?page=a.html&v=3", out, guide).kind == "events"
    image = route("/pages/p012.png?v=17", out, guide)
    assert image and image.kind == "page-image" and image.number == 12


def test_versions_wake_a_waiting_tab():
    versions = Versions()
    assert not versions.wait("a.html", 0, 0.01)
    timer = threading.Timer(0.05, versions.bump, [["a.html"]])
    timer.start()
    assert versions.wait("a.html", 0, 5) and versions.get("a.html") == 1
    assert not versions.wait("b.html", 0, 0.01)
    versions.stop()
    assert not versions.wait("b.html", 0, 5)


def test_serve_command_reports_a_taken_port_or_a_missing_guide(sample_guide, tmp_path, capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", str(sample_guide), "--port", str(port),
                     "--out", str(tmp_path / "out")]) == 1
    assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err
    assert main(["serve", str(tmp_path / "nowhere")]) == 1
    err = capsys.readouterr().err
    assert "guide folder not found" in err and "Traceback" not in err


# ----- the server in this process -----

@pytest.fixture
def server(sample_guide: Path, built_sample, tmp_path: Path) -> Iterator[PreviewServer]:
    result, _ = built_sample
    preview = Preview(sample_guide, tmp_path / "out", result.output)
    preview.build_all()
    with serving(preview, lambda line: None) as running:
        yield running


def test_pages_are_served_with_the_live_script_and_guide_urls(server: PreviewServer):
    status, body, kind = get(server.url, "/02-training.html")
    assert status == 200 and kind == "text/html; charset=utf-8"
    page = body.decode()
    assert 'src="/_guide/images/exercises/wall-sit.svg"' in page
    assert 'new EventSource("/_events?page="' in page and 'page = "02-training.html"' in page
    status, body, kind = get(server.url, "/_guide/images/exercises/wall-sit.svg")
    assert status == 200 and kind == "image/svg+xml" and body.startswith(b"<svg")
    # The file on disk stays good for opening straight from the folder.
    assert "EventSource" not in (server.preview.out / "02-training.html").read_text()


def test_pdf_pages_are_rendered_on_request(server: PreviewServer):
    status, body, kind = get(server.url, "/pages/p005.png")
    assert status == 200 and kind == "image/png" and body[:4] == b"\x89PNG"
    assert get(server.url, "/pages/p099.png")[0] == 404


def test_another_host_name_is_refused(server: PreviewServer):
    assert get(server.url, "/", {"Host": "localhost:1"})[0] == 200
    assert get(server.url, "/", {"Host": "attacker.example"})[0] == 404


def test_a_save_sends_reload_to_that_page_only(server: PreviewServer, sample_guide: Path):
    events: queue.Queue[tuple[str, str]] = queue.Queue()

    def listen(page: str, version: int) -> None:
        where = urlsplit(server.url)
        connection = http.client.HTTPConnection(where.hostname, where.port, timeout=10)
        try:
            connection.request("GET", f"/_events?page={page}&v={version}")
            response = connection.getresponse()
            for line in response:
                if line.startswith(b"event:"):
                    events.put((page, line.decode().strip()))
                    return
        except OSError:
            return
        finally:
            connection.close()

    chapter = sample_guide / "chapters" / "01-intro.md"
    # The first save after the build makes every sidebar say the PDF is older: all reload.
    chapter.write_text(chapter.read_text().replace("Hello from", "Hey from"))
    deadline = time.monotonic() + 5
    while server.versions.get("03-food.html") == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)  # a save can come as two events (truncate, write): let both pass
    seen = server.versions.get("01-intro.html")
    for page in ("01-intro.html", "03-food.html"):
        threading.Thread(target=listen, args=(page, server.versions.get(page)),
                         daemon=True).start()
    time.sleep(0.3)  # let both streams open before the save
    chapter.write_text(chapter.read_text().replace("Hey from", "Hi from"))
    assert events.get(timeout=5) == ("01-intro.html", "event: reload")
    assert "Hi from" in (server.preview.out / "01-intro.html").read_text()
    assert server.versions.get("01-intro.html") == seen + 1
    with pytest.raises(queue.Empty):
        events.get(timeout=0.5)


# ----- the real thing: a subprocess and a headless browser -----

def start_serving(guide: Path, out: Path,
                  pdf: Path | None) -> tuple[subprocess.Popen, str, list[str]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "leadguide", "serve", str(guide), "--port", "0",
         "--out", str(out), *(["--pdf", str(pdf)] if pdf else [])],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=guide.parent)
    lines: list[str] = []
    found: queue.Queue[str] = queue.Queue()

    def read() -> None:
        for line in process.stdout:
            lines.append(line.rstrip())
            if match := re.search(r"Serving .* at (http://\S+/)", line):
                found.put(match.group(1))

    threading.Thread(target=read, daemon=True).start()
    try:
        return process, found.get(timeout=30), lines
    except queue.Empty:
        process.kill()
        pytest.fail("leadguide serve did not start:\n" + "\n".join(lines))


def test_browser_shows_a_save_by_itself_and_survives_bad_input(sample_guide, built_sample,
                                                                tmp_path):
    result, _ = built_sample
    process, url, log = start_serving(sample_guide, tmp_path / "out", result.output)
    chapter = sample_guide / "chapters" / "01-intro.md"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page()
            # Page breaks laid out in the background: page 6 begins with "Track it".
            page.goto(url + "03-food.html")
            inner = page.locator(".page-break-inner:not(.stale)")
            expect(inner).to_have_text("Page 6", timeout=30_000)
            # A locator, not one evaluate: the page may be swapped or reloaded meanwhile.
            before = page.locator("[id='03-food-track-it']").locator("xpath=preceding-sibling::*[1]")
            expect(before).to_have_text("Page 6")

            page.goto(url + "01-intro.html")
            sheet = page.locator("#sheet")
            expect(sheet).to_contain_text("Hello from the sample guide")
            page.wait_for_timeout(300)  # the event stream is open

            chapter.write_text(chapter.read_text().replace("Hello from", "Saved just now:"))
            expect(sheet).to_contain_text("Saved just now: the sample guide", timeout=5000)

            chapter.write_text(chapter.read_text().replace("title: Welcome", "title Welcome"))
            errors = page.locator(".preview-errors")
            expect(errors).to_contain_text("guide/chapters/01-intro.md:3", timeout=5000)
            expect(errors).to_contain_text("YAML: mapping values are not allowed here")
            expect(sheet).to_contain_text("Saved just now")  # the last good version stays
            browser.close()

        assert process.poll() is None, "\n".join(log)
        assert get(url, "/01-intro.html")[0] == 200
        assert get(url, "/_guide/images/mark.svg")[0] == 200
        for raw in ("/../guide/guide.yaml", "/_guide/../guide.yaml", "/%2e%2e/guide/guide.yaml",
                    "/../../../../etc/passwd", "//etc/passwd"):
            assert get(url, raw)[0] == 404, raw
        assert any("error: guide/chapters/01-intro.md:3" in line for line in log)
    finally:
        process.terminate()
        process.wait(timeout=10)


# ----- bad input and careless clients (issue 9) -----

def wait_until(condition, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def test_a_garbage_guide_yaml_is_shown_in_the_browser(server: PreviewServer, sample_guide: Path):
    (sample_guide / "guide.yaml").write_bytes(b"\xff\xfe\x00 not yaml \x9c")
    pages = ("/", "/01-intro.html", "/contents.html")
    assert wait_until(lambda: all(b"guide/guide.yaml" in get(server.url, p)[1] for p in pages))
    for page in pages:
        status, body, _ = get(server.url, page)
        assert status == 200 and b"guide/guide.yaml" in body, page
        assert b"preview-errors" in body


def test_a_client_that_hangs_up_early_prints_no_traceback(server: PreviewServer, capfd):
    where = urlsplit(server.url)
    for path in ("/pages/p005.png", "/02-training.html", "/_guide/images/mark.svg"):
        for _ in range(5):
            with socket.create_connection((where.hostname, where.port)) as raw:
                raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                raw.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    time.sleep(1.0)
    assert get(server.url, "/")[0] == 200
    captured = capfd.readouterr()
    assert "Traceback" not in captured.err + captured.out


def test_the_index_comes_back_after_the_preview_folder_is_deleted(server: PreviewServer):
    import shutil

    shutil.rmtree(server.preview.out)
    status, body, _ = get(server.url, "/")
    assert status == 200 and b"Training plan" in body
    assert get(server.url, "/styles/screen.css")[0] == 200


def test_only_styles_assets_inside_the_guide_are_copied_and_served(sample_guide: Path,
                                                                   tmp_path: Path):
    outside = tmp_path / "secret.css"
    outside.write_text("body { secret: 1 }")
    styles = sample_guide / "styles"
    styles.mkdir()
    (styles / "notes.md").write_text("private notes")
    (styles / "extra.css").write_text("p { color: red }")
    (styles / "leak.css").symlink_to(outside)
    (styles / "fonts").mkdir()
    (styles / "fonts" / "x.woff2").write_bytes(b"wOF2")
    preview = Preview(sample_guide, tmp_path / "out", tmp_path / "none.pdf")
    preview.build_all()
    copied = preview.out / "styles"
    assert (copied / "extra.css").is_file() and (copied / "fonts" / "x.woff2").is_file()
    assert not (copied / "notes.md").exists() and not (copied / "leak.css").exists()
    for raw in ("/styles/notes.md", "/styles/leak.css", "/_guide/styles/notes.md",
                "/_guide/styles/extra.css"):
        assert route(raw, preview.out, preview.root) is None, raw
    (styles / "extra.css").unlink()  # an override taken away goes from the copy too
    preview.build_all()
    assert not (copied / "extra.css").exists()


def test_preview_pages_are_readable_by_others(sample_guide: Path, tmp_path: Path):
    import os

    old = os.umask(0o022)
    try:
        Preview(sample_guide, tmp_path / "out", tmp_path / "none.pdf").build_all()
    finally:
        os.umask(old)
    for page in (tmp_path / "out").glob("*.html"):
        assert page.stat().st_mode & 0o777 == 0o644, page


def test_one_broken_shared_template_is_one_error_with_a_guide_relative_path(sample_guide: Path,
                                                                            tmp_path: Path):
    from leadguide.preview.plan import describe

    (sample_guide / "templates").mkdir()
    (sample_guide / "templates" / "chapter.html").write_text(
        "<section>\n{{ chapter.html | safe }}\n{% if %}\n</section>\n")
    preview = Preview(sample_guide, tmp_path / "out", tmp_path / "none.pdf")
    text = describe(preview.build_all(), preview.root)
    errors = [line for line in text.splitlines() if "error:" in line]
    assert errors == ["  error: guide/templates/chapter.html:3: template syntax: Expected an "
                      "expression, got 'end of statement block'"]
    page = (preview.out / "01-intro.html").read_text()
    assert "guide/templates/chapter.html:3" in page and str(tmp_path) not in page


def test_a_new_folder_event_brings_the_files_already_in_it(tmp_path: Path):
    import watchfiles

    from leadguide.preview.watch import changed_files

    folder = tmp_path / "styles"
    (folder / "fonts").mkdir(parents=True)
    (folder / "screen.css").write_text("x")
    (folder / "fonts" / "a.woff2").write_text("x")
    found = changed_files({(watchfiles.Change.added, str(folder))})
    assert found == {folder, folder / "screen.css", folder / "fonts" / "a.woff2"}


def test_serve_keeps_a_live_pdf_and_the_tabs_follow_it(sample_guide, tmp_path):
    out = tmp_path / "out"
    process, url, log = start_serving(sample_guide, out, None)
    try:
        live = out / "sample.pdf"
        assert wait_until(lambda: any("live PDF rebuilt: 6 pages" in l for l in log), 60), log
        assert live.read_bytes()[:5] == b"%PDF-"
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(url + "pdf.html")
            first = page.locator(".pdf-grid img").first.get_attribute("src")
            page.wait_for_timeout(300)
            chapter = sample_guide / "chapters" / "01-intro.md"
            time.sleep(1.1)  # the manifest's stamp is in whole seconds
            chapter.write_text(chapter.read_text().replace("Hello from", "Live from"))
            expect(page.locator(".pdf-grid img").first).not_to_have_attribute(
                "src", first, timeout=60_000)
            status = page.locator(".pdf-status")
            expect(status).not_to_contain_text("older than your edit")
            browser.close()
        assert sum("live PDF rebuilt" in line for line in log) == 2, log
        assert "Live from" in __import__("pypdf").PdfReader(live).pages[1].extract_text()
    finally:
        process.terminate()
        process.wait(timeout=10)


# ----- the live PDF follows the guide's files, not only their edits -----

def _implicit_chapters(guide: Path) -> None:
    """guide.yaml without a ``chapters:`` list: the chapters are chapters/*.md, sorted."""
    text = (guide / "guide.yaml").read_text()
    text = re.sub(r"chapters:\n(  - .*\n)+", "", text)
    (guide / "guide.yaml").write_text(text)


def _age(path: Path, seconds: float = 86_400) -> None:
    """Give ``path`` an old modification time, as a file copied or moved in keeps its own."""
    when = time.time() - seconds
    __import__("os").utime(path, (when, when))


def test_a_chapter_deleted_renamed_or_created_makes_the_pdf_stale(sample_guide, tmp_path):
    from leadguide.build import build, is_stale
    _implicit_chapters(sample_guide)
    pdf = tmp_path / "out" / "sample.pdf"
    chapters = sample_guide / "chapters"

    def created() -> None:
        new = chapters / "05-new.md"
        new.write_text("---\ntitle: New\n---\n\nA new chapter.\n")
        _age(new)  # older than the PDF: only the list of files says it is new

    for change in (lambda: (chapters / "03-food.md").rename(chapters / "04-food.md"),
                   lambda: (chapters / "04-food.md").unlink(), created):
        build(sample_guide, out=pdf, draft=True)
        assert not is_stale(pdf, sample_guide)
        change()
        assert is_stale(pdf, sample_guide), "the PDF does not follow the guide's files"


def test_serve_follows_chapters_deleted_renamed_and_created(sample_guide, tmp_path):
    _implicit_chapters(sample_guide)
    out = tmp_path / "out"
    chapters = sample_guide / "chapters"
    process, url, log = start_serving(sample_guide, out, None)
    rebuilt = lambda: sum("live PDF rebuilt" in line for line in log)  # noqa: E731
    try:
        assert wait_until(lambda: rebuilt() == 1, 90), log
        assert get(url, "/03-food.html")[0] == 200

        (chapters / "03-food.md").rename(chapters / "04-food.md")  # keeps its modification time
        assert wait_until(lambda: rebuilt() == 2, 90), log
        assert get(url, "/03-food.html")[0] == 404
        assert get(url, "/04-food.html")[0] == 200
        index = get(url, "/")[1].decode()
        assert "04-food.html" in index and "03-food.html" not in index
        assert "file missing" not in index

        (chapters / "02-training.md").unlink()
        assert wait_until(lambda: rebuilt() == 3, 90), log
        assert get(url, "/02-training.html")[0] == 404
        assert "02-training.html" not in get(url, "/")[1].decode()

        new = chapters / "05-extra.md"
        new.write_text("---\ntitle: An Extra Chapter\n---\n\nWritten elsewhere, moved in.\n")
        _age(new)  # older than the live PDF: only the list of files says it is new
        assert wait_until(lambda: rebuilt() == 4, 90), log
        assert "An Extra Chapter" in get(url, "/")[1].decode()
        text = "".join(page.extract_text() for page in
                       __import__("pypdf").PdfReader(out / "sample.pdf").pages)
        assert "Written elsewhere, moved in." in text
        assert "older than" not in get(url, "/")[1].decode()
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_serve_turns_a_chapter_red_while_its_page_is_under_min_fill(sample_guide, tmp_path):
    """The live PDF's short page turns its chapter red; the text that fills it clears it."""
    config = sample_guide / "guide.yaml"
    config.write_text(config.read_text().replace("min_fill: 0.2", "min_fill: 0.35"))
    out = tmp_path / "out"
    process, url, log = start_serving(sample_guide, out, None)
    rebuilt = lambda: sum("live PDF rebuilt" in line for line in log)  # noqa: E731
    try:
        assert wait_until(lambda: rebuilt() == 1, 90), log
        index = html.unescape(get(url, "/")[1].decode())
        assert "1 page under min_fill" in index and "bar-total-alarm" in index
        intro = html.unescape(get(url, "/01-intro.html")[1].decode())
        assert re.search(r"<strong>Page 2</strong> only \d+% full \(guide.yaml's fit.min_fill "
                         r"is 35%\).*add about \d+% of a page", intro)

        chapter = sample_guide / "chapters" / "01-intro.md"
        time.sleep(1.1)  # the manifest's stamp is in whole seconds
        chapter.write_text(chapter.read_text().replace("Hello from", " ".join(
            ["A line of text that fills the page a little more."] * 12) + "\n\nHello from"))
        assert wait_until(lambda: rebuilt() == 2, 90), log
        assert wait_until(lambda: "under min_fill" not in get(url, "/")[1].decode(), 10)
        assert "fill-alarms" not in get(url, "/01-intro.html")[1].decode()
    finally:
        process.terminate()
        process.wait(timeout=10)
