"""The delivery ledger over HTTP, for workers on another machine than the signup database's.

The signup database stays the one durable record (ledger.py says why it is SQLite on one
machine); a worker elsewhere (``signup worker --ledger-url``) asks the service to ``claim``,
``finish``, ``defer`` and ``pause`` for it at the service's internal routes (ledgerroutes.py,
on only with ``signup.remote_workers: true``). ``RemoteLedger`` has the methods the Mailer
calls on a ``Ledger``, with the same promises:

* a claim that cannot be made (the service down, busy or refusing) raises
  ``LedgerUnavailable``: the job is put back, as for a locked database;
* an outcome (``finish``, ``defer``, ``pause``) is posted until the service has recorded it:
  a service briefly down holds the worker, never drops a "sent" (which would let the lease
  run out and the email go again).

Every request is signed per Standard Webhooks (``webhook-id``, ``webhook-timestamp``,
``webhook-signature: v1,base64(HMAC-SHA256(key, id.timestamp.body))``, the ``standardwebhooks``
package): the key is derived from LEADGUIDE_SECRET (HMAC-SHA256 with a label of its own, so
neither machine ever sends the secret and a key for this purpose signs nothing else), and each
attempt has a fresh id and timestamp. One keep-alive connection per worker thread, opened
again after an idle spell (uvicorn closes idle ones after 5 s) or a failure.
"""
from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import logging
import secrets
import threading
import time
from datetime import datetime, timezone
from math import floor
from typing import Callable
from urllib.parse import urlsplit

from standardwebhooks.webhooks import Webhook

from .errors import SignupError
from .ledger import Claim, Complaints, LedgerUnavailable
from .store import Payload

PREFIX = "/_ledger/"
TIMEOUT = 10.0  # seconds for one request (the service gives up a locked write after 5)
IDLE = 4.0  # seconds a kept-alive connection is trusted idle (uvicorn's keep-alive is 5 s)
_LABEL = b"leadguide.signup.remote-ledger.v1"

log = logging.getLogger("leadguide.signup")


def ledger_key(secret: str) -> bytes:
    """The key that signs ledger requests: derived from LEADGUIDE_SECRET, never the secret."""
    return hmac.new(secret.encode(), _LABEL, hashlib.sha256).digest()


def signed_headers(signer: Webhook, body: bytes, at: datetime | None = None,
                   msg_id: str | None = None) -> dict[str, str]:
    """Standard Webhooks headers for ``body``: a fresh id, now, the signature."""
    at = at or datetime.now(timezone.utc)
    msg_id = msg_id or f"msg_{secrets.token_hex(16)}"
    return {"webhook-id": msg_id, "webhook-timestamp": str(floor(at.timestamp())),
            "webhook-signature": signer.sign(msg_id, at, body),
            "content-type": "application/json"}


class RemoteLedger:
    """The Mailer's ledger, through the service at ``url`` (its base address)."""

    def __init__(self, url: str, secret: str, timeout: float = TIMEOUT,
                 sleep: Callable[[float], None] = time.sleep):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.query:
            raise SignupError(f"--ledger-url must be the signup service's http(s) address, "
                              f"like https://guide.example.com, not '{url}'")
        self.url = url.rstrip("/")
        self._https, self._host, self._port = parts.scheme == "https", parts.hostname, parts.port
        self._path = parts.path.rstrip("/") + PREFIX
        self._signer = Webhook(ledger_key(secret))
        self.timeout, self.sleep = timeout, sleep
        self._local = threading.local()
        self._complaints = Complaints()

    # ----- what the Mailer calls -----

    def claim(self, payload: Payload, owner: str, lease: float) -> Claim:
        """The service's claim (its own lease counts, not ``lease``); LedgerUnavailable when
        it cannot be made."""
        answer = self.call("claim", {"payload": payload.as_dict(), "owner": owner})
        self._local.subscriber = (payload.guide, payload.address_id, answer.get("subscriber"))
        return Claim(str(answer["outcome"]), int(answer["attempts"]), float(answer["wait"]))

    def finish(self, payload: Payload, state: str, detail: str = "") -> None:
        self._until_recorded(f"record '{state}' for an email", "finish",
                             {"payload": payload.as_dict(), "state": state, "detail": detail})

    def defer(self, payload: Payload, detail: str, delay: float, counted: bool) -> None:
        # The delay, not a time: the service's clock sets when (no skew between machines).
        self._until_recorded("record a retry", "defer",
                             {"payload": payload.as_dict(), "detail": detail, "delay": delay,
                              "counted": counted})

    def pause(self, seconds: float, reason: str) -> float:
        answer = self._until_recorded("pause the queue", "pause",
                                      {"seconds": seconds, "reason": reason})
        return float(answer["until"])

    def subscriber(self, guide: str, ident: str) -> int | None:
        """The subscriber's id (for their personal CTA link): the last claim's answer holds
        it, so a welcome email costs no extra request."""
        known = getattr(self._local, "subscriber", None)
        if known and known[:2] == (guide, ident):
            return known[2]
        answer = self.call("subscriber", {"guide": guide, "address_id": ident})
        return answer.get("subscriber")

    def hello(self) -> dict:
        """The service's answer to a signed hello (its guide and lease), or a SignupError
        saying what to fix."""
        try:
            return self.call("hello", {})
        except LedgerUnavailable as exc:
            status = getattr(exc, "status", None)
            hint = {404: "is signup.remote_workers true in the service's guide.yaml, and is "
                         "this its address?",
                    401: "both machines need the same LEADGUIDE_SECRET",
                    400: "is this machine's clock right?"}.get(status, "is the service running "
                                                                   "and reachable from here?")
            raise SignupError(f"the signup service at {self.url} did not take this worker "
                              f"({exc}): {hint}") from None

    def close(self) -> None:
        """Close this thread's connection."""
        self._drop()

    # ----- one signed request -----

    def call(self, op: str, fields: dict) -> dict:
        """POST one signed request; its JSON answer, or LedgerUnavailable (with ``status``
        when the service answered)."""
        body = json.dumps(fields).encode()
        for attempt in range(2):
            connection, reused = self._connection()
            try:
                connection.request("POST", self._path + op, body,
                                   signed_headers(self._signer, body))
                response = connection.getresponse()
                data = response.read()
            except (OSError, http.client.HTTPException) as exc:
                self._drop()
                if reused and attempt == 0:
                    continue  # a kept-alive connection the service had closed: once more
                raise LedgerUnavailable(f"cannot reach the signup service: "
                                        f"{type(exc).__name__}: {exc}") from None
            self._local.used = time.monotonic()
            if response.will_close:
                self._drop()
            if response.status == 200:
                return json.loads(data)
            error = LedgerUnavailable(f"the signup service answered {response.status}: "
                                      f"{data[:200].decode('utf-8', 'replace').strip()}")
            error.status = response.status
            raise error
        raise AssertionError("unreachable")

    def _connection(self) -> tuple[http.client.HTTPConnection, bool]:
        connection = getattr(self._local, "connection", None)
        if connection is not None and time.monotonic() - self._local.used > IDLE:
            self._drop()
            connection = None
        if connection is not None:
            return connection, True
        kind = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
        connection = self._local.connection = kind(self._host, self._port, timeout=self.timeout)
        self._local.used = time.monotonic()
        return connection, False

    def _drop(self) -> None:
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
        self._local.connection = None

    def _until_recorded(self, what: str, op: str, fields: dict) -> dict:
        delay, failed = 0.05, False
        while True:
            try:
                answer = self.call(op, fields)
            except LedgerUnavailable as exc:
                failed = True
                self._complaints.say(f"cannot {what} through the signup service ({exc}); "
                                     "trying again until it is recorded (the email is not "
                                     "sent again meanwhile)")
                self.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            if failed:
                log.warning("recorded at last: %s", what)
            return answer
