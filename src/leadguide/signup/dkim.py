"""Optional DKIM signing (dkimpy) for owners who send from their own mail server.

Set LEADGUIDE_DKIM_KEY_FILE (the private key, PEM), LEADGUIDE_DKIM_SELECTOR and optionally
LEADGUIDE_DKIM_DOMAIN (default: the From address's domain). The signature covers the
List-Unsubscribe and List-Unsubscribe-Post headers, as RFC 8058 requires for one-click.
A sending service (SES, Postmark, Mailgun) signs for you: leave these unset there.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Mapping

import dkim

from ..email.settings import EmailSettings
from .errors import SignupError

SIGNED_HEADERS = [b"From", b"To", b"Subject", b"Date", b"Message-ID", b"Reply-To",
                  b"MIME-Version", b"Content-Type", b"List-Unsubscribe",
                  b"List-Unsubscribe-Post"]


def dkim_signer(env: Mapping[str, str], email: EmailSettings) -> Callable[[bytes], bytes] | None:
    key_file = env.get("LEADGUIDE_DKIM_KEY_FILE")
    if not key_file:
        return None
    selector = env.get("LEADGUIDE_DKIM_SELECTOR", "").strip()
    domain = env.get("LEADGUIDE_DKIM_DOMAIN", "").strip() or email.sender.domain
    if not selector:
        raise SignupError("LEADGUIDE_DKIM_SELECTOR is not set (the name of the DNS record "
                          "<selector>._domainkey.<domain> holding the public key)")
    try:
        key = Path(key_file).read_bytes()
    except OSError as exc:
        raise SignupError(f"LEADGUIDE_DKIM_KEY_FILE: cannot read the key: {exc.strerror}",
                          Path(key_file)) from None
    if b"PRIVATE KEY" not in key:
        raise SignupError("LEADGUIDE_DKIM_KEY_FILE is not a PEM private key", Path(key_file))

    def sign(message: bytes) -> bytes:
        signature = dkim.sign(message, selector.encode(), domain.encode(), key,
                              include_headers=SIGNED_HEADERS)
        return signature + message
    return sign
