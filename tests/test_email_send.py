"""Sending for real to an SMTP server on localhost (aiosmtpd): retries, failures, TLS, crashes."""
from __future__ import annotations

import asyncio
import email
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from email.policy import SMTP, default
from pathlib import Path

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from leadguide.build import build
from leadguide.cli import main
from leadguide.email.errors import EmailError, RecipientError
from leadguide.email.message import PersonalLinks, build_message, guide_key, prepare_attachment
from leadguide.email.recipients import recipient
from leadguide.email.send import RetryPolicy, SmtpTransport, send
from leadguide.email.sendlog import DEFERRED, FAILED, SENDING, SENT, SendLog
from leadguide.email.settings import SmtpSettings, load_email_settings, smtp_settings
from leadguide.email.unsubscribe import unsubscribe_token
from leadguide.email.welcome import plan_send, run
from leadguide.guide.config import load_config

SAMPLE = Path(__file__).parent / "sample_guide"
EMAIL = """\
email:
  from: Test Clinic <coach@example.com>
  reply_to: coach@example.com
  subject: "Your free guide"
  unsubscribe_mailto: unsubscribe@example.com
  unsubscribe_url: https://example.com/unsubscribe/{token}
  postal_address: "Test Clinic · 1 Test Street · Testville"
  attachment_name: The Sample Guide.pdf
"""
FAST = RetryPolicy(attempts=3, first_delay=0.01, max_delay=0.05)
SECRET = "a-test-secret-that-is-long-enough-to-sign"


@pytest.fixture(autouse=True)
def secret(monkeypatch):
    """email send signs each unsubscribe token ({token}) with the service's secret."""
    monkeypatch.setenv("LEADGUIDE_SECRET", SECRET)


def signed_links(config, settings, person) -> PersonalLinks:
    """The links ``email send`` puts in a recipient's message."""
    token = unsubscribe_token(SECRET, person.address, guide_key(config))
    return PersonalLinks(settings.unsubscribe_link(token))


@pytest.fixture(scope="module")
def guide(tmp_path_factory):
    """The sample guide with an email section; its PDF is built once at <guide>/build/."""
    base = tmp_path_factory.mktemp("email-send")
    root = base / "guide"
    shutil.copytree(SAMPLE, root)
    (root / "guide.yaml").write_text((root / "guide.yaml").read_text() + EMAIL)
    build(root, out=root / "build" / "sample.pdf")
    return root


def pdf_of(root: Path) -> Path:
    return root / "build" / "sample.pdf"


# A real SMTP server, with scripted misbehaviour

@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    tls: bool

    @property
    def message(self) -> email.message.EmailMessage:
        return email.message_from_bytes(self.data, policy=default)


class Recorder:
    """aiosmtpd handler: records what it accepts; can refuse, stall, drop or hold."""

    def __init__(self) -> None:
        self.messages: list[Received] = []
        self.data_replies: list[str] = []  # replies to use before accepting; "drop" hangs up
        self.refuse: dict[str, str] = {}  # address -> RCPT reply
        self.hold_rcpt_after: int | None = None  # stall the next RCPT once this many arrived
        self.hold_reply_after: int | None = None  # record the next message, then stall the 250
        self.holding, self.release = threading.Event(), threading.Event()
        self.rcpt_calls = 0
        self.reply_delay = 0.0  # seconds between receiving a message and saying 250

    async def _hold(self) -> None:
        self.holding.set()
        while not self.release.is_set():
            await asyncio.sleep(0.01)

    async def handle_RCPT(self, server, session, envelope, address, options):
        self.rcpt_calls += 1
        if self.hold_rcpt_after is not None and len(self.messages) >= self.hold_rcpt_after:
            await self._hold()
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.data_replies:
            reply = self.data_replies.pop(0)
            if reply == "drop":
                server.transport.close()
            return reply if reply != "drop" else "421 closing"
        self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos),
                                      envelope.original_content, session.ssl is not None))
        if self.hold_reply_after is not None and len(self.messages) > self.hold_reply_after:
            await self._hold()
        if self.reply_delay:
            await asyncio.sleep(self.reply_delay)
        return "250 2.0.0 Accepted"

    def count(self) -> Counter:
        return Counter(r for m in self.messages for r in m.rcpt_tos)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    def __init__(self, **options):
        self.recorder = Recorder()
        self.port = free_port()
        self.controller = Controller(self.recorder, hostname="127.0.0.1", port=self.port, **options)
        self.controller.start()

    def settings(self, security: str = "none", **options) -> SmtpSettings:
        return SmtpSettings("127.0.0.1", self.port, security, timeout=10, **options)

    def env(self) -> dict[str, str]:
        return {"LEADGUIDE_SMTP_HOST": "127.0.0.1", "LEADGUIDE_SMTP_PORT": str(self.port),
                "LEADGUIDE_SMTP_SECURITY": "none"}

    def stop(self) -> None:
        self.recorder.release.set()
        self.controller.stop()


@pytest.fixture
def server():
    running = Server()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def ca():
    return trustme.CA()


def tls_server(ca, implicit: bool = False, **options) -> Server:
    context = ssl_server_context(ca)
    if implicit:
        return Server(ssl_context=context, **options)
    return Server(tls_context=context, require_starttls=True, **options)


def ssl_server_context(ca):
    import ssl
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    return context


def write_list(tmp_path: Path, rows: list[str]) -> Path:
    path = tmp_path / "subscribers.csv"
    path.write_text("email,name\n" + "".join(row + "\n" for row in rows))
    return path


def plan(guide: Path, tmp_path: Path, server: Server, **options):
    return plan_send(guide, log_path=tmp_path / "log.sqlite", retry=options.pop("retry", FAST),
                     smtp=options.pop("smtp", None) or server.settings(), pdf=pdf_of(guide),
                     **options)


def log_states(guide: Path, path: Path) -> dict[str, str]:
    with SendLog(path, "sample") as log:
        return {entry.recipient: entry.state for entry in log.entries()}


# Delivery

def test_a_sent_message_arrives_byte_for_byte(guide, server):
    config = load_config(guide)
    settings = load_email_settings(config)
    attachment = prepare_attachment(config, settings, pdf_of(guide))
    jane = recipient("jane@example.com", "Jane")
    message = build_message(config, settings, jane, attachment,
                            links=signed_links(config, settings, jane))
    with SmtpTransport(server.settings()) as smtp:
        delivery = send(message, smtp=smtp)
    assert (delivery.status, delivery.tries) == (SENT, 1)
    [received] = server.recorder.messages
    assert received.data == message.as_bytes(policy=SMTP)
    assert (received.mail_from, received.rcpt_tos) == ("coach@example.com", ["jane@example.com"])
    pdf = next(p for p in received.message.walk() if p.get_content_type() == "application/pdf")
    assert pdf.get_content().startswith(pdf_of(guide).read_bytes())  # a personal copy
    assert received.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_451_twice_then_accepted_arrives_once(guide, server, tmp_path):
    server.recorder.data_replies = ["451 4.3.0 Try again later"] * 2
    delays: list[float] = []
    retry = RetryPolicy(attempts=4, first_delay=0.01, max_delay=1, sleep=delays.append)
    summary = run(plan(guide, tmp_path, server, to="jane@example.com", retry=retry))
    assert (summary.sent, summary.failed) == (1, 0)
    assert server.recorder.count() == {"jane@example.com": 1}
    assert len(delays) == 2 and delays[1] > delays[0]  # backing off
    assert log_states(guide, tmp_path / "log.sqlite") == {"jane@example.com": SENT}


def test_a_dropped_connection_is_retried_on_a_new_one(guide, server, tmp_path):
    server.recorder.data_replies = ["drop"]
    summary = run(plan(guide, tmp_path, server, to="jane@example.com"))
    assert summary.sent == 1
    assert server.recorder.count() == {"jane@example.com": 1}


def test_a_temporary_failure_that_lasts_is_deferred_to_the_next_run(guide, server, tmp_path):
    server.recorder.data_replies = ["452 4.3.1 Mailbox full for now"] * 3
    summary = run(plan(guide, tmp_path, server, to="jane@example.com"))
    assert (summary.sent, summary.failed) == (0, 1)
    assert "452" in summary.outcomes[0].detail
    assert log_states(guide, tmp_path / "log.sqlite") == {"jane@example.com": DEFERRED}
    summary = run(plan(guide, tmp_path, server, to="jane@example.com"))
    assert summary.sent == 1 and server.recorder.count() == {"jane@example.com": 1}


def test_a_550_recipient_fails_and_the_rest_are_sent(guide, server, tmp_path):
    people = ["ann@example.com,Ann", "bob@example.com,Bob", "cat@example.com,Cat"]
    server.recorder.refuse["bob@example.com"] = "550 5.1.1 No such user"
    csv = write_list(tmp_path, people)
    summary = run(plan(guide, tmp_path, server, list_path=csv))
    assert (summary.sent, summary.skipped, summary.failed) == (2, 0, 1)
    assert server.recorder.count() == {"ann@example.com": 1, "cat@example.com": 1}
    failed = [o for o in summary.outcomes if o.status == FAILED]
    assert [o.recipient.address for o in failed] == ["bob@example.com"]
    assert "550 5.1.1 No such user" in failed[0].detail
    assert log_states(guide, tmp_path / "log.sqlite") == {
        "ann@example.com": SENT, "bob@example.com": FAILED, "cat@example.com": SENT}

    again = run(plan(guide, tmp_path, server, list_path=csv))
    assert (again.sent, again.skipped, again.failed) == (0, 2, 1)
    assert server.recorder.rcpt_calls == 3  # the permanent failure was not tried again
    run(plan(guide, tmp_path, server, list_path=csv, retry_failed=True))
    assert server.recorder.rcpt_calls == 4
    assert server.recorder.count() == {"ann@example.com": 1, "cat@example.com": 1}


def test_the_cli_reports_bad_rows_with_their_lines_and_sends_the_rest(
        guide, server, tmp_path, monkeypatch, capsys):
    csv = write_list(tmp_path, ["ann@example.com,Ann", "not-an-address,Bob",
                                "cat@example.com,Cat,extra", '"dan@example.com","Dan"'])
    for name, value in server.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(guide.parent)
    args = ["email", "send", str(guide), "--list", str(csv), "--log", str(tmp_path / "l.sqlite")]
    assert main(args) == 1
    out = capsys.readouterr()
    assert f"{csv}:3: address: 'not-an-address' is not an email address" in out.err
    assert f"{csv}:4: expected 2 columns, found 3" in out.err
    assert "Sent 2, skipped 0 (already sent), failed 2." in out.out
    assert server.recorder.count() == {"ann@example.com": 1, "dan@example.com": 1}

    assert main(args) == 1
    assert "Sent 0, skipped 2 (already sent), failed 2." in capsys.readouterr().out
    assert len(server.recorder.messages) == 2


def test_an_invalid_address_is_refused_before_anything_is_sent(guide, server, tmp_path):
    with pytest.raises(RecipientError, match="not a valid mail domain"):
        plan(guide, tmp_path, server, to="jane@exa mple.com")
    with pytest.raises(RecipientError, match="line break"):
        plan(guide, tmp_path, server, to="jane@example.com", name="Jane\nBcc: x@example.com")
    assert server.recorder.rcpt_calls == 0 and not (tmp_path / "log.sqlite").exists()


def test_a_rerun_from_another_folder_sends_nothing(guide, server, tmp_path, monkeypatch, capsys):
    """The default send log is in the guide's folder, not the working folder's."""
    root = shutil.copytree(guide, tmp_path / "guide")
    csv = write_list(tmp_path, ["ann@example.com,Ann", "bob@example.com,Bob"])
    for name, value in server.env().items():
        monkeypatch.setenv(name, value)
    first, second = tmp_path / "here", tmp_path / "there" / "deeper"
    for folder, guide_arg in ((first, str(root)), (second, "../../guide")):
        folder.mkdir(parents=True)
        monkeypatch.chdir(folder)
        assert main(["email", "send", guide_arg, "--list", str(csv)]) == 0
    out = capsys.readouterr().out
    assert "Sent 2, skipped 0" in out and "Sent 0, skipped 2 (already sent)" in out
    assert server.recorder.count() == {"ann@example.com": 1, "bob@example.com": 1}
    assert (root / "build" / "sample.sendlog.sqlite").is_file()
    assert not (first / "build" / "sample.sendlog.sqlite").exists()
    assert f"Send log: {root / 'build' / 'sample.sendlog.sqlite'}" in out


def test_a_dry_run_sends_and_writes_nothing(guide, server, tmp_path):
    summary = run(plan(guide, tmp_path, server, to="jane@example.com", dry=True))
    assert [o.status for o in summary.outcomes] == ["would send"]
    assert server.recorder.rcpt_calls == 0 and not (tmp_path / "log.sqlite").exists()


def test_only_one_send_may_use_a_log_at_once(tmp_path):
    with SendLog(tmp_path / "log.sqlite", "sample"):
        with pytest.raises(EmailError, match="another 'leadguide email send'"):
            SendLog(tmp_path / "log.sqlite", "sample")
    SendLog(tmp_path / "log.sqlite", "sample").close()


def test_an_unusable_send_log_is_a_clear_error(tmp_path):
    (tmp_path / "log.sqlite").write_text("this is not a database, " * 100)
    with pytest.raises(EmailError, match="not a database"):
        SendLog(tmp_path / "log.sqlite", "sample")
    (tmp_path / "file").write_text("")
    with pytest.raises(EmailError, match="cannot open the send log"):
        SendLog(tmp_path / "file" / "log.sqlite", "sample")


def test_the_send_log_is_durable(tmp_path):
    import sqlite3
    path = tmp_path / "log.sqlite"
    with SendLog(path, "sample") as log:
        assert log._db.execute("PRAGMA synchronous").fetchone() == (2,)  # FULL
        log.mark_sending("a@example.com", "a@example.com", "<id@example.com>")
        other = sqlite3.connect(path)  # committed: another connection sees it at once
        assert other.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert other.execute("SELECT state FROM deliveries").fetchall() == [(SENDING,)]
        other.close()


# TLS and login

def test_starttls_with_a_trusted_self_signed_certificate_and_login(guide, ca, tmp_path, capsys,
                                                                   monkeypatch):
    logins = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and auth_data == (b"coach", b"pa55-w0rd!")
        logins.append(ok)
        return AuthResult(success=ok, handled=False)  # handled=False: send the 535

    tls = tls_server(ca, authenticator=authenticator, auth_required=True)
    try:
        ca_file = tmp_path / "ca.pem"
        ca.cert_pem.write_to_path(str(ca_file))
        env = {**tls.env(), "LEADGUIDE_SMTP_SECURITY": "starttls", "LEADGUIDE_SMTP_USER": "coach",
               "LEADGUIDE_SMTP_PASSWORD": "pa55-w0rd!", "LEADGUIDE_SMTP_CA_FILE": str(ca_file),
               "LEADGUIDE_SMTP_TIMEOUT": "10"}
        summary = run(plan(guide, tmp_path, tls, to="jane@example.com", smtp=smtp_settings(env)))
        assert summary.sent == 1 and logins == [True]
        [received] = tls.recorder.messages
        assert received.tls

        for name, value in {**env, "LEADGUIDE_SMTP_PASSWORD": "wrong-pa55"}.items():
            monkeypatch.setenv(name, value)
        monkeypatch.chdir(guide.parent)
        code = main(["email", "send", str(guide), "--to", "bob@example.com",
                     "--log", str(tmp_path / "cli.sqlite")])
        out = capsys.readouterr()
        assert code == 1 and "refused the login for user 'coach'" in out.err
        assert "wrong-pa55" not in out.out + out.err
    finally:
        tls.stop()


def test_an_untrusted_certificate_stops_the_batch_with_a_clear_error(guide, ca, tmp_path):
    tls = tls_server(ca)
    try:
        summary = run(plan(guide, tmp_path, tls, to="jane@example.com",
                           smtp=tls.settings("starttls")))
        assert summary.sent == 0 and summary.not_attempted == 1
        assert "not trusted" in str(summary.stopped)
        assert "LEADGUIDE_SMTP_CA_FILE" in str(summary.stopped)
        assert tls.recorder.messages == []
        assert log_states(guide, tmp_path / "log.sqlite") == {"jane@example.com": DEFERRED}
    finally:
        tls.stop()


def test_implicit_tls(guide, ca, tmp_path):
    import ssl
    tls = tls_server(ca, implicit=True)
    try:
        context = ssl.create_default_context()
        ca.configure_trust(context)
        summary = run(plan(guide, tmp_path, tls, to="jane@example.com",
                           smtp=tls.settings("ssl", context=context)))
        assert summary.sent == 1 and tls.recorder.count() == {"jane@example.com": 1}
    finally:
        tls.stop()


def test_an_unreachable_server_stops_the_batch(guide, tmp_path):
    settings = SmtpSettings("127.0.0.1", free_port(), "none", timeout=2)
    csv = write_list(tmp_path, ["ann@example.com,Ann", "bob@example.com,Bob"])
    summary = run(plan_send(guide, list_path=csv, log_path=tmp_path / "log.sqlite", retry=FAST,
                            smtp=settings, pdf=pdf_of(guide)))
    assert "cannot reach the SMTP server" in str(summary.stopped)
    assert summary.not_attempted == 2 and not summary.ok


# Killed mid-batch: a real process, SIGKILLed, then run again

def wait_for(condition, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.002)


def send_process(guide: Path, server: Server, csv: Path, log: Path, *extra: str):
    command = [sys.executable, "-m", "leadguide", "email", "send", str(guide), "--list", str(csv),
               "--log", str(log), *extra]
    return subprocess.Popen(command, cwd=guide.parent,
                            env={**os.environ, **server.env(), "PYTHONUNBUFFERED": "1"},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


PEOPLE = [f"p{n}@example.com,Person {n}" for n in range(8)]


def kill(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)


def rerun(guide: Path, server: Server, csv: Path, log: Path) -> str:
    process = send_process(guide, server, csv, log)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    return out


def test_killed_between_messages_then_rerun_sends_each_exactly_once(guide, server, tmp_path):
    csv, log = write_list(tmp_path, PEOPLE), tmp_path / "log.sqlite"
    server.recorder.hold_rcpt_after = 3  # the 4th transaction stalls, mid-way, unaccepted
    process = send_process(guide, server, csv, log)
    wait_for(server.recorder.holding.is_set)
    assert len(server.recorder.messages) == 3
    kill(process)
    server.recorder.hold_rcpt_after = None
    server.recorder.release.set()
    out = rerun(guide, server, csv, log)
    assert "Sent 5, skipped 3 (already sent), failed 0." in out
    assert server.recorder.count() == {f"p{n}@example.com": 1 for n in range(8)}
    assert set(log_states(guide, log).values()) == {SENT}


def test_killed_after_the_server_accepted_but_before_the_reply(guide, server, tmp_path):
    """The window SMTP cannot close: the copy is sent again, with the same Message-ID."""
    csv, log = write_list(tmp_path, PEOPLE), tmp_path / "log.sqlite"
    server.recorder.hold_reply_after = 2  # the 3rd message is accepted, its 250 never arrives
    process = send_process(guide, server, csv, log)
    wait_for(server.recorder.holding.is_set)
    kill(process)
    server.recorder.hold_reply_after = None
    server.recorder.release.set()
    out = rerun(guide, server, csv, log)
    assert "1 sent again: cut off after the end of DATA" in out
    assert "resending  p2@example.com" in out
    counts = server.recorder.count()
    assert counts == {f"p{n}@example.com": 2 if n == 2 else 1 for n in range(8)}
    copies = [m.message["Message-ID"] for m in server.recorder.messages
              if m.rcpt_tos == ["p2@example.com"]]
    assert len(set(copies)) == 1


def test_killed_at_any_moment_nothing_is_lost(guide, server, tmp_path):
    csv, log = write_list(tmp_path, PEOPLE), tmp_path / "log.sqlite"
    process = send_process(guide, server, csv, log, "--rate", "20")
    wait_for(lambda: len(server.recorder.messages) >= 3)
    kill(process)
    rerun(guide, server, csv, log)
    counts = server.recorder.count()
    assert set(counts) == {f"p{n}@example.com" for n in range(8)}
    assert sum(counts.values()) - len(counts) <= 1  # at most the one message in flight
    for address, copies in counts.items():
        ids = {m.message["Message-ID"] for m in server.recorder.messages if m.rcpt_tos == [address]}
        assert len(ids) == 1


def test_many_sigkills_resend_only_in_the_ambiguous_window_and_announce_it(guide, server,
                                                                           tmp_path):
    """Real SIGKILLs at random moments of a 50-recipient send; every copy beyond the first must
    be one the log held as cut off after the final dot, and announced before it went out."""
    import random
    import sqlite3
    rng = random.Random(9)
    people = [f"r{n}@example.com,Reader {n}" for n in range(50)]
    csv, log = write_list(tmp_path, people), tmp_path / "log.sqlite"
    server.recorder.reply_delay = 0.004  # a server that takes a moment to say 250
    kills, ambiguous_at_kill, announced = 0, Counter(), Counter()
    outputs = []
    for _ in range(12):
        before = len(server.recorder.messages)
        process = send_process(guide, server, csv, log, "--rate", "200")
        target = before + rng.randint(1, 4)
        try:
            wait_for(lambda: len(server.recorder.messages) >= target or process.poll() is not None)
        except AssertionError:
            pass
        time.sleep(rng.uniform(0, 0.012))
        if process.poll() is None:
            kill(process)
            kills += 1
        outputs.append(process.stdout.read())
        db = sqlite3.connect(log)
        for address, state, data_end in db.execute(
                "SELECT recipient, state, data_end FROM deliveries"):
            if state != SENT and data_end:
                ambiguous_at_kill[address] += 1
        db.close()
        if len(set(server.recorder.count())) == 50 and process.returncode == 0:
            break
    outputs.append(rerun(guide, server, csv, log))
    for out in outputs:
        for line in out.splitlines():
            if line.strip().startswith("resending"):
                announced[line.split()[1]] += 1
    counts = server.recorder.count()
    assert set(counts) == {f"r{n}@example.com" for n in range(50)}  # nobody lost
    extra = {address: n - 1 for address, n in counts.items() if n > 1}
    for address, copies in extra.items():
        assert announced[address] >= copies, (address, announced)
        assert ambiguous_at_kill[address] >= copies, (address, ambiguous_at_kill)
    assert set(announced) <= set(ambiguous_at_kill)
    print(f"\nSIGKILL: {kills} kills, {sum(extra.values())} resends "
          f"({sum(announced.values())} announced, all after the final dot), "
          f"{sum(ambiguous_at_kill.values())} ambiguous states seen at kills")
    assert kills >= 8


def test_a_non_ascii_smtp_password_is_a_message_that_does_not_show_it(guide, tmp_path,
                                                                       monkeypatch, capsys):
    env = {"LEADGUIDE_SMTP_HOST": "127.0.0.1", "LEADGUIDE_SMTP_SECURITY": "none",
           "LEADGUIDE_SMTP_USER": "coach", "LEADGUIDE_SMTP_PASSWORD": "pässwörd-42"}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    code = main(["email", "send", str(guide), "--to", "a@example.com",
                 "--log", str(tmp_path / "l.sqlite")])
    err = capsys.readouterr().err
    assert code == 1 and "LEADGUIDE_SMTP_PASSWORD contains non-ASCII" in err
    assert "pässwörd" not in err and "Traceback" not in err


def test_a_send_log_locked_by_another_process_is_a_message(guide, server, tmp_path, monkeypatch):
    import leadguide.email.sendlog as sendlog
    path = tmp_path / "log.sqlite"
    SendLog(path, "sample").close()
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sqlite3, sys, time\n"
         f"db = sqlite3.connect({str(path)!r}, isolation_level=None)\n"
         "db.execute('BEGIN IMMEDIATE')\n"
         "db.execute(\"UPDATE deliveries SET detail = 'x'\")\n"
         "print('holding', flush=True)\ntime.sleep(60)\n"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        monkeypatch.setattr(sendlog, "_WAIT", 0.3)
        with pytest.raises(EmailError, match="locked by another program") as caught:
            run(plan(guide, tmp_path, server, to="jane@example.com"))
        assert caught.value.path == path
        assert server.recorder.rcpt_calls == 0
    finally:
        holder.kill()
        holder.wait()


def test_a_send_log_with_another_schema_is_refused_and_an_old_one_upgraded(tmp_path):
    import sqlite3
    other = tmp_path / "other.sqlite"
    db = sqlite3.connect(other)
    db.execute("CREATE TABLE users (id INTEGER, email TEXT)")
    db.commit()
    db.close()
    with pytest.raises(EmailError, match="not a leadguide send log.*users") as caught:
        SendLog(other, "sample")
    assert caught.value.path == other
    wrong = tmp_path / "wrong.sqlite"
    db = sqlite3.connect(wrong)
    db.execute("CREATE TABLE deliveries (who TEXT)")
    db.commit()
    db.close()
    with pytest.raises(EmailError, match="not a leadguide send log"):
        SendLog(wrong, "sample")
    old = tmp_path / "old.sqlite"
    db = sqlite3.connect(old)
    db.execute("CREATE TABLE deliveries (guide TEXT NOT NULL, recipient TEXT NOT NULL, address "
               "TEXT NOT NULL, message_id TEXT NOT NULL, state TEXT NOT NULL, attempts INTEGER "
               "NOT NULL DEFAULT 0, detail TEXT NOT NULL DEFAULT '', updated_at TEXT NOT NULL, "
               "PRIMARY KEY (guide, recipient))")
    db.execute("INSERT INTO deliveries VALUES ('sample', 'a@example.com', 'a@example.com', "
               "'<id>', 'sending', 1, '', '2026-01-01')")
    db.commit()
    db.close()
    with SendLog(old, "sample") as log:
        assert log.entry("a@example.com").ambiguous  # the old 'sending' may have been delivered


# Per-message work done once; DKIM like the service; a connection kept and reopened

def test_email_send_signs_with_dkim_when_configured(guide, server, tmp_path):
    import base64

    import dkim
    key = tmp_path / "dkim.pem"
    subprocess.run(["openssl", "genrsa", "-out", str(key), "2048"], check=True,
                   capture_output=True)
    public = subprocess.run(["openssl", "rsa", "-in", str(key), "-pubout", "-outform", "DER"],
                            check=True, capture_output=True).stdout
    env = {"LEADGUIDE_DKIM_KEY_FILE": str(key), "LEADGUIDE_DKIM_SELECTOR": "lg",
           "LEADGUIDE_SECRET": SECRET}
    summary = run(plan(guide, tmp_path, server, to="jane@example.com", env=env))
    assert summary.sent == 1
    [received] = server.recorder.messages
    assert received.data.startswith(b"DKIM-Signature:")
    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)
    assert dkim.verify(received.data, dnsfunc=lambda name, timeout=5: record
                       if name == b"lg._domainkey.example.com." else None)
    pdf = next(p for p in received.message.walk() if p.get_content_type() == "application/pdf")
    assert pdf.get_content().startswith(pdf_of(guide).read_bytes())  # a personal copy


def test_a_kept_connection_the_server_closed_is_opened_again_at_once(guide, server):
    config = load_config(guide)
    settings = load_email_settings(config)
    people = [recipient(f"p{n}@example.com") for n in range(2)]
    messages = [build_message(config, settings, person, None,
                              links=signed_links(config, settings, person))
                for person in people]
    with SmtpTransport(server.settings()) as smtp:
        assert send(messages[0], smtp=smtp, retry=RetryPolicy(attempts=1)).status == SENT
        server.controller.stop()  # closes the connection the transport keeps
        server.controller = Controller(server.recorder, hostname="127.0.0.1", port=server.port)
        server.controller.start()
        delivery = send(messages[1], smtp=smtp, retry=RetryPolicy(attempts=1))
    assert (delivery.status, delivery.tries) == (SENT, 1)
    assert server.recorder.count() == {"p0@example.com": 1, "p1@example.com": 1}
