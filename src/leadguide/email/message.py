"""One recipient's welcome email as a MIME message: text + HTML alternatives and the PDF."""
from __future__ import annotations

import binascii
import functools
import hashlib
import os
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from email.header import Header
from email.headerregistry import Address, HeaderRegistry, UniqueAddressHeader, UnstructuredHeader
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from pathlib import Path

from ..build import Progress, build_if_stale, default_output
from ..guide.config import GuideConfig
from ..limits import encoded_size
from .content import render_welcome
from .errors import EmailError
from .recipients import Recipient
from .settings import EmailSettings


@dataclass(frozen=True)
class Attachment:
    """The PDF as it will be attached, and what the size budget said about it."""

    name: str
    data: bytes
    path: Path
    rebuilt: bool
    warning: str | None = None
    # Over email.max_attachment_mb with a link to give instead: the email links to the PDF and
    # says why (delivery attach or both), nothing is attached.
    too_large: bool = False

    @property
    def encoded_size(self) -> int:
        return encoded_size(len(self.data))


class _LinkListHeader(UnstructuredHeader):
    """List-Unsubscribe: ``<url>, <mailto:...>`` folded between the links, never into encoded
    words (a long signed URL would otherwise become =?utf-8?q?...?= and stop being a URL)."""

    def fold(self, *, policy) -> str:
        links = " ".join(str(self).split()).split(", ")  # no CR/LF can survive
        return f"{self.name}: " + f",{policy.linesep} ".join(links) + policy.linesep


class _AddressHeader(UniqueAddressHeader):
    """From, To, Reply-To. A display name that needs encoded words is encoded here, split
    between characters: the email package's own folder splits it at a space and drops that
    space ("Subject: x" arrived as "Subject:x"), because RFC 2047 ignores whitespace between
    encoded words."""

    def fold(self, *, policy) -> str:
        if all(address.display_name.isascii() for address in self.addresses):
            return super().fold(policy=policy)
        return f"{self.name}: " + f",{policy.linesep} ".join(
            _folded_address(address, self.name, policy.linesep)
            for address in self.addresses) + policy.linesep


def _folded_address(address: Address, header_name: str, linesep: str) -> str:
    if not address.display_name or address.display_name.isascii():
        return str(address)
    phrase = Header(address.display_name, "utf-8", header_name=header_name).encode(
        linesep=linesep)
    return f"{phrase}{linesep} <{address.addr_spec}>"


class _Registry(HeaderRegistry):
    """The email package's registry makes a new class for every header it parses (``type()``
    in ``__getitem__``): a millisecond of each message. The same classes, made once."""

    def __init__(self) -> None:
        super().__init__()
        self._classes: dict[str, type] = {}

    def map_to_type(self, name: str, cls) -> None:
        super().map_to_type(name, cls)
        self._classes.clear()

    def __getitem__(self, name: str):
        key = name.lower()
        cls = self._classes.get(key)
        if cls is None:
            cls = self._classes[key] = super().__getitem__(name)
        return cls


_REGISTRY = _Registry()
_REGISTRY.map_to_type("list-unsubscribe", _LinkListHeader)
for _name in ("from", "to", "reply-to"):
    _REGISTRY.map_to_type(_name, _AddressHeader)
MESSAGE_POLICY = SMTP.clone(header_factory=_REGISTRY)


@dataclass(frozen=True)
class PersonalLinks:
    """Links made for one recipient (the signup service signs them), used instead of the
    guide.yaml ones: the unsubscribe URL, and a download link for the PDF (and one to read
    the web edition, when the guide has one)."""

    unsubscribe: str
    download: str | None = None
    read: str | None = None
    cta: str | None = None  # their own link for the guide's CTA (personal copies)


def guide_key(config: GuideConfig) -> str:
    """What identifies this guide's welcome email in the send log and in Message-IDs."""
    return Path(config.output).stem


def ensure_pdf(config: GuideConfig, pdf: Path | None = None,
               progress: Progress | None = None) -> tuple[Path, bool]:
    """The PDF path, built (strictly) first if it is missing or older than the guide."""
    path, result = build_if_stale(config.root, pdf or default_output(config), progress=progress)
    return path, result is not None


def prepare_attachment(config: GuideConfig, settings: EmailSettings, pdf: Path | None = None,
                       progress: Progress | None = None) -> Attachment | None:
    """The PDF to attach, within the size budget; None when the email links to it instead
    (email.delivery: link). Over the budget, with a link to give, it is marked ``too_large``
    (the email links instead, and says so); without one it is an error."""
    if not settings.attach:
        return None
    path, rebuilt = ensure_pdf(config, pdf, progress)
    data = path.read_bytes()
    size = encoded_size(len(data))
    if size > settings.budget.max_bytes and can_link(config, settings):
        return Attachment(settings.attachment_name, b"", path, rebuilt, (
            f"the PDF takes {size / 1e6:.1f} MB once encoded for email, over the "
            f"{settings.budget.max_bytes / 1e6:g} MB limit (email.max_attachment_mb): it goes "
            "as a download link instead, and the email says so"), too_large=True)
    return Attachment(settings.attachment_name, data, path, rebuilt,
                      _size_warning(size, settings, path))


def can_link(config: GuideConfig, settings: EmailSettings) -> bool:
    """A download link to give: email.download_url, or the signup service's signed ones."""
    return settings.download_url is not None or config.signup is not None


def attached(attachment: Attachment | None) -> Attachment | None:
    """The attachment that goes in the message (not one too large to attach)."""
    return None if attachment is None or attachment.too_large else attachment


def _size_warning(size: int, settings: EmailSettings, path: Path) -> str | None:
    budget, mb = settings.budget, size / 1e6
    if size > budget.max_bytes:
        raise EmailError(
            f"the PDF takes {mb:.1f} MB once encoded for email (base64 adds a third), over the "
            f"{budget.max_bytes / 1e6:g} MB limit (email.max_attachment_mb): many mail servers "
            "reject messages that large, so nothing was sent. Make the PDF smaller (compress "
            "photos), or host it and set email.download_url (or give the guide a signup: "
            "section) so the email links to it instead.", path)
    if size > budget.warn_bytes:
        return (f"the PDF takes {mb:.1f} MB once encoded for email, over "
                f"{budget.warn_bytes / 1e6:g} MB (email.warn_attachment_mb): some mail servers and "
                "phones struggle with large attachments; consider email.download_url")
    return None


def message_id(config: GuideConfig, settings: EmailSettings, person: Recipient) -> str:
    """The same Message-ID every time for one recipient and guide, so a resend is recognisable."""
    digest = hashlib.sha256(f"{guide_key(config)}\n{person.key}".encode()).hexdigest()[:32]
    domain = settings.sender.domain
    return f"<welcome.{digest}@{domain}>"


def list_unsubscribe(settings: EmailSettings, person: Recipient,
                     own: PersonalLinks | None = None) -> str:
    links = []
    if own:
        links.append(f"<{own.unsubscribe}>")
    elif settings.unsubscribe_url:
        links.append(f"<{settings.unsubscribe_link()}>")
    if settings.unsubscribe_mailto:
        links.append(f"<mailto:{settings.unsubscribe_mailto}?subject=unsubscribe>")
    return ", ".join(links)


def build_message(config: GuideConfig, settings: EmailSettings, person: Recipient,
                  attachment: Attachment | None, now: datetime | None = None,
                  links: PersonalLinks | None = None) -> EmailMessage:
    """multipart/mixed: multipart/alternative (text, HTML), then the PDF if attached."""
    attachment = attached(attachment)
    content = render_welcome(config, settings, person, attached=attachment is not None,
                             links=links)
    message = EmailMessage(policy=MESSAGE_POLICY)
    message["Message-ID"] = message_id(config, settings, person)
    message["Date"] = format_datetime(now or datetime.now(timezone.utc))
    message["From"] = _same_for_all("From", settings.sender)
    message["To"] = Address(display_name=person.name, addr_spec=person.address)
    message["Subject"] = _same_for_all("Subject", settings.subject)
    message["Reply-To"] = _same_for_all("Reply-To", settings.reply_to)
    message["List-Unsubscribe"] = list_unsubscribe(settings, person, links)
    if settings.unsubscribe_url or links:
        # RFC 8058 one-click needs an https URI to POST to; a mailto alone cannot offer it.
        message["List-Unsubscribe-Post"] = _same_for_all("List-Unsubscribe-Post",
                                                         "List-Unsubscribe=One-Click")
    message.set_content(content.text)
    message.add_alternative(content.html, subtype="html")
    if attachment:
        message.add_attachment(attachment.data, maintype="application", subtype="pdf",
                               filename=attachment.name)
    for part in message.walk():
        if part is not message:
            del part["MIME-Version"]  # the email package repeats it on parts; it belongs on top
    return message


_PARSED: dict[tuple[str, str, str], object] = {}


def _same_for_all(name: str, value: Address | str):
    """A header every recipient gets, parsed once (the email package parses each header it is
    given, a fifth of a link-only message's work); the message takes the parsed header as is."""
    key = (name, type(value).__name__, repr(value))
    header = _PARSED.get(key)
    if header is None:
        if len(_PARSED) > 256:
            _PARSED.clear()
        header = _PARSED[key] = MESSAGE_POLICY.header_factory(name, value)
    return header


# Stands in for the PDF while the rest of the message is serialised (a multiple of 3 bytes:
# one base64 line, no padding), then its line is replaced by the PDF's, encoded once.
_STAND_IN = b"\x00leadguide: the attachment is spliced in here\x00\x00"


@dataclass(frozen=True)
class Composed:
    """One recipient's message: its headers and parts (the PDF part holds a stand-in: use
    ``data``), and ``data``, the bytes as sent (CRLF), the PDF included."""

    message: EmailMessage
    data: bytes


def compose(config: GuideConfig, settings: EmailSettings, person: Recipient,
            attachment: Attachment | None, now: datetime | None = None,
            links: PersonalLinks | None = None) -> Composed:
    """``build_message(...).as_bytes(policy=SMTP)``, with the PDF base64-encoded once per PDF
    and spliced in: the same bytes, without re-encoding and re-serialising the PDF (three
    quarters of a message's work) for every recipient."""
    attachment = attached(attachment)
    if attachment is None:
        message = build_message(config, settings, person, None, now, links)
        return Composed(message, message.as_bytes(policy=SMTP))
    message = build_message(config, settings, person, replace(attachment, data=_STAND_IN), now,
                            links)
    data = message.as_bytes(policy=SMTP)
    stand_in, encoded = _encoded(_STAND_IN), _encoded(attachment.data)
    head, found, tail = data.partition(stand_in)
    if not found or stand_in in tail:
        raise EmailError("the attachment could not be placed in the message (its stand-in was "
                         "not found once)", attachment.path)
    return Composed(message, head + encoded + tail)


@functools.lru_cache(maxsize=4)
def _encoded(data: bytes) -> bytes:
    """The PDF's part body as the email package writes it under MESSAGE_POLICY: base64 lines of
    ``max_line_length // 4 * 3`` bytes, each ended by the policy's line separator."""
    step = MESSAGE_POLICY.max_line_length // 4 * 3
    linesep = MESSAGE_POLICY.linesep.encode()
    return b"".join(binascii.b2a_base64(data[i:i + step], newline=False) + linesep
                    for i in range(0, len(data), step))


def write_eml(message: EmailMessage, path: Path) -> int:
    """Write the message as a .eml file (CRLF, as sent), atomically; return its size."""
    data = message.as_bytes(policy=SMTP)
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_bytes(data)
    os.replace(temp, path)
    return len(data)
