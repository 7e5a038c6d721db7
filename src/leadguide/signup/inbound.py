"""Inbound bounce and complaint webhooks from sending services, added to the suppression list:
Amazon SES through SNS (``/hooks/ses``: the SNS message signature verified, SignatureVersion 1
and 2, the signing certificate fetched only from ``https://sns.<region>.amazonaws.com/``, at most an hour old),
Postmark (``/hooks/postmark``: Basic auth, since Postmark does not sign) and Mailgun
(``/hooks/mailgun``: HMAC-SHA256 of timestamp + token with the signing key, the timestamp
fresh, each token used once). Each route exists only when its secret is set in the
environment; a forged, stale or replayed payload is refused (401/400) and suppresses nothing.

Environment: LEADGUIDE_POSTMARK_TOKEN (the Basic auth password in the webhook's URL),
LEADGUIDE_MAILGUN_SIGNING_KEY, LEADGUIDE_SES_TOPICS (the SNS topic ARNs to accept, comma
separated: notifications and subscription confirmations from any other topic are refused).
LEADGUIDE_SNS_CERT_PREFIX trusts one more certificate address prefix (the tests' local server).
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import os
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable, Mapping
from urllib.parse import urlsplit

import httpx
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from ..email.errors import RecipientError
from ..email.recipients import recipient
from .ratelimit import Limits
from .store import BOUNCED, COMPLAINED, Store
from .tokens import address_id

log = logging.getLogger("leadguide.signup")
MAILGUN_MAX_AGE = 15 * 60  # seconds a Mailgun signature's timestamp may be old (or ahead)
SNS_MAX_AGE = 60 * 60
_SNS_HOST = re.compile(r"sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?")
_CERT_BYTES = 16 * 1024
_SNS_NOTIFICATION = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
_SNS_SUBSCRIPTION = ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn",
                     "Type")


class Refused(Exception):
    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status, self.reason = status, reason


@dataclass
class InboundSettings:
    postmark_token: str | None = field(default=None, repr=False)
    mailgun_key: str | None = field(default=None, repr=False)
    ses_topics: tuple[str, ...] = ()
    cert_prefix: str | None = None  # one more trusted certificate prefix (tests)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> InboundSettings:
        env = os.environ if env is None else env
        topics = tuple(t.strip() for t in env.get("LEADGUIDE_SES_TOPICS", "").split(",")
                       if t.strip())
        return cls(env.get("LEADGUIDE_POSTMARK_TOKEN") or None,
                   env.get("LEADGUIDE_MAILGUN_SIGNING_KEY") or None, topics,
                   env.get("LEADGUIDE_SNS_CERT_PREFIX") or None)


Suppression = tuple[str, str]  # (address, reason)


def _address(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        return recipient(value.strip()).address
    except RecipientError:
        return None


# ----- Postmark -----

def postmark_events(authorization: str, body: bytes, token: str) -> list[Suppression]:
    """Postmark's Bounce and SpamComplaint webhooks, behind Basic auth (the password)."""
    scheme, _, encoded = authorization.partition(" ")
    try:
        password = base64.b64decode(encoded, validate=True).decode().partition(":")[2]
    except (binascii.Error, UnicodeDecodeError):
        password = ""
    if scheme.lower() != "basic" or not hmac.compare_digest(password.encode(), token.encode()):
        raise Refused(401, "wrong or missing credentials")
    data = _json(body)
    kind, address = data.get("RecordType"), _address(data.get("Email"))
    if address is None:
        return []
    if kind == "SpamComplaint":
        return [(address, COMPLAINED)]
    hard = data.get("Type") in {"HardBounce", "BadEmailAddress", "ManuallyDeactivated"}
    if kind == "Bounce" and (hard or data.get("Inactive") is True):
        return [(address, BOUNCED)]
    return []


# ----- Mailgun -----

def mailgun_events(body: bytes, key: str, first_use: Callable[[str], bool],
                   now: float | None = None) -> list[Suppression]:
    """Mailgun's webhooks: ``signature`` {timestamp, token, signature} checked, then the
    ``event-data``: a permanent ``failed`` is a bounce, ``complained`` a complaint."""
    data = _json(body)
    signed = data.get("signature") if isinstance(data.get("signature"), dict) else {}
    stamp, token, signature = (str(signed.get(k, "")) for k in ("timestamp", "token",
                                                                 "signature"))
    expected = hmac.new(key.encode(), (stamp + token).encode(), hashlib.sha256).hexdigest()
    if not stamp or not token or not hmac.compare_digest(expected, signature.lower()):
        raise Refused(401, "the signature does not match")
    now = time.time() if now is None else now
    if not stamp.isdigit() or abs(now - int(stamp)) > MAILGUN_MAX_AGE:
        raise Refused(400, "the signature's timestamp is too old")
    if not first_use(token):
        raise Refused(400, "this token was used already")
    event = data.get("event-data") if isinstance(data.get("event-data"), dict) else {}
    address = _address(event.get("recipient"))
    if address is None:
        return []
    if event.get("event") == "complained":
        return [(address, COMPLAINED)]
    if event.get("event") == "failed" and event.get("severity") == "permanent":
        return [(address, BOUNCED)]
    return []


# ----- Amazon SES through SNS -----

class SnsVerifier:
    """Checks SNS messages' signatures with Amazon's certificate (fetched once per address)."""

    def __init__(self, settings: InboundSettings, fetch: Callable[[str], bytes] | None = None):
        self.settings = settings
        self.fetch = fetch or _fetch
        self._certs: dict[str, x509.Certificate] = {}
        self._lock = threading.Lock()

    def trusted(self, url: str, certificate: bool = True) -> bool:
        """An address of Amazon SNS itself (https, sns.<region>.amazonaws.com): a signing
        certificate (.pem), or a SubscribeURL."""
        if self.settings.cert_prefix and url.startswith(self.settings.cert_prefix):
            return True
        parts = urlsplit(url)
        return (parts.scheme == "https" and bool(_SNS_HOST.fullmatch(parts.hostname or ""))
                and parts.port is None and not parts.username
                and (parts.path.endswith(".pem") or not certificate))

    def verify(self, message: dict, now: float | None = None) -> None:
        version = str(message.get("SignatureVersion", ""))
        algorithm = {"1": hashes.SHA1(), "2": hashes.SHA256()}.get(version)
        if algorithm is None:
            raise Refused(400, "unknown SignatureVersion")
        url = message.get("SigningCertURL")
        if not isinstance(url, str) or not self.trusted(url):
            raise Refused(401, "the signing certificate is not Amazon SNS's")
        kind = message.get("Type")
        keys = _SNS_NOTIFICATION if kind == "Notification" else _SNS_SUBSCRIPTION
        text = "".join(f"{key}\n{message[key]}\n" for key in keys
                       if isinstance(message.get(key), str))
        try:
            signature = base64.b64decode(str(message.get("Signature", "")), validate=True)
            self._cert(url).public_key().verify(signature, text.encode(), padding.PKCS1v15(),
                                                algorithm)
        except (InvalidSignature, binascii.Error, ValueError, TypeError):
            raise Refused(401, "the signature does not match") from None
        try:
            sent = datetime.fromisoformat(str(message["Timestamp"]).replace("Z", "+00:00"))
        except (KeyError, ValueError):
            raise Refused(400, "no timestamp") from None
        now = time.time() if now is None else now
        if abs(now - sent.timestamp()) > SNS_MAX_AGE:
            raise Refused(400, "the message is too old")

    def _cert(self, url: str) -> x509.Certificate:
        with self._lock:
            if url not in self._certs:
                try:
                    self._certs[url] = x509.load_pem_x509_certificate(self.fetch(url))
                except (httpx.HTTPError, ValueError) as exc:
                    raise Refused(400, f"the signing certificate could not be read: {exc}") \
                        from None
            return self._certs[url]


def _fetch(url: str) -> bytes:
    with httpx.Client(timeout=5.0, follow_redirects=False) as client:
        response = client.get(url)
        response.raise_for_status()
        if len(response.content) > _CERT_BYTES:
            raise ValueError("too large")
        return response.content


def ses_events(body: bytes, verifier: SnsVerifier, confirm: Callable[[str], object] = _fetch) -> list[Suppression]:
    """An SNS message, verified; a subscription to an accepted topic is confirmed (its
    SubscribeURL fetched, only from SNS itself); a notification's SES bounce or complaint
    becomes suppressions (a transient bounce does not)."""
    message = _json(body)
    verifier.verify(message)
    topic = message.get("TopicArn")
    if topic not in verifier.settings.ses_topics:
        raise Refused(403, "this topic is not in LEADGUIDE_SES_TOPICS")
    kind = message.get("Type")
    if kind == "SubscriptionConfirmation":
        url = message.get("SubscribeURL")
        if not isinstance(url, str) or not verifier.trusted(url, certificate=False):
            raise Refused(400, "the SubscribeURL is not Amazon SNS's")
        confirm(url)
        log.warning("confirmed the SNS subscription to %s", topic)
        return []
    if kind != "Notification":
        return []
    return _ses_notification(_json(str(message.get("Message", "")).encode()))


def _ses_notification(data: dict) -> list[Suppression]:
    kind = data.get("notificationType") or data.get("eventType")
    if kind == "Bounce":
        bounce = data.get("bounce") or {}
        if bounce.get("bounceType") != "Permanent":
            return []
        people, reason = bounce.get("bouncedRecipients") or [], BOUNCED
    elif kind == "Complaint":
        people, reason = (data.get("complaint") or {}).get("complainedRecipients") or [], \
            COMPLAINED
    else:
        return []
    found = [_address(person.get("emailAddress")) for person in people
             if isinstance(person, dict)]
    return [(address, reason) for address in found if address]


def _json(body: bytes) -> dict:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise Refused(400, "not JSON") from None
    if not isinstance(data, dict):
        raise Refused(400, "not a JSON object")
    return data


# ----- the routes -----

def suppress_all(store: Store, found: list[Suppression], source: str) -> int:
    return sum(store.suppress(address_id(address), address, reason, source)
               for address, reason in found)


def inbound_routes(store: Store, limits: Limits,
                   settings: InboundSettings | None = None) -> list[Route]:
    """The routes for the services whose secret is set (none without)."""
    settings = settings or InboundSettings.from_env()
    verifier = SnsVerifier(settings)

    def once(kind: str, seconds: float) -> Callable[[str], bool]:
        return lambda key: limits.first_use(kind, key, seconds)

    handlers: dict[str, Callable[[Request, bytes], list[Suppression]]] = {}
    if settings.postmark_token:
        handlers["postmark"] = lambda request, body: postmark_events(
            request.headers.get("authorization", ""), body, settings.postmark_token)
    if settings.mailgun_key:
        handlers["mailgun"] = lambda request, body: mailgun_events(
            body, settings.mailgun_key, once("mailgun", 2 * MAILGUN_MAX_AGE))
    if settings.ses_topics:
        # An SNS message replayed can only suppress the same address again: SNS's own
        # retries (same MessageId) are let through.
        handlers["ses"] = lambda request, body: ses_events(body, verifier)

    def endpoint(name: str):
        async def receive(request: Request) -> Response:
            body = await request.body()
            try:
                found = await run_in_threadpool(handlers[name], request, body)
            except Refused as refused:
                return PlainTextResponse(f"Refused: {refused.reason}.\n", refused.status)
            added = await run_in_threadpool(suppress_all, store, found, name)
            return PlainTextResponse(f"OK: {added} added to the suppression list.\n")
        return receive

    return [Route(f"/hooks/{name}", endpoint(name), methods=["POST"]) for name in handlers]
