"""Delivery workers on other machines (issue 28): a worker with only a copy of the guide folder
takes jobs from the shared Redis queue and claims and records each email through the service's
signed ledger routes (``signup worker --ledger-url``), never the signup database.

A second machine is played by a second copy of the guide (no database in its build folder),
its own SMTP server and another host name in its claims (LEADGUIDE_WORKER_HOST)."""
from __future__ import annotations

import json
import re
import shutil
import sqlite3
import subprocess
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from signup_support import (SECRET, Process, RedisServer, free_port, make_guide, request,
                            service_env, signup_many, start_smtp)
from standardwebhooks.webhooks import Webhook
from starlette.testclient import TestClient

from leadguide.signup.app import create_app
from leadguide.signup.errors import SignupError
from leadguide.signup.ledger import SENT
from leadguide.signup.remoteledger import RemoteLedger, ledger_key, signed_headers
from leadguide.signup.service import make_mailer, open_service
from leadguide.signup.store import WELCOME, Payload

FLEET = "  answer_seconds: 0\n  rate_limits:\n    per_ip: 100000/hour\n  remote_workers: true\n"
DATABASE = Path("build") / "sample.signup.sqlite"


@pytest.fixture
def smtp_pair():
    """Two SMTP servers: the database machine's and the second machine's."""
    near, near_box, near_port = start_smtp()
    far, far_box, far_port = start_smtp()
    yield (near_box, near_port), (far_box, far_port)
    near.stop()
    far.stop()


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(tmp_path)
    yield server
    server.stop()


class Fleet:
    """The service and its guide on the database's machine; a copy for the second machine."""

    def __init__(self, tmp_path: Path, pdf: Path, redis_url: str, near_smtp: int,
                 far_smtp: int, signup: str = FLEET, **env: str):
        self.tmp, self.port = tmp_path, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.guide = make_guide(tmp_path, pdf, self.port, signup)
        (tmp_path / "far").mkdir()
        self.far_guide = make_guide(tmp_path / "far", pdf, self.port, signup)
        self.env = service_env(near_smtp, LEADGUIDE_QUEUE_URL=redis_url, **env)
        self.far_env = {**service_env(far_smtp, LEADGUIDE_QUEUE_URL=redis_url, **env),
                        "LEADGUIDE_WORKER_HOST": "far-away-host"}
        self.processes: list[Process] = []
        self.web: Process | None = None

    def serve(self) -> Process:
        self.web = Process(["serve", str(self.guide), "--port", str(self.port), "--workers", "0"],
                           self.tmp, self.env, self.tmp / f"serve{len(self.processes)}.log")
        self.processes.append(self.web)
        self.web.wait_http(self.url)
        return self.web

    def local_worker(self, threads: int = 2) -> Process:
        return self._worker(["worker", str(self.guide), "--workers", str(threads)], self.env,
                            "near")

    def far_worker(self, threads: int = 2) -> Process:
        return self._worker(["worker", str(self.far_guide), "--workers", str(threads),
                             "--ledger-url", self.url], self.far_env, "far")

    def _worker(self, args: list[str], env: dict, name: str) -> Process:
        log = self.tmp / f"{name}{len(self.processes)}.log"
        worker = Process(args, self.tmp, env, log)
        self.processes.append(worker)
        deadline = time.monotonic() + 60
        while "Worker:" not in log.read_text():  # printed once its mailer is built
            assert worker.proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        return worker

    def rows(self) -> dict[str, tuple]:
        with sqlite3.connect(self.guide / DATABASE) as db:
            return {row[0]: row[1:] for row in db.execute(
                "SELECT address, state, attempts, owner FROM deliveries")}

    def logs(self) -> str:
        return "".join(path.read_text() for path in self.tmp.glob("*.log"))

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()


def wait_until(check, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def assert_no_secret(text: str) -> None:
    assert SECRET not in text
    assert ledger_key(SECRET).hex() not in text


def test_workers_on_two_machines_deliver_each_email_once(tmp_path, built_sample, smtp_pair,
                                                        redis_server):
    (near_box, near_smtp), (far_box, far_smtp) = smtp_pair
    near_box.delay = far_box.delay = 0.05  # neither worker can take the whole burst alone
    fleet = Fleet(tmp_path, built_sample[0].output, redis_server.url, near_smtp, far_smtp)
    people = [f"fleet{n}@example.com" for n in range(60)]
    try:
        fleet.serve()
        fleet.local_worker()
        fleet.far_worker()
        assert signup_many(fleet.url, people) == [200] * len(people)
        wait_until(lambda: len(near_box.messages) + len(far_box.messages) >= len(people), 90,
                   f"{len(near_box.messages)} + {len(far_box.messages)} delivered")
        time.sleep(1.0)  # room for a duplicate to show up
        near, far = near_box.counts(), far_box.counts()
        assert near + far == {address: 1 for address in people}
        assert len(near) >= 1 and len(far) >= 1, (len(near), len(far))
        assert {state for state, _, _ in fleet.rows().values()} == {SENT}
        assert len(fleet.rows()) == len(people)
        # The second machine signed the same links (same secret): its unsubscribe link works.
        links = re.findall(r"<(http[^>]+)>", str(far_box.messages[0]["List-Unsubscribe"]))
        assert links and request(links[0])[0] == 200
        # The owner's view counts the remote deliveries: they are in the same ledger.
        health = json.loads(request(fleet.url + "/healthz")[1])
        assert health["queue"]["depth"] == 0 and health["queue"]["sent_last_minute"] > 0
        stats = subprocess.run([*Process.command, "stats", str(fleet.guide)], cwd=tmp_path,
                               env=fleet.env, capture_output=True, text=True)
        assert "queue: 0 owed" in stats.stdout, stats.stdout + stats.stderr
    finally:
        fleet.stop()
    assert not (fleet.far_guide / DATABASE).exists()  # the second machine never opened one
    assert list((fleet.far_guide / "build").glob("*.sqlite*")) == []
    assert_no_secret(fleet.logs())


def test_a_remote_worker_killed_mid_send_is_resent_once_after_the_lease(
        tmp_path, built_sample, smtp_pair, redis_server):
    """No worker on the database's machine: ``serve`` sweeps, a second remote worker sends."""
    _, (far_box, far_smtp) = smtp_pair
    fleet = Fleet(tmp_path, built_sample[0].output, redis_server.url, 1, far_smtp,
                  LEADGUIDE_LEASE_SECONDS="3", LEADGUIDE_SWEEP_SECONDS="0.5")
    people = [f"kill{n}@example.com" for n in range(4)]
    try:
        fleet.serve()
        far_box.stall_after = 0  # the second machine's first transaction hangs mid-send
        far = fleet.far_worker(threads=1)
        assert signup_many(fleet.url, people) == [200] * len(people)
        assert far_box.stalled.wait(30), fleet.logs()
        far.kill()
        killed_at = time.monotonic()
        held = [address for address, (state, _, _) in fleet.rows().items()
                if state == "sending"]
        assert len(held) == 1 and fleet.rows()[held[0]][2].startswith("far-away-host/")
        far_box.stall_after = None
        fleet.far_worker()  # another machine's worker; the sweep is serve's
        wait_until(lambda: len(far_box.messages) >= len(people), 60, fleet.logs())
        time.sleep(1.0)
        assert far_box.counts() == {address: 1 for address in people}
        rows = fleet.rows()
        assert {state for state, _, _ in rows.values()} == {SENT}
        assert rows[held[0]][1] == 2  # claimed by the dead worker, then once more
        assert time.monotonic() - killed_at >= 2.0  # not before its lease ran out
        assert "queued again 1 email(s)" in fleet.logs()
    finally:
        fleet.stop()
    assert_no_secret(fleet.logs())


def test_a_service_down_while_a_remote_worker_finishes_holds_the_outcome(
        tmp_path, built_sample, smtp_pair, redis_server):
    (_, near_smtp), (far_box, far_smtp) = smtp_pair
    fleet = Fleet(tmp_path, built_sample[0].output, redis_server.url, near_smtp, far_smtp)
    try:
        web = fleet.serve()
        fleet.far_worker(threads=1)

        def kill_the_service() -> None:  # the message is in; the 250 goes out after this
            far_box.before_reply = None
            web.kill()
        far_box.before_reply = kill_the_service
        assert signup_many(fleet.url, ["down@example.com"]) == [200]
        far_box.wait_for(1, timeout=30)
        time.sleep(1.5)  # the worker tries to record 'sent' against a dead service
        assert fleet.rows()["down@example.com"][0] == "sending"
        fleet.serve()  # back on the same port
        wait_until(lambda: fleet.rows()["down@example.com"][0] == SENT, 30, fleet.logs())
        time.sleep(1.0)
        assert far_box.counts() == {"down@example.com": 1}
        assert fleet.rows()["down@example.com"][:2] == (SENT, 1)
        assert "recorded at last: record 'sent'" in fleet.logs()
    finally:
        fleet.stop()
    assert_no_secret(fleet.logs())


def test_a_remote_worker_with_another_secret_or_without_the_routes_is_refused(
        tmp_path, built_sample, smtp_pair, redis_server):
    (_, near_smtp), (_, far_smtp) = smtp_pair
    fleet = Fleet(tmp_path, built_sample[0].output, redis_server.url, near_smtp, far_smtp)
    wrong = "another-secret-" + "y" * 40
    try:
        fleet.serve()
        args = [*Process.command, "worker", str(fleet.far_guide), "--ledger-url", fleet.url]
        refused = subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, timeout=60,
                                 env={**fleet.far_env, "LEADGUIDE_SECRET": wrong})
        assert refused.returncode != 0
        assert "same LEADGUIDE_SECRET" in refused.stderr and "Traceback" not in refused.stderr
        for secret in (SECRET, wrong):
            assert secret not in refused.stdout + refused.stderr
            assert ledger_key(secret).hex() not in refused.stdout + refused.stderr
        fleet.web.stop()
        (fleet.guide / "guide.yaml").write_text(
            (fleet.guide / "guide.yaml").read_text().replace("  remote_workers: true\n", ""))
        fleet.serve()
        off = subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, timeout=60,
                             env=fleet.far_env)
        assert off.returncode != 0 and "signup.remote_workers" in off.stderr
    finally:
        fleet.stop()
    assert not (fleet.far_guide / DATABASE).exists()
    assert_no_secret(fleet.logs())


# ----- the routes themselves, in process -----

@pytest.fixture
def ledger_app(tmp_path, built_sample, monkeypatch):
    def make(signup: str):
        folder = tmp_path / f"app{len(list(tmp_path.glob('app*')))}"
        folder.mkdir()
        guide = make_guide(folder, built_sample[0].output, free_port(), signup)
        monkeypatch.chdir(folder)
        service = open_service(guide, env=service_env(1))
        return service, TestClient(create_app(service))
    return make


def _signed(body: dict, key: bytes = ledger_key(SECRET), ago: float = 0.0) -> tuple[bytes, dict]:
    data = json.dumps(body).encode()
    at = datetime.now(timezone.utc) - timedelta(seconds=ago)
    return data, signed_headers(Webhook(key), data, at)


def _row(service, address: str) -> tuple:
    return service.store.db.execute(
        "SELECT state, owner, claimed_at, attempts, next_at, detail, updated_at FROM deliveries "
        "WHERE address = ?", (address,)).fetchone()


def test_ledger_requests_must_be_signed_fresh_and_used_once(ledger_app):
    service, client = ledger_app(FLEET)
    payload = Payload("sample", WELCOME, "sec@example.com", "Sec")
    service.ledger.add(payload)
    claim = {"payload": payload.as_dict(), "owner": "far-away-host/1/2/abcd"}
    before = _row(service, "sec@example.com")

    data = json.dumps(claim).encode()
    unsigned = client.post("/_ledger/claim", content=data,
                           headers={"content-type": "application/json"})
    assert unsigned.status_code == 401
    data, headers = _signed(claim, key=b"k" * 32)
    assert client.post("/_ledger/claim", content=data, headers=headers).status_code == 401
    raw = SECRET.encode()  # the raw secret is not the key either
    data, headers = _signed(claim, key=raw)
    assert client.post("/_ledger/claim", content=data, headers=headers).status_code == 401
    data, headers = _signed(claim, ago=600)
    stale = client.post("/_ledger/claim", content=data, headers=headers)
    assert stale.status_code == 400 and "stale" in stale.text
    data, headers = _signed(claim)
    tampered = client.post("/_ledger/claim", content=data.replace(b"abcd", b"abce"),
                           headers=headers)
    assert tampered.status_code == 401
    assert _row(service, "sec@example.com") == before  # nothing changed

    data, headers = _signed(claim)
    taken = client.post("/_ledger/claim", content=data, headers=headers)
    assert taken.status_code == 200 and taken.json()["outcome"] == "go"
    assert isinstance(taken.json()["subscriber"], (int, type(None)))
    replayed = client.post("/_ledger/claim", content=data, headers=headers)
    assert replayed.status_code == 400 and "replayed" in replayed.text
    dressed = {**headers, "webhook-timestamp": headers["webhook-timestamp"] + ".0"}
    replayed = client.post("/_ledger/claim", content=data, headers=dressed)  # still signed
    assert replayed.status_code == 400 and "replayed" in replayed.text

    defer = {"payload": payload.as_dict(), "detail": "451 busy", "delay": 3600,
             "counted": True}
    data, headers = _signed(defer)
    assert client.post("/_ledger/defer", content=data, headers=headers).status_code == 200
    after = _row(service, "sec@example.com")
    assert after[0] == "retry" and after[3] == 1 and after[5] == "451 busy"
    time.sleep(0.01)
    again = client.post("/_ledger/defer", content=data, headers=headers)
    assert again.status_code == 400
    assert _row(service, "sec@example.com") == after  # not even updated_at moved

    sent = {"payload": payload.as_dict(), "state": "queued", "detail": ""}
    data, headers = _signed(sent)  # signed, but not an outcome
    assert client.post("/_ledger/finish", content=data, headers=headers).status_code == 400
    assert _row(service, "sec@example.com") == after
    service.close()


def test_ledger_routes_do_not_exist_unless_remote_workers_is_on(ledger_app):
    service, client = ledger_app("  remote_workers: false\n")
    payload = Payload("sample", WELCOME, "off@example.com", "")
    service.ledger.add(payload)
    data, headers = _signed({"payload": payload.as_dict(), "owner": "far/1/2/3"})
    assert client.post("/_ledger/claim", content=data, headers=headers).status_code == 404
    assert client.post("/_ledger/hello", content=b"{}").status_code == 404
    assert _row(service, "off@example.com")[0] == "queued"
    service.close()


def test_remote_workers_must_be_true_or_false(tmp_path, built_sample):
    guide = make_guide(tmp_path, built_sample[0].output, free_port(), "  remote_workers: yes please\n")
    shutil.rmtree(guide / "build")
    result = subprocess.run([*Process.command, "worker", str(guide)], cwd=tmp_path,
                            env=service_env(1), capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "remote_workers" in result.stderr and "true or false" in result.stderr


def test_a_claim_the_service_cannot_take_puts_the_job_back(ledger_app):
    service, _ = ledger_app(FLEET)
    mailer = make_mailer(service, env=service_env(1))
    mailer.ledger = RemoteLedger(f"http://127.0.0.1:{free_port()}", SECRET)  # nobody listens
    scheduled: list[float] = []
    mailer.schedule = lambda payload, delay: scheduled.append(delay)
    payload = Payload("sample", WELCOME, "gone@example.com", "")
    service.ledger.add(payload)
    assert mailer.deliver(payload) == "busy" and scheduled == [5.0]
    assert _row(service, "gone@example.com")[0] == "queued"
    mailer.close()
    service.close()


def test_an_outcome_is_posted_until_the_service_records_it():
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 8:
            raise TimeoutError("the test stops waiting here")

    ledger = RemoteLedger(f"http://127.0.0.1:{free_port()}", SECRET, sleep=sleep)
    with pytest.raises(TimeoutError):
        ledger.finish(Payload("sample", WELCOME, "held@example.com", ""), SENT)
    assert waits == [0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 5.0]  # it never gives up


def test_a_ledger_url_that_is_not_an_address_is_refused():
    with pytest.raises(SignupError, match="--ledger-url"):
        RemoteLedger("ftp://example.com", SECRET)
