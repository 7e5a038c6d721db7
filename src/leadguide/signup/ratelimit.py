"""Rate limits ("20/hour"), a sliding window of recent hits per key, and single-use marks
(a render token taken once), kept where the service keeps its data (the signup database, or
Redis in Redis mode), so they hold across restarts and across processes.

Keys are stored as SHA-256 digests: the limits table holds no address or IP in the clear.
"""
from __future__ import annotations

import hashlib
import re
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Protocol

from .errors import SignupError
from .store import SqliteFile

_UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
_FORMAT = re.compile(r"^\s*(\d+)\s*/\s*(second|minute|hour|day)s?\s*$")
_LONGEST = max(_UNITS.values())
_PRUNE_EVERY = 500  # hits between sweeps of every key's expired hits


@dataclass(frozen=True)
class Limit:
    count: int
    seconds: float

    def __str__(self) -> str:
        unit = next(name for name, size in _UNITS.items() if size == self.seconds)
        return f"{self.count}/{unit}"


def parse_limit(text: str) -> Limit:
    match = _FORMAT.match(text)
    if not match or int(match[1]) < 1:
        raise ValueError(f"write a limit as N/second, N/minute, N/hour or N/day, not '{text}'")
    return Limit(int(match[1]), _UNITS[match[2]])


class Limits(Protocol):
    def hit(self, kind: str, key: str, limit: Limit) -> bool:
        """True (and the hit counted) while ``key`` stays within ``limit`` for ``kind``."""

    def first_use(self, kind: str, key: str, seconds: float) -> bool:
        """True the first time ``key`` is used for ``kind`` (remembered ``seconds``)."""


def _digest(kind: str, key: str) -> str:
    return hashlib.sha256(f"{kind}\0{key}".encode()).hexdigest()[:32]


_SCHEMA = """
CREATE TABLE IF NOT EXISTS limit_hits (
    key TEXT NOT NULL,   -- SHA-256 of the limit's kind and key (an address, a network)
    at  REAL NOT NULL    -- Unix time of the hit
);
CREATE INDEX IF NOT EXISTS limit_hits_key ON limit_hits (key, at);
CREATE TABLE IF NOT EXISTS used_once (
    key   TEXT PRIMARY KEY,   -- SHA-256 of the kind and key (a render token's nonce)
    until REAL NOT NULL       -- Unix time after which it may be forgotten
);
CREATE INDEX IF NOT EXISTS used_once_until ON used_once (until);
"""


class SqliteLimits(SqliteFile):
    """The limits in the signup database (its own table; its own short write transactions)."""

    def __init__(self, path: Path, clock: Callable[[], float] = time.time):
        super().__init__(path, _SCHEMA)
        self.clock, self._writes = clock, 0

    def hit(self, kind: str, key: str, limit: Limit) -> bool:
        try:
            return self._hit(_digest(kind, key), limit, self.clock())
        except sqlite3.Error as error:
            raise SignupError(f"the rate limits cannot be written: {error}", self.path) from None

    def first_use(self, kind: str, key: str, seconds: float) -> bool:
        now = self.clock()
        try:
            with self.write(synced=False) as db:
                cursor = db.execute("INSERT OR IGNORE INTO used_once (key, until) VALUES (?, ?)",
                                    (_digest(kind, key), now + seconds))
                self._prune_now_and_then(db, now)
                return cursor.rowcount == 1
        except sqlite3.Error as error:
            raise SignupError(f"the rate limits cannot be written: {error}", self.path) from None

    def _hit(self, digest: str, limit: Limit, now: float) -> bool:
        # A hit lost to a power cut is no loss: no fsync per hit (WAL, synchronous NORMAL).
        with self.write(synced=False) as db:
            db.execute("DELETE FROM limit_hits WHERE key = ? AND at <= ?",
                       (digest, now - limit.seconds))
            (count,) = db.execute("SELECT count(*) FROM limit_hits WHERE key = ?",
                                  (digest,)).fetchone()
            if count >= limit.count:
                return False
            db.execute("INSERT INTO limit_hits (key, at) VALUES (?, ?)", (digest, now))
            self._prune_now_and_then(db, now)
        return True

    def _prune_now_and_then(self, db: sqlite3.Connection, now: float) -> None:
        """Forget, now and then, the hits and marks of keys that were never seen again."""
        self._writes += 1
        if self._writes % _PRUNE_EVERY == 0:
            db.execute("DELETE FROM limit_hits WHERE at <= ?", (now - _LONGEST,))
            db.execute("DELETE FROM used_once WHERE until <= ?", (now,))


# One round trip, atomic: drop the hits out of the window, count, add this one if allowed.
def open_limits(database: Path) -> Limits:
    """The limits live in the signup database in both queue modes, like the delivery ledger:
    Redis holds only the queue, so a Redis outage neither refuses signups nor forgets limits."""
    return SqliteLimits(database)
