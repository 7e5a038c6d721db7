"""The durable send log (SQLite, WAL, synchronous=FULL): each recipient's state per guide."""
from __future__ import annotations

import fcntl
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from .errors import EmailError

SENDING, SENT, FAILED, DEFERRED = "sending", "sent", "failed", "deferred"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS deliveries (
    guide       TEXT NOT NULL,
    recipient   TEXT NOT NULL,          -- the address, lower-cased: one row per person
    address     TEXT NOT NULL,          -- as it was written
    message_id  TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('sending', 'sent', 'failed', 'deferred')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    detail      TEXT NOT NULL DEFAULT '',
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (guide, recipient)
);
"""


@dataclass(frozen=True)
class Entry:
    recipient: str
    address: str
    message_id: str
    state: str
    attempts: int
    detail: str
    updated_at: str


def default_log_path(root: Path, guide_key: str) -> Path:
    """``<guide>/build/<name>.sendlog.sqlite``: where the guide is, wherever the command runs."""
    return root.resolve() / "build" / f"{guide_key}.sendlog.sqlite"


def log_place(root: Path, value: str) -> Path:
    """An ``email.send_log`` setting as a path: relative to the guide folder and inside it
    (symlinks resolved), ending in .sqlite. Raises ValueError saying why not."""
    path = Path(value)
    if path.is_absolute() or value.startswith("~"):
        raise ValueError("must be a path inside the guide folder, relative to it "
                         "(like build/send-log.sqlite)")
    if path.suffix != ".sqlite":
        raise ValueError("must end in .sqlite (like build/send-log.sqlite)")
    resolved = (root.resolve() / path).resolve()
    if not resolved.is_relative_to(root.resolve()):
        raise ValueError("leads outside the guide folder (through '..' or a symlink); keep "
                         "it inside, like build/send-log.sqlite")
    return resolved


class SendLog:
    """One process at a time (a lock file); every state change is committed and synced."""

    def __init__(self, path: Path, guide: str):
        self.path, self.guide = path, guide
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._lock = _lock(path)
        except OSError as exc:
            raise EmailError(f"cannot open the send log: {exc.strerror or exc}", path) from None
        try:
            self._db = _connect(path)
        except sqlite3.Error as exc:
            self._lock.close()
            raise EmailError(f"cannot open the send log: {exc}", path) from None

    def __enter__(self) -> SendLog:
        return self

    def __exit__(self, *_) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()
        self._lock.close()

    def entry(self, recipient: str) -> Entry | None:
        row = self._db.execute(
            "SELECT recipient, address, message_id, state, attempts, detail, updated_at "
            "FROM deliveries WHERE guide = ? AND recipient = ?", (self.guide, recipient)).fetchone()
        return Entry(*row) if row else None

    def entries(self) -> list[Entry]:
        rows = self._db.execute(
            "SELECT recipient, address, message_id, state, attempts, detail, updated_at "
            "FROM deliveries WHERE guide = ? ORDER BY recipient", (self.guide,))
        return [Entry(*row) for row in rows]

    def mark_sending(self, recipient: str, address: str, message_id: str) -> None:
        """Recorded (and on disk) before the SMTP transaction starts."""
        self._db.execute(
            "INSERT INTO deliveries (guide, recipient, address, message_id, state, attempts, "
            "updated_at) VALUES (?, ?, ?, ?, 'sending', 1, ?) "
            "ON CONFLICT (guide, recipient) DO UPDATE SET address = excluded.address, "
            "message_id = excluded.message_id, state = 'sending', attempts = attempts + 1, "
            "detail = '', updated_at = excluded.updated_at",
            (self.guide, recipient, address, message_id, _now()))

    def mark(self, recipient: str, state: str, detail: str = "") -> None:
        self._db.execute(
            "UPDATE deliveries SET state = ?, detail = ?, updated_at = ? "
            "WHERE guide = ? AND recipient = ?", (state, detail, _now(), self.guide, recipient))


def read_states(path: Path, guide: str) -> dict[str, Entry]:
    """The log's entries without taking the lock or creating anything (for --dry-run)."""
    if not path.is_file():
        return {}
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            rows = db.execute(
                "SELECT recipient, address, message_id, state, attempts, detail, updated_at "
                "FROM deliveries WHERE guide = ?", (guide,)).fetchall()
        finally:
            db.close()
    except sqlite3.Error as exc:
        raise EmailError(f"cannot read the send log: {exc}", path) from None
    return {row[0]: Entry(*row) for row in rows}


def _connect(path: Path) -> sqlite3.Connection:
    # Autocommit: each statement is its own transaction, durable when it returns.
    db = sqlite3.connect(path, isolation_level=None, timeout=10)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = FULL")
    db.executescript(_SCHEMA)
    return db


def _lock(path: Path):
    handle = open(path.with_name(path.name + ".lock"), "a")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise EmailError("another 'leadguide email send' is using this send log; wait for it "
                         "to finish (two at once could send someone the email twice)",
                         path) from None
    return handle


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")
