"""People, not events: marketing consent read in one place, tags from the form, the form's
page views per day, and one row per subscriber for the owner's export.

Tables of its own (made on first use, beside the Store's): ``subscriber_tags`` (one row per
subscriber and tag) and ``page_views`` (a counter per guide and UTC day: no cookie, no address,
no IP kept).
"""
from __future__ import annotations

import logging
import re
import sqlite3
import threading
import time
from typing import Iterator, Mapping

from .store import Store, now_iso
from .tokens import address_id

log = logging.getLogger("leadguide.signup")

SCHEMA = """
CREATE TABLE IF NOT EXISTS subscriber_tags (
    subscriber_id INTEGER NOT NULL REFERENCES subscribers (id),
    tag           TEXT NOT NULL,
    at            TEXT NOT NULL,
    PRIMARY KEY (subscriber_id, tag)
);
CREATE TABLE IF NOT EXISTS page_views (
    guide TEXT NOT NULL,
    day   TEXT NOT NULL,
    views INTEGER NOT NULL,
    PRIMARY KEY (guide, day)
);
"""

# Marketing consent, for the follow-up sequence: a confirmed subscriber with a consent record
# that ticked a marketing box (the form's consent box; in a mode where marketing consent is a
# separate choice, that choice is recorded as a consent row with consent_box = 1 or the
# event 'marketing'). Read only through this condition and ``has_marketing_consent``.
MARKETING_CONSENT = (
    "s.status = 'confirmed' AND EXISTS (SELECT 1 FROM consents c WHERE "
    "c.subscriber_id = s.id AND (c.consent_box = 1 OR c.event = 'marketing'))")

TAG_FIELD = "tag"
_TAG = re.compile(r"[a-z0-9][a-z0-9_.-]{0,39}")


_READY: set[str] = set()


def ensure_schema(store: Store) -> None:
    """Create this module's tables once per database and process."""
    if str(store.path) not in _READY:
        with store.write() as db:
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)
        _READY.add(str(store.path))


def has_marketing_consent(store: Store, guide: str, address: str) -> bool:
    """Whether this person agreed to more than the guide (the follow-up emails)."""
    ensure_schema(store)
    row = store.db.execute(f"SELECT 1 FROM subscribers s WHERE s.guide = ? AND "
                           f"s.address_id = ? AND {MARKETING_CONSENT}",
                           (guide, address_id(address))).fetchone()
    return row is not None


# ----- tags -----

def clean_tag(value: str | None) -> str | None:
    """The form's hidden ``tag`` field: lower case letters, digits, ``_ . -``, at most 40
    characters; anything else is dropped (None), never stored."""
    text = (value or "").strip().lower()
    return text if _TAG.fullmatch(text) else None


def tag_from_form(fields: Mapping[str, str]) -> str | None:
    return clean_tag(fields.get(TAG_FIELD))


def add_tag(store: Store, guide: str, address: str, tag: str | None) -> bool:
    """Tag the subscriber (after their signup is saved); False if there is nothing to add, or
    the database cannot be written just now (the signup stands; the tag is logged as lost)."""
    tag = clean_tag(tag)
    if tag is None:
        return False
    try:
        ensure_schema(store)
        with store.write() as db:
            row = db.execute("SELECT id FROM subscribers WHERE guide = ? AND address_id = ?",
                             (guide, address_id(address))).fetchone()
            if row is None:
                return False
            cursor = db.execute("INSERT OR IGNORE INTO subscriber_tags (subscriber_id, tag, "
                                "at) VALUES (?, ?, ?)", (row[0], tag, now_iso()))
    except sqlite3.Error as exc:
        log.warning("could not record a signup's tag %r: %s", tag, exc)
        return False
    return cursor.rowcount > 0


def tags_of(db: sqlite3.Connection, guide: str, ident: str) -> list[str]:
    return [tag for (tag,) in db.execute(
        "SELECT t.tag FROM subscriber_tags t JOIN subscribers s ON s.id = t.subscriber_id "
        "WHERE s.guide = ? AND s.address_id = ? ORDER BY t.tag", (guide, ident))]


# ----- page views -----

FLUSH_SECONDS = 10.0


class _Pending:
    def __init__(self) -> None:
        self.count, self.written, self.lock = 0, float("-inf"), threading.Lock()


_PENDING: dict[tuple[str, str], _Pending] = {}


def count_view(store: Store, guide: str, every: float = FLUSH_SECONDS) -> None:
    """One more view of the form today (UTC). Cookieless: nothing about the visitor is kept.
    Written at most once per ``every`` seconds (a quiet form's view at once; a burst's, or a
    script's thousand GETs, as one write), so views never compete with signups for the
    database; the last few seconds' views are lost if the process stops."""
    pending = _PENDING.setdefault((str(store.path), guide), _Pending())
    with pending.lock:
        pending.count += 1
        if time.monotonic() - pending.written < every:
            return
        count, pending.count, pending.written = pending.count, 0, time.monotonic()
    _add_views(store, guide, count)


def flush_views(store: Store, guide: str) -> None:
    pending = _PENDING.get((str(store.path), guide))
    if pending is None:
        return
    with pending.lock:
        count, pending.count, pending.written = pending.count, 0, time.monotonic()
    if count:
        _add_views(store, guide, count)


def _add_views(store: Store, guide: str, count: int) -> None:
    ensure_schema(store)
    with store.write() as db:
        db.execute("INSERT INTO page_views (guide, day, views) VALUES (?, ?, ?) ON CONFLICT "
                   "(guide, day) DO UPDATE SET views = views + excluded.views",
                   (guide, now_iso()[:10], count))


def views_per_day(store: Store, guide: str) -> dict[str, int]:
    ensure_schema(store)
    return dict(store.db.execute("SELECT day, views FROM page_views WHERE guide = ?", (guide,)))


# ----- one row per person -----

SUBSCRIBER_HEADER = ("email", "first_name", "status", "marketing_consent", "tags",
                     "signed_up_at", "confirmed_at", "delivered_at", "last_seen_at",
                     "suppressed", "suppressed_at")


def subscriber_rows(store: Store, guide: str) -> Iterator[tuple]:
    """One row per subscriber, oldest first: status (pending, confirmed, delivered,
    unsubscribed, bounced, complained), consent, tags and dates."""
    ensure_schema(store)
    yield from store.db.execute(
        "SELECT s.address, s.name, "
        "CASE WHEN x.reason IS NOT NULL THEN "
        "  CASE x.reason WHEN 'unsubscribe' THEN 'unsubscribed' WHEN 'bounce' THEN 'bounced' "
        "  ELSE 'complained' END "
        "WHEN d.state = 'sent' THEN 'delivered' ELSE s.status END, "
        f"CASE WHEN {MARKETING_CONSENT} THEN 'yes' ELSE 'no' END, "
        "coalesce((SELECT group_concat(tag, ' ') FROM (SELECT tag FROM subscriber_tags t "
        "  WHERE t.subscriber_id = s.id ORDER BY tag)), ''), "
        "s.created_at, coalesce(s.confirmed_at, ''), "
        "CASE WHEN d.state = 'sent' THEN d.updated_at ELSE '' END, "
        "(SELECT max(at) FROM consents c WHERE c.subscriber_id = s.id), "
        "coalesce(x.reason, ''), coalesce(x.at, '') "
        "FROM subscribers s "
        "LEFT JOIN deliveries d ON d.guide = s.guide AND d.kind = 'welcome' "
        "  AND d.address_id = s.address_id "
        "LEFT JOIN suppressions x ON x.address_id = s.address_id "
        "WHERE s.guide = ? ORDER BY s.id", (guide,))
