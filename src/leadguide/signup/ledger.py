"""The delivery ledger: one record per email (guide, kind, address) that every worker shares.

It is what makes delivery exactly-once across retries, duplicate jobs and crashed workers:

* a job first *claims* its record (``queued``/``retry`` → ``sending``, atomically); a record
  that is ``sent``, ``failed`` or ``suppressed``, or held by a live worker, is left alone, so a
  duplicate job (a second signup, a re-queue after a crash) sends nothing;
* a worker that dies mid-send leaves ``sending`` behind; it may be claimed again once its
  owner is known dead (same host, process gone) or its lease ran out (another host);
* the one window left is SMTP's own: killed after the server's final 250 but before ``sent``
  is recorded, the email goes again, with the same Message-ID.

Two implementations with one interface: a table in the signup database (the built-in SQLite
queue) and Redis hashes (when the queue is Redis, so workers on other machines share it).
"""
from __future__ import annotations

import os
import socket
import sqlite3
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterable, Protocol

from .store import Payload, SqliteFile, now_iso

QUEUED, SENDING, RETRY, SENT, FAILED, SUPPRESSED = (
    "queued", "sending", "retry", "sent", "failed", "suppressed")
DONE = {SENT, FAILED, SUPPRESSED}


def worker_name() -> str:
    """Who holds a claim: host, process, and a nonce (a reused pid is not the same worker)."""
    return f"{socket.gethostname()}/{os.getpid()}/{uuid.uuid4().hex[:8]}"


def owner_is_dead(owner: str) -> bool:
    host, _, rest = owner.partition("/")
    pid = rest.partition("/")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    if int(pid) == os.getpid():
        return False  # this process: its other thread may be mid-send
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


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
    attempts: int  # including this one


def claimable(record: Record | None, now: float, lease: float) -> bool:
    if record is None or record.state in DONE:
        return False
    if record.state == SENDING:
        return record.claimed_at < now - lease or owner_is_dead(record.owner)
    # A retry whose time has come, or a fresh one. (A job early by more than clock skew
    # allows is dropped; the minute's sweep queues it again once it is due.)
    return record.next_at <= now + 0.05


class Ledger(Protocol):
    def add(self, payload: Payload) -> bool: ...
    def claim(self, payload: Payload, owner: str, lease: float) -> Claim | None: ...
    def finish(self, payload: Payload, state: str, detail: str = "") -> None: ...
    def defer(self, payload: Payload, detail: str, delay: float, counted: bool) -> None: ...
    def due(self, lease: float, grace: float) -> list[Payload]: ...
    def suppressed(self, ident: str) -> bool: ...
    def suppress(self, ident: str) -> None: ...
    def daily(self, guide: str) -> dict[str, dict[str, int]]: ...
    def close(self) -> None: ...


class SqliteLedger(SqliteFile):
    """The ``deliveries`` table of the signup database."""

    _SCHEMA = """
    CREATE TABLE IF NOT EXISTS deliveries (
        guide TEXT NOT NULL, kind TEXT NOT NULL, address_id TEXT NOT NULL,
        address TEXT NOT NULL, name TEXT NOT NULL, nonce TEXT NOT NULL DEFAULT '',
        state TEXT NOT NULL, owner TEXT NOT NULL DEFAULT '', claimed_at REAL NOT NULL DEFAULT 0,
        attempts INTEGER NOT NULL DEFAULT 0, next_at REAL NOT NULL DEFAULT 0,
        detail TEXT NOT NULL DEFAULT '', created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
        PRIMARY KEY (guide, kind, address_id)
    );
    CREATE INDEX IF NOT EXISTS deliveries_state ON deliveries (state);
    """
    _FIELDS = "state, owner, claimed_at, attempts, next_at, detail, updated_at"

    def __init__(self, path: Path):
        super().__init__(path, self._SCHEMA)

    @staticmethod
    def _key(payload: Payload) -> tuple[str, str, str]:
        return payload.guide, payload.kind, payload.address_id

    def add(self, payload: Payload) -> bool:
        now = now_iso()
        with self._write() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO deliveries (guide, kind, address_id, address, name, nonce, "
                "state, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'queued', ?, ?)",
                (*self._key(payload), payload.address, payload.name, payload.nonce, now, now))
        return cursor.rowcount > 0

    def _record(self, db: sqlite3.Connection, payload: Payload) -> Record | None:
        row = db.execute(f"SELECT {self._FIELDS} FROM deliveries WHERE guide = ? AND kind = ? "
                         "AND address_id = ?", self._key(payload)).fetchone()
        return Record(*row) if row else None

    def claim(self, payload: Payload, owner: str, lease: float) -> Claim | None:
        with self._write() as db:
            record = self._record(db, payload)
            if not claimable(record, time.time(), lease):
                return None
            db.execute("UPDATE deliveries SET state = 'sending', owner = ?, claimed_at = ?, "
                       "attempts = attempts + 1, updated_at = ? WHERE guide = ? AND kind = ? "
                       "AND address_id = ?", (owner, time.time(), now_iso(), *self._key(payload)))
            return Claim(record.attempts + 1)

    def finish(self, payload: Payload, state: str, detail: str = "") -> None:
        self.db.execute("UPDATE deliveries SET state = ?, detail = ?, owner = '', updated_at = ? "
                        "WHERE guide = ? AND kind = ? AND address_id = ?",
                        (state, detail, now_iso(), *self._key(payload)))

    def defer(self, payload: Payload, detail: str, delay: float, counted: bool) -> None:
        self.db.execute("UPDATE deliveries SET state = 'retry', detail = ?, owner = '', "
                        "next_at = ?, attempts = attempts - ?, updated_at = ? "
                        "WHERE guide = ? AND kind = ? AND address_id = ?",
                        (detail, time.time() + delay, 0 if counted else 1, now_iso(),
                         *self._key(payload)))

    def due(self, lease: float, grace: float) -> list[Payload]:
        now, found = time.time(), []
        rows = self.db.execute(f"SELECT guide, kind, address, name, nonce, {self._FIELDS} "
                               "FROM deliveries WHERE state IN ('queued', 'sending', 'retry')")
        for guide, kind, address, name, nonce, *fields in rows.fetchall():
            record = Record(*fields)
            waiting = record.state == QUEUED and record.updated_at > _iso_ago(grace)
            late_retry = record.state != RETRY or record.next_at < now - grace
            if not waiting and late_retry and claimable(record, now, lease):
                found.append(Payload(guide, kind, address, name, nonce))
        return found

    def suppressed(self, ident: str) -> bool:
        return self.db.execute("SELECT 1 FROM suppressions WHERE address_id = ?",
                               (ident,)).fetchone() is not None

    def suppress(self, ident: str) -> None:
        """The store already holds the suppression list in this database."""

    def daily(self, guide: str) -> dict[str, dict[str, int]]:
        days: dict[str, dict[str, int]] = {}
        rows = self.db.execute("SELECT substr(updated_at, 1, 10), state, count(*) FROM deliveries "
                               "WHERE guide = ? AND kind = 'welcome' AND state IN "
                               "('sent', 'failed') GROUP BY 1, 2", (guide,))
        for day, state, count in rows:
            days.setdefault(day, {})[state] = count
        return days


def _iso_ago(seconds: float) -> str:
    moment = datetime.now(timezone.utc) - timedelta(seconds=seconds)
    return moment.isoformat(timespec="milliseconds")


class RedisLedger:
    """One Redis hash per email, changed by optimistic transactions (WATCH/MULTI)."""

    def __init__(self, url: str, prefix: str = "leadguide"):
        import redis
        self.redis = redis.Redis.from_url(url, decode_responses=True)
        self.prefix = prefix
        self._watch_error = redis.WatchError

    def _key(self, payload: Payload) -> str:
        return f"{self.prefix}:delivery:{payload.guide}:{payload.kind}:{payload.address_id}"

    def add(self, payload: Payload) -> bool:
        now = now_iso()
        key = self._key(payload)
        pipe = self.redis.pipeline()
        pipe.hsetnx(key, "state", QUEUED)
        pipe.hsetnx(key, "created_at", now)
        pipe.hset(key, mapping=payload.as_dict())
        pipe.sadd(f"{self.prefix}:deliveries", key)
        added = pipe.execute()[0]
        if added:
            self.redis.hset(key, "updated_at", now)
        return bool(added)

    @staticmethod
    def _record(fields: dict[str, str]) -> Record | None:
        if not fields.get("state"):
            return None
        return Record(fields["state"], fields.get("owner", ""),
                      float(fields.get("claimed_at", 0)), int(fields.get("attempts", 0)),
                      float(fields.get("next_at", 0)), fields.get("detail", ""),
                      fields.get("updated_at", ""))

    def _change(self, payload: Payload, decide) -> object:
        """Run ``decide(record) -> (mapping to set | None, result)`` atomically."""
        key = self._key(payload)
        while True:
            with self.redis.pipeline() as pipe:
                try:
                    pipe.watch(key)
                    record = self._record(pipe.hgetall(key))
                    changes, result = decide(record)
                    if changes is None:
                        pipe.unwatch()
                        return result
                    pipe.multi()
                    pipe.hset(key, mapping={**changes, "updated_at": now_iso()})
                    pipe.execute()
                    return result
                except self._watch_error:
                    continue

    def claim(self, payload: Payload, owner: str, lease: float) -> Claim | None:
        def decide(record: Record | None):
            if not claimable(record, time.time(), lease):
                return None, None
            attempts = record.attempts + 1
            return ({"state": SENDING, "owner": owner, "claimed_at": time.time(),
                     "attempts": attempts}, Claim(attempts))
        return self._change(payload, decide)

    def finish(self, payload: Payload, state: str, detail: str = "") -> None:
        self.redis.hset(self._key(payload), mapping={"state": state, "detail": detail,
                                                     "owner": "", "updated_at": now_iso()})

    def defer(self, payload: Payload, detail: str, delay: float, counted: bool) -> None:
        def decide(record: Record | None):
            attempts = (record.attempts if record else 0) - (0 if counted else 1)
            return {"state": RETRY, "detail": detail, "owner": "",
                    "next_at": time.time() + delay, "attempts": max(attempts, 0)}, None
        self._change(payload, decide)

    def _all(self) -> Iterable[dict[str, str]]:
        pipe = self.redis.pipeline()
        keys = sorted(self.redis.smembers(f"{self.prefix}:deliveries"))
        for key in keys:
            pipe.hgetall(key)
        return pipe.execute()

    def due(self, lease: float, grace: float) -> list[Payload]:
        now, found = time.time(), []
        for fields in self._all():
            record = self._record(fields)
            if record is None:
                continue
            waiting = record.state == QUEUED and record.updated_at > _iso_ago(grace)
            late_retry = record.state != RETRY or record.next_at < now - grace
            if not waiting and late_retry and claimable(record, now, lease):
                found.append(Payload(fields["guide"], fields["kind"], fields["address"],
                                     fields["name"], fields.get("nonce", "")))
        return found

    def suppressed(self, ident: str) -> bool:
        return bool(self.redis.sismember(f"{self.prefix}:suppressed", ident))

    def suppress(self, ident: str) -> None:
        self.redis.sadd(f"{self.prefix}:suppressed", ident)

    def daily(self, guide: str) -> dict[str, dict[str, int]]:
        days: dict[str, dict[str, int]] = {}
        for fields in self._all():
            state = fields.get("state")
            if (fields.get("guide") == guide and fields.get("kind") == "welcome"
                    and state in (SENT, FAILED)):
                day = days.setdefault(fields.get("updated_at", "")[:10], {})
                day[state] = day.get(state, 0) + 1
        return days

    def close(self) -> None:
        self.redis.close()


def open_ledger(queue_url: str | None, database: Path, prefix: str) -> Ledger:
    return RedisLedger(queue_url, prefix) if queue_url else SqliteLedger(database)

