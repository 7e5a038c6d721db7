"""Optional DKIM signing (dkimpy) for owners who send from their own mail server, by the
signup service's workers and by ``leadguide email send`` alike.

Set LEADGUIDE_DKIM_KEY_FILE (the private key, PEM), LEADGUIDE_DKIM_SELECTOR and optionally
LEADGUIDE_DKIM_DOMAIN (default: the From address's domain). The signature covers the
List-Unsubscribe and List-Unsubscribe-Post headers, as RFC 8058 requires for one-click.
A sending service (SES, Postmark, Mailgun) signs for you: leave these unset there.

dkimpy's ``dkim.sign(message)`` splits the whole message into lines and joins them again to
find the body (12 ms for a 0.68 MB message with its PDF); the body hash (``bh=``, simple body
canonicalization: the body as sent, trailing empty lines dropped) needs only a SHA-256 of the
body. So dkimpy is given the headers alone and the body as it is: one hash over the body, the
header signature as dkimpy makes it (the same DKIM-Signature), except its last step: dkimpy's
RSA is Python integer arithmetic (4.5 ms a signature with a 2048-bit key), so the signature
itself is made by the ``cryptography`` package (OpenSSL, the same PKCS #1 v1.5 bytes).
"""
from __future__ import annotations

import base64
from pathlib import Path
from typing import Callable, Mapping

import dkim
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa, utils

from .errors import EmailError
from .settings import EmailSettings

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
        raise EmailError("LEADGUIDE_DKIM_SELECTOR is not set (the name of the DNS record "
                          "<selector>._domainkey.<domain> holding the public key)")
    try:
        key = Path(key_file).read_bytes()
    except OSError as exc:
        raise EmailError(f"LEADGUIDE_DKIM_KEY_FILE: cannot read the key: {exc.strerror}",
                          Path(key_file)) from None
    try:
        private = serialization.load_pem_private_key(key, password=None)
    except (ValueError, TypeError):
        private = None
    if not isinstance(private, rsa.RSAPrivateKey):
        raise EmailError("LEADGUIDE_DKIM_KEY_FILE is not a PEM RSA private key (without a "
                         "passphrase)", Path(key_file))

    def sign(message: bytes) -> bytes:
        head, blank, body = message.partition(b"\r\n\r\n")
        signer = _Signer(head + blank, private)  # the headers alone: nothing else is split
        signer.body = body
        signature = signer.sign(selector.encode(), domain.encode(), key,
                                include_headers=SIGNED_HEADERS)
        return signature + message
    return sign


class _Signer(dkim.DKIM):
    """dkimpy's DKIM with the RSA signature made by OpenSSL (``gen_header`` as dkimpy 1.1
    writes it for rsa-sha256, the one algorithm used here, but for that call)."""

    def __init__(self, message: bytes, private: rsa.RSAPrivateKey):
        super().__init__(message)
        self._private = private

    def gen_header(self, fields, include_headers, canon_policy, header_name, pk,
                   standardize=False):
        value = dkim.fold(b"; ".join(b"=".join(x) for x in fields), namelen=len(header_name),
                          linesep=b"\r\n")
        value = dkim.RE_BTAG.sub(b"\\1", value)
        digest = dkim.HashThrough(self.hasher(), False)
        self.signed_headers = dkim.hash_headers(
            digest, canon_policy, canon_policy.canonicalize_headers(self.headers),
            include_headers, (header_name, b" " + value), dict(fields))
        signature = self._private.sign(digest.digest(), padding.PKCS1v15(),
                                       utils.Prehashed(hashes.SHA256()))
        index = [i for i, (tag, _) in enumerate(fields) if tag == b"b"][0]
        fields[index] = (b"b", base64.b64encode(signature))
        value = b"; ".join(b"=".join(x) for x in fields) + self.linesep
        return dkim.fold(value, namelen=len(header_name), linesep=self.linesep)
