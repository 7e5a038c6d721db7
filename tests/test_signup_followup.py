"""The follow-up sequence: three Markdown emails sent by the real service (a worker process,
aiosmtpd) in order, once each, stopped by one-click unsubscribe; its settings checked with
path:line; each step previewed as a .eml."""
from __future__ import annotations

import email
import re
import sqlite3
import time
from email.policy import default

import pytest
from signup_support import (Process, free_port, make_guide, request, service_env, signup_many,
                            start_smtp)

from leadguide.cli import main
from leadguide.errors import GuideError
from leadguide.guide.config import load_config
from leadguide.signup.sequence import load_sequence

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
            f"<script>x</script> for {stem}.\n")


@pytest.fixture
def smtp():
    controller, box, port = start_smtp()
    yield box, port
    controller.stop()


def _subjects(box, address: str) -> list[str]:
    return [str(m["Subject"]) for m in box.to(address)]


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
        _wait(lambda: len(box.to("stay@example.com")) >= 4, 30, "stay@ got all four")
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
    assert "1 Test Street" in message.get_body(("plain",)).get_content()
    with sqlite3.connect(tmp_path / "build" / "sample.signup.sqlite") as db:
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
