"""The signup database (SQLite, WAL): subscribers, the consent ledger, suppressions, downloads.

One connection per thread (SQLite connections must not be shared across threads); every write
is one short transaction, committed and synced (``synchronous=FULL``) before the answer goes out.
"""
from __future__ import annotations

import secrets
import sqlite3
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from .errors import SignupError
from .tokens import address_id

PENDING, CONFIRMED = "pending", "confirmed"
WELCOME, CONFIRM = "welcome", "confirm"  # the two kinds of email the service sends
UNSUBSCRIBED, BOUNCED, COMPLAINED = "unsubscribe", "bounce", "complaint"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS subscribers (
    id            INTEGER PRIMARY KEY,
    guide         TEXT NOT NULL,
    address_id    TEXT NOT NULL,
    address       TEXT NOT NULL,
    name          TEXT NOT NULL DEFAULT '',
    status        TEXT NOT NULL CHECK (status IN ('pending', 'confirmed')),
    confirm_nonce TEXT,
    created_at    TEXT NOT NULL,
    confirmed_at  TEXT,
    UNIQUE (guide, address_id)
);
CREATE TABLE IF NOT EXISTS consents (
    id            INTEGER PRIMARY KEY,
    subscriber_id INTEGER NOT NULL REFERENCES subscribers (id),
    event         TEXT NOT NULL,        -- signup, repeat (signed up again), confirm
    at            TEXT NOT NULL,
    ip            TEXT NOT NULL,
    user_agent    TEXT NOT NULL,
    page          TEXT NOT NULL,        -- the page the form was on (Referer), if sent
    shown         TEXT NOT NULL,        -- the words the person was shown
    consent_box   INTEGER NOT NULL      -- 1: ticked the consent box, 0: there was none
);
CREATE INDEX IF NOT EXISTS consents_subscriber ON consents (subscriber_id);
CREATE TABLE IF NOT EXISTS suppressions (
    address_id TEXT PRIMARY KEY,
    address    TEXT NOT NULL DEFAULT '',   -- empty when only the link's digest is known
    reason     TEXT NOT NULL,              -- unsubscribe, bounce, complaint
    source     TEXT NOT NULL,              -- one-click, page, import:<file>
    at         TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS downloads (
    id         INTEGER PRIMARY KEY,
    guide      TEXT NOT NULL,
    address_id TEXT NOT NULL,
    at         TEXT NOT NULL
);
"""

# ----- abuse (h-abuse): downloads counted once per person and day -----
_ABUSE_SCHEMA = """
CREATE INDEX IF NOT EXISTS downloads_person ON downloads (guide, address_id, at);
"""
# ----- end of abuse -----


@dataclass(frozen=True)
class Visit:
    """Where a form submission (or a confirm click) came from, for the consent ledger."""

    ip: str
    user_agent: str
    page: str
    shown: str
    consent_box: bool


@dataclass(frozen=True)
class Payload:
    """One email to send: what a queued job carries (plain values, so any worker can run it)."""

    guide: str
    kind: str
    address: str
    name: str
    nonce: str = ""  # a confirm email's single-use nonce

    @property
    def address_id(self) -> str:
        return address_id(self.address)

    def as_dict(self) -> dict[str, str]:
        return {"guide": self.guide, "kind": self.kind, "address": self.address,
                "name": self.name, "nonce": self.nonce}


@dataclass(frozen=True)
class Subscriber:
    id: int
    guide: str
    address: str
    name: str
    status: str
    confirm_nonce: str | None


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def connect(path: Path) -> sqlite3.Connection:
    # Autocommit; writes open their own BEGIN IMMEDIATE so readers never block them midway.
    db = sqlite3.connect(path, isolation_level=None, timeout=15, check_same_thread=False)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = FULL")
    db.execute("PRAGMA foreign_keys = ON")
    return db


class SqliteFile:
    """A SQLite file this process's threads share: a connection per thread, one writer at a
    time (threads wait on a lock, not in SQLite's busy handler, whose growing sleeps made the
    slowest answers take a second)."""

    def __init__(self, path: Path, schema: str):
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            connect(path).executescript(schema)
        except (OSError, sqlite3.Error) as exc:
            raise SignupError(f"cannot open the signup database: {exc}", path) from None
        self._local = threading.local()
        self._writing = threading.Lock()

    @property
    def db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = connect(self.path)
        return db

    def _write(self) -> "_Transaction":
        return _Transaction(self.db, self._writing)

    def close(self) -> None:
        """Close this thread's connection."""
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None


class Store(SqliteFile):
    def __init__(self, path: Path):
        super().__init__(path, _SCHEMA + _ABUSE_SCHEMA)

    # ----- signing up and confirming -----

    def signup(self, guide: str, address: str, name: str, visit: Visit,
               double_opt_in: bool) -> list[Payload]:
        """Record the signup and its consent; return the emails it newly calls for (0 or 1).

        Signing up again records the visit and sends nothing new: the welcome email goes out
        once per person and guide, and the answer is the same either way.
        """
        ident, now = address_id(address), now_iso()
        with self._write() as db:
            row = db.execute("SELECT id FROM subscribers WHERE guide = ? AND address_id = ?",
                             (guide, ident)).fetchone()
            if row:
                self._consent(db, row[0], "repeat", visit, now)
                return []
            status = PENDING if double_opt_in else CONFIRMED
            nonce = secrets.token_urlsafe(12) if double_opt_in else None
            cursor = db.execute(
                "INSERT INTO subscribers (guide, address_id, address, name, status, "
                "confirm_nonce, created_at, confirmed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (guide, ident, address, name, status, nonce, now,
                 None if double_opt_in else now))
            self._consent(db, cursor.lastrowid, "signup", visit, now)
        return [Payload(guide, CONFIRM if double_opt_in else WELCOME, address, name, nonce or "")]

    @staticmethod
    def _consent(db: sqlite3.Connection, subscriber: int, event: str, visit: Visit,
                 now: str) -> None:
        db.execute("INSERT INTO consents (subscriber_id, event, at, ip, user_agent, page, shown, "
                   "consent_box) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                   (subscriber, event, now, visit.ip, visit.user_agent[:500], visit.page[:500],
                    visit.shown, int(visit.consent_box)))

    def subscriber(self, guide: str, ident: str) -> Subscriber | None:
        row = self.db.execute(
            "SELECT id, guide, address, name, status, confirm_nonce FROM subscribers "
            "WHERE guide = ? AND address_id = ?", (guide, ident)).fetchone()
        return Subscriber(*row) if row else None

    def confirm(self, guide: str, ident: str, nonce: str, visit: Visit) -> tuple[str, list[Payload]]:
        """'confirmed' (and the welcome email to send), 'already', or 'invalid'. Single use:
        the nonce is cleared, so the same link confirms once."""
        with self._write() as db:
            row = db.execute("SELECT id, address, name, status, confirm_nonce FROM subscribers "
                             "WHERE guide = ? AND address_id = ?", (guide, ident)).fetchone()
            if row is None:
                return "invalid", []
            sid, address, name, status, stored = row
            if status == CONFIRMED:
                return "already", []
            if not stored or not secrets.compare_digest(stored, nonce):
                return "invalid", []
            now = now_iso()
            db.execute("UPDATE subscribers SET status = 'confirmed', confirm_nonce = NULL, "
                       "confirmed_at = ? WHERE id = ?", (now, sid))
            self._consent(db, sid, "confirm", visit, now)
            # Proving the address is theirs lifts their own earlier unsubscribe.
            db.execute("DELETE FROM suppressions WHERE address_id = ? AND reason = ?",
                       (ident, UNSUBSCRIBED))
        return "confirmed", [Payload(guide, WELCOME, address, name)]

    def recent_payloads(self, guide: str, since: str) -> list[Payload]:
        """Emails that signups since ``since`` called for (to re-check after a crash)."""
        rows = self.db.execute(
            "SELECT status, address, name, confirm_nonce FROM subscribers WHERE guide = ? AND "
            "(created_at >= ? OR confirmed_at >= ?)", (guide, since, since))
        return [Payload(guide, WELCOME if status == CONFIRMED else CONFIRM, address, name,
                        nonce or "") for status, address, name, nonce in rows]

    # ----- suppressions and downloads -----

    def suppress(self, ident: str, address: str, reason: str, source: str) -> bool:
        """Add to the suppression list; False if it was already there (the first reason stays,
        except that a bounce or complaint outranks an unsubscribe)."""
        with self._write() as db:
            if not address:
                row = db.execute("SELECT address FROM subscribers WHERE address_id = ? LIMIT 1",
                                 (ident,)).fetchone()
                address = row[0] if row else ""
            cursor = db.execute(
                "INSERT INTO suppressions (address_id, address, reason, source, at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (address_id) DO UPDATE SET "
                "reason = excluded.reason, source = excluded.source "
                "WHERE suppressions.reason = 'unsubscribe' AND excluded.reason != 'unsubscribe'",
                (ident, address, reason, source, now_iso()))
            return cursor.rowcount > 0

    def is_suppressed(self, ident: str) -> bool:
        return self.db.execute("SELECT 1 FROM suppressions WHERE address_id = ?",
                               (ident,)).fetchone() is not None

    def record_download(self, guide: str, ident: str) -> bool:
        """Count a download once per person and UTC day; False if today's is counted."""
        now = now_iso()
        with self._write() as db:
            if db.execute("SELECT 1 FROM downloads WHERE guide = ? AND address_id = ? AND "
                          "at >= ?", (guide, ident, now[:10])).fetchone():
                return False
            db.execute("INSERT INTO downloads (guide, address_id, at) VALUES (?, ?, ?)",
                       (guide, ident, now))
        return True

    # ----- the owner's view -----

    def daily(self, guide: str) -> dict[str, dict[str, int]]:
        """Per UTC day: signups, confirmed, unsubscribed, downloads."""
        queries = {
            "signups": ("SELECT substr(created_at, 1, 10), count(*) FROM subscribers "
                        "WHERE guide = ? GROUP BY 1", (guide,)),
            "confirmed": ("SELECT substr(confirmed_at, 1, 10), count(*) FROM subscribers "
                          "WHERE guide = ? AND status = 'confirmed' GROUP BY 1", (guide,)),
            "unsubscribed": ("SELECT substr(at, 1, 10), count(*) FROM suppressions GROUP BY 1",
                             ()),
            "downloads": ("SELECT substr(at, 1, 10), count(*) FROM downloads WHERE guide = ? "
                          "GROUP BY 1", (guide,)),
        }
        days: dict[str, dict[str, int]] = {}
        for column, (sql, args) in queries.items():
            for day, count in self.db.execute(sql, args):
                days.setdefault(day, {})[column] = count
        return days

    def ledger_rows(self, guide: str) -> Iterator[tuple]:
        """Every consent record with its subscriber and suppression, oldest first."""
        yield from self.db.execute(
            "SELECT s.address, s.name, s.status, s.created_at, s.confirmed_at, c.event, c.at, "
            "c.ip, c.user_agent, c.page, c.consent_box, c.shown, "
            "coalesce(x.reason, ''), coalesce(x.at, '') "
            "FROM consents c JOIN subscribers s ON s.id = c.subscriber_id "
            "LEFT JOIN suppressions x ON x.address_id = s.address_id "
            "WHERE s.guide = ? ORDER BY c.id", (guide,))


class _Transaction:
    """``with``: BEGIN IMMEDIATE ... COMMIT (or ROLLBACK on an exception)."""

    def __init__(self, db: sqlite3.Connection, lock: threading.Lock | None = None):
        self.db, self.lock = db, lock

    def __enter__(self) -> sqlite3.Connection:
        if self.lock:
            self.lock.acquire()
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except BaseException:
            if self.lock:
                self.lock.release()
            raise
        return self.db

    def __exit__(self, kind, *_) -> None:
        try:
            self.db.execute("ROLLBACK" if kind else "COMMIT")
        finally:
            if self.lock:
                self.lock.release()
