"""The delivery ledger: one row per email (guide, kind, address) in the signup database.

It is the durable record of who is owed an email and what became of it, in both queue modes
(Redis, when used, holds only the queue: losing it loses jobs, never a record), and what makes
delivery exactly-once across retries, duplicate jobs and crashed workers:

* a signup writes its row (``queued``) in the same transaction as the subscriber and the
  consent record (store.py): an accepted signup is always owed, and the sweep finds it even if
  its job never reached the queue;
* a job first *claims* its row (``queued``/``retry`` → ``sending``, atomically, in one SQLite
  transaction that also reads the suppression list, the queue's pause and its send rate); a
  row that is ``sent``, ``failed`` or ``suppressed``, or held by a live worker, is left alone,
  so a duplicate job (a second signup, a re-queue after a crash) sends nothing;
* a worker that dies mid-send leaves ``sending`` behind; it may be claimed again once its
  owner is known dead (same host, process gone) or its lease ran out (another host);
* the outcome (``sent`` after the server's 250, or a retry or failure) is written until it is
  recorded: a locked database, a full or read-only disk hold the worker, they do not drop the
  record (which would let the lease run out and the email go again);
* the one window left is SMTP's own: killed after the server's final 250 but before ``sent``
  is recorded (usually one reply and one fsync; as long as the database cannot be written),
  or the connection lost while waiting for that reply, the email goes again, with the same
  Message-ID.

Durability: a signup's own row is committed with an fsync (``synchronous=FULL``) before the
answer goes out. A worker's claims and outcomes are committed without one (WAL with
``synchronous=NORMAL``): they survive the worker's crash or SIGKILL (the commit is in the
operating system's hands), and only a power loss or a kernel crash can take back the last of
them. Then a row goes back to ``queued``/``sending`` and the sweep sends it again: an email of
the last moment before the power went may arrive twice (same Message-ID), none is lost. The
fsyncs, taken under SQLite's one write lock, capped every worker together at about 80
deliveries a second; without them the cap is the CPU.

Workers reach the ledger in one of two ways. On the machine that holds the signup database
(``signup serve``'s own worker, ``signup worker``): directly, through SQLite (any number of
processes). On any other machine (``signup worker --ledger-url``, remoteledger.py): through the
service, which offers ``claim``, ``finish``, ``defer`` and ``pause`` at signed internal routes
(ledgerroutes.py, only with ``signup.remote_workers: true``) and runs them on this same table;
SQLite over a network file system is not safe, so the database never leaves its machine and
stays the one durable record. A remote worker's outcome is posted until the service has
recorded it (a service briefly down holds the worker, as a locked database does); a claim it
cannot make puts its job back. Its claims carry its own host name, so the service trusts them
for the lease and the sweep (which runs only where the database is) sends again what a remote
worker killed mid-send left ``sending`` once the lease has run out.
"""
from __future__ import annotations

import logging
import os
import socket
import sqlite3
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Callable

from .store import Payload, Store, now_iso

QUEUED, SENDING, RETRY, SENT, FAILED, SUPPRESSED = (
    "queued", "sending", "retry", "sent", "failed", "suppressed")
DONE = {SENT, FAILED, SUPPRESSED}
PENDING = (QUEUED, SENDING, RETRY)
GO, SKIP, PAUSED = "go", "skip", "paused"  # what a claim says (or SUPPRESSED)

log = logging.getLogger("leadguide.signup")


class LedgerUnavailable(Exception):
    """The ledger cannot be reached just now (a remote worker's service is down or busy): a
    claim's job is put back, as for a locked database."""


def this_host() -> str:
    """This machine's name in claims: the host name, or LEADGUIDE_WORKER_HOST (a worker that
    must tell itself apart from another machine of the same name; the tests' second host)."""
    return os.environ.get("LEADGUIDE_WORKER_HOST") or socket.gethostname()


def worker_name() -> str:
    """Who holds a claim: host, process and when it started (a reused pid is another process),
    and a nonce."""
    return f"{this_host()}/{os.getpid()}/{_started(os.getpid())}/{os.urandom(4).hex()}"


def _started(pid: int) -> str:
    """The process's start time in clock ticks since boot (Linux), or '' where unknown."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()[19].decode()
    except (OSError, IndexError):
        return ""


def on_this_host(owner: str) -> bool:
    return owner.partition("/")[0] == this_host()


def owner_is_dead(owner: str) -> bool:
    """Only for an owner on this host: its process is gone (or the pid is another's now)."""
    host, pid, started, *_ = [*owner.split("/"), "", "", ""]
    if host != this_host() or not pid.isdigit():
        return False
    if int(pid) == os.getpid():
        return False  # this process: its other thread may be mid-send
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    now = _started(int(pid))
    return bool(started and now and now != started)


@dataclass(frozen=True)
class Record:
    state: str
    owner: str
    claimed_at: float
    attempts: int
    next_at: float
    detail: str
    updated_at: str


@dataclass(frozen=True)
class Claim:
    """What a claim decided: GO (send, after ``wait`` seconds: the send rate's slot), SKIP
    (done, or held by a live worker), SUPPRESSED (recorded as such), PAUSED (the queue is
    paused for ``wait`` more seconds; the row is set to retry then)."""

    outcome: str
    attempts: int = 0  # GO: including this one
    wait: float = 0.0


def claimable(record: Record | None, now: float, lease: float) -> bool:
    if record is None or record.state in DONE:
        return False
    if record.state == SENDING:
        # A worker on this host is asked directly: alive, it may be mid-send, or retrying the
        # record of its 250 while the database cannot be written. Another host's is trusted
        # for the lease.
        if on_this_host(record.owner):
            return owner_is_dead(record.owner)
        return record.claimed_at < now - lease
    # A retry whose time has come, or a fresh one. (A job early by more than clock skew
    # allows is dropped; the sweep queues it again once it is due.)
    return record.next_at <= now + 0.05


@dataclass(frozen=True)
class SendRate:
    """``signup.send_rate``: at most so many messages per second and per rolling 24 hours,
    across every worker (the slots are taken in the claim's transaction)."""

    per_second: float | None = None
    per_day: int | None = None


@dataclass(frozen=True)
class QueueStats:
    waiting: int  # queued, not yet claimed
    retrying: int  # waiting for their retry (or for the pause to end)
    sending: int
    oldest_seconds: float  # how long the longest-waiting queued email has waited
    sent_last_minute: int
    failed_last_day: int
    paused_until: float
    pause_reason: str

    @property
    def depth(self) -> int:
        return self.waiting + self.retrying + self.sending

    def as_dict(self) -> dict:
        return {"depth": self.depth, "waiting": self.waiting, "retrying": self.retrying,
                "sending": self.sending, "oldest_seconds": round(self.oldest_seconds, 1),
                "sent_last_minute": self.sent_last_minute,
                "failed_last_day": self.failed_last_day,
                "paused_until": (datetime.fromtimestamp(self.paused_until, timezone.utc)
                                 .isoformat(timespec="seconds")
                                 if self.paused_until > time.time() else None),
                "pause_reason": self.pause_reason if self.paused_until > time.time() else None}


_FIELDS = "state, owner, claimed_at, attempts, next_at, detail, updated_at"
_KEY = "guide = ? AND kind = ? AND address_id = ?"


def _key(payload: Payload) -> tuple[str, str, str]:
    return payload.guide, payload.kind, payload.address_id


class Ledger:
    """The ``deliveries`` table, through the Store's connections (one per thread).

    ``hold``: a worker's outcome is written until it is recorded (see the module's docstring);
    False for the service answering a remote worker, which must not hold a web thread: the
    error goes back to the worker (503), which holds itself and posts again."""

    def __init__(self, store: Store, rate: SendRate = SendRate(),
                 sleep: Callable[[float], None] = time.sleep, hold: bool = True):
        self.store, self.rate, self.sleep, self.hold = store, rate, sleep, hold
        self._complaints = Complaints()

    # ----- adding (tests and tools; a signup adds its row in its own transaction) -----

    def add(self, payload: Payload) -> bool:
        with self.store.write() as db:
            return self.store.owe(db, payload, now_iso(), ignore=True)

    def record(self, payload: Payload) -> Record | None:
        row = self.store.db.execute(f"SELECT {_FIELDS} FROM deliveries WHERE {_KEY}",
                                    _key(payload)).fetchone()
        return Record(*row) if row else None

    # ----- a job's claim and outcome -----

    def claim(self, payload: Payload, owner: str, lease: float) -> Claim:
        """Take the row for sending, or say why not (raises sqlite3.Error if the database
        cannot be written: the caller puts the job back)."""
        with self.store.write(synced=False) as db:
            row = db.execute(f"SELECT {_FIELDS} FROM deliveries WHERE {_KEY}",
                             _key(payload)).fetchone()
            record, now = (Record(*row) if row else None), time.time()
            if not claimable(record, now, lease):
                return Claim(SKIP)
            suppressed = db.execute("SELECT reason FROM suppressions WHERE address_id = ?",
                                    (payload.address_id,)).fetchone()
            # An unsubscribed person who signed up again gets the one confirm email that
            # lets them opt in again (signup/again.py); a bounce or complaint, nothing.
            if suppressed and not (suppressed[0] == "unsubscribe"
                                   and payload.kind.startswith("optin#")):
                db.execute(f"UPDATE deliveries SET state = 'suppressed', owner = '', detail = "
                           f"'on the suppression list', updated_at = ? WHERE {_KEY}",
                           (now_iso(), *_key(payload)))
                return Claim(SUPPRESSED)
            until, reason = self._paused(db, now)
            if until > now:
                db.execute(f"UPDATE deliveries SET state = 'retry', owner = '', next_at = ?, "
                           f"detail = ?, updated_at = ? WHERE {_KEY}",
                           (until, f"the queue is paused: {reason}", now_iso(), *_key(payload)))
                return Claim(PAUSED, wait=until - now)
            wait = self._slot(db, now)
            db.execute(f"UPDATE deliveries SET state = 'sending', owner = ?, claimed_at = ?, "
                       f"attempts = attempts + 1, updated_at = ? WHERE {_KEY}",
                       (owner, now, now_iso(), *_key(payload)))
            return Claim(GO, record.attempts + 1, wait)

    def finish(self, payload: Payload, state: str, detail: str = "") -> None:
        """Record the outcome; retried until it is recorded (see the module's docstring)."""
        self._until_recorded(
            f"record '{state}' for an email",
            f"UPDATE deliveries SET state = ?, detail = ?, owner = '', updated_at = ? "
            f"WHERE {_KEY}", lambda: (state, detail, now_iso(), *_key(payload)))

    def defer(self, payload: Payload, detail: str, delay: float, counted: bool) -> None:
        """Back to ``retry`` in ``delay`` seconds (``counted``: the attempt is used up). Only
        a row still being sent: a late worker (its lease ran out, another sent the email) or a
        remote worker's retried request finds it done or deferred already and changes
        nothing (it would send the email again, or give back one attempt too many)."""
        self._until_recorded(
            "record a retry",
            "UPDATE deliveries SET state = 'retry', detail = ?, owner = '', next_at = ?, "
            f"attempts = max(attempts - ?, 0), updated_at = ? WHERE {_KEY} AND state = 'sending'",
            lambda: (detail, time.time() + delay, 0 if counted else 1, now_iso(),
                     *_key(payload)))

    def _until_recorded(self, what: str, sql: str, params: Callable[[], tuple]) -> None:
        delay = 0.05
        while True:
            try:
                with self.store.write(synced=False) as db:
                    db.execute(sql, params())
                if delay > 0.05:
                    log.warning("recorded at last: %s", what)
                return
            except sqlite3.Error as exc:
                if not self.hold:
                    raise
                self._complaints.say(f"cannot {what} in the signup database ({exc}); trying "
                                     "again until it can be written (the email is not sent "
                                     "again meanwhile)")
                self.sleep(delay)
                delay = min(delay * 2, 5.0)

    # ----- the queue's pause and pace (signup.send_rate), shared by all workers -----

    def pause(self, seconds: float, reason: str) -> float:
        """Pause the whole queue (a sending service's quota reply); returns when it ends."""
        until = time.time() + seconds
        self._until_recorded(
            "pause the queue",
            "INSERT INTO service_state (name, value, until) VALUES ('pause', ?, ?) "
            "ON CONFLICT (name) DO UPDATE SET value = excluded.value, "
            "until = max(until, excluded.until)", lambda: (reason, until))
        return until

    @staticmethod
    def _paused(db: sqlite3.Connection, now: float) -> tuple[float, str]:
        row = db.execute("SELECT until, value FROM service_state WHERE name = 'pause'").fetchone()
        return (row[0], row[1]) if row and row[0] > now else (0.0, "")

    def _slot(self, db: sqlite3.Connection, now: float) -> float:
        """Take this send's place under signup.send_rate: how long to wait for it. (A full
        day pauses the queue instead, and the claim of the next job says so.)"""
        if self.rate.per_day:
            minute = int(now // 60)
            db.execute("INSERT INTO send_counts (minute, sent) VALUES (?, 1) ON CONFLICT "
                       "(minute) DO UPDATE SET sent = sent + 1", (minute,))
            buckets = db.execute("SELECT minute, sent FROM send_counts WHERE minute > ? "
                                 "ORDER BY minute", (minute - 1440,)).fetchall()
            total = sum(sent for _, sent in buckets)
            if total >= self.rate.per_day:
                # Until enough of the oldest minutes leave the 24-hour window.
                over, reopen = total - self.rate.per_day + 1, now
                for bucket, sent in buckets:
                    over -= sent
                    if over <= 0:
                        reopen = (bucket + 1441) * 60
                        break
                db.execute("INSERT INTO service_state (name, value, until) VALUES ('pause', ?, ?) "
                           "ON CONFLICT (name) DO UPDATE SET value = excluded.value, "
                           "until = max(until, excluded.until)",
                           (f"signup.send_rate: {self.rate.per_day} a day reached", reopen))
        if not self.rate.per_second:
            return 0.0
        row = db.execute("SELECT until FROM service_state WHERE name = 'rate'").fetchone()
        slot = max(now, row[0] if row else 0.0)
        db.execute("INSERT INTO service_state (name, until) VALUES ('rate', ?) ON CONFLICT "
                   "(name) DO UPDATE SET until = excluded.until",
                   (slot + 1 / self.rate.per_second,))
        return slot - now

    # ----- the sweep -----

    def take_lock(self, name: str, owner: str, seconds: float) -> bool:
        """A lock shared by every worker (one sweeper at a time); it lapses after ``seconds``
        unless taken again by its holder."""
        now = time.time()
        with self.store.write() as db:
            row = db.execute("SELECT value, until FROM service_state WHERE name = ?",
                             (name,)).fetchone()
            if row and row[0] != owner and row[1] > now and not owner_is_dead(row[0]):
                return False
            db.execute("INSERT INTO service_state (name, value, until) VALUES (?, ?, ?) "
                       "ON CONFLICT (name) DO UPDATE SET value = excluded.value, "
                       "until = excluded.until", (name, owner, now + seconds))
        return True

    def lost(self, lease: float, grace: float, head: float | None) -> list[Payload]:
        """Emails owed whose job may be gone, set back to ``queued`` (queued now) so that the
        caller queues them again:

        * ``queued`` since before the oldest job still on the queue (``head``: when it was
          queued; None when the queue is empty), and for longer than ``grace``: the queue is
          first in, first out, so their job was taken and lost (a worker killed between taking
          it and claiming), never queued (the process died after the signup's commit), or the
          queue itself was lost (Redis without persistence);
        * ``retry`` more than ``grace`` after their time: the scheduled job was lost;
        * ``sending`` whose worker is dead (or its lease ran out).
        """
        now = time.time()
        before = (now if head is None else min(now, head)) - grace
        rows = self.store.db.execute(
            f"SELECT guide, kind, address, name, nonce, {_FIELDS} FROM deliveries "
            "WHERE state = 'queued' AND queued_at < ? UNION ALL "
            f"SELECT guide, kind, address, name, nonce, {_FIELDS} FROM deliveries "
            "WHERE state = 'retry' AND next_at < ? UNION ALL "
            f"SELECT guide, kind, address, name, nonce, {_FIELDS} FROM deliveries "
            "WHERE state = 'sending'", (before, now - grace)).fetchall()
        found = []
        for guide, kind, address, name, nonce, *fields in rows:
            record = Record(*fields)
            if record.state == SENDING and not claimable(record, now, lease):
                continue
            found.append((Payload(guide, kind, address, name, nonce), record))
        if not found:
            return []
        with self.store.write() as db:
            for payload, record in found:
                db.execute(f"UPDATE deliveries SET state = 'queued', owner = '', queued_at = ?, "
                           f"next_at = min(next_at, ?) WHERE {_KEY} AND state = ? AND owner = ?",
                           (now, now, *_key(payload), record.state, record.owner))
        return [payload for payload, _ in found]

    def prune(self) -> None:
        """Forget send counts older than the 24-hour window."""
        with self.store.write() as db:
            db.execute("DELETE FROM send_counts WHERE minute <= ?", (int(time.time() // 60) - 1441,))

    # ----- the owner's view -----

    def stats(self) -> QueueStats:
        db, now = self.store.db, time.time()
        counts = dict(db.execute("SELECT state, count(*) FROM deliveries WHERE state IN "
                                 "('queued', 'sending', 'retry') GROUP BY state").fetchall())
        oldest = db.execute("SELECT min(queued_at) FROM deliveries WHERE state = 'queued' "
                            "AND queued_at > 0").fetchone()[0]
        minute_ago, day_ago = _iso_ago(60), _iso_ago(86400)
        sent = db.execute("SELECT count(*) FROM deliveries WHERE state = 'sent' AND "
                          "updated_at >= ?", (minute_ago,)).fetchone()[0]
        failed = db.execute("SELECT count(*) FROM deliveries WHERE state = 'failed' AND "
                            "updated_at >= ?", (day_ago,)).fetchone()[0]
        until, reason = self._paused(db, now)
        return QueueStats(counts.get(QUEUED, 0), counts.get(RETRY, 0), counts.get(SENDING, 0),
                          max(0.0, now - oldest) if oldest else 0.0, sent, failed, until, reason)

    def daily(self, guide: str) -> dict[str, dict[str, int]]:
        days: dict[str, dict[str, int]] = {}
        rows = self.store.db.execute(
            "SELECT substr(updated_at, 1, 10), state, count(*) FROM deliveries "
            "WHERE guide = ? AND kind = 'welcome' AND state IN ('sent', 'failed') "
            "GROUP BY 1, 2", (guide,))
        for day, state, count in rows:
            days.setdefault(day, {})[state] = count
        return days

    def close(self) -> None:
        self.store.close()


def _iso_ago(seconds: float) -> str:
    moment = datetime.now(timezone.utc) - timedelta(seconds=seconds)
    return moment.isoformat(timespec="milliseconds")


class Complaints:
    """One log line per kind of failure per interval (a full disk must not fill the log)."""

    def __init__(self, interval: float = 30.0):
        self.interval, self.last, self.lock = interval, {}, threading.Lock()

    def say(self, text: str) -> None:
        kind, now = text[:40], time.monotonic()
        with self.lock:
            if now - self.last.get(kind, -1e9) < self.interval:
                return
            self.last[kind] = now
        log.warning(text)


def import_redis_ledger(url: str, prefix: str, store: Store) -> int:
    """A version before this one kept the ledger in Redis (``<prefix>:delivery:*`` hashes):
    copy what is still there into the signup database once (rows already there win), then
    delete it from Redis. Returns how many rows were added."""
    import redis
    client = redis.Redis.from_url(url, decode_responses=True)
    index = f"{prefix}:deliveries"
    keys = sorted(client.smembers(index))
    if not keys:
        return 0
    pipe = client.pipeline()
    for key in keys:
        pipe.hgetall(key)
    added = 0
    with store.write() as db:
        for fields in pipe.execute():
            if not fields.get("state") or not fields.get("address"):
                continue
            payload = Payload(fields["guide"], fields["kind"], fields["address"],
                              fields.get("name", ""), fields.get("nonce", ""))
            state = fields["state"]
            if state == SENDING:
                state = QUEUED  # its worker belonged to the old version
            now = now_iso()
            cursor = db.execute(
                "INSERT OR IGNORE INTO deliveries (guide, kind, address_id, address, name, "
                "nonce, state, attempts, next_at, detail, created_at, updated_at, queued_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)",
                (*_key(payload), payload.address, payload.name, payload.nonce, state,
                 int(fields.get("attempts", 0) or 0), float(fields.get("next_at", 0) or 0),
                 fields.get("detail", ""), fields.get("created_at", now),
                 fields.get("updated_at", now)))
            added += cursor.rowcount
        for ident in client.smembers(f"{prefix}:suppressed"):
            db.execute("INSERT OR IGNORE INTO suppressions (address_id, reason, source, at) "
                       "VALUES (?, 'unsubscribe', 'redis', ?)", (ident, now_iso()))
    client.delete(*keys, index, f"{prefix}:suppressed")
    return added
