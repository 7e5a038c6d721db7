"""email.delivery (attach, link, both; a PDF too large to attach goes as a link) through the
signup worker and ``email send`` to aiosmtpd; and the signed unsubscribe token."""
from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest
from signup_support import SECRET, free_port, make_guide, service_env, start_smtp

from leadguide.email.errors import EmailError
from leadguide.email.send import RetryPolicy
from leadguide.email.settings import smtp_settings
from leadguide.email.unsubscribe import (BadToken, address_id, read_unsubscribe_token,
                                         unsubscribe_token)
from leadguide.email.welcome import build_eml, plan_send, run
from leadguide.signup.ledger import SENT
from leadguide.signup.service import make_mailer, open_service
from leadguide.signup.store import WELCOME, Payload


@pytest.fixture
def smtp():
    controller, box, port = start_smtp()
    yield box, port
    controller.stop()


def guide_with(tmp_path: Path, pdf: Path, email: str, signup: bool = True) -> Path:
    """The sample guide with these email: keys; its PDF copied in, newer than guide.yaml."""
    guide = make_guide(tmp_path, pdf, free_port())
    path = guide / "guide.yaml"
    text = path.read_text().replace("email:\n", "email:\n" + email, 1)
    if not signup:
        text = text[:text.index("signup:\n")]
    path.write_text(text)
    later = time.time() + 5
    os.utime(guide / "build" / "sample.pdf", (later, later))
    return guide


def parts(message) -> tuple[list[str], str]:
    """The message's content types, and its plain text."""
    return ([part.get_content_type() for part in message.walk()],
            message.get_body(("plain",)).get_content())


def worker_delivers(guide: Path, port: int, box, address: str):
    service = open_service(guide, env=service_env(port))
    mailer = make_mailer(service, retry=RetryPolicy(attempts=1), env=service_env(port))
    mailer.schedule = lambda payload, delay: None
    payload = Payload("sample", WELCOME, address, "")
    service.ledger.add(payload)
    assert mailer.deliver(payload) == SENT
    mailer.close()
    [message] = box.to(address)
    return message


@pytest.mark.parametrize("mode, attached, linked", [
    ("attach", True, False), ("link", False, True), ("both", True, True)])
def test_each_delivery_mode_from_the_signup_worker(tmp_path, built_sample, smtp, mode,
                                                   attached, linked):
    box, port = smtp
    guide = guide_with(tmp_path, built_sample[0].output, f"  delivery: {mode}\n")
    message = worker_delivers(guide, port, box, "ann@example.com")
    types, text = parts(message)
    assert ("application/pdf" in types) is attached
    assert ("/download/" in text) is linked
    assert ("is attached" in text) is attached and "too large" not in text


def test_a_pdf_over_the_size_budget_goes_as_a_link_and_the_email_says_so(tmp_path, built_sample,
                                                                         smtp):
    box, port = smtp
    guide = guide_with(tmp_path, built_sample[0].output,
                       "  delivery: attach\n  warn_attachment_mb: 0.001\n"
                       "  max_attachment_mb: 0.002\n")
    message = worker_delivers(guide, port, box, "bea@example.com")
    types, text = parts(message)
    assert "application/pdf" not in types
    assert "too large to attach" in text and re.search(r"http://\S+/download/\S+", text)
    html = message.get_body(("html",)).get_content()
    assert "too large to attach" in html and "/download/" in html


@pytest.mark.parametrize("mode, attached, linked", [
    ("attach", True, False), ("link", False, True), ("both", True, True)])
def test_each_delivery_mode_from_email_send(tmp_path, built_sample, smtp, mode, attached,
                                            linked):
    box, port = smtp
    guide = guide_with(tmp_path, built_sample[0].output,
                       f"  delivery: {mode}\n  download_url: https://example.com/guide.pdf\n"
                       "  unsubscribe_url: https://guide.example.com/unsubscribe/{token}\n",
                       signup=False)
    env = service_env(port)
    plan = plan_send(guide, to="cat@example.com", log_path=tmp_path / "log.sqlite",
                     smtp=smtp_settings(env), env=env)
    assert run(plan).sent == 1
    [message] = box.to("cat@example.com")
    types, text = parts(message)
    assert ("application/pdf" in types) is attached
    assert ("https://example.com/guide.pdf" in text) is linked
    # The unsubscribe link is this reader's signed token, never the address.
    link = message["List-Unsubscribe"].split(",")[0].strip().strip("<>")
    assert "cat" not in link and f"Unsubscribe: {link}" in text
    token = link.rsplit("/", 1)[1]
    assert read_unsubscribe_token(SECRET, token, "sample") == address_id("Cat@example.com")


def test_email_build_without_the_secret_refuses_a_token_link(tmp_path, built_sample,
                                                               monkeypatch):
    guide = guide_with(tmp_path, built_sample[0].output,
                       "  unsubscribe_url: https://guide.example.com/unsubscribe/{token}\n",
                       signup=False)
    monkeypatch.delenv("LEADGUIDE_SECRET", raising=False)
    with pytest.raises(EmailError, match="LEADGUIDE_SECRET"):
        build_eml(guide, "dan@example.com", out=tmp_path / "x.eml")
    assert not (tmp_path / "x.eml").exists()
    result = build_eml(guide, "dan@example.com", out=tmp_path / "x.eml",
                       env={"LEADGUIDE_SECRET": SECRET})
    data = result.path.read_bytes()
    assert b"/unsubscribe/" + unsubscribe_token(SECRET, "dan@example.com", "sample").encode() \
        in data and b"unsubscribe/dan" not in data


def test_an_unsubscribe_token_round_trips_and_a_forged_one_is_refused():
    token = unsubscribe_token(SECRET, "Eve@Example.com", "sample")
    assert "eve" not in token.lower()
    assert read_unsubscribe_token(SECRET, token, "sample") == address_id("eve@example.com")
    ident, signature = token.split(".")
    forged = [f"{address_id('victim@example.com')}.{signature}",  # another address, same sig
              token[:-1] + ("A" if token[-1] != "A" else "B"),       # a changed signature
              unsubscribe_token("another-secret-" + "y" * 30, "eve@example.com", "sample"),
              address_id("eve@example.com")]                        # no signature at all
    for bad in forged:
        with pytest.raises(BadToken):
            read_unsubscribe_token(SECRET, bad, "sample")
    with pytest.raises(BadToken):  # made for another guide
        read_unsubscribe_token(SECRET, token, "other")


def test_check_warns_that_a_pdf_over_the_budget_goes_as_a_link(tmp_path, built_sample):
    from leadguide.check.facts import Facts
    from leadguide.check.technical import check_file_size
    small = "  warn_attachment_mb: 0.001\n  max_attachment_mb: 0.002\n"
    linked = guide_with(tmp_path / "linked", built_sample[0].output, small)
    [result] = check_file_size(Facts(linked, linked / "build" / "sample.pdf"))
    assert result.status == "warn" and "links to it instead" in result.message
    alone = guide_with(tmp_path / "alone", built_sample[0].output, small, signup=False)
    [result] = check_file_size(Facts(alone, alone / "build" / "sample.pdf"))
    assert result.status == "fail" and "many mail servers will refuse it" in result.message
