"""Delivery exactly once: SMTP replies (4xx, 5xx, quota), a worker SIGKILLed mid-queue, and the
Redis queue with two workers, against a real redis-server started here."""
from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest
import redis
from signup_support import (Process, free_port, make_guide, request, service_env, signup_many,
                            start_smtp)

from leadguide.email.send import RetryPolicy
from leadguide.signup.ledger import FAILED, SENT
from leadguide.signup.service import make_mailer, open_service
from leadguide.signup.store import WELCOME, Payload


@pytest.fixture
def smtp():
    controller, box, port = start_smtp()
    yield box, port
    controller.stop()


def _record(service, address: str):
    with service.store.db as db:  # the ledger shares the signup database
        return db.execute("SELECT state, attempts, detail FROM deliveries WHERE address = ?",
                          (address,)).fetchone()


def test_a_retry_is_recorded_only_on_an_email_still_being_sent(tmp_path, built_sample, smtp,
                                                               monkeypatch):
    """A worker's late retry never takes back an email another one sent (it would go again),
    and the same retry recorded twice (a remote worker's request posted again after a lost
    answer) gives back one attempt, not two."""
    _, port = smtp
    guide = make_guide(tmp_path, built_sample[0].output, free_port())
    monkeypatch.chdir(tmp_path)
    service = open_service(guide, env=service_env(port))
    ledger, late = service.ledger, Payload("sample", WELCOME, "late@example.com", "")
    ledger.add(late)
    assert ledger.claim(late, "host-a/1", 120.0).outcome == "go"
    ledger.finish(late, SENT)  # another worker sent it after this one's lease ran out
    ledger.defer(late, "451 from the late worker", 30.0, counted=True)
    assert _record(service, "late@example.com")[0] == SENT
    twice = Payload("sample", WELCOME, "twice@example.com", "")
    ledger.add(twice)
    for _ in range(2):
        assert ledger.claim(twice, "host-a/1", 120.0).outcome == "go"
        ledger.defer(twice, "a first 451", 0.0, counted=True)
    assert ledger.claim(twice, "host-a/1", 120.0).outcome == "go"
    for _ in range(2):  # the quota's retry, posted again
        ledger.defer(twice, "over the sending quota", 0.0, counted=False)
    assert _record(service, "twice@example.com")[:2] == ("retry", 2)
    service.close()


def test_replies_temporary_permanent_and_quota(tmp_path, built_sample, smtp, monkeypatch):
    box, port = smtp
    guide = make_guide(tmp_path, built_sample[0].output, free_port(),
                       "  quota_wait_seconds: 0.3\n")
    monkeypatch.chdir(tmp_path)
    service = open_service(guide, env=service_env(port))
    mailer = make_mailer(service, retry=RetryPolicy(attempts=3, first_delay=0.2, max_delay=0.2),
                         env=service_env(port))
    scheduled: list[float] = []
    mailer.schedule = lambda payload, delay: scheduled.append(delay)
    quota = Payload("sample", WELCOME, "quinn@example.com", "Quinn")
    service.ledger.add(quota)

    box.data_replies = ["454 4.7.0 Daily message quota exceeded", "451 4.3.0 Try again later"]
    assert mailer.deliver(quota) == "waiting"
    assert _record(service, "quinn@example.com")[:2] == ("retry", 0)  # no attempt used up
    assert scheduled == [0.3]
    assert mailer.deliver(quota) == "skipped"  # its time has not come
    time.sleep(0.35)
    assert mailer.deliver(quota) == "retry"  # the 451: a counted attempt, with backoff
    assert _record(service, "quinn@example.com")[:2] == ("retry", 1)
    assert 0.15 <= scheduled[-1] <= 0.2
    time.sleep(0.25)
    assert mailer.deliver(quota) == SENT
    assert mailer.deliver(quota) == "skipped"
    assert len(box.to("quinn@example.com")) == 1

    refused = Payload("sample", WELCOME, "rex@example.com", "")
    service.ledger.add(refused)
    box.data_replies = ["550 5.1.1 No such user"]
    assert mailer.deliver(refused) == FAILED
    assert _record(service, "rex@example.com")[0] == FAILED
    assert mailer.deliver(refused) == "skipped"

    stubborn = Payload("sample", WELCOME, "tess@example.com", "")
    service.ledger.add(stubborn)
    box.data_replies = ["451 4.3.0 busy"] * 3
    outcomes = []
    for _ in range(3):
        outcomes.append(mailer.deliver(stubborn))
        time.sleep(0.25)
    assert outcomes == ["retry", "retry", FAILED]
    assert _record(service, "tess@example.com")[2].startswith("gave up after 3 tries")
    mailer.close()
    service.close()


def test_a_worker_killed_mid_queue_delivers_each_subscriber_once(tmp_path, built_sample, smtp):
    box, smtp_port = smtp
    port = free_port()
    guide = make_guide(tmp_path, built_sample[0].output, port)
    env = service_env(smtp_port)
    web = Process(["serve", str(guide), "--port", str(port), "--workers", "0"], tmp_path, env,
                  tmp_path / "serve.log")
    url = f"http://127.0.0.1:{port}"
    try:
        web.wait_http(url)
        people = [f"k{i}@example.com" for i in range(8)]
        assert signup_many(url, people) == [200] * len(people)
        box.stall_after = 3  # the 4th transaction hangs before the server accepts it
        worker = Process(["worker", str(guide), "--workers", "1"], tmp_path, env,
                         tmp_path / "worker.log")
        assert box.stalled.wait(30), (tmp_path / "worker.log").read_text()
        worker.kill()
        assert len(box.messages) == 3
        box.stall_after = None
        again = Process(["worker", str(guide), "--workers", "1"], tmp_path, env,
                        tmp_path / "worker2.log")
        try:
            box.wait_for(len(people), timeout=30)
            time.sleep(1.0)  # room for a duplicate to show up
        finally:
            again.stop()
        assert box.counts() == {address: 1 for address in people}
    finally:
        web.stop()


@pytest.fixture
def redis_url(tmp_path):
    server = shutil.which("redis-server")
    if server is None:
        pytest.fail("redis-server is missing: run scripts/system-deps.sh test")
    port = free_port()
    proc = subprocess.Popen([server, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", str(tmp_path)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    client = redis.Redis(port=port)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait(10)


def test_redis_queue_with_two_workers_sends_each_once(tmp_path, built_sample, smtp, redis_url):
    box, smtp_port = smtp
    port = free_port()
    guide = make_guide(tmp_path, built_sample[0].output, port)
    env = service_env(smtp_port, LEADGUIDE_QUEUE_URL=redis_url)
    web = Process(["serve", str(guide), "--port", str(port)], tmp_path, env, tmp_path / "serve.log")
    url = f"http://127.0.0.1:{port}"
    workers = []
    try:
        web.wait_http(url)
        workers = [Process(["worker", str(guide)], tmp_path, env, tmp_path / f"worker{n}.log")
                   for n in (1, 2)]
        people = [f"r{i}@example.com" for i in range(12)]
        assert signup_many(url, people + people[:4]) == [200] * 16  # four sign up twice
        box.wait_for(len(people), timeout=30)
        time.sleep(1.0)
        assert box.counts() == {address: 1 for address in people}
        with sqlite3.connect(tmp_path / "guide" / "build" / "sample.signup.sqlite") as db:
            states = db.execute("SELECT state, count(*) FROM deliveries GROUP BY state")
            assert dict(states.fetchall()) == {SENT: 12}  # the durable record is SQLite
        client = redis.Redis.from_url(redis_url, decode_responses=True)
        assert [key for key in client.keys("*") if not key.startswith("huey.")] == []
        assert client.llen("huey.redis.leadguidesample") == 0  # nothing kept per signup
        owners = {line for n in (1, 2) for line in (tmp_path / f"worker{n}.log").read_text()
                  .splitlines() if line.startswith("Worker:")}
        assert len(owners) == 1 and "Redis" in owners.pop()
    finally:
        for worker in workers:
            worker.stop()
        web.stop()


def test_a_quota_refusal_pauses_the_queue_not_each_person(tmp_path, built_sample, smtp,
                                                          monkeypatch):
    box, port = smtp
    guide = make_guide(tmp_path, built_sample[0].output, free_port(),
                       "  quota_wait_seconds: 0.5\n")
    monkeypatch.chdir(tmp_path)
    service = open_service(guide, env=service_env(port))
    mailer = make_mailer(service, env=service_env(port))
    mailer.schedule = lambda payload, delay: None
    people = [Payload("sample", WELCOME, f"q{n}@example.com", "") for n in range(7)]
    for payload in people:
        service.ledger.add(payload)
    box.data_replies = ["454 4.7.0 Daily message quota exceeded"]
    outcomes = [mailer.deliver(payload) for payload in people]
    assert outcomes == ["waiting"] + ["paused"] * 6  # one refusal; nobody else tried
    assert box.messages == [] and box.data_replies == []
    details = {_record(service, p.address)[2] for p in people[1:]}
    assert len(details) == 1 and details.pop().startswith("the queue is paused")
    time.sleep(0.6)
    assert [mailer.deliver(payload) for payload in people] == [SENT] * 7
    assert box.counts() == {p.address: 1 for p in people}
    mailer.close()
    service.close()


def _timed_claim(claim, slots: list[tuple[float, float]]):
    """The ledger's claim, noting the moment its send may go (between the call's start and
    its end, plus the wait it hands back)."""
    def timed(*args, **kwargs):
        called = time.time()
        decided = claim(*args, **kwargs)
        if decided.outcome == "go":
            slots.append((called + decided.wait, time.time() + decided.wait))
        return decided
    return timed


def test_send_rate_is_kept_by_all_workers_together(tmp_path, built_sample, smtp, monkeypatch):
    box, port = smtp
    guide = make_guide(tmp_path, built_sample[0].output, free_port(),
                       "  send_rate:\n    per_second: 4\n    per_day: 5\n")
    monkeypatch.chdir(tmp_path)
    env = service_env(port)
    service, other = open_service(guide, env=env), open_service(guide, env=env)
    slots: list[tuple[float, float]] = []  # each send's moment: (earliest, latest)
    mailers = [make_mailer(s, env=env) for s in (service, other)]  # two workers' own ledgers
    for mailer in mailers:
        mailer.schedule = lambda payload, delay: None
        mailer.sleep = lambda seconds: None
        mailer.ledger.claim = _timed_claim(mailer.ledger.claim, slots)
    people = [Payload("sample", WELCOME, f"n{n}@example.com", "") for n in range(6)]
    for payload in people:
        service.ledger.add(payload)
    outcomes = [mailers[n % 2].deliver(payload) for n, payload in enumerate(people)]
    assert outcomes == [SENT] * 5 + ["paused"]  # 5 a day, counted across both workers
    # 4 a second, across both workers: each send's slot at least 0.25 s after the one
    # before, however long the machine took between the claims (the moment a claim read
    # the clock is known to lie between the call and its return)
    sent = sorted(slots[:5])
    assert all(later[0] - earlier[1] >= 0.25 - 1e-3 - (earlier[1] - earlier[0])
               - (later[1] - later[0]) for earlier, later in zip(sent, sent[1:])), sent
    assert _record(service, "n5@example.com")[2].startswith(
        "the queue is paused: signup.send_rate: 5 a day reached")
    assert len(box.messages) == 5
    for mailer in mailers:
        mailer.close()
    service.close()
    other.close()


def test_serve_sends_from_a_worker_process_of_its_own(tmp_path, built_sample, smtp):
    box, smtp_port = smtp
    port = free_port()
    guide = make_guide(tmp_path, built_sample[0].output, port)
    web = Process(["serve", str(guide), "--port", str(port)], tmp_path, service_env(smtp_port),
                  tmp_path / "serve.log")
    url = f"http://127.0.0.1:{port}"
    try:
        web.wait_http(url)
        children = _children(web.proc.pid)
        assert len(children) == 1 and b"signup\0worker" in _cmdline(children[0])
        assert signup_many(url, ["w1@example.com"]) == [200]
        box.wait_for(1)
        _wait_sent(tmp_path, "w1@example.com")  # killed before that, it would send again
        os.kill(children[0], signal.SIGKILL)  # the worker dies: serve starts another
        deadline = time.monotonic() + 20
        while not [c for c in _children(web.proc.pid) if c != children[0]]:
            assert time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
            time.sleep(0.1)
        assert signup_many(url, ["w2@example.com"]) == [200]
        box.wait_for(2)
        (worker,) = _children(web.proc.pid)
        web.kill()  # and when serve is killed, its worker goes too
        deadline = time.monotonic() + 10
        while Path(f"/proc/{worker}").exists() and _state(worker) != "Z":
            assert time.monotonic() < deadline, "the worker outlived serve"
            time.sleep(0.1)
        assert box.counts() == {"w1@example.com": 1, "w2@example.com": 1}
    finally:
        web.stop()


def _wait_sent(base: Path, address: str) -> None:
    deadline = time.monotonic() + 10
    while True:
        with sqlite3.connect(base / "guide" / "build" / "sample.signup.sqlite") as db:
            row = db.execute("SELECT state FROM deliveries WHERE address = ?",
                             (address,)).fetchone()
        if row == (SENT,):
            return
        assert time.monotonic() < deadline, f"{address}: {row}"
        time.sleep(0.05)


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[1]) == pid and stat[0] != "Z":
                found.append(int(entry.name))
    return found


def _cmdline(pid: int) -> bytes:
    return Path(f"/proc/{pid}/cmdline").read_bytes()


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "Z"


def test_the_queue_is_visible_in_healthz_stats_and_the_log(tmp_path, built_sample, smtp):
    box, smtp_port = smtp
    port = free_port()
    guide = make_guide(tmp_path, built_sample[0].output, port, "  alert_after_seconds: 0.5\n")
    env = service_env(smtp_port, LEADGUIDE_SWEEP_SECONDS="0.3")
    web = Process(["serve", str(guide), "--port", str(port), "--workers", "0"], tmp_path, env,
                  tmp_path / "serve.log")
    url = f"http://127.0.0.1:{port}"
    worker = None
    try:
        web.wait_http(url)
        assert signup_many(url, ["v1@example.com", "v2@example.com"]) == [200, 200]
        time.sleep(0.6)
        status, body, headers = request(url + "/healthz")
        health = json.loads(body)
        assert status == 200 and health["ok"] and "json" in str(headers).lower()
        queue = health["queue"]
        assert (queue["depth"], queue["waiting"], queue["sent_last_minute"]) == (2, 2, 0)
        assert queue["oldest_seconds"] >= 0.5 and queue["paused_until"] is None
        stats = subprocess.run([*Process.command, "stats", str(guide)], cwd=tmp_path, env=env,
                               capture_output=True, text=True)
        assert "queue: 2 owed (2 waiting, 0 to retry, 0 sending)" in stats.stdout
        box.stall_after = 0  # the server hangs: the worker cannot keep up
        worker = Process(["worker", str(guide)], tmp_path, env, tmp_path / "worker.log")
        deadline = time.monotonic() + 20
        while "the oldest queued email has waited" not in (tmp_path / "worker.log").read_text():
            assert time.monotonic() < deadline, (tmp_path / "worker.log").read_text()
            time.sleep(0.1)
    finally:
        if worker:
            worker.kill()
        web.stop()


def test_a_burst_of_200_signups_is_delivered_once_each(tmp_path, built_sample, smtp):
    """The default one-command serve (its worker process, the fsync-free worker commits) under
    200 concurrent signups: every accepted address gets exactly one email, none is lost."""
    from concurrent.futures import ThreadPoolExecutor
    box, smtp_port = smtp
    port = free_port()
    guide = make_guide(tmp_path, built_sample[0].output, port,
                       "  answer_seconds: 0\n  rate_limits:\n    per_ip: 100000/hour\n")
    web = Process(["serve", str(guide), "--port", str(port)], tmp_path, service_env(smtp_port),
                  tmp_path / "serve.log")
    url = f"http://127.0.0.1:{port}"
    people = [f"burst{n}@example.com" for n in range(200)]
    try:
        web.wait_http(url)
        with ThreadPoolExecutor(20) as pool:
            statuses = list(pool.map(lambda chunk: signup_many(url, chunk, wait=0.35),
                                     [people[n::20] for n in range(20)]))
        assert [s for chunk in statuses for s in chunk] == [200] * 200
        box.wait_for(200, timeout=120)
        time.sleep(1.5)  # room for a duplicate to arrive
        assert box.counts() == {address: 1 for address in people}
        with sqlite3.connect(tmp_path / "guide" / "build" / "sample.signup.sqlite") as db:
            states = dict(db.execute("SELECT state, count(*) FROM deliveries GROUP BY state"))
        assert states == {SENT: 200}
    finally:
        web.stop()
