"""The follow-up sequence: ``signup.sequence`` in guide.yaml, emails written as Markdown files
in the guide, each sent a delay after the one before it (the first: after the guide).

Exactly once, durably, through the delivery ledger: each step is a ``deliveries`` row of kind
``step:<file stem>`` (one row per subscriber and step, so a step goes once however often it is
planned), added by ``plan_due`` (the workers' sweep calls it) only when the email before it was
*sent* at least the step's delay ago, to a confirmed subscriber with marketing consent
(``subscribers.MARKETING_CONSENT``) who is not on the suppression list. Nothing waits in the
queue for days: the due time is computed from the ledger on each sweep, so a worker restart,
a lost queue or a new deployment changes nothing. The claim re-reads the suppression list, so
an unsubscribe stops even a step already queued. Steps go in order: step N+1 waits for step N.
"""
from __future__ import annotations

import hashlib
import html
import re
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import markdown

from ..email.display import display_text, greeting_name
from ..email.errors import RecipientError
from ..email.message import MESSAGE_POLICY, PersonalLinks, list_unsubscribe
from ..email.recipients import Recipient
from ..email.settings import EmailSettings
from ..errors import ConfigError, ContentError, GuideError, raise_all, shown_path
from ..guide.config import KEYS, GuideConfig
from ..guide.guard import read_text
from ..guide.yamlsource import FieldReader, LocatedDict, LocatedList, load_yaml
from .store import Payload, Store, now_iso
from .subscribers import MARKETING_CONSENT, ensure_schema

STEP = "step:"  # a sequence email's ledger kind: step:<file stem>
_DELAY = re.compile(r"(\d+(?:\.\d+)?)\s*(s|m|h|d)?")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_FRONT = re.compile(r"\A---[ \t]*\r?\n(.*?)^---[ \t]*\r?$\n?", re.DOTALL | re.MULTILINE)
_MAX_STEPS = 50


@dataclass(frozen=True)
class Step:
    number: int  # 1, 2, ...: the first follow-up after the guide is step 1
    key: str  # the file's stem: what the ledger knows the step by
    path: Path
    subject: str
    body: str  # Markdown
    delay: float  # seconds after the email before it

    @property
    def kind(self) -> str:
        return STEP + self.key


def parse_delay(text: str) -> float | None:
    """``2d``, ``12h``, ``30m``, ``45s`` (or a number of seconds) -> seconds; None if not."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        return float(text) if text >= 0 else None
    found = _DELAY.fullmatch(str(text).strip().lower())
    return float(found.group(1)) * _UNITS[found.group(2) or "s"] if found else None


def load_sequence(config: GuideConfig) -> tuple[Step, ...]:
    """``signup.sequence``, each email read and checked; every problem at once, with its
    line (guide.yaml's, or the email file's)."""
    raw = config.signup.get("sequence") if config.signup else None
    if raw is None:
        return ()
    path = shown_path(config.config_path)
    reader = FieldReader(path, ConfigError)
    if not isinstance(raw, list) or len(raw) > _MAX_STEPS:
        reader.fail(f"'signup.sequence' must be a list of at most {_MAX_STEPS} items like "
                    "'- {email: emails/02-day2.md, delay: 2d}'", config.signup.line_of("sequence"))
        raise_all(reader.errors)
    steps, keys = [], set()
    for index, item in enumerate(raw):
        line = raw.line_of(index) if isinstance(raw, LocatedList) else None
        where = f"signup.sequence item {index + 1}"
        item = reader.mapping(item, where, line)
        reader.unknown_keys(item, KEYS["signup.sequence"], where)
        name, delay_text = reader.get(item, "email", str, None, where), \
            reader.get(item, "delay", str, None, where)
        delay = parse_delay(delay_text) if delay_text is not None else None
        if delay is None:
            reader.fail(f"'{where}.delay' must be a time like 2d, 12h, 30m or 45s",
                        item.line_of("delay") if "delay" in item else line)
        if not name:
            if "email" not in item:
                reader.fail(f"'{where}.email' is required: a Markdown file in the guide, "
                            "like emails/02-day2.md", line)
            continue
        try:
            step = read_step(config, name, delay or 0.0, index + 1)
        except GuideError as error:
            reader.errors.append(error if error.path else
                                 ConfigError(f"'{where}.email': {error.message}", path,
                                             item.line_of("email")))
            continue
        if step.key in keys:
            reader.fail(f"'{where}.email': '{name}' is already in the sequence",
                        item.line_of("email"))
        keys.add(step.key)
        steps.append(step)
    raise_all(reader.errors)
    return tuple(steps)


def read_step(config: GuideConfig, name: str, delay: float, number: int) -> Step:
    """One email file: front matter with ``subject:``, then Markdown."""
    file = config.root / name
    if file.suffix.lower() != ".md":
        raise ConfigError(f"'{name}' must be a Markdown file (.md)")
    shown = shown_path(file)
    text = read_text(file, (config.root,), shown, ConfigError, limit=256 * 1024)
    front = _FRONT.match(text)
    meta = load_yaml(front.group(1), shown, ContentError, 2) if front else None
    if not isinstance(meta, LocatedDict) or not meta.get("subject"):
        raise ContentError("the email needs front matter with its subject: '---', "
                           "'subject: ...', '---' at the top", shown, 1)
    unknown = set(meta) - {"subject"}
    if unknown:
        raise ContentError(f"unknown front matter key '{sorted(unknown)[0]}' (known: subject)",
                           shown, meta.line_of(sorted(unknown)[0]))
    try:
        subject = display_text(str(meta["subject"]), "the subject")
    except RecipientError as error:
        raise ContentError(error.message, shown, meta.line_of("subject")) from None
    return Step(number, file.stem, file, subject, text[front.end():], delay)


# ----- the message -----

def step_message(config: GuideConfig, settings: EmailSettings, step: Step, person: Recipient,
                 links: PersonalLinks, now: datetime | None = None) -> EmailMessage:
    """One follow-up email: text and HTML from the Markdown, the one-click unsubscribe headers
    (RFC 8058) as the welcome email has, the postal address, a Message-ID that is the same for
    a resend of the same step to the same person."""
    message = EmailMessage(policy=MESSAGE_POLICY)
    digest = hashlib.sha256(f"{config.output}\n{step.key}\n{person.key}".encode()).hexdigest()
    message["Message-ID"] = f"<step.{digest[:32]}@{settings.sender.domain}>"
    message["Date"] = format_datetime(now or datetime.now(timezone.utc))
    message["From"] = settings.sender
    message["To"] = Address(display_name=person.name, addr_spec=person.address)
    message["Subject"] = step.subject
    message["Reply-To"] = settings.reply_to
    message["List-Unsubscribe"] = list_unsubscribe(settings, person, links)
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    hello = greeting_name(person.name)
    footer = (f"You asked for {config.title} and agreed to occasional emails. "
              f"Unsubscribe: {links.unsubscribe}\n{settings.postal_address}\n")
    message.set_content((f"Hi {hello},\n\n" if hello else "") + step.body.strip() + "\n\n-- \n"
                        + footer)
    message.add_alternative(_html(config, step, hello, links, settings), subtype="html")
    for part in message.walk():
        if part is not message:
            del part["MIME-Version"]
    return message


def _html(config: GuideConfig, step: Step, hello: str, links: PersonalLinks,
          settings: EmailSettings) -> str:
    # Raw HTML in the Markdown is shown as text: the email's markup is ours.
    body = _SAFE_LINK.sub(_safe_link, markdown.markdown(
        step.body.replace("<", "&lt;"), extensions=["extra", "sane_lists"],
        output_format="html"))
    esc = html.escape
    greeting = f"<p>Hi {esc(hello)},</p>" if hello else ""
    return (f'<!doctype html><html lang="{esc(config.language or "en")}"><head>'
            f'<meta charset="utf-8"><title>{esc(step.subject)}</title></head>'
            '<body style="font-family:Georgia,serif;line-height:1.5;max-width:36em;'
            f'margin:0 auto;padding:1em;color:#222">{greeting}{body}'
            '<hr style="border:0;border-top:1px solid #ccc;margin:2em 0 1em">'
            f'<p style="font-size:0.85em;color:#555">You asked for {esc(config.title)} and '
            f'agreed to occasional emails. <a href="{esc(links.unsubscribe)}">Unsubscribe</a>'
            f'<br>{esc(settings.postal_address)}</p></body></html>')


_SAFE_LINK = re.compile(r'(href|src)="([^"]*)"')


def _safe_link(found: re.Match) -> str:
    """Links to the web or a mailbox only (no javascript:, data:, file:)."""
    target = html.unescape(found.group(2)).strip().lower()
    ok = target.startswith(("https://", "http://", "mailto:")) or found.group(1) == "href" \
        and target.startswith("#")
    return found.group(0) if ok else f'{found.group(1)}="#"'


# ----- planning: which steps are due -----

def plan_due(store: Store, guide: str, steps: tuple[Step, ...],
             now: float | None = None) -> list[Payload]:
    """Add the ledger rows of the steps now due (queued) and return them for the queue. A
    step is due when the email before it was sent at least its delay ago; each row is added
    once (the ledger's key), so planning twice sends nothing twice."""
    if not steps:
        return []
    ensure_schema(store)
    now = time.time() if now is None else now
    due: list[Payload] = []
    previous = "welcome"
    for step in steps:
        cutoff = (datetime.fromtimestamp(now, timezone.utc) - timedelta(seconds=step.delay)
                  ).isoformat(timespec="milliseconds")
        rows = store.db.execute(
            "SELECT p.address, p.name FROM deliveries p JOIN subscribers s ON "
            "s.guide = p.guide AND s.address_id = p.address_id "
            "WHERE p.guide = ? AND p.kind = ? AND p.state = 'sent' AND p.updated_at <= ? "
            f"AND {MARKETING_CONSENT} "
            "AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.guide = p.guide AND "
            "  d.kind = ? AND d.address_id = p.address_id) "
            "AND NOT EXISTS (SELECT 1 FROM suppressions x WHERE x.address_id = p.address_id)",
            (guide, previous, cutoff, step.kind)).fetchall()
        due += [Payload(guide, step.kind, address, name) for address, name in rows]
        previous = step.kind
    if not due:
        return []
    with store.write() as db:
        stamp = now_iso()
        added = [payload for payload in due if store.owe(db, payload, stamp, ignore=True)]
    return added


def step_by_kind(steps: tuple[Step, ...], kind: str) -> Step | None:
    return next((step for step in steps if step.kind == kind), None)
