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
    data_end    INTEGER NOT NULL DEFAULT 0, -- 1: the final dot of DATA may have gone out
    PRIMARY KEY (guide, recipient)
);
"""
_COLUMNS = ("guide", "recipient", "address", "message_id", "state", "attempts", "detail",
            "updated_at", "data_end")
_ENTRY = "recipient, address, message_id, state, attempts, detail, updated_at, data_end"


@dataclass(frozen=True)
class Entry:
    recipient: str
    address: str
    message_id: str
    state: str
    attempts: int
    detail: str
    updated_at: str
    data_end: bool = False

    @property
    def ambiguous(self) -> bool:
        """Cut off between the final dot of DATA and the record of the server's answer: the
        server may or may not have the message. (Nothing in SMTP can tell which.)"""
        return self.state != SENT and bool(self.data_end)


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
            raise _log_error(exc, path, "open") from None
        except EmailError:
            self._lock.close()
            raise

    def __enter__(self) -> SendLog:
        return self

    def __exit__(self, *_) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()
        self._lock.close()

    def entry(self, recipient: str) -> Entry | None:
        row = self._run(f"SELECT {_ENTRY} FROM deliveries WHERE guide = ? AND recipient = ?",
                        (self.guide, recipient)).fetchone()
        return Entry(*row) if row else None

    def entries(self) -> list[Entry]:
        rows = self._run(f"SELECT {_ENTRY} FROM deliveries WHERE guide = ? ORDER BY recipient",
                         (self.guide,)).fetchall()
        return [Entry(*row) for row in rows]

    def mark_sending(self, recipient: str, address: str, message_id: str) -> None:
        """Recorded (and on disk) before the SMTP transaction starts."""
        self._run(
            "INSERT INTO deliveries (guide, recipient, address, message_id, state, attempts, "
            "updated_at, data_end) VALUES (?, ?, ?, ?, 'sending', 1, ?, 0) "
            "ON CONFLICT (guide, recipient) DO UPDATE SET address = excluded.address, "
            "message_id = excluded.message_id, state = 'sending', attempts = attempts + 1, "
            "detail = '', updated_at = excluded.updated_at, data_end = 0",
            (self.guide, recipient, address, message_id, _now()))

    def mark_data_end(self, recipient: str) -> None:
        """Recorded (and on disk) right before the final dot of DATA goes out."""
        self._run("UPDATE deliveries SET data_end = 1, updated_at = ? "
                  "WHERE guide = ? AND recipient = ?", (_now(), self.guide, recipient))

    def mark(self, recipient: str, state: str, detail: str = "", data_end: bool = False) -> None:
        self._run("UPDATE deliveries SET state = ?, detail = ?, updated_at = ?, data_end = ? "
                  "WHERE guide = ? AND recipient = ?",
                  (state, detail, _now(), int(data_end), self.guide, recipient))

    def _run(self, sql: str, params: tuple) -> sqlite3.Cursor:
        try:
            return self._db.execute(sql, params)
        except sqlite3.Error as exc:
            raise _log_error(exc, self.path) from None


def read_states(path: Path, guide: str) -> dict[str, Entry]:
    """The log's entries without taking the lock or creating anything (for --dry-run)."""
    if not path.is_file():
        return {}
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=_WAIT)
        try:
            if not _tables(db):
                return {}
            _check_schema(db, path)
            rows = db.execute(f"SELECT {_ENTRY} FROM deliveries WHERE guide = ?",
                              (guide,)).fetchall()
        finally:
            db.close()
    except sqlite3.Error as exc:
        raise _log_error(exc, path, "read") from None
    return {row[0]: Entry(*row) for row in rows}


_WAIT = 5.0  # seconds to wait for another program's write to the log to finish


def _connect(path: Path) -> sqlite3.Connection:
    # Autocommit: each statement is its own transaction, durable when it returns.
    db = sqlite3.connect(path, isolation_level=None, timeout=_WAIT)
    try:
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = FULL")
        if "deliveries" not in _tables(db):
            db.executescript(_SCHEMA)
        _check_schema(db, path)
    except BaseException:
        db.close()
        raise
    return db


def _tables(db: sqlite3.Connection) -> set[str]:
    rows = db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    return {name for (name,) in rows}


def _check_schema(db: sqlite3.Connection, path: Path) -> None:
    """Refuse another program's database; bring an older leadguide log up to date."""
    others = sorted(_tables(db) - {"deliveries"})
    columns = tuple(row[1] for row in db.execute("PRAGMA table_info(deliveries)"))
    if others or not set(_COLUMNS[:-1]) <= set(columns) or not set(columns) <= set(_COLUMNS):
        found = ", ".join(others) or f"deliveries ({', '.join(columns)})"
        raise EmailError(f"this is not a leadguide send log (it holds the table {found}); "
                         "point email.send_log or --log at another file", path)
    if "data_end" not in columns:
        # A log from before data_end: its 'sending' rows may have reached the end of DATA.
        db.execute("ALTER TABLE deliveries ADD COLUMN data_end INTEGER NOT NULL DEFAULT 1")


def _log_error(exc: sqlite3.Error, path: Path, doing: str = "write to") -> EmailError:
    text = str(exc)
    if "locked" in text or "busy" in text:
        return EmailError(f"the send log is locked by another program (waited {_WAIT:g} s): "
                          "close whatever has it open (a database browser, say) and run the "
                          "same command again", path)
    if "not a database" in text or "malformed" in text:
        return EmailError(f"the send log is damaged or not a database ({text}); move it "
                          "aside only if you know who was sent the email", path)
    return EmailError(f"cannot {doing} the send log: {text}", path)


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
