"""One form submission, checked: the bot traps first, then the fields a person typed."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping

from email_validator import EmailNotValidError, validate_email

from ..email.errors import RecipientError
from ..email.recipients import recipient
from .settings import SignupSettings
from .tokens import TokenRefused, Tokens

HONEYPOT = "website"  # hidden from people (off-screen, aria-hidden); bots fill it in
MAX_NAME = 100


@dataclass(frozen=True)
class Submission:
    address: str
    name: str
    consent_box: bool


class Refused(Exception):
    """Why a submission is turned away: ``status`` for the answer, ``field`` if a person can
    fix it, ``again`` when the form should simply be shown once more (no render token)."""

    def __init__(self, message: str, status: int = 400, field: str | None = None,
                 again: bool = False):
        super().__init__(message)
        self.message, self.status, self.field, self.again = message, status, field, again


def check_traps(fields: Mapping[str, str], tokens: Tokens, settings: SignupSettings) -> str:
    """The render token's nonce, if the bot traps pass (the caller takes it, once)."""
    if fields.get(HONEYPOT) is None or fields[HONEYPOT].strip():
        raise Refused("Sorry, that did not go through.")  # our forms always send it, empty
    try:
        return tokens.check_render(fields.get("t", ""), settings.min_fill_seconds)
    except TokenRefused as refused:
        raise Refused(second_chance(refused.reason, settings.min_fill_seconds),
                      again=True) from None


def second_chance(reason: str, wait: float) -> str:
    """What a person is told when the bot traps held their form back: why, and what to do
    (the form comes back filled in, with a fresh token)."""
    seconds = max(2, math.ceil(wait + 0.5))
    if "faster" in reason:
        return (f"One more step: that was quicker than people usually fill in a form, so our "
                f"spam filter held it back. Your details are kept: wait {seconds} seconds, "
                "then press the button again.")
    if "day old" in reason:
        return ("One more step: this form was open for more than a day. Your details are "
                f"kept: wait {seconds} seconds, then press the button again.")
    return ("One more step: to keep out spam robots, please press the button once more. "
            f"Your details are kept (if it was quick, wait {seconds} seconds first).")


def check_fields(fields: Mapping[str, str], settings: SignupSettings) -> Submission:
    address = _address(fields.get("email", ""))
    name = fields.get("first_name", "").strip()
    if len(name) > MAX_NAME:
        raise Refused(f"Please keep your name under {MAX_NAME} characters.", 422, "first_name")
    try:
        person = recipient(address, name)
    except RecipientError as error:
        what = "first_name" if "name" in error.message.split(":")[0] else "email"
        raise Refused("Please use letters, spaces and punctuation only." if what == "first_name"
                      else "Please check your email address.", 422, what) from None
    ticked = is_ticked(fields.get("consent", ""))
    if settings.consent and not ticked:
        raise Refused("Please tick the box to say we may email you.", 422, "consent")
    return Submission(person.address, person.name, ticked)


def is_ticked(value: str) -> bool:
    return value in ("yes", "on", "1", "true")


def _address(raw: str) -> str:
    raw = raw.strip()
    if not raw:
        raise Refused("Please enter your email address.", 422, "email")
    try:
        # No DNS lookup: the service answers at once, and SMTP tells us about dead domains.
        return validate_email(raw, check_deliverability=False).normalized
    except EmailNotValidError:
        raise Refused("Please check your email address.", 422, "email") from None
