"""The job queue (Huey): SQLite storage by default, Redis when LEADGUIDE_QUEUE_URL says so.

One job, ``deliver`` (one email, see tasks.py). The queue only carries jobs: what is owed and
what became of it is the ledger's (the signup database), so a queue that loses its jobs (Redis
restarted without persistence, a worker killed between taking a job and claiming it, a process
that died between a signup's commit and its job) loses no email: each worker process runs a
sweeper thread that, one process at a time (a lock in the database), queues again what the
ledger owes and the queue cannot hold any more (``Ledger.lost``). A job queued twice is
harmless: the ledger lets only one of them send.
"""
from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from dataclasses import dataclass
from typing import Callable

from huey import Huey, RedisHuey, SqliteHuey
from huey.storage import SqliteStorage

from .ledger import Complaints, Ledger
from .settings import Secrets, SignupSettings
from .store import Payload

SWEEP_EVERY = 10.0  # seconds between sweeps
SWEEP_GRACE = 10.0  # seconds a job may be out of order (or late) before it counts as lost

log = logging.getLogger("leadguide.signup")


ENQUEUE_WAIT = 5.0  # seconds the web side waits for the SQLite queue's lock (a worker's take)


def make_huey(name: str, settings: SignupSettings, secrets: Secrets, web: bool = False) -> Huey:
    """``web``: the side that only puts jobs on the queue. A worker's take holds the SQLite
    queue's lock; SQLite's own busy wait sleeps up to 100 ms at a time, so the web side's waits
    are short and Queue.enqueue tries again every millisecond instead."""
    if secrets.queue_url:
        return RedisHuey(name, url=secrets.queue_url, results=False)
    settings.queue_path.parent.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(name, filename=str(settings.queue_path), results=False,
                      storage_class=_QueueStorage, timeout=0.005 if web else 5)


class _QueueStorage(SqliteStorage):
    """Huey's SQLite queue without an fsync per job (WAL, synchronous=NORMAL): the queue is not
    the record (the ledger is, and its sweep queues again whatever a power loss took back), and
    an fsync per put and per take was a third of the disk waits of every signup."""

    def _create_connection(self):
        conn = super()._create_connection()
        conn.execute("PRAGMA synchronous = NORMAL")
        return conn


@dataclass
class Queue:
    huey: Huey
    ledger: Ledger
    lease: float
    _deliver: Callable | None = None

    def bind(self, deliver: Callable[[Payload], object]) -> None:
        """Register the job; the web side and the workers both call this, with the same name."""
        def run(fields: dict) -> object:
            fields = dict(fields)
            fields.pop("queued_at", None)
            return deliver(Payload(**fields))

        self._deliver = self.huey.task(name="leadguide.signup.deliver")(run)

    def enqueue(self, payload: Payload) -> None:
        deadline = time.monotonic() + ENQUEUE_WAIT
        while True:
            try:
                self._deliver({**payload.as_dict(), "queued_at": time.time()})
                return
            except sqlite3.OperationalError as exc:  # the SQLite queue, busy with a take
                if "locked" not in str(exc) and "busy" not in str(exc) or \
                        time.monotonic() > deadline:
                    raise
            time.sleep(0.001)

    def schedule(self, payload: Payload, delay: float) -> None:
        # Huey puts it on the queue with its time, and a consumer moves it to the schedule;
        # queued_at is when it went on the queue, as for any job (see Ledger.lost).
        self._deliver.schedule(args=({**payload.as_dict(), "queued_at": time.time()},),
                               delay=delay)

    def head(self) -> float | None:
        """When the oldest job still on the queue was queued; None: the queue is empty."""
        try:
            tasks = self.huey.pending(limit=1)
        except Exception as exc:  # noqa: BLE001 - an unreadable job: lose nothing, guess old
            if "connect" in str(exc).lower() or "redis" in type(exc).__module__:
                raise
            return 0.0
        if not tasks:
            return None
        args = tasks[0].args
        if args and isinstance(args[0], dict):
            return float(args[0].get("queued_at", 0) or 0)
        return 0.0

    def depth(self) -> int:
        return self.huey.pending_count()

    def sweep(self, grace: float = SWEEP_GRACE) -> int:
        """Queue again what the ledger owes and the queue lost; how many."""
        lost = self.ledger.lost(self.lease, grace, self.head())
        for payload in lost:
            self.enqueue(payload)
        return len(lost)


class Sweeper:
    """Every ``every`` seconds, in one worker process at a time: the sweep, the ledger's old
    send counts pruned, and a warning when the oldest email has waited longer than
    ``alert_after`` seconds (signup.alert_after_seconds)."""

    def __init__(self, queue: Queue, owner: str, alert_after: float,
                 every: float = SWEEP_EVERY, grace: float = SWEEP_GRACE,
                 extras: tuple[Callable[[], object], ...] = ()):
        self.queue, self.owner, self.alert_after = queue, owner, alert_after
        self.extras = extras  # more periodic work: the sequence's planning, the webhooks
        self.every, self.grace = every, grace
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="leadguide-sweeper", daemon=True)
        self._complaints = Complaints()
        self._alerted = 0.0

    def start(self) -> Sweeper:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        while True:
            self.once()
            if self._stop.wait(self.every):
                return

    def once(self) -> int:
        ledger = self.queue.ledger
        try:
            if not ledger.take_lock("sweep", self.owner, self.every * 3):
                return 0
            swept = self.queue.sweep(self.grace)
            if swept:
                log.warning("queued again %d email(s) whose job was lost or late", swept)
            ledger.prune()
            self._alert(ledger)
            self._extras()
            return swept
        except Exception as exc:  # noqa: BLE001 - the queue or database down: next time
            self._complaints.say(f"the sweep could not run: {type(exc).__name__}: {exc}")
            return 0

    def _extras(self) -> None:
        for extra in self.extras:
            try:
                extra()
            except Exception as exc:  # noqa: BLE001 - one failing must not stop the sweep
                self._complaints.say(f"periodic work failed: {type(exc).__name__}: {exc}")

    def _alert(self, ledger: Ledger) -> None:
        stats = ledger.stats()
        now = time.monotonic()
        if stats.oldest_seconds > self.alert_after and now - self._alerted > 60:
            self._alerted = now
            log.warning("the oldest queued email has waited %.0f s (signup.alert_after_seconds "
                        "is %g): %d waiting, %d sent in the last minute%s",
                        stats.oldest_seconds, self.alert_after, stats.waiting,
                        stats.sent_last_minute,
                        f"; the queue is paused: {stats.pause_reason}"
                        if stats.paused_until > time.time() else "")


def make_consumer(queue: Queue, workers: int):
    """Huey's consumer, polling an idle SQLite queue every 0.05-0.5 s, so a signup's email
    leaves within a second."""
    return queue.huey.create_consumer(workers=workers, worker_type="thread",
                                      initial_delay=0.05, backoff=1.5, max_delay=0.5,
                                      periodic=False, check_worker_health=True)


def sweep_seconds() -> float:
    """SWEEP_EVERY, or LEADGUIDE_SWEEP_SECONDS (the tests' shorter sweeps)."""
    try:
        return max(0.2, float(os.environ.get("LEADGUIDE_SWEEP_SECONDS", SWEEP_EVERY)))
    except ValueError:
        return SWEEP_EVERY


def run_consumer(queue: Queue, workers: int, owner: str, alert_after: float,
                 extras: tuple[Callable[[], object], ...] = ()) -> None:
    """``leadguide signup worker``: run until SIGINT (finish jobs) or SIGTERM."""
    sweeper = Sweeper(queue, owner, alert_after, sweep_seconds(), sweep_seconds(), extras)
    sweeper.once()
    sweeper.start()
    try:
        make_consumer(queue, workers).run()
    finally:
        sweeper.stop()


def quiet_huey() -> None:
    """Huey logs every job at INFO; the service reports outcomes through the ledger instead."""
    logging.getLogger("huey").setLevel(logging.WARNING)
