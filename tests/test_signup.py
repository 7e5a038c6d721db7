"""leadguide signup serve as a real process: a browser fills the form, aiosmtpd gets the guide."""
from __future__ import annotations

import csv
import http.server
import io
import re
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright
from signup_support import (SECRET, Mailbox, Process, free_port, make_guide, request, service_env,
                            signup, start_smtp, token)

from leadguide.cli import main

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@dataclass
class Live:
    url: str
    box: Mailbox
    base: Path
    guide: Path
    smtp_port: int
    site_port: int
    pdf: bytes

    def db(self) -> sqlite3.Connection:
        return sqlite3.connect(self.base / "guide" / "build" / "sample.signup.sqlite")

    def subscribed(self, address: str) -> bool:
        with self.db() as db:
            return db.execute("SELECT 1 FROM subscribers WHERE address_id IN (SELECT address_id "
                              "FROM subscribers WHERE lower(address) = ?)",
                              (address,)).fetchone() is not None


@pytest.fixture(scope="module")
def live(tmp_path_factory, built_sample):
    base = tmp_path_factory.mktemp("signup")
    controller, box, smtp_port = start_smtp()
    port, site_port = free_port(), free_port()
    guide = make_guide(base, built_sample[0].output, port,
                       f'  allowed_origins: ["http://127.0.0.1:{site_port}"]\n'
                       "  rate_limits:\n    per_ip: 500/minute\n    per_address: 3/day\n")
    process = Process(["serve", str(guide), "--port", str(port)], base,
                      service_env(smtp_port), base / "serve.log")
    url = f"http://127.0.0.1:{port}"
    try:
        process.wait_http(url)
        yield Live(url, box, base, guide, smtp_port, site_port,
                   built_sample[0].output.read_bytes())
    finally:
        process.stop()
        controller.stop()


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def pdf_of(message) -> bytes:
    parts = [p for p in message.iter_attachments() if p.get_content_type() == "application/pdf"]
    assert len(parts) == 1
    return parts[0].get_content()


def unsubscribe_url(message) -> str:
    return re.search(r"<(http[^>]+)>", message["List-Unsubscribe"])[1]


def text_of(message) -> str:
    return message.get_body(("plain",)).get_content()


# ----- the hosted form, in a browser -----

def test_hosted_form_in_a_browser_delivers_the_pdf_byte_for_byte(live, browser):
    page = browser.new_page()
    page.goto(live.url + "/")
    assert "instant access" in page.inner_text("main")
    assert "Unsubscribe at any time" in page.inner_text(".privacy")
    page.fill("#first_name", "Jane")
    page.fill("#email", "jane@example.com")
    page.check("input[name=consent]")
    page.wait_for_timeout(400)  # a person takes longer than the minimum fill time
    page.click("button[type=submit]")
    assert page.inner_text("h1") == "Check your inbox", page.content()
    page.close()

    live.box.wait_for(1)
    (message,) = live.box.to("jane@example.com")
    assert pdf_of(message).startswith(live.pdf)  # the base, and their copy stamped after it
    assert str(message["To"]) == "Jane <jane@example.com>"
    link = unsubscribe_url(message)
    assert link.startswith(live.url + "/unsubscribe/") and "jane" not in link.lower()
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert live.url + "/download/" in text_of(message)
    assert "Hi Jane" in text_of(message)


def test_a_second_signup_answers_the_same_and_sends_nothing(live):
    arrived = len(live.box.messages)  # the email may come before the answer
    first = signup(live.url, "sam@example.com", "Sam")
    live.box.wait_for(arrived + 1)
    again = signup(live.url, "Sam@Example.com", "Samuel")  # within resend_after_seconds
    assert first == again == (200, {"ok": True, "heading": "Check your inbox",
                                    "text": "The guide is on its way to your inbox."})
    time.sleep(1.5)  # room for a wrong second email to arrive
    assert len(live.box.to("sam@example.com")) == 1
    with live.db() as db:
        events = [row[0] for row in db.execute(
            "SELECT event FROM consents JOIN subscribers s ON s.id = subscriber_id "
            "WHERE s.address = 'sam@example.com' ORDER BY consents.id")]
    assert events == ["signup", "repeat"]


def test_one_click_unsubscribe_is_honoured_by_email_send(live, monkeypatch, capsys):
    arrived = len(live.box.messages)  # the email may come before the answer
    signup(live.url, "una@example.com", "Una")
    live.box.wait_for(arrived + 1)
    link = unsubscribe_url(live.box.to("una@example.com")[0])
    status, body, _ = request(link, b"List-Unsubscribe=One-Click",
                              {"Content-Type": "application/x-www-form-urlencoded"})
    assert (status, body) == (200, b"Unsubscribed.\n")
    status, page, _ = request(link)
    assert status == 200 and b"<button" in page
    status, _, _ = request(link[:-3] + "xyz", b"List-Unsubscribe=One-Click")
    assert status == 400

    people = live.base / "list.csv"
    people.write_text("email,name\nuna@example.com,Una\nolga@example.com,Olga\n")
    for key, value in service_env(live.smtp_port).items():
        if key.startswith("LEADGUIDE_"):
            monkeypatch.setenv(key, value)
    monkeypatch.chdir(live.base)
    before = len(live.box.messages)
    assert main(["email", "send", str(live.guide), "--list", str(people)]) == 0
    out = capsys.readouterr().out
    assert "suppression list" in out and "Sent 1, skipped 1" in out
    live.box.wait_for(before + 1)
    assert len(live.box.to("una@example.com")) == 1  # only the welcome, before unsubscribing
    (olga,) = live.box.to("olga@example.com")
    assert unsubscribe_url(olga).startswith(live.url + "/unsubscribe/")  # signed, like the service's


def test_scripts_bots_and_bursts_are_refused(live):
    form = {"email": "bot@example.com", "consent": "yes"}
    json_accept = {"Accept": "application/json"}
    assert request(live.url + "/subscribe", form, json_accept)[0] == 400  # no render token
    fresh = token(live.url)
    assert request(live.url + "/subscribe", {**form, "t": fresh}, json_accept)[0] == 400  # too fast
    time.sleep(0.4)
    trap = {**form, "t": fresh, "website": "http://spam.example"}
    assert request(live.url + "/subscribe", trap, json_accept)[0] == 400
    assert request(live.url + "/subscribe",
                   {"email": "x@example.com", "website": "", "t": fresh},
                   json_accept)[0] == 422  # the consent box was not ticked
    status, page, _ = request(live.url + "/subscribe", {**form, "website": ""})  # no token
    assert status == 400 and b"One more step" in page and b'value="bot@example.com"' in page
    assert not live.subscribed("bot@example.com")

    statuses = [signup(live.url, "victim@example.com", wait=0.3)[0] for _ in range(4)]
    assert statuses == [200, 200, 200, 429]  # subscription bombing: per-address limit
    time.sleep(1)
    assert live.box.to("bot@example.com") == [] and len(live.box.to("victim@example.com")) == 1


def test_origins_cors_and_the_body_cap(live):
    site = f"http://127.0.0.1:{live.site_port}"
    preflight = {"Origin": site, "Access-Control-Request-Method": "POST"}
    _, _, headers = request(live.url + "/subscribe", headers=preflight, method="OPTIONS")
    assert headers.get("access-control-allow-origin") == site
    evil = {"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    _, _, headers = request(live.url + "/subscribe", headers=evil, method="OPTIONS")
    assert "access-control-allow-origin" not in {k.lower() for k in headers}
    status, _, _ = request(live.url + "/subscribe", {"email": "e@example.com"},
                           {"Origin": "https://evil.example"})
    assert status == 403
    status, _, _ = request(live.url + "/subscribe", {"email": "e@example.com", "x": "a" * 20000})
    assert status == 413
    _, _, headers = request(live.url + "/")
    assert "frame-ancestors 'none'" in headers["content-security-policy"]


def test_download_links_lead_to_the_pdf_and_are_counted(live, capsys, monkeypatch):
    arrived = len(live.box.messages)  # the email may come before the answer
    signup(live.url, "dora@example.com", "Dora")
    live.box.wait_for(arrived + 1)
    (message,) = live.box.to("dora@example.com")
    link = re.search(r"(http://\S+/download/\S+)", text_of(message))[1]
    status, page, _ = request(link)
    assert status == 200 and b"/pdf" in page
    status, data, headers = request(link + "/pdf")
    assert status == 200 and "attachment" in headers["content-disposition"]
    # Dora's own copy (her name on the cover), the very bytes her welcome email attached
    assert data == pdf_of(message) and data.startswith(live.pdf) and len(data) > len(live.pdf)
    assert request(link.replace("/download/", "/download/x"))[0] == 400
    monkeypatch.chdir(live.base)
    assert main(["signup", "stats", str(live.guide)]) == 0
    lines = capsys.readouterr().out.splitlines()
    header, total = lines[0].split(), next(l for l in lines if l.startswith("total")).split()
    counts = dict(zip(header[1:], map(int, total[1:])))
    assert counts["downloads"] == 1 and counts["delivered"] >= 1
    assert counts["signups"] >= counts["delivered"]


class _Site(http.server.BaseHTTPRequestHandler):
    page = b""

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.end_headers()
        self.wfile.write(self.page)

    def log_message(self, *args):
        pass


def test_the_embedded_snippet_works_with_and_without_javascript(live, browser, capsys):
    assert main(["signup", "embed", str(live.guide)]) == 0
    snippet = capsys.readouterr().out
    assert "<form" in snippet and "<script>" in snippet
    _Site.page = f"<!DOCTYPE html><html><body><h1>My blog</h1>{snippet}</body></html>".encode()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", live.site_port), _Site)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with_js = browser.new_page()
        with_js.goto(f"http://127.0.0.1:{live.site_port}/")
        with_js.wait_for_function("document.querySelector('input[name=t]').value !== ''")
        _fill_snippet(with_js, "js@example.com")
        with_js.wait_for_selector(".leadguide-signup .lg-done")  # the thanks, in place
        assert "Check your inbox" in with_js.inner_text(".leadguide-signup")

        context = browser.new_context(java_script_enabled=False)
        no_js = context.new_page()
        no_js.goto(f"http://127.0.0.1:{live.site_port}/")
        _fill_snippet(no_js, "nojs@example.com")
        assert "One more step" in no_js.inner_text("main")  # our page, filled in, with a token
        no_js.wait_for_timeout(400)
        no_js.click("button[type=submit]")
        assert no_js.inner_text("h1") == "Check your inbox"
        context.close()
    finally:
        server.shutdown()
    live.box.wait_for(len(live.box.messages))
    deadline = time.monotonic() + 10
    while not (live.box.to("js@example.com") and live.box.to("nojs@example.com")):
        assert time.monotonic() < deadline, "the embedded signups got no email"
        time.sleep(0.1)


def _fill_snippet(page, address: str) -> None:
    page.fill("input[name=email]", address)
    page.check("input[name=consent]")
    page.wait_for_timeout(400)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def test_export_is_the_consent_ledger_and_disarms_formulas(live, tmp_path, monkeypatch):
    render = token(live.url)
    time.sleep(0.35)
    request(live.url + "/subscribe", {"email": "eve@example.com", "first_name": "=HYPERLINK(1)",
                                      "consent": "yes", "website": "", "t": render},
            {"User-Agent": "+cmd|' /C calc'!A0", "Referer": "https://blog.example/guide"})
    out = tmp_path / "export.csv"
    monkeypatch.chdir(live.base)
    assert main(["signup", "export", str(live.guide), "--out", str(out)]) == 0
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    (eve,) = [row for row in rows if row["email"] == "eve@example.com"]
    assert eve["first_name"] == "'=HYPERLINK(1)" and eve["user_agent"].startswith("'+cmd")
    assert eve["page"] == "https://blog.example/guide" and eve["consent_box"] == "1"
    assert "Yes, email me the guide." in eve["shown"] and eve["ip"] == "127.0.0.1"
    assert SECRET not in out.read_text()


# ----- double opt-in -----

@pytest.fixture(scope="module")
def opt_in(tmp_path_factory, built_sample):
    base = tmp_path_factory.mktemp("signup-opt-in")
    controller, box, smtp_port = start_smtp()
    port = free_port()
    guide = make_guide(base, built_sample[0].output, port, "  double_opt_in: true\n")
    process = Process(["serve", str(guide), "--port", str(port)], base,
                      service_env(smtp_port), base / "serve.log")
    url = f"http://127.0.0.1:{port}"
    try:
        process.wait_http(url)
        yield url, box, built_sample[0].output.read_bytes()
    finally:
        process.stop()
        controller.stop()


def test_double_opt_in_confirms_once_then_sends_the_guide(opt_in):
    url, box, pdf = opt_in
    assert signup(url, "olive@example.com", "Olive")[0] == 200
    box.wait_for(1)
    (confirm,) = box.messages
    assert list(confirm.iter_attachments()) == []
    link = re.search(r"(http://\S+/confirm/\S+)", text_of(confirm))[1]
    status, page, _ = request(link)  # a mail scanner opening the link confirms nothing
    assert status == 200 and b"<button" in page
    time.sleep(0.8)
    assert len(box.messages) == 1

    status, page, _ = request(link, b"")
    assert status == 200 and b"is confirmed" in page
    box.wait_for(2)
    assert pdf_of(box.messages[1]).startswith(pdf)  # a personal copy: the base, then the stamp
    status, page, _ = request(link, b"")
    assert status == 200 and b"already confirmed" in page
    assert request(link[:-4] + "AAAA", b"")[0] == 400
    time.sleep(0.8)
    assert len(box.messages) == 2
