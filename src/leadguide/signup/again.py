"""No dead ends: the guide (or the confirm email) sent again to someone who asks again, a
fresh confirm link for an expired one, an unsubscribed person opting in again, and
deliver-first's separate marketing consent, each written in the signup database.

Every resend is one more ledger row (``welcome#2``, ``confirm#3`` …: the primary key keeps
each exactly once), counted against ``signup.rate_limits.resend`` per address in the same
transaction, and nothing is sent again while the first email is still on its way. The answers
the person sees never depend on any of this: they never say whether an address is known.
"""
from __future__ import annotations

import secrets
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from .ratelimit import Limit
from .settings import SignupSettings
from .store import CONFIRM, CONFIRMED, UNSUBSCRIBED, WELCOME, Payload, Store, Visit, now_iso
from .tokens import address_id

RESEND_MARK = "#"  # welcome#2: the second welcome email to one address
OPTIN = "optin"  # the confirm email to someone who unsubscribed and signs up again


def base_kind(kind: str) -> str:
    """``welcome#2`` → ``welcome``, ``optin#2`` → ``confirm``: what the email is, whichever
    time it goes (an opt-in again is a confirm email)."""
    kind = kind.split(RESEND_MARK, 1)[0]
    return CONFIRM if kind == OPTIN else kind


def record_consent(db: sqlite3.Connection, subscriber: int, event: str, visit: Visit,
                   now: str, shown: str | None = None, ticked: bool | None = None) -> None:
    db.execute("INSERT INTO consents (subscriber_id, event, at, ip, user_agent, page, shown, "
               "consent_box) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
               (subscriber, event, now, visit.ip, visit.user_agent[:500], visit.page[:500],
                visit.shown if shown is None else shown,
                int(visit.consent_box if ticked is None else ticked)))


@dataclass(frozen=True)
class Again:
    """What a signup may do beyond the first: resend within ``limit``; record the marketing
    box's ``marketing`` words when ``ticked`` (deliver_first)."""

    limit: Limit
    marketing: str = ""
    ticked: bool = False
    after_seconds: float = 60.0  # a repeat sooner than this after the last email: a double press

    def marketing_consent(self, db: sqlite3.Connection, subscriber: int, visit: Visit,
                          now: str) -> None:
        if self.marketing and self.ticked:
            record_consent(db, subscriber, "marketing", visit, now, self.marketing, True)

    def resend(self, db: sqlite3.Connection, first: Payload, subscriber: int,
               now: str) -> list[Payload]:
        """One more of ``first``'s kind, unless it is still on its way or over the limit.
        A confirm email goes with a fresh link (the old one is replaced)."""
        if _unsubscribed(db, first.address_id):
            # They asked again after unsubscribing: a confirm email (which the suppression
            # list lets through once per allowed resend); pressing it lifts the unsubscribe.
            first = Payload(first.guide, OPTIN, first.address, first.name, first.nonce)
        state = db.execute("SELECT state FROM deliveries WHERE guide = ? AND kind = ? AND "
                           "address_id = ?", (first.guide, first.kind,
                                              first.address_id)).fetchone()
        if state and state[0] in ("queued", "sending", "retry"):
            return []
        since = (datetime.now(timezone.utc) - timedelta(seconds=self.limit.seconds)).isoformat(
            timespec="milliseconds")
        rows = db.execute("SELECT kind, created_at FROM deliveries WHERE guide = ? AND "
                          "address_id = ? AND kind LIKE ?",
                          (first.guide, first.address_id,
                           f"{first.kind}{RESEND_MARK}%")).fetchall()
        if sum(1 for _, at in rows if at >= since) >= self.limit.count:
            return []
        if self._too_soon(db, first):
            return []
        nonce = first.nonce
        if first.kind in (CONFIRM, OPTIN):
            nonce = secrets.token_urlsafe(12)
            db.execute("UPDATE subscribers SET confirm_nonce = ? WHERE id = ?",
                       (nonce, subscriber))
        again = Payload(first.guide, f"{first.kind}{RESEND_MARK}{len(rows) + 2}",
                        first.address, first.name, nonce)
        return [again] if Store.owe(db, again, now, ignore=True) else []


    def _too_soon(self, db: sqlite3.Connection, first: Payload) -> bool:
        """The last email of this kind to this address was made under ``after_seconds`` ago."""
        (last,) = db.execute("SELECT max(created_at) FROM deliveries WHERE guide = ? AND "
                             "address_id = ? AND (kind = ? OR kind LIKE ?)",
                             (first.guide, first.address_id, first.kind,
                              f"{first.kind}{RESEND_MARK}%")).fetchone()
        soonest = (datetime.now(timezone.utc) - timedelta(seconds=self.after_seconds)
                   ).isoformat(timespec="milliseconds")
        return bool(last) and last > soonest


def again_for(settings: SignupSettings, ticked: bool = False) -> Again:
    """The service's settings for resends; ``ticked``: deliver_first's marketing box."""
    return Again(settings.resend, settings.marketing_consent, ticked,
                 settings.resend_after_seconds)


def _unsubscribed(db: sqlite3.Connection, ident: str) -> bool:
    row = db.execute("SELECT reason FROM suppressions WHERE address_id = ?", (ident,)).fetchone()
    return bool(row) and row[0] == UNSUBSCRIBED


def resend_to(store: Store, guide: str, address: str, visit: Visit, again: Again) -> list[Payload]:
    """"Didn't get it?": the guide (or the confirm email) again to a known address; nothing
    for an unknown one, and no subscriber made (they gave no consent here)."""
    with store.writing() as db:
        row = db.execute("SELECT id, status, address, name, confirm_nonce FROM subscribers "
                         "WHERE guide = ? AND address_id = ?",
                         (guide, address_id(address))).fetchone()
        if row is None:
            return []
        sid, status, known, name, nonce = row
        now = now_iso()
        record_consent(db, sid, "resend-request", visit, now, "", False)
        first = Payload(guide, WELCOME if status == CONFIRMED else CONFIRM, known, name,
                        nonce or "")
        if Store.owe(db, first, now, ignore=True):
            return [first]
        return again.resend(db, first, sid, now)


def renew_confirm(store: Store, guide: str, ident: str, again: Again) -> list[Payload]:
    """A fresh confirm email for the person behind an expired link (still pending)."""
    with store.writing() as db:
        row = db.execute("SELECT id, status, address, name, confirm_nonce FROM subscribers "
                         "WHERE guide = ? AND address_id = ?", (guide, ident)).fetchone()
        if row is None or row[1] == CONFIRMED:
            return []
        sid, _, address, name, nonce = row
        first = Payload(guide, CONFIRM, address, name, nonce or "")
        return again.resend(db, first, sid, now_iso())


def resubscribe(store: Store, guide: str, ident: str, visit: Visit) -> bool:
    """Lift the person's own unsubscribe (never a bounce or complaint), logged with the words
    they were shown. False if there was no such unsubscribe."""
    with store.writing() as db:
        row = db.execute("SELECT id FROM subscribers WHERE guide = ? AND address_id = ?",
                         (guide, ident)).fetchone()
        cursor = db.execute("DELETE FROM suppressions WHERE address_id = ? AND reason = ?",
                            (ident, UNSUBSCRIBED))
        if cursor.rowcount and row:
            record_consent(db, row[0], "resubscribe", visit, now_iso(), visit.shown, True)
        return cursor.rowcount > 0
