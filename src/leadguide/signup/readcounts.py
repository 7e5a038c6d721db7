"""First-party reading figures: what subscribers did with the guide, counted by the service.

Counted per day, once per subscriber, chapter and event: web-edition chapter opens (``open``)
and reads to the end (``end``), PDF downloads (``download``) and clicks on the personal CTA
links (``click``). A row holds the subscriber's id (the signup database's row number), the
chapter, the event and the day: no address, IP, user agent or time finer than the day; no
cookie is set and nothing third-party is loaded. A request carrying ``Sec-GPC: 1`` (Global
Privacy Control) or ``DNT: 1`` is not counted (``not_tracked``).

``GoLinks`` makes and reads the CTA's personal links, ``/go/TOKEN``: the token seals (HMAC,
itsdangerous) the subscriber id and a digest of the target, and the target is one of the
guide's own (its ``cta.url``), so the redirect is never open. ``funnel`` and ``export_rows``
are what ``signup stats`` and ``signup export`` show (``signup.report`` calls them).
"""
from __future__ import annotations

import base64
import csv
import hashlib
import io
import re
import sqlite3
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Mapping

from itsdangerous import BadSignature, Signer

from ..atomic import write_bytes

EVENTS = ("open", "end", "download", "click")
CHAPTER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$")
SCHEMA = """
CREATE TABLE IF NOT EXISTS reading_counts (   -- one row per subscriber, chapter, event, day
    guide      TEXT NOT NULL,
    day        TEXT NOT NULL,
    subscriber INTEGER NOT NULL,
    chapter    TEXT NOT NULL DEFAULT '',
    event      TEXT NOT NULL,
    PRIMARY KEY (guide, day, subscriber, chapter, event)
);
"""


def not_tracked(headers: Mapping[str, str]) -> bool:
    """The browser asked not to be tracked: Global Privacy Control or Do Not Track."""
    return headers.get("sec-gpc", "").strip() == "1" or headers.get("dnt", "").strip() == "1"


def today() -> str:
    return time.strftime("%Y-%m-%d", time.gmtime())


class Readings:
    """The counts, in the signup database (their own table)."""

    def __init__(self, database: Path):
        self.database = database
        with self._connect() as db:
            db.executescript(SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """A connection for one transaction, closed after it (committed, or rolled back)."""
        db = sqlite3.connect(self.database, timeout=10)
        try:
            with db:
                yield db
        finally:
            db.close()

    def subscriber(self, guide: str, address_id: str) -> int | None:
        """The subscriber's id for an address digest, if they signed up for this guide."""
        with self._connect() as db:
            row = db.execute("SELECT id FROM subscribers WHERE guide = ? AND address_id = ? "
                             "ORDER BY id LIMIT 1", (guide, address_id)).fetchone()
        return row[0] if row else None

    def count(self, guide: str, subscriber: int, event: str, chapter: str = "",
              day: str | None = None) -> bool:
        """Count ``event`` once for the day; True when this was the first time today."""
        if event not in EVENTS:
            raise ValueError(f"unknown event {event!r}")
        with self._connect() as db:
            cursor = db.execute("INSERT OR IGNORE INTO reading_counts (guide, day, subscriber, "
                                "chapter, event) VALUES (?, ?, ?, ?, ?)",
                                (guide, day or today(), subscriber, chapter, event))
            return cursor.rowcount == 1

    def daily(self, guide: str) -> list[tuple[str, str, str, int]]:
        """(day, event, chapter, how many subscribers) rows, in order."""
        with self._connect() as db:
            return db.execute("SELECT day, event, chapter, COUNT(*) FROM reading_counts "
                              "WHERE guide = ? GROUP BY day, event, chapter "
                              "ORDER BY day, event, chapter", (guide,)).fetchall()

    def people(self, guide: str, event: str, chapter: str | None = None) -> int:
        """How many subscribers did ``event`` (on ``chapter``) on any day."""
        query = "SELECT COUNT(DISTINCT subscriber) FROM reading_counts WHERE guide = ? AND event = ?"
        args: tuple = (guide, event)
        if chapter is not None:
            query, args = query + " AND chapter = ?", args + (chapter,)
        with self._connect() as db:
            return db.execute(query, args).fetchone()[0]

    def chapters(self, guide: str) -> list[str]:
        with self._connect() as db:
            return [row[0] for row in db.execute(
                "SELECT DISTINCT chapter FROM reading_counts WHERE guide = ? AND chapter != '' "
                "ORDER BY chapter", (guide,))]

    def opened(self, guide: str) -> int:
        """Subscribers who opened the guide at all: a web chapter or the PDF download."""
        with self._connect() as db:
            return db.execute("SELECT COUNT(DISTINCT subscriber) FROM reading_counts WHERE "
                              "guide = ? AND event IN ('open', 'download')",
                              (guide,)).fetchone()[0]

    def scalar(self, query: str, args: tuple) -> int:
        with self._connect() as db:
            return db.execute(query, args).fetchone()[0]


@dataclass(frozen=True)
class GoLinks:
    """Personal CTA links: ``{base_url}/go/{token}``."""

    base_url: str
    secret: str
    guide: str

    def _signer(self) -> Signer:
        return Signer(self.secret, salt=f"leadguide.signup.go.{self.guide}")

    def make(self, subscriber: int, target: str) -> str:
        value = f"{subscriber}.{_digest(target)}"
        return f"{self.base_url}/go/{self._signer().sign(value).decode()}"

    def read(self, token: str, targets: tuple[str, ...]) -> tuple[int, str] | None:
        """(subscriber id, target) for a genuine token whose target is one of ``targets``."""
        try:
            value = self._signer().unsign(token.encode()).decode()
        except (BadSignature, UnicodeError, ValueError):
            return None
        subscriber, _, digest = value.partition(".")
        target = next((t for t in targets if _digest(t) == digest), None)
        if not subscriber.isdigit() or target is None:
            return None
        return int(subscriber), target


def _digest(target: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(target.encode()).digest()[:9]).decode()


def funnel(readings: Readings, guide: str) -> list[tuple[str, int]]:
    """Signed up → delivered → opened → read chapter N … → clicked the CTA (people)."""
    signed = readings.scalar("SELECT COUNT(*) FROM subscribers WHERE guide = ?", (guide,))
    delivered = readings.scalar("SELECT COUNT(*) FROM deliveries WHERE guide = ? AND "
                                "kind != 'confirm' AND state = 'sent'", (guide,))
    steps = [("signed up", signed), ("delivered", delivered),
             ("opened", readings.opened(guide))]
    for chapter in readings.chapters(guide):
        steps.append((f"read {chapter}", readings.people(guide, "end", chapter)
                      or readings.people(guide, "open", chapter)))
    steps.append(("clicked the CTA", readings.people(guide, "click")))
    return steps


def funnel_lines(readings: Readings, guide: str) -> list[str]:
    """The funnel and the counts per day, as ``signup stats`` prints them."""
    steps = funnel(readings, guide)
    top = max(steps[0][1], 1)
    lines = ["reading (people; counted once a day each, never with GPC or DNT):"]
    lines += [f"  {label:<32}{count:>8}  {100 * count / top:5.1f} %" for label, count in steps]
    rows = readings.daily(guide)
    if rows:
        lines.append(f"  {'day':<12}{'event':<10}{'chapter':<24}{'people':>8}")
        lines += [f"  {day:<12}{event:<10}{chapter or '-':<24}{count:>8}"
                  for day, event, chapter, count in rows]
    return lines


EXPORT_HEADER = ("day", "event", "chapter", "people")


def write_reading_export(readings: Readings, guide: str, out: Path | None) -> int:
    """The reading figures as CSV (``signup export --reading``): per day, event and chapter,
    how many people; no one named. Written atomically to ``out``, or printed."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(EXPORT_HEADER)
    rows = readings.daily(guide)
    writer.writerows(rows)
    if out is None:
        print(buffer.getvalue(), end="")
    else:
        write_bytes(out, buffer.getvalue().encode())
    return len(rows)
