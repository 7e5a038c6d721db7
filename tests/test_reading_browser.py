"""The reading funnel end to end: sign up in Chromium, open two chapters of the guide's real
web edition through ``/read/TOKEN/`` (the service adds its first-party ``_seen.js`` to the
pages it serves), follow the CTA link from the personal copy in the welcome email, and see
each counted once in
``leadguide signup stats``. Every request stays on 127.0.0.1 (the service's redirect to the
CTA's target is checked, not followed)."""
from __future__ import annotations

import io
import re
import shutil
import time

import pikepdf
from playwright.sync_api import sync_playwright
from signup_support import Process, free_port, make_guide, service_env, start_smtp
from test_signup import CHROMIUM, CHROMIUM_ARGS, pdf_of, text_of

from leadguide.build import manifest_path, read_sources
from leadguide.cli import main
from leadguide.guide.config import load_config
from leadguide.web.edition import write_web_edition

CTA = "https://example.com/book?utm_source=guide"


def test_a_signup_two_chapters_and_the_cta_are_each_counted_once(tmp_path, built_sample,
                                                                  capsys, monkeypatch):
    controller, box, smtp_port = start_smtp()
    port = free_port()
    guide = make_guide(tmp_path, built_sample[0].output, port)
    shutil.copy(manifest_path(built_sample[0].output), guide / "build" / "sample.build.json")
    config = load_config(guide)
    edition = write_web_edition(config, *read_sources(config), guide / "build" / "sample.pdf")
    first, second = [page[:-5] for page in edition.pages[1:3]]  # after index.html
    process = Process(["serve", str(guide), "--port", str(port)], tmp_path,
                      service_env(smtp_port), tmp_path / "serve.log")
    url = f"http://127.0.0.1:{port}"
    outside: list[str] = []
    try:
        process.wait_http(url)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page()
            page.on("request", lambda r: r.url.startswith(url) or outside.append(r.url))
            page.goto(url + "/")
            page.fill("#first_name", "Dora")
            page.fill("#email", "dora@example.com")
            page.check("input[name=consent]")
            page.wait_for_timeout(400)
            page.click("button[type=submit]")
            box.wait_for(1)
            message = box.to("dora@example.com")[0]
            token = re.search(r"/download/(\S+)", text_of(message))[1]
            go = _go_links(pdf_of(message))
            assert go and all(link.startswith(url + "/go/") for link in go)

            redirects: list[tuple[int, str]] = []

            def follow(route) -> None:  # the service answers; its redirect is not followed out
                answer = route.fetch(max_redirects=0)
                redirects.append((answer.status, answer.headers.get("location")))
                route.fulfill(content_type="text/html", body="booked")
            page.route(re.compile("^" + re.escape(url + "/go/")), follow)
            for chapter in (first, second, first):  # one chapter twice: counted once a day
                with page.expect_request(lambda r: "_seen?" in r.url and "event=end" in r.url):
                    page.goto(f"{url}/read/{token}/{edition.folder.name}/{chapter}.html")
                    page.mouse.wheel(0, 100_000)  # read to the end
            for _ in range(2):
                page.goto(go[0])
            assert redirects == [(303, CTA)] * 2
            browser.close()
        monkeypatch.chdir(tmp_path)
        _settle(guide)
        assert main(["signup", "stats", str(guide)]) == 0
        out = capsys.readouterr().out
        steps = dict(re.findall(r"^  ((?:signed up|delivered|opened|read \S+|clicked the CTA))"
                                r"\s+(\d+)", out, re.M))
        assert steps == {"signed up": "1", "delivered": "1", "opened": "1",
                         f"read {first}": "1", f"read {second}": "1", "clicked the CTA": "1"}, out
        assert re.search(rf"^\s+\S+\s+open\s+{first}\s+1$", out, re.M), out
        assert outside == []
    finally:
        process.stop()
        controller.stop()


def _go_links(pdf: bytes) -> list[str]:
    with pikepdf.open(io.BytesIO(pdf)) as document:
        return [str(a.A.URI) for p in document.pages for a in p.obj.get("/Annots", [])
                if "/A" in a and "/URI" in a.A and "/go/" in str(a.A.URI)]


def _settle(guide, seconds: float = 0.5) -> None:
    """A beacon's count is written after the browser moved on: give it a moment."""
    time.sleep(seconds)
