"""Signed tokens (itsdangerous): the form's render time, unsubscribe and confirm links; and
sealed download links (Fernet).

Each kind has its own salt, so a token made for one purpose is refused for every other one.
A token never carries the address itself (links end up in logs and proxies), only its
``address_id``: a SHA-256 digest the store looks addresses up by. Unsubscribe tokens never
expire, because an unsubscribe link in a years-old email must still work. A download link
is encrypted as well as signed (Fernet: AES and HMAC, a random IV, its time inside): no two
are alike, none shows the address's digest, and each expires.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Callable

from cryptography.fernet import Fernet, InvalidToken
from itsdangerous import BadData, SignatureExpired, URLSafeTimedSerializer

from ..email.unsubscribe import BadToken, address_id, read_unsubscribe_token, unsubscribe_token

RENDER, UNSUBSCRIBE, CONFIRM, DOWNLOAD = "render", "unsubscribe", "confirm", "download"
RENDER_MAX_AGE = 24 * 3600  # a form left open for a day is rendered again


class TokenRefused(Exception):
    """A token that is forged, for another purpose, too old, or (render) too young."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class LinkExpired(TokenRefused):
    """A link that was ours but is too old."""


@dataclass(frozen=True)
class Confirmation:
    address_id: str
    nonce: str


class Tokens:
    def __init__(self, secret: str, clock: Callable[[], float] = time.time):
        self._secret, self.clock = secret, clock

    def _serializer(self, purpose: str) -> URLSafeTimedSerializer:
        return _Clocked(self._secret, salt=f"leadguide.signup.timed.{purpose}", clock=self.clock)

    def render(self) -> str:
        """Put in the form when it is shown: proves when the form was rendered, by us. Its
        nonce lets the service take each token once (``check_render`` returns it)."""
        return self._serializer(RENDER).dumps([round(self.clock() * 1000),  # ms: exact
                                               secrets.token_urlsafe(12)])

    def check_render(self, token: str, min_seconds: float) -> str:
        """The token's nonce, if it is ours, under a day old and at least ``min_seconds``."""
        try:
            rendered_ms, nonce = self._serializer(RENDER).loads(token, max_age=RENDER_MAX_AGE)
        except SignatureExpired:
            raise TokenRefused("the form is more than a day old") from None
        except (BadData, ValueError, TypeError):
            raise TokenRefused("no valid render token") from None
        if not isinstance(rendered_ms, int) or not isinstance(nonce, str):
            raise TokenRefused("no valid render token")
        if self.clock() - rendered_ms / 1000 < min_seconds:
            raise TokenRefused("filled in faster than a person can")
        return nonce

    def address_link(self, purpose: str, address: str, guide: str) -> str:
        """An unsubscribe token (email.unsubscribe: the same ones ``email send`` makes)."""
        self._only(purpose)
        return unsubscribe_token(self._secret, address, guide)

    def read_address_link(self, purpose: str, token: str, guide: str) -> str:
        """The address_id of an unsubscribe token made for ``guide``."""
        self._only(purpose)
        try:
            return read_unsubscribe_token(self._secret, token, guide)
        except BadToken:
            raise TokenRefused("this link is not valid") from None

    def download(self, address: str, guide: str) -> str:
        """A download link's token: the address_id sealed for ``guide``, stamped now."""
        sealed = self._fernet(guide).encrypt_at_time(bytes.fromhex(address_id(address)),
                                                     int(self.clock()))
        return sealed.decode().rstrip("=")

    def read_download(self, token: str, guide: str, max_days: float) -> str:
        """The address_id of a download token made for ``guide`` at most ``max_days`` ago."""
        fernet, sealed = self._fernet(guide), (token + "=" * (-len(token) % 4)).encode()
        try:
            return fernet.decrypt_at_time(sealed, int(max_days * 86400), int(self.clock())).hex()
        except (InvalidToken, ValueError):
            pass
        try:
            fernet.extract_timestamp(sealed)
        except (InvalidToken, ValueError):
            raise TokenRefused("this link is not valid") from None
        raise LinkExpired("this download link has expired")

    def _fernet(self, guide: str) -> Fernet:
        key = hmac.new(self._secret.encode(), f"leadguide.signup.{DOWNLOAD}.{guide}".encode(),
                       hashlib.sha256).digest()
        return Fernet(base64.urlsafe_b64encode(key))

    @staticmethod
    def _only(purpose: str) -> None:
        if purpose != UNSUBSCRIBE:
            raise TokenRefused("this link is not valid")

    def confirm(self, address: str, guide: str, nonce: str) -> str:
        return self._serializer(f"{CONFIRM}.{guide}").dumps([address_id(address), nonce])

    def read_confirm(self, token: str, guide: str, max_hours: float) -> Confirmation:
        try:
            ident, nonce = self._serializer(f"{CONFIRM}.{guide}").loads(
                token, max_age=max_hours * 3600)
        except SignatureExpired:
            raise LinkExpired("this confirmation link has expired") from None
        except (BadData, ValueError, TypeError):
            raise TokenRefused("this link is not valid") from None
        return Confirmation(str(ident), str(nonce))

    def expired_confirm(self, token: str, guide: str) -> str:
        """The address_id of a confirm link of ours, however old (for a fresh one)."""
        try:
            ident, _ = self._serializer(f"{CONFIRM}.{guide}").loads(token)
        except (BadData, ValueError, TypeError):
            raise TokenRefused("this link is not valid") from None
        return str(ident)


class _Clocked(URLSafeTimedSerializer):
    """A serializer whose signer reads the given clock (tests move time without sleeping)."""

    def __init__(self, secret: str, salt: str, clock: Callable[[], float]):
        super().__init__(secret, salt=salt)
        signer = self.signer

        class ClockedSigner(signer):  # type: ignore[misc, valid-type]
            def get_timestamp(self) -> int:
                return int(clock())

        self.signer = ClockedSigner
