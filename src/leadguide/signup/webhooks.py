"""Outbound webhooks for the owner's CRM: subscribed, confirmed, delivered, unsubscribed,
bounced, signed per Standard Webhooks (``webhook-id``, ``webhook-timestamp``,
``webhook-signature: v1,base64(HMAC-SHA256(secret, id.timestamp.body))``; the
``standardwebhooks`` package signs), with the secret ``whsec_...`` from
LEADGUIDE_WEBHOOK_SECRET (never printed).

Durable and exactly once per event id, without touching a signup's transaction: the workers'
sweep *collects* events from what the signup database already records (subscribers,
the delivery ledger, the suppression list) into ``webhook_deliveries``, one row per
(event id, endpoint), the id derived from the event itself, so collecting twice adds
nothing; then it *delivers* the rows due, each claimed first (a lease), with exponential
backoff on failure. A receiver dedupes by ``webhook-id``: a retry after a lost 2xx has the
same id. Signups never wait for any of it.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import sqlite3
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Mapping
from urllib.parse import urlsplit

import httpx
from standardwebhooks.webhooks import Webhook

from ..errors import ConfigError, raise_all, shown_path
from ..guide.config import KEYS, GuideConfig
from ..guide.yamlsource import FieldReader, LocatedList
from .errors import SignupError
from .store import Store, now_iso
from .subscribers import ensure_schema, tags_of

EVENTS = ("subscribed", "confirmed", "delivered", "unsubscribed", "bounced")
SECRET_ENV = "LEADGUIDE_WEBHOOK_SECRET"
TIMEOUT = 5.0  # seconds for one POST (connect, read, write)
MAX_ATTEMPTS = 10
FIRST_DELAY = 30.0  # seconds before the first retry; then doubled, at most MAX_DELAY
MAX_DELAY = 6 * 3600.0
LEASE = 60.0  # a delivery claimed by a process is left alone this long
OVERLAP = 120.0  # seconds re-read behind the cursor (a transaction that committed late)
BATCH = 20
SETTLE = 1.0
BUDGET = 10.0  # seconds of POSTs a sweep may spend

SCHEMA = """
CREATE TABLE IF NOT EXISTS webhook_deliveries (
    event_id   TEXT NOT NULL,
    endpoint   TEXT NOT NULL,
    type       TEXT NOT NULL,
    body       TEXT NOT NULL,
    state      TEXT NOT NULL DEFAULT 'pending',   -- pending, sent, failed
    attempts   INTEGER NOT NULL DEFAULT 0,
    next_at    REAL NOT NULL DEFAULT 0,
    detail     TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (event_id, endpoint)
);
CREATE INDEX IF NOT EXISTS webhook_due ON webhook_deliveries (state, next_at)
    WHERE state = 'pending';
"""


@dataclass(frozen=True)
class Endpoint:
    url: str
    events: tuple[str, ...]


@dataclass(frozen=True)
class Webhooks:
    endpoints: tuple[Endpoint, ...]
    secret: str = field(repr=False)

    def signer(self) -> Webhook:
        return Webhook(self.secret)


def load_webhooks(config: GuideConfig, env: Mapping[str, str] | None = None) -> Webhooks | None:
    """``signup.webhooks`` checked (http(s) only; http only to this machine), and the secret
    from the environment; None when there are none."""
    raw = config.signup.get("webhooks") if config.signup else None
    if raw is None:
        return None
    path = shown_path(config.config_path)
    reader = FieldReader(path, ConfigError)
    if not isinstance(raw, list) or not raw:
        reader.fail("'signup.webhooks' must be a list of items like '- {url: "
                    "https://crm.example.com/hooks, events: [subscribed, delivered]}'",
                    config.signup.line_of("webhooks"))
        raise_all(reader.errors)
    endpoints = []
    for index, item in enumerate(raw):
        where = f"signup.webhooks item {index + 1}"
        item = reader.mapping(item, where, raw.line_of(index) if isinstance(raw, LocatedList)
                              else None)
        reader.unknown_keys(item, KEYS["signup.webhooks"], where)
        url = reader.get(item, "url", str, None, where)
        events = reader.get(item, "events", list, list(EVENTS), where)
        problem = url_problem(url) if url else "is required"
        if problem:
            reader.fail(f"'{where}.url' {problem}", item.line_of("url") if url else item.line)
        wrong = [str(event) for event in events if event not in EVENTS]
        if wrong:
            reader.fail(f"'{where}.events': unknown event '{wrong[0]}' (known: "
                        f"{', '.join(EVENTS)})", item.line_of("events"))
        if url and not problem and not wrong:
            endpoints.append(Endpoint(url, tuple(events)))
    raise_all(reader.errors)
    return Webhooks(tuple(endpoints), read_secret(env))


def url_problem(url: str) -> str | None:
    parts = urlsplit(url)
    local = (parts.hostname or "") in {"localhost", "127.0.0.1", "::1"}
    if parts.scheme != "https" and not (parts.scheme == "http" and local):
        return "must be an https:// address (http:// only for this machine)"
    if not parts.hostname or parts.username or parts.password or parts.fragment:
        return "must be a plain address like https://crm.example.com/hooks"
    return None


def read_secret(env: Mapping[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    secret = env.get(SECRET_ENV, "")
    try:
        ok = secret.startswith("whsec_") and len(base64.b64decode(secret[6:], validate=True)) >= 24
    except ValueError:  # not base64
        ok = False
    if not ok:
        raise SignupError(f"{SECRET_ENV} must be set to a Standard Webhooks secret, 'whsec_' "
                          "and at least 24 random bytes in base64; make one with `python3 -c "
                          "'import base64, os; print(\"whsec_\" + base64.b64encode(os.urandom"
                          "(32)).decode())'` and give your receiver the same")
    return secret


_READY: set[str] = set()


def ensure_tables(store: Store) -> None:
    ensure_schema(store)
    if str(store.path) in _READY:
        return
    _READY.add(str(store.path))
    with store.write() as db:
        for statement in SCHEMA.split(";"):
            if statement.strip():
                db.execute(statement)


# ----- collecting events from what the database records -----

_SOURCES = {
    "subscribed": ("SELECT address_id, address, name, created_at FROM subscribers "
                   "WHERE guide = :guide AND created_at >= :since AND created_at <= :settled"),
    "confirmed": ("SELECT address_id, address, name, confirmed_at FROM subscribers "
                  "WHERE guide = :guide AND status = 'confirmed' AND confirmed_at >= :since "
                  "AND confirmed_at != created_at"),
    "delivered": ("SELECT address_id, address, name, updated_at FROM deliveries WHERE "
                  "guide = :guide AND kind = 'welcome' AND state = 'sent' "
                  "AND updated_at >= :since"),
    "unsubscribed": ("SELECT x.address_id, x.address, coalesce(s.name, ''), x.at FROM "
                     "suppressions x JOIN subscribers s ON s.guide = :guide AND "
                     "s.address_id = x.address_id WHERE x.reason = 'unsubscribe' AND "
                     "x.at >= :since"),
    "bounced": ("SELECT x.address_id, x.address, coalesce(s.name, ''), x.at, x.reason FROM "
                "suppressions x JOIN subscribers s ON s.guide = :guide AND "
                "s.address_id = x.address_id WHERE x.reason IN ('bounce', 'complaint') AND "
                "x.at >= :since"),
}


def event_id(guide: str, kind: str, ident: str, when: str) -> str:
    return "msg_" + hashlib.sha256(f"{guide}|{kind}|{ident}|{when}".encode()).hexdigest()[:32]


def collect(store: Store, guide: str, hooks: Webhooks) -> int:
    """Add the events recorded since the last collection (the first: from now on) for each
    endpoint that wants them; how many deliveries were added."""
    ensure_tables(store)
    db = store.db
    row = db.execute("SELECT value FROM service_state WHERE name = 'webhooks_cursor'").fetchone()
    if row is None:
        with store.write() as w:
            w.execute("INSERT OR IGNORE INTO service_state (name, value) VALUES "
                      "('webhooks_cursor', ?)", (now_iso(),))
        return 0
    cursor = row[0]
    since = (datetime.fromisoformat(cursor) - timedelta(seconds=OVERLAP)).isoformat(
        timespec="milliseconds")
    # A signup's tag is written just after it: its event waits SETTLE seconds to carry it.
    settled = (datetime.now(timezone.utc) - timedelta(seconds=SETTLE)).isoformat(
        timespec="milliseconds")
    found, newest = [], cursor
    for kind, sql in _SOURCES.items():
        for ident, address, name, when, *reason in db.execute(sql, {"guide": guide, "since": since,
                                                                    "settled": settled}):
            newest = max(newest, when)
            data = {"email": address, "first_name": name, "guide": guide,
                    "tags": tags_of(db, guide, ident)}
            if reason:
                data["reason"] = reason[0]
            body = json.dumps({"type": f"subscriber.{kind}", "timestamp": when, "data": data},
                              ensure_ascii=False, separators=(",", ":"))
            found.append((event_id(guide, kind, ident, when), kind, body))
    added, now = 0, now_iso()
    with store.write() as w:
        for eid, kind, body in found:
            for endpoint in hooks.endpoints:
                if kind in endpoint.events:
                    added += w.execute(
                        "INSERT OR IGNORE INTO webhook_deliveries (event_id, endpoint, type, "
                        "body, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
                        (eid, endpoint.url, f"subscriber.{kind}", body, now, now)).rowcount
        w.execute("UPDATE service_state SET value = ? WHERE name = 'webhooks_cursor'",
                  (newest,))
    return added


# ----- delivering -----

def backoff(attempts: int, first: float = FIRST_DELAY) -> float:
    return min(first * 2 ** (attempts - 1), MAX_DELAY)


def deliver_due(store: Store, hooks: Webhooks, client: httpx.Client | None = None,
                now: float | None = None, first_delay: float = FIRST_DELAY,
                limit: int = BATCH, budget: float = BUDGET) -> dict[str, int]:
    """POST the deliveries now due, each signed; 2xx is done, anything else (or no answer
    within TIMEOUT) is tried again after ``backoff`` until MAX_ATTEMPTS. Redirects are not
    followed. At most ``budget`` seconds a pass (a hanging endpoint must not hold up the
    sweep): the rest waits for the next. Returns counts of what happened."""
    ensure_tables(store)
    now = time.time() if now is None else now
    rows = store.db.execute("SELECT event_id, endpoint, body, attempts FROM webhook_deliveries "
                            "WHERE state = 'pending' AND next_at <= ? ORDER BY created_at, "
                            "rowid LIMIT ?", (now, limit)).fetchall()
    own = client is None
    client = client or httpx.Client(timeout=TIMEOUT, follow_redirects=False)
    signer, counts = hooks.signer(), {"sent": 0, "retry": 0, "failed": 0}
    try:
        stop = time.monotonic() + budget
        for event, url, body, attempts in rows:
            if time.monotonic() > stop:
                break
            if not _claim(store, event, url, now):
                continue
            outcome, detail = _post(client, signer, event, url, body)
            attempts += 1
            if outcome:
                state, next_at = "sent", 0.0
            elif attempts >= MAX_ATTEMPTS:
                state, next_at = "failed", 0.0
            else:
                state, next_at = "pending", now + backoff(attempts, first_delay)
            with store.write() as db:
                db.execute("UPDATE webhook_deliveries SET state = ?, attempts = ?, next_at = ?, "
                           "detail = ?, updated_at = ? WHERE event_id = ? AND endpoint = ?",
                           (state, attempts, next_at, detail[:300], now_iso(), event, url))
            counts["sent" if state == "sent" else "failed" if state == "failed" else "retry"] += 1
    finally:
        if own:
            client.close()
    return counts


def _claim(store: Store, event: str, url: str, now: float) -> bool:
    with store.write() as db:
        return db.execute("UPDATE webhook_deliveries SET next_at = ? WHERE event_id = ? AND "
                          "endpoint = ? AND state = 'pending' AND next_at <= ?",
                          (now + LEASE, event, url, now)).rowcount == 1


def _post(client: httpx.Client, signer: Webhook, event: str, url: str,
          body: str) -> tuple[bool, str]:
    stamp = datetime.now(timezone.utc)
    headers = {"content-type": "application/json", "user-agent": "leadguide-webhooks",
               "webhook-id": event, "webhook-timestamp": str(int(stamp.timestamp())),
               "webhook-signature": signer.sign(event, stamp, body.encode())}
    try:
        response = client.post(url, content=body.encode(), headers=headers)
    except httpx.HTTPError as exc:
        return False, f"{type(exc).__name__}: {exc}"
    return 200 <= response.status_code < 300, f"HTTP {response.status_code}"


def status_lines(store: Store) -> list[str]:
    """For ``signup stats``: webhook deliveries waiting, sent and given up (none: no lines)."""
    try:
        counts = dict(store.db.execute("SELECT state, count(*) FROM webhook_deliveries "
                                       "GROUP BY 1"))
    except sqlite3.OperationalError:  # no webhooks ever configured
        return []
    line = (f"webhooks: {counts.get('pending', 0)} waiting, {counts.get('sent', 0)} sent, "
            f"{counts.get('failed', 0)} given up")
    last = store.db.execute("SELECT endpoint, detail FROM webhook_deliveries WHERE state != "
                            "'sent' AND attempts > 0 ORDER BY updated_at DESC LIMIT 1").fetchone()
    return [line] + ([f"last failure: {last[0]}: {last[1]}"] if last else [])
