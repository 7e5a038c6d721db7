"""The ledger's internal routes, for delivery workers on other machines (remoteledger.py):
``POST /_ledger/{hello,claim,finish,defer,pause,subscriber}``, only when guide.yaml says
``signup.remote_workers: true`` (otherwise they do not exist: 404).

Every request is checked before it touches anything (``Gate``): signed per Standard Webhooks
with the key derived from LEADGUIDE_SECRET (``remoteledger.ledger_key``), its timestamp within
the library's five minutes and not from before this process started, and its id never seen
before (ids are remembered for those five minutes; a replay from before a restart is refused
by its timestamp). Unsigned or wrongly signed: 401; stale, replayed or malformed: 400; the
database not writable just now: 503 (the worker posts again). The claim runs on the service's
own ledger, with the service's lease and send rate, in the same SQLite transaction as a local
worker's: remote and local workers share one record and one pace.
"""
from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections import deque
from math import floor
from typing import TYPE_CHECKING, Callable

from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .ledger import DONE, GO, Complaints, Ledger
from .remoteledger import ledger_key
from .store import Payload

if TYPE_CHECKING:
    from .service import Service

TOLERANCE = 5 * 60  # seconds: the standardwebhooks library's window, either side of now
_TEXT = 2000  # longest detail or reason kept


class Refused(Exception):
    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status, self.reason = status, reason


class Gate:
    """Signature, freshness and single use of a ledger request."""

    def __init__(self, secret: str, now: Callable[[], float] = time.time):
        self.signer, self.now = Webhook(ledger_key(secret)), now
        self.started = now()
        self._seen: set[str] = set()
        self._order: deque[tuple[float, str]] = deque()
        self._lock = threading.Lock()

    def check(self, body: bytes, headers) -> dict:
        """The request's JSON fields, or Refused."""
        headers = {key.lower(): value for key, value in headers.items()}
        try:
            self.signer.verify(body, headers, json_parse=False)
        except WebhookVerificationError as exc:
            stale = "timestamp" in str(exc).lower()
            raise Refused(400 if stale else 401,
                          "stale timestamp" if stale else "not signed by a worker") from None
        stamp = floor(float(headers["webhook-timestamp"]))  # as signed (the library's parse)
        if stamp < int(self.started):
            raise Refused(400, "signed before the service started")
        self._once(headers["webhook-id"], stamp)
        try:
            fields = json.loads(body)
        except ValueError:
            raise Refused(400, "not JSON") from None
        if not isinstance(fields, dict):
            raise Refused(400, "not a JSON object")
        return fields

    def _once(self, msg_id: str, stamp: int) -> None:
        with self._lock:
            cutoff = self.now() - TOLERANCE - 1
            while self._order and self._order[0][0] < cutoff:
                self._seen.discard(self._order.popleft()[1])
            if msg_id in self._seen:
                raise Refused(400, "replayed")
            self._seen.add(msg_id)
            self._order.append((float(stamp), msg_id))


def ledger_routes(service: "Service") -> list[Route]:
    """The routes, or none when signup.remote_workers is off."""
    if not service.settings.remote_workers:
        return []
    gate = Gate(service.secrets.secret)
    # The service's ledger on the web side's store: a write waits WEB_WAIT (5 s) for the lock,
    # under the worker's 10 s timeout, and is never retried here (503: the worker does).
    ledger = Ledger(service.store, service.ledger.rate, hold=False)
    complaints = Complaints()

    def hello(fields: dict) -> dict:
        return {"guide": service.guide, "lease": service.queue.lease,
                "redis": bool(service.secrets.queue_url)}

    def claim(fields: dict) -> dict:
        payload, owner = _payload(fields), _text(fields, "owner", 200)
        if not owner:
            raise Refused(400, "no owner")
        decided = ledger.claim(payload, owner, service.queue.lease)
        answer = {"outcome": decided.outcome, "attempts": decided.attempts,
                  "wait": decided.wait}
        if decided.outcome == GO:
            answer["subscriber"] = _subscriber(service, payload.guide, payload.address_id)
        return answer

    def finish(fields: dict) -> dict:
        state = _text(fields, "state", 20)
        if state not in DONE:
            raise Refused(400, "not an outcome")
        ledger.finish(_payload(fields), state, _text(fields, "detail", _TEXT))
        return {}

    def defer(fields: dict) -> dict:
        delay = _number(fields, "delay")
        ledger.defer(_payload(fields), _text(fields, "detail", _TEXT), delay,
                     bool(fields.get("counted", True)))
        return {}

    def pause(fields: dict) -> dict:
        return {"until": ledger.pause(_number(fields, "seconds"),
                                      _text(fields, "reason", _TEXT))}

    def subscriber(fields: dict) -> dict:
        return {"subscriber": _subscriber(service, _text(fields, "guide", 200),
                                          _text(fields, "address_id", 200))}

    operations = {"hello": hello, "claim": claim, "finish": finish, "defer": defer,
                  "pause": pause, "subscriber": subscriber}

    async def endpoint(request: Request) -> Response:
        operation = operations.get(request.path_params["operation"])
        if operation is None:
            return Response(status_code=404)
        body = await request.body()
        try:
            fields = gate.check(body, request.headers)
            return JSONResponse(await run_in_threadpool(operation, fields))
        except Refused as refused:
            complaints.say(f"refused a ledger request from {_peer(request)}: {refused.reason}")
            return JSONResponse({"error": refused.reason}, refused.status)
        except sqlite3.Error as exc:  # locked past the wait, disk full: the worker tries again
            complaints.say(f"a remote worker's ledger request could not be written ({exc})")
            return JSONResponse({"error": "the signup database is busy"}, 503)

    return [Route("/_ledger/{operation}", endpoint, methods=["POST"])]


def _payload(fields: dict) -> Payload:
    raw = fields.get("payload")
    if not isinstance(raw, dict) or not all(isinstance(raw.get(key), str)
                                            for key in ("guide", "kind", "address", "name")):
        raise Refused(400, "no payload")
    return Payload(raw["guide"], raw["kind"], raw["address"], raw["name"],
                   str(raw.get("nonce", "")))


def _text(fields: dict, key: str, longest: int) -> str:
    value = fields.get(key, "")
    if not isinstance(value, str):
        raise Refused(400, f"'{key}' is not text")
    return value[:longest]


def _number(fields: dict, key: str) -> float:
    value = fields.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or \
            not 0 <= value <= 7 * 86400:
        raise Refused(400, f"'{key}' is not a number of seconds")
    return float(value)


def _subscriber(service: "Service", guide: str, ident: str) -> int | None:
    found = service.store.subscriber(guide, ident)
    return found.id if found else None


def _peer(request: Request) -> str:
    return request.client.host if request.client else "?"
