"""The follow-up sequence: three Markdown emails sent by the real service (a worker process,
aiosmtpd) in order, once each, stopped by one-click unsubscribe; its settings checked with
path:line; each step previewed as a .eml."""
from __future__ import annotations

import base64
import csv
import email
import hashlib
import hmac
import http.server
import json
import os
import re
import signal
import sqlite3
import subprocess
import threading
import time
from collections import Counter
from datetime import datetime, timezone
from email.policy import default
from pathlib import Path

import pytest
from signup_support import (SECRET, Process, free_port, make_guide, request, service_env,
                            signup_many, start_smtp)
from starlette.testclient import TestClient

from leadguide.cli import main
from leadguide.errors import GuideError
from leadguide.guide.config import load_config
from leadguide.signup.app import create_app
from leadguide.signup.ledger import SENT, Ledger
from leadguide.signup.sequence import load_sequence, parse_delay
from leadguide.signup.service import open_service
from leadguide.signup.settings import load_signup_settings
from leadguide.signup.store import UNSUBSCRIBED, WELCOME, Payload, Store, Visit, now_iso
from leadguide.signup.subscribers import add_tag, count_view, flush_views, views_per_day
from leadguide.signup.tokens import address_id
from leadguide.signup.webhooks import EVENTS, SECRET_ENV, Webhooks, load_webhooks

SEQUENCE = """\
  sequence:
    - {email: emails/02-day2.md, delay: 1s}
    - {email: emails/03-day4.md, delay: 4s}
    - {email: emails/04-day7.md, delay: 1s}
"""


def _emails(guide) -> None:
    (guide / "emails").mkdir()
    for stem, subject in (("02-day2", "Day 2: the first week"), ("03-day4", "Day 4: form"),
                          ("04-day7", "Day 7: what next")):
        (guide / "emails" / f"{stem}.md").write_text(
            f"---\nsubject: \"{subject}\"\n---\n# {subject}\n\nSome **useful** advice "
            f"<script>x</script> for {stem}. [Read more](https://example.com/{stem}) or "
            "[not this](javascript:alert(1)).\n")


@pytest.fixture
def smtp():
    controller, box, port = start_smtp()
    yield box, port
    controller.stop()


def _subjects(box, address: str) -> list[str]:
    return [str(m["Subject"]) for m in box.to(address)]


def _state(base, address: str, kind: str) -> str | None:
    with sqlite3.connect(base / "guide" / "build" / "sample.signup.sqlite") as db:
        row = db.execute("SELECT state FROM deliveries WHERE address = ? AND kind = ?",
                         (address, kind)).fetchone()
    return row[0] if row else None


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[1] == str(pid) and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found


def _wait(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def test_three_follow_ups_arrive_in_order_once_each_and_stop_after_unsubscribe(
        tmp_path, built_sample, smtp):
    box, smtp_port = smtp
    port = free_port()
    guide = make_guide(tmp_path, built_sample[0].output, port, SEQUENCE)
    _emails(guide)
    env = service_env(smtp_port, LEADGUIDE_SWEEP_SECONDS="0.3")
    web = Process(["serve", str(guide), "--port", str(port)], tmp_path, env,
                  tmp_path / "serve.log")
    url = f"http://127.0.0.1:{port}"
    try:
        web.wait_http(url)
        assert signup_many(url, ["stay@example.com", "leave@example.com"]) == [200, 200]
        # leave@ unsubscribes (one click, from the first follow-up's header) before step 2.
        _wait(lambda: len(box.to("leave@example.com")) >= 2, 30, (tmp_path / "serve.log")
              .read_text())
        first = box.to("leave@example.com")[1]
        assert first["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        link = re.search(r"<(http[^>]+)>", first["List-Unsubscribe"]).group(1)
        status, _, _ = request(link, {"List-Unsubscribe": "One-Click"})
        assert status == 200
        # The worker dies between two steps (serve starts another): the next step's time is
        # in the ledger, not in the dead process.
        _wait(lambda: _state(tmp_path, "stay@example.com", "step:02-day2") == "sent", 30,
              "stay@'s first follow-up recorded")
        (worker,) = _children(web.proc.pid)
        os.kill(worker, signal.SIGKILL)
        _wait(lambda: len(box.to("stay@example.com")) >= 4, 40, "stay@ got all four")
        assert worker not in _children(web.proc.pid)
        time.sleep(3)  # long enough for anything more to arrive
    finally:
        web.stop()
    welcome = "Your free guide"
    assert _subjects(box, "stay@example.com") == [
        welcome, "Day 2: the first week", "Day 4: form", "Day 7: what next"]
    assert _subjects(box, "leave@example.com") == [welcome, "Day 2: the first week"]
    message = box.to("stay@example.com")[1]
    assert message["List-Unsubscribe"] and message["List-Unsubscribe-Post"]
    html = message.get_body(("html",)).get_content()
    assert "<strong>useful</strong>" in html and "<script>" not in html
    assert 'href="https://example.com/02-day2"' in html and "javascript:" not in html
    assert "1 Test Street" in message.get_body(("plain",)).get_content()
    with sqlite3.connect(tmp_path / "guide" / "build" / "sample.signup.sqlite") as db:
        rows = db.execute("SELECT kind, state FROM deliveries WHERE address = "
                          "'leave@example.com' ORDER BY kind").fetchall()
    # One ledger row per (person, step); none for the steps after the unsubscribe.
    assert rows == [("step:02-day2", "sent"), ("welcome", "sent")]


def test_sequence_settings_are_checked_with_path_and_line(tmp_path, built_sample):
    guide = make_guide(tmp_path, built_sample[0].output, free_port(),
                       "  sequence:\n    - {email: emails/none.md, delay: 2d}\n"
                       "    - {email: emails/02-day2.md, delay: soon}\n")
    _emails(guide)
    with pytest.raises(GuideError) as raised:
        load_sequence(load_config(guide))
    text = str(raised.value)
    lines = guide.joinpath("guide.yaml").read_text().splitlines()
    bad = next(i for i, line in enumerate(lines, 1) if "soon" in line)
    assert f"guide.yaml:{bad}: 'signup.sequence item 2.delay'" in text
    assert "none.md" in text
    (guide / "emails" / "02-day2.md").write_text("no front matter\n")
    guide.joinpath("guide.yaml").write_text(guide.joinpath("guide.yaml").read_text()
                                            .replace("none.md", "03-day4.md")
                                            .replace("soon", "1h"))
    with pytest.raises(GuideError) as raised:
        load_sequence(load_config(guide))
    assert "02-day2.md:1:" in str(raised.value) and "subject" in str(raised.value)
    assert [parse_delay(x) for x in ("2d", "90", "1.5h", "soon", "-1")] == [
        172800, 90, 5400, None, None]


def test_email_build_step_writes_the_follow_up_as_eml(tmp_path, built_sample):
    guide = make_guide(tmp_path, built_sample[0].output, free_port(), SEQUENCE)
    _emails(guide)
    assert main(["email", "build", str(guide), "--to", "jo@example.com", "--name", "Jo",
                 "--step", "3"]) == 0
    message = email.message_from_bytes((guide / "build" / "step-3.eml").read_bytes(),
                                       policy=default)
    assert message["Subject"] == "Day 7: what next"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "/unsubscribe/" in message["List-Unsubscribe"]
    assert "Hi Jo," in message.get_body(("plain",)).get_content()
    assert main(["email", "build", str(guide), "--to", "jo@example.com", "--step", "4"]) == 1


# ----- outbound webhooks -----

WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"k" * 32).decode()


class Receiver:
    """A CRM's endpoint on 127.0.0.1: answers 500 to the first request, then 200; keeps
    every request with whether its signature verified (checked here, by hand)."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["content-length"]))
                hid, stamp = self.headers["webhook-id"], self.headers["webhook-timestamp"]
                key = base64.b64decode(WEBHOOK_SECRET.removeprefix("whsec_"))
                mac = hmac.new(key, f"{hid}.{stamp}.".encode() + body, hashlib.sha256)
                expected = "v1," + base64.b64encode(mac.digest()).decode()
                outer.requests.append({"id": hid, "body": json.loads(body),
                                       "valid": hmac.compare_digest(
                                           expected, self.headers["webhook-signature"]),
                                       "fresh": abs(time.time() - int(stamp)) < 60})
                self.send_response(500 if len(outer.requests) == 1 else 200)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()


def test_standard_webhooks_signature_matches_the_published_test_vector():
    # From the Standard Webhooks specification's reference tests.
    signer = Webhooks((), "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").signer()
    signed = signer.sign("msg_p5jXN8AQM9LWM0D4loKWxJek",
                         datetime.fromtimestamp(1614265330, timezone.utc),
                         b'{"test": 2432232314}')
    assert signed == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_webhooks_are_signed_retried_after_a_500_and_sent_once_per_event(
        tmp_path, built_sample, smtp):
    box, smtp_port = smtp
    receiver = Receiver()
    port = free_port()
    guide = make_guide(tmp_path, built_sample[0].output, port,
                       f"  webhooks:\n    - url: {receiver.url}\n")
    env = service_env(smtp_port, LEADGUIDE_SWEEP_SECONDS="0.3",
                      LEADGUIDE_WEBHOOK_SECRET=WEBHOOK_SECRET,
                      LEADGUIDE_WEBHOOK_RETRY_SECONDS="0.5")
    web = Process(["serve", str(guide), "--port", str(port)], tmp_path, env,
                  tmp_path / "serve.log")
    url, database = f"http://127.0.0.1:{port}", tmp_path / "guide" / "build" / "sample.signup.sqlite"
    try:
        web.wait_http(url)
        _wait(lambda: _cursor(database), 20, "the worker starts collecting events")
        render = json.loads(request(url + "/token")[1])["token"]
        time.sleep(0.35)
        status, _, _ = request(url + "/subscribe", {
            "email": "crm@example.com", "first_name": "Cy", "consent": "yes", "website": "",
            "t": render, "tag": "Spring-Promo"}, {"Accept": "application/json"})
        assert status == 200
        box.wait_for(1)
        link = re.search(r"<(http[^>]+)>", box.messages[0]["List-Unsubscribe"]).group(1)
        assert request(link, {"List-Unsubscribe": "One-Click"})[0] == 200
        wanted = {"subscriber.subscribed", "subscriber.delivered", "subscriber.unsubscribed"}
        _wait(lambda: {r["body"]["type"] for r in receiver.requests[1:]} >= wanted, 30,
              (tmp_path / "serve.log").read_text())
        time.sleep(1.5)  # no second delivery of any event
    finally:
        web.stop()
        receiver.stop()
    assert "whsec_" not in (tmp_path / "serve.log").read_text()
    stats = subprocess.run([*Process.command, "stats", str(guide)], cwd=tmp_path, env=env,
                           capture_output=True, text=True, timeout=60)
    assert "webhooks: 0 waiting, 3 sent, 0 given up" in stats.stdout
    assert "last failure" not in stats.stdout and "whsec_" not in stats.stdout + stats.stderr
    assert all(r["valid"] and r["fresh"] for r in receiver.requests)
    ids = [r["id"] for r in receiver.requests]
    # The one answered 500 came again, with the same webhook-id; every other event once.
    assert Counter(ids) == {ids[0]: 2, **{i: 1 for i in ids if i != ids[0]}}
    assert len(set(ids)) == 3
    by_type = {r["body"]["type"]: r["body"]["data"] for r in receiver.requests}
    assert by_type["subscriber.subscribed"] == {"email": "crm@example.com", "first_name": "Cy",
                                                "guide": "sample", "tags": ["spring-promo"]}


def _cursor(database) -> bool:
    try:
        with sqlite3.connect(database) as db:
            return db.execute("SELECT 1 FROM service_state WHERE name = 'webhooks_cursor'"
                              ).fetchone() is not None
    except sqlite3.Error:
        return False


# ----- the owner's view: one row per person, the funnel, the HTML report -----

def _people(guide):
    """5 people, 9 consent events (4 signed up twice): 3 delivered, 1 unsubscribed, tags,
    7 form views, a download."""
    config = load_config(guide)
    store = Store(load_signup_settings(config).database)
    ledger = Ledger(store)
    visit = Visit("192.0.2.1", "test", "https://example.com/", "the words shown", True)
    people = ["p1@example.com", "p2@example.com", "p3@example.com", "p4@example.com",
              "p5@example.com"]
    for address in people:
        store.signup("sample", address, "=HYPERLINK(\"x\")" if address == "p1@example.com"
                     else "Pat", visit, double_opt_in=False)
    for address in people[:4]:
        store.signup("sample", address, "Pat", visit, double_opt_in=False)
    for address in people[:3]:
        ledger.finish(Payload("sample", WELCOME, address, "Pat"), SENT)
    store.suppress(address_id("p2@example.com"), "", UNSUBSCRIBED, "page")
    assert add_tag(store, "sample", "p1@example.com", "Spring-Promo")
    assert add_tag(store, "sample", "p1@example.com", "webinar")
    assert not add_tag(store, "sample", "p3@example.com", "<b>bad tag</b>")
    for _ in range(7):
        count_view(store, "sample")  # the first written at once, the burst after it buffered
    assert views_per_day(store, "sample") == {now_iso()[:10]: 1}
    flush_views(store, "sample")
    store.record_download("sample", address_id("p1@example.com"))
    return store


def test_export_subscribers_is_one_row_per_person(tmp_path, built_sample):
    guide = make_guide(tmp_path, built_sample[0].output, free_port())
    store = _people(guide)
    assert len(list(store.ledger_rows("sample"))) == 9
    out = tmp_path / "people.csv"
    assert main(["signup", "export", str(guide), "--subscribers", "--out", str(out)]) == 0
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [row["email"] for row in rows] == [f"p{i}@example.com" for i in range(1, 6)]
    by = {row["email"]: row for row in rows}
    assert by["p1@example.com"]["status"] == "delivered"
    assert by["p1@example.com"]["tags"] == "spring-promo webinar"
    assert by["p1@example.com"]["first_name"].startswith("'=")  # never run as a formula
    assert by["p2@example.com"]["status"] == "unsubscribed"
    assert by["p4@example.com"]["status"] == "confirmed"
    assert by["p3@example.com"]["tags"] == "" and by["p3@example.com"]["delivered_at"]
    assert {row["marketing_consent"] for row in rows} == {"yes"}


def test_stats_funnel_and_the_html_report(tmp_path, built_sample, capsys):
    guide = make_guide(tmp_path, built_sample[0].output, free_port())
    _people(guide)
    assert main(["signup", "stats", str(guide)]) == 0
    lines = capsys.readouterr().out.splitlines()
    header, total = lines[0].split(), next(l for l in lines if l.startswith("total")).split()
    assert header[1:] == ["views", "signups", "confirmed", "delivered", "downloads",
                          "unsubscribes"]
    assert dict(zip(header[1:], map(int, total[1:]))) == {
        "views": 7, "signups": 5, "confirmed": 5, "delivered": 3, "downloads": 1,
        "unsubscribes": 1}
    report = tmp_path / "report.html"
    assert main(["signup", "report", str(guide), "--html", str(report)]) == 0
    page = report.read_text()
    assert "Form views" in page and "60% of the step before" in page  # 3 of 5 delivered
    assert not re.search(r"(src|href)=|<script|@import|url\(", page)  # nothing fetched


def test_dev_service_shows_each_follow_up(tmp_path, built_sample):
    guide = make_guide(tmp_path, built_sample[0].output, free_port(), SEQUENCE)
    _emails(guide)
    service = open_service(guide, dev=True, env={"LEADGUIDE_SECRET": SECRET})
    try:
        with TestClient(create_app(service), base_url="http://127.0.0.1") as client:
            index = client.get("/dev/emails").text
            assert "Step 2: Day 4: form" in index and "4s after" in index
            step = client.get("/dev/emails/2")
            assert step.status_code == 200 and "<strong>useful</strong>" in step.text
            assert client.get("/dev/emails/9").status_code == 404
            assert client.get("/").status_code == 200  # the form: a view counted, no cookie
            assert views_per_day(service.store, "sample") == {now_iso()[:10]: 1}
    finally:
        service.close()
    service = open_service(guide, env={"LEADGUIDE_SECRET": SECRET})  # not without --dev
    try:
        with TestClient(create_app(service), base_url="http://127.0.0.1") as client:
            assert client.get("/dev/emails").status_code == 404
    finally:
        service.close()


def test_webhook_settings_and_secret_are_checked(tmp_path, built_sample):
    guide = make_guide(tmp_path, built_sample[0].output, free_port(),
                       "  webhooks:\n    - url: http://crm.example.com/hooks\n"
                       "    - {url: \"https://crm.example.com/h\", events: [signed]}\n")
    config = load_config(guide)
    with pytest.raises(GuideError) as raised:
        load_webhooks(config, {SECRET_ENV: WEBHOOK_SECRET})
    text = str(raised.value)
    assert "guide.yaml:" in text and "must be an https:// address" in text
    assert "unknown event 'signed'" in text
    guide.joinpath("guide.yaml").write_text(guide.joinpath("guide.yaml").read_text()
                                            .replace("http://crm", "https://crm")
                                            .replace("[signed]", "[bounced]"))
    config = load_config(guide)
    with pytest.raises(GuideError) as raised:
        load_webhooks(config, {SECRET_ENV: "not-a-secret"})
    assert "not-a-secret" not in str(raised.value)
    hooks = load_webhooks(config, {SECRET_ENV: WEBHOOK_SECRET})
    assert [e.events for e in hooks.endpoints] == [EVENTS, ("bounced",)]
    assert WEBHOOK_SECRET not in repr(hooks)
