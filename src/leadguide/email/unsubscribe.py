"""Signed unsubscribe tokens: what stands for the recipient in every unsubscribe link.

A token is the recipient's ``address_id`` (a SHA-256 digest, never the address) signed with
LEADGUIDE_SECRET for one guide (itsdangerous). The signup service's ``/unsubscribe/TOKEN``
reads the same tokens, so ``email send`` (``email.unsubscribe_url: .../unsubscribe/{token}``)
and the service hand out links that one page honours. They never expire: an unsubscribe link in
a years-old email must still work.
"""
from __future__ import annotations

import hashlib
from typing import Callable, Mapping

from itsdangerous import BadData, Signer

from .errors import EmailError
from .recipients import Recipient

SECRET_ENV = "LEADGUIDE_SECRET"


def address_id(address: str) -> str:
    """What stands for an address in links and in the suppression list (case-insensitive)."""
    return hashlib.sha256(address.strip().lower().encode()).hexdigest()[:32]


class BadToken(Exception):
    """An unsubscribe token that is forged, or made for another guide or purpose."""


def _signer(secret: str, guide: str) -> Signer:
    # Its own salt prefix: a timed token (form, confirm) must never pass as a plain one.
    return Signer(secret, salt=f"leadguide.signup.link.unsubscribe.{guide}")


def unsubscribe_token(secret: str, address: str, guide: str) -> str:
    """The recipient's unsubscribe token for ``guide`` (short: List-Unsubscribe stays one URL)."""
    return _signer(secret, guide).sign(address_id(address)).decode()


def read_unsubscribe_token(secret: str, token: str, guide: str) -> str:
    """The address_id inside an unsubscribe token made for ``guide``; BadToken otherwise."""
    try:
        return _signer(secret, guide).unsign(token).decode()
    except BadData:
        raise BadToken("this link is not valid") from None


def token_maker(env: Mapping[str, str], guide: str,
                needed: bool) -> Callable[[Recipient], str] | None:
    """Each recipient's token from LEADGUIDE_SECRET; None when no link needs one. A link that
    needs one without the secret is an error, never a link with the plain address."""
    if not needed:
        return None
    secret = env.get(SECRET_ENV, "")
    if len(secret) < 32:
        raise EmailError(f"'email.unsubscribe_url' fills in a signed token ({{token}}): set "
                         f"{SECRET_ENV} (at least 32 random characters; the signup service's "
                         "own, so its /unsubscribe/TOKEN page accepts the links)")
    return lambda person: unsubscribe_token(secret, person.address, guide)
