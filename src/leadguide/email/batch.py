"""A send run: each recipient checked against the send log, sent once, and summed up."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from ..guide.config import GuideConfig
from .errors import RecipientError, SmtpError
from .message import Attachment, Composed, PersonalLinks, build_message, compose, guide_key
from .personal import PersonalCopies
from .recipients import Recipient
from .send import RetryPolicy, Transport, send
from .sendlog import DEFERRED, FAILED, SENDING, SENT, Entry, SendLog, read_states
from .settings import EmailSettings

SKIPPED, WOULD_SEND, RESENDING = "skipped", "would send", "resending"


@dataclass(frozen=True)
class Outcome:
    recipient: Recipient
    status: str  # SENT, SKIPPED, FAILED, DEFERRED or WOULD_SEND; RESENDING only as a report
    detail: str = ""
    # Cut off after a final dot of DATA, before the answer was recorded (an earlier run, or a
    # dropped connection in this one): sent again, and perhaps received twice (same Message-ID).
    resend: bool = False


@dataclass
class Summary:
    outcomes: list[Outcome] = field(default_factory=list)
    rejected_rows: list[RecipientError] = field(default_factory=list)
    duplicate_rows: list[RecipientError] = field(default_factory=list)
    stopped: SmtpError | None = None
    not_attempted: int = 0

    def count(self, *statuses: str) -> int:
        return sum(outcome.status in statuses for outcome in self.outcomes)

    @property
    def sent(self) -> int:
        return self.count(SENT)

    @property
    def skipped(self) -> int:
        return self.count(SKIPPED)

    @property
    def failed(self) -> int:
        return self.count(FAILED, DEFERRED) + len(self.rejected_rows)

    @property
    def ok(self) -> bool:
        return not self.failed and self.stopped is None


@dataclass(frozen=True)
class Job:
    """What to send and how: the guide, its email settings, the PDF (or None to link)."""

    config: GuideConfig
    settings: EmailSettings
    attachment: Attachment | None
    log_path: Path
    rate: float | None = None  # messages per second
    retry: RetryPolicy = RetryPolicy()
    retry_failed: bool = False
    # From the signup service, when the guide has one: its suppression list, its signed links.
    suppressed: Callable[[str], bool] | None = None
    links: Callable[[Recipient], PersonalLinks] | None = None
    sign: Callable[[bytes], bytes] | None = None  # DKIM, when LEADGUIDE_DKIM_* is set
    personal: PersonalCopies | None = None  # each recipient's own copy (personalize:)

    def attached(self, person: Recipient, links: PersonalLinks | None) -> Attachment | None:
        if self.personal is None:
            return self.attachment
        return self.personal.attachment(person, links.cta if links else None)

    def message(self, person: Recipient):
        links = self.links(person) if self.links else None
        return build_message(self.config, self.settings, person, self.attached(person, links),
                             links=links)

    def compose(self, person: Recipient) -> Composed:
        """The message as sent: the PDF spliced in (encoded once), signed when configured."""
        links = self.links(person) if self.links else None
        composed = compose(self.config, self.settings, person, self.attached(person, links),
                           links=links)
        if self.sign:
            return Composed(composed.message, self.sign(composed.data))
        return composed


Report = Callable[[Outcome], None]


def send_batch(job: Job, people: Iterable[Recipient], transport: Transport,
               report: Report = lambda outcome: None) -> Summary:
    """Send to everyone not yet sent; stops early only if the server cannot be used at all."""
    people = list(people)
    summary, pace = Summary(), _Pacer(job.rate)
    with SendLog(job.log_path, guide_key(job.config)) as log:
        for index, person in enumerate(people):
            try:
                outcome = _one(job, log, person, transport, report, pace)
            except SmtpError as error:
                log.mark(person.key, DEFERRED, f"the batch stopped: {error.message}")
                summary.stopped, summary.not_attempted = error, len(people) - index
                break
            summary.outcomes.append(outcome)
            report(outcome)
    return summary


def _one(job: Job, log: SendLog, person: Recipient, transport: Transport, report: Report,
         pace: _Pacer) -> Outcome:
    entry = log.entry(person.key)
    done = _suppressed(job, person) or _already_done(job, entry, person)
    if done:
        return done
    composed = job.compose(person)
    message = composed.message
    pace.wait()
    resend = entry is not None and entry.ambiguous
    if resend:  # said before sending: a run killed now must not hide that it was resent
        report(Outcome(person, RESENDING, AMBIGUOUS, resend=True))
    log.mark_sending(person.key, person.address, message["Message-ID"])
    delivery = send(message, smtp=transport, retry=job.retry,
                    before_dot=lambda: log.mark_data_end(person.key),
                    before_retry=lambda ambiguous: log.mark(person.key, SENDING, "", ambiguous),
                    data=composed.data)
    log.mark(person.key, delivery.status, delivery.detail,
             data_end=delivery.ambiguous and delivery.status != SENT)
    return Outcome(person, delivery.status, delivery.detail,
                   resend=resend or delivery.ambiguous)


AMBIGUOUS = ("an earlier run was cut off after the end of DATA, before the server's reply: it "
             "may have arrived already; the copy has the same Message-ID")


def _already_done(job: Job, entry: Entry | None, person: Recipient) -> Outcome | None:
    if entry is None:
        return None
    if entry.state == SENT:
        when = entry.updated_at[:16].replace("T", " ")
        return Outcome(person, SKIPPED, f"already sent {when} UTC")
    if entry.state == FAILED and not job.retry_failed:
        return Outcome(person, FAILED, f"failed earlier, not retried: {entry.detail}")
    return None


def _suppressed(job: Job, person: Recipient) -> Outcome | None:
    if job.suppressed and job.suppressed(person.address):
        return Outcome(person, SKIPPED, "on the suppression list (unsubscribed, bounced or "
                                        "complained)")
    return None


def dry_run(job: Job, people: Iterable[Recipient],
            report: Report = lambda outcome: None) -> Summary:
    """Build every message and read the log, but send and write nothing."""
    states = read_states(job.log_path, guide_key(job.config))
    summary = Summary()
    for person in people:
        entry = states.get(person.key)
        outcome = _suppressed(job, person) or _already_done(job, entry, person)
        if outcome is None:
            message = job.message(person)
            outcome = Outcome(person, WOULD_SEND, message["Message-ID"],
                              resend=entry is not None and entry.ambiguous)
        summary.outcomes.append(outcome)
        report(outcome)
    return summary


class _Pacer:
    """At most ``rate`` messages per second."""

    def __init__(self, rate: float | None):
        self.gap = 1 / rate if rate else 0.0
        self.next = 0.0

    def wait(self) -> None:
        now = time.monotonic()
        if now < self.next:
            time.sleep(self.next - now)
        self.next = max(now, self.next) + self.gap
