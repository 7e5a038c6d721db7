"""The signup service under faults: a locked database, a full or read-only disk (a small tmpfs),
a queue that loses its jobs, and a real redis-server killed and started again with and without
AOF. Nobody told "check your inbox" goes without, nobody is mailed twice or against their will.
"""
from __future__ import annotations

import contextlib
import dataclasses
import errno
import logging
import re
import sqlite3
import subprocess
import threading
import time
from pathlib import Path

import pytest
from signup_support import (Process, RedisServer, free_port, make_guide, service_env, signup_many,
                            start_smtp)
from starlette.testclient import TestClient

from leadguide.signup.app import create_app
from leadguide.signup.ledger import SENT, SUPPRESSED, worker_name
from leadguide.signup.queue import Sweeper
from leadguide.signup.service import make_mailer, open_service
from leadguide.signup.store import WELCOME, Payload


@pytest.fixture
def smtp():
    controller, box, port = start_smtp()
    yield box, port
    controller.stop()


class Disk:
    """A small tmpfs of its own: filled up, and given back. (Not remounted read-only: Linux
    refuses that while the database is open for writing.)"""

    def __init__(self, path: Path):
        self.path = path
        self.filler = path / "filler"

    def fill(self) -> None:
        with open(self.filler, "ab", buffering=0) as out:  # nothing left buffered to fail at close
            try:
                while True:
                    out.write(b"\0" * 65536)
                    out.flush()
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
        with contextlib.suppress(OSError), open(self.path / "crumbs", "ab") as out:
            for _ in range(4096):  # the last partial block too
                out.write(b"\0")
                out.flush()

    def restore(self) -> None:
        for junk in (self.filler, self.path / "crumbs"):
            junk.unlink(missing_ok=True)


@pytest.fixture
def disk(tmp_path):
    path = tmp_path / "disk"
    path.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(path)],
                             capture_output=True)
    if mounted.returncode:  # the tests run as root (scripts/system-deps.sh needs it too)
        pytest.fail(f"cannot mount a small tmpfs for the full-disk tests (run as root): "
                    f"{mounted.stderr.decode().strip()}")
    try:
        yield Disk(path)
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


@contextlib.contextmanager
def locked(database: Path):
    """Another program holding the signup database's write lock."""
    db = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        db.execute("ROLLBACK")
        db.close()


class Breakage:
    """One way the signup database cannot be written, and its end."""

    def __init__(self, kind: str, database: Path, disk: Disk | None):
        self.kind, self.database, self.disk = kind, database, disk
        self._lock: contextlib.ExitStack | None = None

    def start(self) -> None:
        if self.kind == "locked":
            self._lock = contextlib.ExitStack()
            self._lock.enter_context(locked(self.database))
        else:
            self.disk.fill()

    def end(self) -> None:
        if self._lock is not None:
            self._lock.close()
            self._lock = None
        elif self.disk is not None:
            self.disk.restore()


def _guide(tmp_path: Path, pdf: Path, database: Path | None = None) -> Path:
    extra = f"  database: {database}\n" if database else ""
    guide = make_guide(tmp_path, pdf, 8100, extra)
    config = guide / "guide.yaml"
    config.write_text(config.read_text().replace("min_fill_seconds: 0.3", "min_fill_seconds: 0"))
    return guide


class InProcess:
    """The app through Starlette's test client and the worker's jobs run here, one by one."""

    def __init__(self, guide: Path, smtp_port: int):
        self.env = service_env(smtp_port)
        self.service = open_service(guide, env=self.env)
        self.service.store.wait = 0.3  # a person's wait for the database, shortened
        self.service.ledger.store.wait = 0.5  # and a worker's
        self.mailer = make_mailer(self.service, env=self.env)
        self.client = TestClient(create_app(self.service), base_url="http://127.0.0.1:8100")
        self.database = self.service.settings.database

    def post(self, address: str) -> tuple[int, dict]:
        page = self.client.get("/").text
        render = re.search(r'name="t" value="([^"]+)"', page)[1]
        response = self.client.post("/subscribe", data={"email": address, "consent": "yes",
                                                        "website": "", "t": render},
                                    headers={"Accept": "application/json"})
        return response.status_code, response.headers

    def drain(self) -> list[str]:
        """Run every job on the queue, those put back for later too; what each did."""
        huey, done = self.service.queue.huey, []
        while (task := huey.dequeue()) is not None:
            task.eta = None
            done.append(huey.execute(task))
        return done

    def rows(self, sql: str, *args) -> list[tuple]:
        with contextlib.closing(sqlite3.connect(self.database)) as db:
            return db.execute(sql, args).fetchall()

    def close(self) -> None:
        self.mailer.close()
        self.service.close()


def _accepted_once_after_503(app: InProcess, box, breakage: Breakage) -> None:
    breakage.start()
    try:
        status, headers = app.post("ana@example.com")
    finally:
        breakage.end()
    assert status == 503 and headers["retry-after"]
    ana = "(SELECT id FROM subscribers WHERE address = 'ana@example.com')"
    assert app.rows(f"SELECT count(*) FROM subscribers WHERE id = {ana}") == [(0,)]
    assert app.post("ana@example.com")[0] == 200  # the retry is a first signup
    assert app.rows(f"SELECT event FROM consents WHERE subscriber_id = {ana}") == [("signup",)]
    assert app.drain() == [SENT]
    assert len(box.to("ana@example.com")) == 1
    assert app.rows("SELECT state FROM deliveries WHERE address = 'ana@example.com'") == [
        (SENT,)]


def test_a_locked_database_answers_503_and_the_retry_delivers(tmp_path, built_sample, smtp,
                                                              monkeypatch):
    box, port = smtp
    monkeypatch.chdir(tmp_path)
    app = InProcess(_guide(tmp_path, built_sample[0].output), port)
    try:
        _accepted_once_after_503(app, box, Breakage("locked", app.database, None))
    finally:
        app.close()


def test_a_full_disk_answers_503_and_the_retry_delivers(tmp_path, built_sample, smtp, disk,
                                                       monkeypatch):
    box, port = smtp
    monkeypatch.chdir(tmp_path)
    app = InProcess(_guide(tmp_path, built_sample[0].output, disk.path / "signup.sqlite"), port)
    try:
        assert app.post("first@example.com")[0] == 200  # the files exist; now the disk fails
        assert app.drain() == [SENT]
        box.messages.clear()
        _accepted_once_after_503(app, box, Breakage("full", app.database, disk))
    finally:
        app.close()


@pytest.mark.parametrize("kind", ["locked", "full"])
def test_marking_sent_is_retried_until_recorded_and_sent_once(tmp_path, built_sample, smtp,
                                                             disk, kind, monkeypatch, caplog):
    """The database breaks between the message going in and the server's 250: the worker keeps
    the claim and writes 'sent' once it can; another worker meanwhile sends nothing."""
    box, port = smtp
    monkeypatch.chdir(tmp_path)
    app = InProcess(_guide(tmp_path, built_sample[0].output, disk.path / "signup.sqlite"), port)
    breakage = Breakage(kind, app.database, disk)
    try:
        assert app.post("bo@example.com")[0] == 200
        (job,) = [app.service.queue.huey.dequeue()]
        box.before_reply = breakage.start
        outcome: list[str] = []
        worker = threading.Thread(target=lambda: outcome.append(app.service.queue.huey.execute(job)))
        with caplog.at_level(logging.WARNING, "leadguide.signup"):
            worker.start()
            box.wait_for(1)
            time.sleep(0.5)
            assert outcome == [] and worker.is_alive()  # still trying to record it
            # A second worker, its lease long run out: the first is alive, so it sends nothing.
            other = dataclasses.replace(app.mailer, owner=worker_name(), lease=0.1,
                                        _local=threading.local())
            assert other.deliver(Payload("sample", WELCOME, "bo@example.com", "")) in (
                "busy", "skipped")
            breakage.end()
            worker.join(20)
        assert outcome == [SENT]
        assert "trying again until it can be written" in caplog.text
        assert app.rows("SELECT state FROM deliveries") == [(SENT,)]
        assert app.drain() in ([], ["skipped"])  # the other worker's job, put back: nothing
        assert len(box.to("bo@example.com")) == 1
    finally:
        box.before_reply = None
        breakage.end()
        app.close()


def test_the_sweep_queues_an_accepted_signup_whose_job_never_reached_the_queue(
        tmp_path, built_sample, smtp, monkeypatch):
    box, port = smtp
    monkeypatch.chdir(tmp_path)
    app = InProcess(_guide(tmp_path, built_sample[0].output), port)
    try:
        queue = app.service.queue
        real = queue.enqueue

        def down(payload):
            raise ConnectionError("the queue is down")
        monkeypatch.setattr(queue, "enqueue", down)
        assert app.post("cy@example.com")[0] == 200  # saved: the ledger row is the outbox
        monkeypatch.setattr(queue, "enqueue", real)
        assert app.drain() == []
        sweeper = Sweeper(queue, worker_name(), alert_after=300, grace=0.5)
        assert sweeper.once() == 0  # not yet: it may only be late
        time.sleep(0.6)
        assert sweeper.once() == 1
        assert sweeper.once() == 0  # queued now: the next sweep leaves it to the queue
        assert app.drain() == [SENT]
        assert len(box.to("cy@example.com")) == 1
    finally:
        app.close()


def test_a_subscriber_saved_without_the_email_by_an_older_version_gets_it_on_signing_again(
        tmp_path, built_sample, smtp, monkeypatch):
    """Before one transaction: the subscriber saved, the ledger write failed (500); the retry
    answered 200 and nothing was ever sent."""
    box, port = smtp
    monkeypatch.chdir(tmp_path)
    app = InProcess(_guide(tmp_path, built_sample[0].output), port)
    try:
        assert app.post("di@example.com")[0] == 200
        with contextlib.closing(sqlite3.connect(app.database)) as db, db:
            db.execute("DELETE FROM deliveries")
        app.service.queue.huey.flush()
        assert app.post("di@example.com")[0] == 200
        assert app.drain() == [SENT]
        assert app.post("di@example.com")[0] == 200
        assert app.drain() == []
        assert len(box.to("di@example.com")) == 1
    finally:
        app.close()


# ----- Redis: killed and started again -----

def _suppress(guide: Path, cwd: Path, env: dict, address: str) -> None:
    export = cwd / "bounces.csv"
    export.write_text(f"EmailAddress,Reason\n{address},BOUNCE\n")
    done = subprocess.run([*Process.command, "suppress", str(guide), "--import", str(export)],
                          cwd=cwd, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def _wait_for(box, addresses: list[str], timeout: float = 40) -> None:
    deadline = time.monotonic() + timeout
    while not set(addresses) <= set(box.counts()):
        assert time.monotonic() < deadline, f"not delivered: {set(addresses) - set(box.counts())}"
        time.sleep(0.1)
    time.sleep(1.0)  # room for a duplicate


def _redis_queue(tmp_path: Path, built_sample, smtp_port: int, aof: bool):
    """A real redis-server (with or without its append-only file) as the guide's queue:
    the server, the guide, the environment and the service's port."""
    redis = RedisServer(tmp_path, aof=aof)
    port = free_port()
    guide = make_guide(tmp_path, built_sample[0].output, port)
    env = service_env(smtp_port, LEADGUIDE_QUEUE_URL=redis.url, LEADGUIDE_SWEEP_SECONDS="0.5")
    return redis, guide, env, port


def _serve(guide: Path, port: int, env: dict[str, str], tmp_path: Path, log: str) -> Process:
    """``leadguide signup serve`` started and answering."""
    web = Process(["serve", str(guide), "--port", str(port)], tmp_path, env, tmp_path / log)
    try:
        web.wait_http(f"http://127.0.0.1:{port}")
    except BaseException:
        web.stop()
        raise
    return web


def test_redis_losing_its_data_resends_nothing_and_mails_no_suppressed_address(
        tmp_path, built_sample, smtp):
    box, smtp_port = smtp
    redis, guide, env, port = _redis_queue(tmp_path, built_sample, smtp_port, aof=False)
    url = f"http://127.0.0.1:{port}"
    web = worker = None
    try:
        web = _serve(guide, port, env, tmp_path, "serve.log")
        worker = Process(["worker", str(guide)], tmp_path, env, tmp_path / "worker.log")
        sent = [f"s{i}@example.com" for i in range(8)]
        assert signup_many(url, sent) == [200] * len(sent)
        _wait_for(box, sent)
        worker.stop()
        waiting = [f"w{i}@example.com" for i in range(5)]
        assert signup_many(url, waiting) == [200] * len(waiting)  # on the queue, no worker
        _suppress(guide, tmp_path, env, "w0@example.com")  # an imported hard bounce
        redis.kill()
        during = [f"d{i}@example.com" for i in range(3)]
        assert signup_many(url, during) == [200] * len(during)  # saved; the queue is down
        redis.start()  # empty: no persistence
        web.stop()
        web = _serve(guide, port, env, tmp_path, "serve2.log")  # the next service start
        worker = Process(["worker", str(guide)], tmp_path, env, tmp_path / "worker2.log")
        owed = waiting[1:] + during
        _wait_for(box, owed)
        assert box.counts() == {address: 1 for address in sent + owed}
        with sqlite3.connect(tmp_path / "guide" / "build" / "sample.signup.sqlite") as db:
            (state,) = db.execute("SELECT state FROM deliveries WHERE address = "
                                  "'w0@example.com'").fetchone()
        assert state == SUPPRESSED
    finally:
        if worker:
            worker.stop()
        if web:
            web.stop()
        redis.stop()


def test_redis_with_aof_keeps_the_queue_and_an_outage_loses_nothing(tmp_path, built_sample,
                                                                    smtp):
    box, smtp_port = smtp
    redis, guide, env, port = _redis_queue(tmp_path, built_sample, smtp_port, aof=True)
    url = f"http://127.0.0.1:{port}"
    web = worker = None
    try:
        web = _serve(guide, port, env, tmp_path, "serve.log")
        queued = [f"q{i}@example.com" for i in range(6)]
        assert signup_many(url, queued) == [200] * len(queued)
        assert redis.client().llen("huey.redis.leadguidesample") == len(queued)
        redis.kill()
        during = [f"o{i}@example.com" for i in range(4)]  # a 4 s outage
        assert signup_many(url, during) == [200] * len(during)
        time.sleep(2)
        redis.start()  # from its append-only file
        assert redis.client().llen("huey.redis.leadguidesample") == len(queued)
        worker = Process(["worker", str(guide)], tmp_path, env, tmp_path / "worker.log")
        _wait_for(box, queued + during)  # no service restart needed
        assert box.counts() == {address: 1 for address in queued + during}
    finally:
        if worker:
            worker.stop()
        if web:
            web.stop()
        redis.stop()


def test_one_sweeper_at_a_time(tmp_path, built_sample, smtp, monkeypatch):
    box, port = smtp
    monkeypatch.chdir(tmp_path)
    app = InProcess(_guide(tmp_path, built_sample[0].output), port)
    try:
        queue = app.service.queue
        real = queue.enqueue
        monkeypatch.setattr(queue, "enqueue", lambda payload: None)  # its job is lost
        assert app.post("el@example.com")[0] == 200
        monkeypatch.setattr(queue, "enqueue", real)
        time.sleep(0.6)
        first, second = (Sweeper(queue, worker_name(), 300, every=10, grace=0.5)
                         for _ in range(2))
        assert first.once() == 1  # takes the lock and sweeps
        assert app.drain() == [SENT]
        monkeypatch.setattr(queue, "enqueue", lambda payload: None)
        assert app.post("fay@example.com")[0] == 200
        monkeypatch.setattr(queue, "enqueue", real)
        time.sleep(0.6)
        assert second.once() == 0  # the lock is the first one's (alive): no second sweep
        assert first.once() == 1
        assert app.drain() == [SENT]
        assert box.counts() == {"el@example.com": 1, "fay@example.com": 1}
    finally:
        app.close()
