"""What a queue job does: claim the email in the ledger, build it, send it, record the outcome.

Temporary refusals (4xx) are tried again later with exponential backoff, up to
``signup.max_attempts``; permanent ones (5xx) are recorded as failed; a sending service's quota
reply ("454 4.7.0 ... quota exceeded", a 421/451 about rates or limits) pauses the whole queue
for ``signup.quota_wait_seconds`` (every worker's next claim sees the pause and puts its job
back for then), without counting as an attempt.
"""
from __future__ import annotations

import hashlib
import logging
import re
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from typing import Callable

import jinja2

from ..email.display import greeting_name
from ..email.errors import SmtpError
from ..email.message import (MESSAGE_POLICY, Attachment, PersonalLinks, build_message, compose,
                             list_unsubscribe)
from ..email.personal import PersonalCopies
from ..email.recipients import Recipient
from ..email.send import Dropped, Rejected, RetryPolicy, Transport
from ..email.settings import EmailSettings
from ..guide.config import GuideConfig
from ..html.assemble import make_environment, render_page
from .again import RESEND_MARK, base_kind
from .ledger import (FAILED, PAUSED, SENT, SKIP, SUPPRESSED, Claim, Complaints, Ledger,
                     LedgerUnavailable)
from .sequence import STEP, Step, step_by_kind, step_message
from .settings import SignupSettings
from .store import CONFIRM, Payload
from .tokens import UNSUBSCRIBE, Tokens, address_id

log = logging.getLogger("leadguide.signup")
_QUOTA = re.compile(r"quota|rate|limit|throttl|too many|exceeded", re.IGNORECASE)
_QUOTA_CODES = {421, 450, 451, 452, 454}


def is_quota(code: int, text: str) -> bool:
    """A sending service saying "not now, you are over your allowance"."""
    return code in _QUOTA_CODES and bool(_QUOTA.search(text))


@dataclass
class Links:
    """The service's own links for one address: signed, never the plain address."""

    base_url: str
    tokens: Tokens
    guide: str
    reading: bool = False  # the guide has a web edition (/read/TOKEN)
    cta: Callable[[str], str | None] | None = None  # address_id → their /go/ CTA link

    def unsubscribe(self, address: str) -> str:
        return f"{self.base_url}/unsubscribe/{self.tokens.address_link(UNSUBSCRIBE, address, self.guide)}"

    def download(self, address: str) -> str:
        return f"{self.base_url}/download/{self.tokens.download(address, self.guide)}"

    def confirm(self, address: str, nonce: str) -> str:
        return f"{self.base_url}/confirm/{self.tokens.confirm(address, self.guide, nonce)}"

    def personal(self, person: Recipient) -> PersonalLinks:
        """The person's links; the web edition's behind the download link's own token."""
        token = self.tokens.download(person.address, self.guide)
        cta = self.cta(address_id(person.address)) if self.cta else None
        return PersonalLinks(self.unsubscribe(person.address), f"{self.base_url}/download/{token}",
                             f"{self.base_url}/read/{token}" if self.reading else None, cta=cta)


@dataclass
class Mailer:
    """Sends the service's emails; one SMTP connection per worker thread."""

    config: GuideConfig
    email: EmailSettings
    signup: SignupSettings
    links: Links
    attachment: Attachment | None
    ledger: Ledger  # or, on another machine, remoteledger.RemoteLedger (the same methods)
    connect: Callable[[], Transport]
    schedule: Callable[[Payload, float], None]
    owner: str
    retry: RetryPolicy = RetryPolicy(attempts=6, first_delay=30, max_delay=3600)
    lease: float = 120.0
    sign: Callable[[bytes], bytes] | None = None
    sleep: Callable[[float], None] = time.sleep
    steps: tuple[Step, ...] = ()  # the follow-up sequence (sequence.py)
    personal: PersonalCopies | None = None  # each recipient's own copy of the PDF
    _local: threading.local = field(default_factory=threading.local, repr=False)
    _complaints: Complaints = field(default_factory=Complaints, repr=False)

    def transport(self) -> Transport:
        transport = getattr(self._local, "transport", None)
        if transport is None:
            transport = self._local.transport = self.connect()
        return transport

    def close(self) -> None:
        transport = getattr(self._local, "transport", None)
        if transport is not None and hasattr(transport, "close"):
            transport.close()
        self._local.transport = None

    def deliver(self, payload: Payload) -> str:
        """Send ``payload`` unless it is done or being done; returns what happened."""
        try:
            claim = self.ledger.claim(payload, self.owner, self.lease)
        except (sqlite3.Error, LedgerUnavailable) as exc:  # locked past the wait, disk
            # full, the service (remote workers) down: the job comes back
            where = "the signup database" if isinstance(exc, sqlite3.Error) else "the ledger"
            self._complaints.say(f"cannot claim an email in {where} ({exc}); its job is "
                                 "put back")
            self._schedule(payload, 5.0)
            return "busy"
        if claim.outcome == SKIP:
            return "skipped"
        if claim.outcome == SUPPRESSED:
            return SUPPRESSED
        if claim.outcome == PAUSED:
            self._schedule(payload, claim.wait)
            return "paused"
        if claim.wait > 0:
            self.sleep(claim.wait)  # its slot under signup.send_rate
        try:
            data = self.data(payload)
        except Exception as exc:  # noqa: BLE001 - a template or PDF problem: try again later
            log.exception("could not build the email to %s", payload.address)
            return self._again(payload, claim, f"could not build the email: {exc}")
        if data is None:
            self.ledger.finish(payload, FAILED, "no longer in the follow-up sequence"
                               if payload.kind.startswith(STEP) else
                               "no pending confirmation for this address")
            return FAILED
        try:
            self.transport().transaction(self.email.sender.addr_spec, payload.address, data)
        except Rejected as rejected:
            return self._rejected(payload, claim, rejected)
        except (Dropped, SmtpError) as problem:
            return self._again(payload, claim, str(problem))
        except Exception as exc:  # noqa: BLE001 - never leave the row 'sending' to a live owner
            self.close()
            return self._again(payload, claim, f"{type(exc).__name__}: {exc}")
        self.ledger.finish(payload, SENT)  # retried until recorded
        return SENT

    def data(self, payload: Payload) -> bytes | None:
        """The message as sent (signed), or None when it cannot be made (no nonce). The
        welcome email's PDF is encoded once per PDF and spliced in (message.compose)."""
        person = Recipient(payload.address, payload.name)
        if base_kind(payload.kind) == CONFIRM:
            if not payload.nonce:
                return None
            data = confirm_message(self, person, payload.nonce).as_bytes(policy=SMTP)
        elif payload.kind.startswith(STEP):
            message = self.message(payload)
            if message is None:
                return None
            data = message.as_bytes(policy=SMTP)
        else:
            links = self.links.personal(person)
            data = resent_id(compose(self.config, self.email, person,
                                     self.attached(person, links), links=links).data,
                             payload.kind)
        return self.sign(data) if self.sign else data

    def _schedule(self, payload: Payload, delay: float) -> None:
        try:
            self.schedule(payload, delay)
        except Exception as exc:  # noqa: BLE001 - the queue is down: the sweep queues it later
            self._complaints.say(f"cannot put a job back on the queue ({exc}); the sweep will")

    def _rejected(self, payload: Payload, claim: Claim, rejected: Rejected) -> str:
        text = str(rejected)
        if rejected.permanent:
            self.ledger.finish(payload, FAILED, text)
            return FAILED
        if is_quota(rejected.code, text):
            wait = self.signup.quota_wait_seconds
            self.ledger.pause(wait, f"the sending service's quota: {text}")
            log.warning("the sending service refused for its quota (%s): the queue is paused "
                        "for %g s", text, wait)
            self.ledger.defer(payload, f"over the sending quota, waiting {wait:g} s: {text}",
                              wait, counted=False)
            self._schedule(payload, wait)
            return "waiting"
        return self._again(payload, claim, text)

    def _again(self, payload: Payload, claim: Claim, detail: str) -> str:
        if claim.attempts >= self.retry.attempts:
            self.ledger.finish(payload, FAILED, f"gave up after {claim.attempts} tries: {detail}")
            return FAILED
        delay = self.retry.delay(claim.attempts)
        self.ledger.defer(payload, detail, delay, counted=True)
        self._schedule(payload, delay)
        return "retry"

    def message(self, payload: Payload) -> EmailMessage | None:
        person = Recipient(payload.address, payload.name)
        if base_kind(payload.kind) == CONFIRM:
            return confirm_message(self, person, payload.nonce) if payload.nonce else None
        if payload.kind.startswith(STEP):
            step = step_by_kind(self.steps, payload.kind)
            return step_message(self.config, self.email, step, person,
                                PersonalLinks(self.links.unsubscribe(person.address))
                                ) if step else None
        links = self.links.personal(person)
        return build_message(self.config, self.email, person, self.attached(person, links),
                             links=links)

    def attached(self, person: Recipient, links: PersonalLinks) -> Attachment | None:
        """The PDF this person gets: their personal copy when the guide makes them."""
        if self.personal is None:
            return self.attachment
        return self.personal.attachment(person, links.cta)


def resent_id(data: bytes, kind: str) -> bytes:
    """A resent welcome email's own Message-ID (``welcome#2`` → ``<id.2@host>``): mail
    services drop a message whose Message-ID they already delivered."""
    if RESEND_MARK not in kind:
        return data
    head, _, body = data.partition(b"\r\n\r\n")
    number = kind.rsplit(RESEND_MARK, 1)[1].encode()
    head = re.sub(rb"(?im)^(Message-ID:\s*<[^@>]+)@", lambda m: m[1] + b"." + number + b"@",
                  head, count=1)
    return head + b"\r\n\r\n" + body


def confirm_message(mailer: Mailer, person: Recipient, nonce: str) -> EmailMessage:
    """The double opt-in email: one link, valid for ``signup.confirm_hours``, used once."""
    env = _environment(mailer.config)
    context = {"guide": mailer.config, "email": mailer.email, "signup": mailer.signup,
               "first_name": greeting_name(person.name),
               "confirm_link": mailer.links.confirm(person.address, nonce),
               "unsubscribe_link": mailer.links.unsubscribe(person.address),
               "colors": mailer.config.theme.colors}
    message = EmailMessage(policy=MESSAGE_POLICY)
    digest = hashlib.sha256(f"confirm\n{person.key}\n{nonce}".encode()).hexdigest()[:32]
    message["Message-ID"] = f"<confirm.{digest}@{mailer.email.sender.domain}>"
    message["Date"] = format_datetime(datetime.now(timezone.utc))
    message["From"] = mailer.email.sender
    message["To"] = Address(display_name=person.name, addr_spec=person.address)
    message["Subject"] = mailer.signup.confirm_subject
    message["Reply-To"] = mailer.email.reply_to
    links = PersonalLinks(context["unsubscribe_link"])
    message["List-Unsubscribe"] = list_unsubscribe(mailer.email, person, links)
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(render_page(env, "email/confirm.txt", context).strip() + "\n")
    message.add_alternative(render_page(env, "email/confirm.html", context), subtype="html")
    for part in message.walk():
        if part is not message:
            del part["MIME-Version"]
    return message


_ENVIRONMENTS: dict[str, jinja2.Environment] = {}


def _environment(config: GuideConfig) -> jinja2.Environment:
    key = str(config.root)
    if key not in _ENVIRONMENTS:
        _ENVIRONMENTS[key] = make_environment(config)
    return _ENVIRONMENTS[key]

