"""The signup database (SQLite, WAL): subscribers, the consent ledger, suppressions, downloads,
and the delivery ledger (one row per email owed: see ledger.py).

One connection per thread (SQLite connections must not be shared across threads); every write
is one short transaction, committed and synced (``synchronous=FULL``) before the answer goes out.
A signup is one transaction: the subscriber, the consent record and the email it calls for
(the ledger row, ``queued``) are written together or not at all, so an accepted signup is
always in the ledger (the outbox the workers' sweep reads) and a failed one left nothing
behind: the person's retry is a first signup, not a repeat. A write that cannot be made (the
database locked past the wait, the disk full or read-only) raises ``Unavailable``: the web side
answers 503, try again.
"""
from __future__ import annotations

import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

from .errors import SignupError, Unavailable
from .tokens import address_id

if TYPE_CHECKING:
    from .again import Again

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
CREATE TABLE IF NOT EXISTS deliveries (      -- the delivery ledger: one row per email owed
    guide TEXT NOT NULL, kind TEXT NOT NULL, address_id TEXT NOT NULL,
    address TEXT NOT NULL, name TEXT NOT NULL, nonce TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL,                     -- queued, sending, retry, sent, failed, suppressed
    owner TEXT NOT NULL DEFAULT '', claimed_at REAL NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0, next_at REAL NOT NULL DEFAULT 0,
    detail TEXT NOT NULL DEFAULT '', created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
    queued_at REAL NOT NULL DEFAULT 0,       -- when its job last went on the queue (0: never)
    PRIMARY KEY (guide, kind, address_id)
);
CREATE TABLE IF NOT EXISTS service_state (   -- shared by every worker: pauses, locks, pacing
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL DEFAULT '',
    until REAL NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS send_counts (     -- messages sent per minute, for signup.send_rate
    minute INTEGER PRIMARY KEY,
    sent   INTEGER NOT NULL
);
"""
# Added to databases made before the column existed; then the indexes that use it.
_MIGRATIONS = [("deliveries", "queued_at", "REAL NOT NULL DEFAULT 0")]
_INDEXES = """
DROP INDEX IF EXISTS deliveries_state;
CREATE INDEX IF NOT EXISTS deliveries_done ON deliveries (state, updated_at);
CREATE INDEX IF NOT EXISTS deliveries_queued ON deliveries (state, queued_at)
    WHERE state IN ('queued', 'sending', 'retry');
CREATE INDEX IF NOT EXISTS deliveries_retry ON deliveries (state, next_at)
    WHERE state IN ('queued', 'sending', 'retry');
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


WAIT = 15.0  # seconds a write waits for another process's (a worker's, a command's)
WEB_WAIT = 5.0  # ... when a person waits for the answer: then 503, try again


BUSY_MS = 5  # SQLite's own busy wait (for reads): its sleeps grow to 100 ms, see _Transaction


def connect(path: Path, wait: float = WAIT) -> sqlite3.Connection:
    # Autocommit; writes open their own BEGIN IMMEDIATE so readers never block them midway.
    db = sqlite3.connect(path, isolation_level=None, timeout=BUSY_MS / 1000,
                         check_same_thread=False)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = FULL")
    db.execute("PRAGMA foreign_keys = ON")
    return db


class SqliteFile:
    """A SQLite file this process's threads share: a connection per thread, one writer at a
    time (threads wait on a lock, not in SQLite's busy handler, whose growing sleeps made the
    slowest answers take a second)."""

    def __init__(self, path: Path, schema: str, wait: float = WAIT):
        self.path, self.wait = path, wait
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            db = connect(path)
            try:
                db.executescript(schema)
                self._migrate(db)
            finally:
                db.close()
        except (OSError, sqlite3.Error) as exc:
            raise SignupError(f"cannot open the signup database: {exc}", path) from None
        self._local = threading.local()
        self._writing = threading.Lock()

    def _migrate(self, db: sqlite3.Connection) -> None:
        """Bring a database made by an older version up to date (see Store)."""

    @property
    def db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = connect(self.path, self.wait)
        return db

    def write(self, synced: bool = True) -> "_Transaction":
        """A write transaction (BEGIN IMMEDIATE), one thread of this process at a time.
        ``synced=False``: committed without an fsync (WAL, synchronous=NORMAL): safe from a
        crash of the process, not from a power loss (see ledger.py: the workers' records)."""
        return _Transaction(self.db, self._writing, wait=self.wait, synced=synced)

    def close(self) -> None:
        """Close this thread's connection."""
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None


class Store(SqliteFile):
    def __init__(self, path: Path, wait: float = WAIT):
        super().__init__(path, _SCHEMA + _ABUSE_SCHEMA, wait)

    def _migrate(self, db: sqlite3.Connection) -> None:
        for table, column, kind in _MIGRATIONS:
            columns = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
            if column not in columns:
                db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
        db.executescript(_INDEXES)

    def writing(self) -> "_Transaction":
        """A write transaction for a web request: ``Unavailable`` if it cannot be made."""
        return _Transaction(self.db, self._writing, unavailable=True, wait=self.wait)

    # ----- signing up and confirming -----

    def signup(self, guide: str, address: str, name: str, visit: Visit,
               double_opt_in: bool, again: "Again | None" = None) -> list[Payload]:
        """Record the signup, its consent and the email it calls for, in one transaction;
        return the emails to put on the queue (0 or 1).

        Signing up again records the visit and sends nothing new: the welcome email goes out
        once per person and guide, and the answer is the same either way. (A subscriber whose
        email was never put in the ledger, by a version before the one transaction, gets it
        now.) Raises ``Unavailable`` when the database cannot be written: nothing was saved.
        """
        ident, now = address_id(address), now_iso()
        with self.writing() as db:
            row = db.execute("SELECT id, status, address, name, confirm_nonce FROM subscribers "
                             "WHERE guide = ? AND address_id = ?", (guide, ident)).fetchone()
            if row:
                sid, status, known, known_name, nonce = row
                self._consent(db, sid, "repeat", visit, now)
                if again:
                    again.marketing_consent(db, sid, visit, now)
                owed = Payload(guide, WELCOME if status == CONFIRMED else CONFIRM, known,
                               known_name, nonce or "")
                if self.owe(db, owed, now, ignore=True):
                    return [owed]
                return again.resend(db, owed, sid, now) if again else []
            status = PENDING if double_opt_in else CONFIRMED
            nonce = secrets.token_urlsafe(12) if double_opt_in else None
            cursor = db.execute(
                "INSERT INTO subscribers (guide, address_id, address, name, status, "
                "confirm_nonce, created_at, confirmed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (guide, ident, address, name, status, nonce, now,
                 None if double_opt_in else now))
            self._consent(db, cursor.lastrowid, "signup", visit, now)
            if again:
                again.marketing_consent(db, cursor.lastrowid, visit, now)
            owed = Payload(guide, CONFIRM if double_opt_in else WELCOME, address, name,
                           nonce or "")
            self.owe(db, owed, now)
        return [owed]

    @staticmethod
    def owe(db: sqlite3.Connection, payload: Payload, now: str, ignore: bool = False) -> bool:
        """The ledger row for an email the transaction calls for (``queued``, and about to
        go on the queue: ``queued_at`` now). False if it was already there."""
        cursor = db.execute(
            f"INSERT {'OR IGNORE ' if ignore else ''}INTO deliveries (guide, kind, address_id, "
            "address, name, nonce, state, created_at, updated_at, queued_at) "
            "VALUES (?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?)",
            (payload.guide, payload.kind, payload.address_id, payload.address, payload.name,
             payload.nonce, now, now, time.time()))
        return cursor.rowcount > 0

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
        with self.writing() as db:
            row = db.execute("SELECT id, address, name, status, confirm_nonce FROM subscribers "
                             "WHERE guide = ? AND address_id = ?", (guide, ident)).fetchone()
            if row is None:
                return "invalid", []
            sid, address, name, status, stored = row
            if not stored or not secrets.compare_digest(stored, nonce):
                return ("already" if status == CONFIRMED else "invalid"), []
            now = now_iso()
            db.execute("UPDATE subscribers SET status = 'confirmed', confirm_nonce = NULL, "
                       "confirmed_at = ? WHERE id = ?", (now, sid))
            self._consent(db, sid, "resubscribe" if status == CONFIRMED else "confirm", visit,
                          now)
            # Proving the address is theirs lifts their own earlier unsubscribe.
            db.execute("DELETE FROM suppressions WHERE address_id = ? AND reason = ?",
                       (ident, UNSUBSCRIBED))
            welcome = Payload(guide, WELCOME, address, name)
            owed = self.owe(db, welcome, now, ignore=True)
            if not owed and status == CONFIRMED:  # opting in again (again.py): the guide too
                (sent,) = db.execute("SELECT count(*) FROM deliveries WHERE guide = ? AND "
                                     "address_id = ? AND (kind = ? OR kind LIKE ?)",
                                     (guide, ident, WELCOME, WELCOME + "#%")).fetchone()
                welcome = Payload(guide, f"{WELCOME}#{sent + 1}", address, name)
                owed = self.owe(db, welcome, now, ignore=True)
        return "confirmed", [welcome] if owed else []

    # ----- suppressions and downloads -----

    def suppress(self, ident: str, address: str, reason: str, source: str) -> bool:
        """Add to the suppression list; False if it was already there (the first reason stays,
        except that a bounce or complaint outranks an unsubscribe). Every worker reads this
        list (in the same transaction as its claim) before it sends."""
        with self.writing() as db:
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
        with self.writing() as db:
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
    """``with``: BEGIN IMMEDIATE ... COMMIT (or ROLLBACK on an exception). ``unavailable``:
    a database error (locked past the wait, disk full, read-only) becomes ``Unavailable``.

    Another process's write (a worker's claim, the web's signup) is waited for here, every
    millisecond up to ``wait`` seconds, not in SQLite's busy handler: its sleeps grow to 100 ms,
    and with the web process and the workers writing at once they made the slowest signups
    wait a second."""

    def __init__(self, db: sqlite3.Connection, lock: threading.Lock | None = None,
                 unavailable: bool = False, wait: float = WAIT, synced: bool = True):
        self.db, self.lock, self.unavailable, self.wait = db, lock, unavailable, wait
        self.synced = synced

    def __enter__(self) -> sqlite3.Connection:
        if self.lock:
            self.lock.acquire()
        try:
            # Per transaction: a connection's unsynced write must not make the next one so.
            self.db.execute(f"PRAGMA synchronous = {'FULL' if self.synced else 'NORMAL'}")
            self._begin()
        except BaseException as exc:
            if self.lock:
                self.lock.release()
            if self.unavailable and isinstance(exc, sqlite3.Error):
                raise Unavailable(str(exc)) from None
            raise
        return self.db

    def _begin(self) -> None:
        deadline = time.monotonic() + self.wait
        while True:
            try:
                self.db.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc) or \
                        time.monotonic() > deadline:
                    raise
            time.sleep(0.001)

    def __exit__(self, kind, error, _) -> bool:
        try:
            try:
                if kind is None:
                    self.db.execute("COMMIT")
                    return False
            except sqlite3.Error as exc:
                error = exc  # e.g. disk full at COMMIT: roll back below
            _rollback(self.db)
            if self.unavailable and isinstance(error, sqlite3.Error):
                raise Unavailable(str(error)) from None
            if kind is None:
                raise error
            return False
        finally:
            if self.lock:
                self.lock.release()


def _rollback(db: sqlite3.Connection) -> None:
    if db.in_transaction:
        try:
            db.execute("ROLLBACK")
        except sqlite3.Error:
            pass
