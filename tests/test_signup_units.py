"""The signup service's parts one at a time: settings, tokens, limits, imports, export, DKIM,
and the app through Starlette's test client."""
from __future__ import annotations

import re
import sqlite3
import subprocess
import time
from pathlib import Path

import dkim
import pytest
from signup_support import SECRET, make_guide
from starlette.testclient import TestClient

from leadguide.email.dkim import dkim_signer
from leadguide.email.message import build_message
from leadguide.email.recipients import recipient
from leadguide.email.settings import load_email_settings
from leadguide.errors import GuideError
from leadguide.guide.config import load_config
from leadguide.signup.app import create_app
from leadguide.signup.imports import read_export
from leadguide.signup.ratelimit import Limit, SqliteLimits, parse_limit
from leadguide.signup.report import safe_cell
from leadguide.signup.service import bind_web_only, open_service
from leadguide.signup.settings import load_signup_settings, postal_address_problem, read_secrets
from leadguide.signup.tasks import is_quota
from leadguide.signup.tokens import CONFIRM, DOWNLOAD, UNSUBSCRIBE, TokenRefused, Tokens


@pytest.fixture
def guide(tmp_path, built_sample):
    return make_guide(tmp_path, built_sample[0].output, 8100)


def _with_signup(guide: Path, text: str) -> Path:
    config = guide / "guide.yaml"
    config.write_text(config.read_text().split("signup:")[0] + "signup:\n" + text)
    return guide


def test_signup_settings_errors_name_their_lines(guide):
    _with_signup(guide, "  base_url: ftp://x\n  rate_limits:\n    per_ip: lots\n"
                        "  colour: blue\n  trusted_proxies: [nonsense]\n  database: data/x.db\n")
    lines = (guide / "guide.yaml").read_text().splitlines()
    at = {key: lines.index(next(l for l in lines if l.strip().startswith(key))) + 1
          for key in ("base_url", "per_ip", "colour", "trusted_proxies", "database")}
    with pytest.raises(GuideError) as caught:
        load_signup_settings(load_config(guide))
    text = str(caught.value)
    assert f"guide.yaml:{at['base_url']}: 'signup.base_url' must be an https://" in text
    assert f"guide.yaml:{at['per_ip']}: 'signup.rate_limits.per_ip': write a limit" in text
    assert f"guide.yaml:{at['colour']}: unknown key 'signup.colour'" in text
    assert f"guide.yaml:{at['trusted_proxies']}: 'signup.trusted_proxies' item 1" in text
    assert f"guide.yaml:{at['database']}: 'signup.database' must not be among the guide's " \
           "sources" in text


def test_signup_settings_defaults(guide):
    settings = load_signup_settings(load_config(guide))
    assert settings.per_ip == Limit(20, 3600) and settings.per_address == Limit(3, 86400)
    assert settings.database == (guide / "build" / "sample.signup.sqlite").resolve()
    assert settings.queue_path == (guide / "build" / "sample.signup.queue.sqlite").resolve()
    assert not settings.double_opt_in and settings.consent == "Yes, email me the guide."


@pytest.mark.parametrize("place, ok", [("build/people.sqlite", True), ("../people.sqlite", True),
                                       ("data/people.sqlite", False), ("people.sqlite", False)])
def test_the_signup_database_is_never_a_source(guide, place, ok):
    _with_signup(guide, f"  base_url: https://guide.example.com\n  database: {place}\n")
    if ok:
        assert load_signup_settings(load_config(guide)).database == (guide / place).resolve()
    else:
        with pytest.raises(GuideError, match="must not be among the guide's sources"):
            load_signup_settings(load_config(guide))


def _old_database(guide: Path, keep_open: bool = False):
    """A signup database and queue where older versions kept them (beside the guide), in WAL
    mode with a subscriber still only in the write-ahead log."""
    old = guide.parent / "build" / "sample.signup.sqlite"
    old.parent.mkdir()
    db = sqlite3.connect(old)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA wal_autocheckpoint=0")
    db.execute("CREATE TABLE people (email TEXT)")
    db.execute("INSERT INTO people VALUES ('ada@example.com')")
    db.commit()
    with sqlite3.connect(old.with_name("sample.signup.queue.sqlite")) as queue:
        queue.execute("CREATE TABLE jobs (email TEXT)")
        queue.execute("INSERT INTO jobs VALUES ('ada@example.com')")
    assert Path(f"{old}-wal").stat().st_size > 0  # the row is in the log, not the file yet
    if not keep_open:
        db.close()
        return old, None
    return old, db


def test_an_old_signup_database_moves_into_build_with_its_queue(guide, caplog):
    (guide / "build" / "sample.signup.sqlite").unlink(missing_ok=True)
    old, _ = _old_database(guide)
    with caplog.at_level("WARNING", logger="leadguide.signup"):
        settings = load_signup_settings(load_config(guide))
    assert settings.database == (guide / "build" / "sample.signup.sqlite").resolve()
    assert not old.exists() and not old.with_name("sample.signup.queue.sqlite").exists()
    with sqlite3.connect(settings.database) as db, sqlite3.connect(settings.queue_path) as q:
        assert db.execute("SELECT email FROM people").fetchall() == [("ada@example.com",)]
        assert q.execute("SELECT email FROM jobs").fetchall() == [("ada@example.com",)]
    assert "the signup database moved from" in caplog.text
    assert load_signup_settings(load_config(guide)).database == settings.database


def test_an_old_signup_database_in_use_is_used_where_it_is(guide, caplog):
    old, held = _old_database(guide, keep_open=True)
    try:
        with caplog.at_level("WARNING", logger="leadguide.signup"):
            settings = load_signup_settings(load_config(guide))
        assert settings.database == old.resolve()
        assert not (guide / "build" / "sample.signup.sqlite").exists()
        assert "is used there (another process has it open)" in caplog.text
        held.execute("INSERT INTO people VALUES ('bo@example.com')")
        held.commit()
    finally:
        held.close()
    with sqlite3.connect(old) as db:
        assert len(db.execute("SELECT email FROM people").fetchall()) == 2


@pytest.mark.parametrize("address, ok", [
    ("Inside Out Strength · 100 Main Street · Springfield, USA", True),
    ("Clinic, PO Box 12, Leeds LS1 4AP, UK", True),
    ("Test Clinic · 1 Test Street · Testville, TS 12345 · USA", True),
    ("Springfield, USA", False),
    ("100 Main Street", False),
    ("https://example.com/contact", False),
    ("Clinic · Main Street · Springfield", False),
])
def test_postal_address_must_be_a_full_one(address, ok):
    assert (postal_address_problem(address) is None) == ok


def test_the_service_refuses_a_partial_postal_address(guide):
    config = guide / "guide.yaml"
    config.write_text(config.read_text().replace(
        "Test Clinic · 1 Test Street · Testville, TS 12345 · USA", "Testville"))
    with pytest.raises(GuideError, match=r"guide.yaml:\d+: 'email.postal_address' has no street"):
        open_service(guide, env={"LEADGUIDE_SECRET": SECRET})


def test_secrets_are_required_outside_dev_and_never_shown():
    with pytest.raises(GuideError, match="LEADGUIDE_SECRET is not set"):
        read_secrets(dev=False, env={})
    with pytest.raises(GuideError, match="too short"):
        read_secrets(dev=False, env={"LEADGUIDE_SECRET": "short"})
    with pytest.raises(GuideError, match="redis://"):
        read_secrets(dev=False, env={"LEADGUIDE_SECRET": SECRET, "LEADGUIDE_QUEUE_URL": "x"})
    secrets = read_secrets(dev=False, env={"LEADGUIDE_SECRET": SECRET})
    assert SECRET not in repr(secrets)
    assert read_secrets(dev=True, env={}).generated


def test_tokens_prove_render_time_and_purpose():
    now = [1000.0]
    tokens = Tokens(SECRET, clock=lambda: now[0])
    render = tokens.render()
    with pytest.raises(TokenRefused, match="faster than a person"):
        tokens.check_render(render, 2)
    now[0] += 2.5
    tokens.check_render(render, 2)
    now[0] += 2 * 86400
    with pytest.raises(TokenRefused, match="more than a day old"):
        tokens.check_render(render, 2)
    with pytest.raises(TokenRefused):
        Tokens("another secret " + "y" * 30).check_render(tokens.render(), 0)

    link = tokens.address_link(UNSUBSCRIBE, "Jane@Example.com", "sample")
    assert "jane" not in link.lower() and len(link) < 70
    assert tokens.read_address_link(UNSUBSCRIBE, link, "sample") == \
        tokens.read_address_link(UNSUBSCRIBE, tokens.address_link(UNSUBSCRIBE, "jane@example.com",
                                                                  "sample"), "sample")
    for purpose, guide in ((DOWNLOAD, "sample"), (UNSUBSCRIBE, "other")):
        with pytest.raises(TokenRefused):
            tokens.read_address_link(purpose, link, guide)
    confirm = tokens.confirm("jane@example.com", "sample", "n1")
    assert tokens.read_confirm(confirm, "sample", 48).nonce == "n1"
    now[0] += 49 * 3600
    with pytest.raises(TokenRefused, match="expired"):
        tokens.read_confirm(confirm, "sample", 48)
    with pytest.raises(TokenRefused):
        tokens.read_address_link(CONFIRM, confirm, "sample")


def test_rate_limits_slide_and_hold_across_restarts(tmp_path):
    now = [0.0]
    limits = SqliteLimits(tmp_path / "x.sqlite", clock=lambda: now[0])
    two = parse_limit("2/minute")
    assert [limits.hit("ip", "a", two) for _ in range(3)] == [True, True, False]
    assert limits.hit("ip", "b", two) and limits.hit("address", "a", two)
    restarted = SqliteLimits(tmp_path / "x.sqlite", clock=lambda: now[0])
    assert not restarted.hit("ip", "a", two)  # another process, or after a restart
    now[0] += 61
    assert restarted.hit("ip", "a", two)
    with pytest.raises(ValueError):
        parse_limit("0/hour")


@pytest.mark.parametrize("code, text, quota", [
    (454, "4.7.0 Daily message quota exceeded", True),
    (421, "4.7.0 Try again later, closing connection (rate limited)", True),
    (451, "4.7.1 Throttling failure: Maximum sending rate exceeded", True),
    (451, "4.3.0 Temporary local problem", False),
    (550, "5.7.1 quota", False),
])
def test_quota_replies_are_told_apart(code, text, quota):
    assert is_quota(code, text) == quota


def test_suppression_exports_of_ses_postmark_and_mailgun(tmp_path):
    ses = tmp_path / "ses.csv"
    ses.write_text("EmailAddress,Reason,LastUpdateTime\nbounce@example.com,BOUNCE,2026-01-01\n"
                   "spam@example.com,COMPLAINT,2026-01-02\n")
    postmark = tmp_path / "postmark.csv"
    postmark.write_text('"Email Address","Suppression Reason","Origin"\n'
                        '"pm@example.com","HardBounce","Recipient"\n'
                        '"pm2@example.com","SpamComplaint","Recipient"\n'
                        '"pm3@example.com","ManualSuppression","Customer"\n')
    mailgun = tmp_path / "mailgun-complaints.csv"
    mailgun.write_text("address,created_at\nmg@example.com,Mon\nnot-an-address,Mon\n")
    assert read_export(ses).addresses == [("bounce@example.com", "bounce"),
                                          ("spam@example.com", "complaint")]
    assert read_export(postmark).addresses == [("pm@example.com", "bounce"),
                                               ("pm2@example.com", "complaint"),
                                               ("pm3@example.com", "unsubscribe")]
    result = read_export(mailgun)
    assert result.addresses == [("mg@example.com", "complaint")]
    assert [(p.line, "not an email address" in p.message) for p in result.problems] == [(3, True)]
    headless = tmp_path / "x.csv"
    headless.write_text("who,when\na@example.com,x\n")
    with pytest.raises(GuideError, match="no address column"):
        read_export(headless)


@pytest.mark.parametrize("cell, shown", [
    ("=1+2", "'=1+2"), ("+cmd", "'+cmd"), ("-2", "'-2"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\tx", "'\tx"), ("Jane", "Jane"), ("", ""), (None, ""), (3, "3"),
])
def test_export_cells_never_run_as_formulas(cell, shown):
    assert safe_cell(cell) == shown


def test_dkim_signature_covers_the_unsubscribe_headers(guide, tmp_path):
    key = tmp_path / "dkim.pem"
    subprocess.run(["openssl", "genrsa", "-out", str(key), "2048"], check=True,
                   capture_output=True)
    public = subprocess.run(["openssl", "rsa", "-in", str(key), "-pubout", "-outform", "DER"],
                            check=True, capture_output=True).stdout
    config = load_config(guide)
    settings = load_email_settings(config)
    sign = dkim_signer({"LEADGUIDE_DKIM_KEY_FILE": str(key), "LEADGUIDE_DKIM_SELECTOR": "lg"},
                       settings)
    from email.policy import SMTP

    from leadguide.email.message import PersonalLinks
    message = build_message(config, settings, recipient("jane@example.com", "Jane"), None,
                            links=PersonalLinks("https://guide.example.com/unsubscribe/t"))
    signed = sign(message.as_bytes(policy=SMTP))
    header = signed.split(b"\r\n\r\n")[0].decode()
    signed_names = re.search(r"h=([^;]+);", header.replace("\r\n", "").replace(" ", ""))[1]
    assert {"list-unsubscribe", "list-unsubscribe-post"} <= set(signed_names.lower().split(":"))
    import base64
    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)

    def dns(name, timeout=5):
        return record if name == b"lg._domainkey.example.com." else None
    assert dkim.verify(signed, dnsfunc=dns)
    tampered = signed.replace(b"unsubscribe/t", b"unsubscribe/u")
    assert not dkim.verify(tampered, dnsfunc=dns)


def test_the_app_limits_bursts_per_ip(guide, monkeypatch):
    _with_signup(guide, "  base_url: https://guide.example.com\n  min_fill_seconds: 0\n"
                        "  rate_limits:\n    per_ip: 3/minute\n")
    monkeypatch.chdir(guide.parent)
    service = open_service(guide, env={"LEADGUIDE_SECRET": SECRET})
    bind_web_only(service)
    client = TestClient(create_app(service), base_url="https://guide.example.com")

    def render() -> str:
        return re.search(r'name="t" value="([^"]+)"', client.get("/").text)[1]
    statuses = [client.post("/subscribe", data={"email": f"b{i}@example.com", "website": "",
                                                "t": render()},
                            headers={"Accept": "application/json"}).status_code
                for i in range(5)]
    assert statuses == [200, 200, 200, 429, 429]
    page = client.post("/subscribe", data={"email": "not an address", "website": "",
                                           "t": render()})
    assert page.status_code in (422, 429)
    assert client.get("/unsubscribe/forged").status_code == 400
    time.sleep(0)  # the limiter needs no clock here: the burst is within the minute
