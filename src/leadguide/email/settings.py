"""The ``email:`` section of guide.yaml and the SMTP settings from the environment, checked."""
from __future__ import annotations

import ipaddress
import os
import re
import ssl
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.utils import parseaddr
from pathlib import Path
from typing import Mapping

from ..errors import ConfigError, GuideError, raise_all
from ..guide.config import GuideConfig
from ..guide.yamlsource import FieldReader, LocatedDict
from ..limits import SizeBudget, size_budget
from .display import display_text
from .errors import EmailError, RecipientError, SmtpError
from .recipients import check_address
from .sendlog import log_place

_KEYS = {"from", "reply_to", "subject", "unsubscribe_mailto", "unsubscribe_url",
         "postal_address", "attachment_name", "attach", "download_url",
         "warn_attachment_mb", "max_attachment_mb", "send_log", "text", "delivery"}
# How the PDF reaches the reader: attached, a download link, or both (email.delivery).
ATTACH, LINK, BOTH = "attach", "link", "both"
DELIVERY_MODES = (ATTACH, LINK, BOTH)
# The welcome email's sentences a guide writes (the built-in templates have neutral defaults).
TEXT_KEYS = {"intro": "Thanks for asking for our guide. We're glad you're here.",
             "next_step": "", "questions": "Questions? Just reply to this email.",
             "signoff": "Best wishes,", "signature": ""}
_PLACEHOLDER = re.compile(r"\{[^}]*\}")
TOKEN = "{token}"  # in email.unsubscribe_url: the recipient's signed unsubscribe token


@dataclass(frozen=True)
class EmailSettings:
    """What guide.yaml says about the welcome email. ``send_log`` is absolute or None."""

    sender: Address
    reply_to: Address
    subject: str
    unsubscribe_mailto: str | None
    unsubscribe_url: str | None
    postal_address: str
    attachment_name: str
    attach: bool
    download_url: str | None
    budget: SizeBudget
    send_log: Path | None
    text: dict[str, str] = field(default_factory=lambda: dict(TEXT_KEYS))
    delivery: str = ATTACH

    def unsubscribe_link(self, token: str | None = None) -> str:
        """The reader-facing unsubscribe link: the https URL with the recipient's signed
        ``token`` filled in, else the mailto. Never the plain address."""
        if self.unsubscribe_url and TOKEN in self.unsubscribe_url:
            if token is None:
                raise EmailError("'email.unsubscribe_url' needs a signed token ({token}) for "
                                 "each recipient: set LEADGUIDE_SECRET")
            return self.unsubscribe_url.replace(TOKEN, token)
        if self.unsubscribe_url:
            return self.unsubscribe_url
        return f"mailto:{self.unsubscribe_mailto}?subject=unsubscribe"


def load_email_settings(config: GuideConfig) -> EmailSettings:
    """Validate ``config.email``; every problem is reported at once, with its line."""
    path = _shown(config.config_path)
    reader = FieldReader(path, ConfigError)
    if config.email is None:
        raise ConfigError("there is no 'email:' section; add one with from, subject, "
                          "unsubscribe_url (or unsubscribe_mailto) and postal_address "
                          "(see docs/AUTHORING.md)", path)
    raw = config.email
    reader.unknown_keys(raw, _KEYS, "email")
    settings = _read(config, raw, reader)
    raise_all(reader.errors)
    return settings


def _shown(path: Path) -> Path:
    try:
        return path.relative_to(Path.cwd())
    except ValueError:
        return path


def _read(config: GuideConfig, raw: LocatedDict, reader: FieldReader) -> EmailSettings:
    sender = _mailbox(raw, "from", reader, required=True)
    reply_to = _mailbox(raw, "reply_to", reader, required=False)
    download_url = _url(raw, "download_url", reader)
    delivery = _delivery(config, raw, reader, download_url)
    attach = delivery != LINK
    return EmailSettings(
        sender=sender, reply_to=reply_to if reply_to.username else sender,
        subject=_text(raw, "subject", reader, required=True),
        unsubscribe_mailto=_unsubscribe_mailto(raw, reader),
        unsubscribe_url=_unsubscribe_url(raw, reader),
        postal_address=_text(raw, "postal_address", reader, required=True, header=False),
        attachment_name=_attachment_name(config, raw, reader),
        attach=attach, download_url=download_url, budget=_budget(raw, reader),
        send_log=_send_log(config, raw, reader), text=_wording(config, raw, reader),
        delivery=delivery)


def _delivery(config: GuideConfig, raw: LocatedDict, reader: FieldReader,
              download_url: str | None) -> str:
    """``email.delivery``: attach, link or both. Without it, as before the key existed: link
    when email.download_url is set, both with a signup: section (its signed download link),
    else attach; the older ``attach: false`` means link, ``attach: true`` attach."""
    can_link = download_url is not None or config.signup is not None
    attach = reader.get(raw, "attach", bool, None, "email")
    mode = reader.get(raw, "delivery", str, None, "email")
    line = raw.line_of("delivery") if mode is not None else raw.line_of("attach")
    if mode is not None and mode not in DELIVERY_MODES:
        reader.fail(f"'email.delivery' must be attach, link or both, not '{mode}'", line)
        mode = None
    if mode is not None and attach is not None and (mode == LINK) == attach:
        reader.fail(f"'email.attach: {str(attach).lower()}' contradicts 'email.delivery: "
                    f"{mode}': keep only delivery", line)
    if mode is None:
        mode = (ATTACH if attach else LINK) if attach is not None else (
            LINK if download_url else BOTH if can_link else ATTACH)
    if mode != ATTACH and not can_link:
        what = "'attach: false'" if raw.get("delivery") is None else f"'delivery: {mode}'"
        reader.fail(f"{what} needs a 'download_url' to link to (or a signup: section, whose "
                    "service serves signed download links)", line)
    return mode


def _wording(config: GuideConfig, raw: LocatedDict, reader: FieldReader) -> dict[str, str]:
    """``email.text``: the sentences of the welcome email, each optional."""
    text = reader.mapping(reader.get(raw, "text", dict, LocatedDict(), "email"), "email.text",
                          raw.line_of("text"))
    reader.unknown_keys(text, set(TEXT_KEYS), "email.text")
    words = {key: (reader.get(text, key, str, default, "email.text") or "").strip()
             for key, default in TEXT_KEYS.items()}
    words["signature"] = words["signature"] or f"The {config.author} team"
    return words


def _text(raw: LocatedDict, key: str, reader: FieldReader, required: bool,
          header: bool = True) -> str:
    if required:
        value = reader.get(raw, key, str, where="email")
    else:
        value = reader.get(raw, key, str, "", "email")
    if value is None:
        return ""
    if required and not value.strip():
        reader.fail(f"'email.{key}' must not be empty", raw.line_of(key))
    if not header:
        return value.strip()
    try:
        return display_text(value, f"'email.{key}'", limit=250)
    except RecipientError as error:
        reader.fail(error.message, raw.line_of(key))
        return ""


def _mailbox(raw: LocatedDict, key: str, reader: FieldReader, required: bool) -> Address:
    """``Name <address>`` or a bare address; an empty Address when missing or invalid."""
    value = _text(raw, key, reader, required)
    if not value:
        return Address()
    name, address = parseaddr(value)
    if "@" not in address:
        name, address = "", value
    what = f"'email.{key}'"
    try:
        # parseaddr unquotes, so the name is checked again as it will be sent.
        return Address(display_text(name, what), addr_spec=check_address(address, what))
    except RecipientError as error:
        reader.fail(f"{error.message} (write it as: Name <name@example.com>)", raw.line_of(key))
        return Address()


def _url(raw: LocatedDict, key: str, reader: FieldReader, placeholders: bool = False) -> str | None:
    value = _text(raw, key, reader, required=False)
    if not value:
        return None
    if not value.startswith("https://") or " " in value:
        reader.fail(f"'email.{key}' must be an https:// address, not '{value}'", raw.line_of(key))
        return None
    found = _PLACEHOLDER.findall(value)
    if placeholders and "{email}" in found:
        reader.fail(f"'email.{key}' puts the plain address into the link ({{email}}): anyone "
                    "could unsubscribe anyone, and addresses end up in logs and proxies. Use "
                    "{token} instead (a signed token: e.g. https://YOUR-SIGNUP-SERVICE/"
                    "unsubscribe/{token}, which the signup service accepts; set "
                    "LEADGUIDE_SECRET), or remove unsubscribe_url and keep unsubscribe_mailto",
                    raw.line_of(key))
        return None
    unknown = [p for p in found if not (placeholders and p == TOKEN)]
    if unknown:
        reader.fail(f"'email.{key}': unknown placeholder {unknown[0]}"
                    f"{' (only {token} is filled in)' if placeholders else ''}", raw.line_of(key))
        return None
    return value


def _unsubscribe_url(raw: LocatedDict, reader: FieldReader) -> str | None:
    url = _url(raw, "unsubscribe_url", reader, placeholders=True)
    if not raw.get("unsubscribe_url") and not raw.get("unsubscribe_mailto"):
        reader.fail("'email.unsubscribe_url' or 'email.unsubscribe_mailto' is required: "
                    "every email needs a way to unsubscribe", raw.line or 1)
    return url


def _unsubscribe_mailto(raw: LocatedDict, reader: FieldReader) -> str | None:
    value = _text(raw, "unsubscribe_mailto", reader, required=False)
    if not value:
        return None
    try:
        return check_address(value.removeprefix("mailto:"), "'email.unsubscribe_mailto'")
    except RecipientError as error:
        reader.fail(error.message, raw.line_of("unsubscribe_mailto"))
        return None


def _attachment_name(config: GuideConfig, raw: LocatedDict, reader: FieldReader) -> str:
    name = _text(raw, "attachment_name", reader, required=False) or config.output
    if "/" in name or "\\" in name or name.startswith(".") or not name.lower().endswith(".pdf"):
        reader.fail(f"'email.attachment_name' must be a file name ending in .pdf, not '{name}'",
                    raw.line_of("attachment_name"))
        return config.output
    return name


def _budget(raw: LocatedDict, reader: FieldReader) -> SizeBudget:
    limits = {}
    for key in ("warn_attachment_mb", "max_attachment_mb"):
        value = reader.get(raw, key, float, None, "email")
        if value is not None and value <= 0:
            reader.fail(f"'email.{key}' must be more than 0", raw.line_of(key))
        elif value is not None:
            limits[key] = value
    budget = size_budget(limits)
    if budget.warn_bytes > budget.max_bytes:
        reader.fail("'email.warn_attachment_mb' must not be more than 'max_attachment_mb'",
                    raw.line_of("warn_attachment_mb"))
    return budget


def _send_log(config: GuideConfig, raw: LocatedDict, reader: FieldReader) -> Path | None:
    value = _text(raw, "send_log", reader, required=False)
    if not value:
        return None
    try:
        return log_place(config.root, value)
    except ValueError as error:
        reader.fail(f"'email.send_log' {error}, not '{value}'", raw.line_of("send_log"))
        return None


@dataclass(frozen=True)
class SmtpSettings:
    """How to reach the SMTP server. The password is never part of repr or any message."""

    host: str
    port: int
    security: str = "starttls"
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = 30.0
    ca_file: Path | None = None
    context: ssl.SSLContext | None = field(default=None, repr=False, compare=False)

    def tls_context(self) -> ssl.SSLContext:
        """The caller's context, or the system trust store (plus LEADGUIDE_SMTP_CA_FILE)."""
        if self.context is not None:
            return self.context
        return ssl.create_default_context(cafile=str(self.ca_file) if self.ca_file else None)


_DEFAULT_PORTS = {"starttls": 587, "ssl": 465, "none": 25}
_ENV = "LEADGUIDE_SMTP_"


def smtp_settings(env: Mapping[str, str] | None = None) -> SmtpSettings:
    """Read LEADGUIDE_SMTP_HOST, _PORT, _USER, _PASSWORD, _SECURITY, _CA_FILE and _TIMEOUT."""
    env = os.environ if env is None else env
    errors: list[GuideError] = []

    def fail(message: str) -> None:
        errors.append(SmtpError(message))

    host = env.get(_ENV + "HOST", "").strip()
    if not host:
        fail(f"{_ENV}HOST is not set: export the SMTP server's host name (or use --dry-run)")
    security = env.get(_ENV + "SECURITY", "starttls").strip().lower() or "starttls"
    if security not in _DEFAULT_PORTS:
        fail(f"{_ENV}SECURITY must be starttls, ssl or none, not '{security}'")
        security = "starttls"
    if security == "none" and host and not _is_loopback(host):
        fail(f"{_ENV}SECURITY=none sends the password and every address in clear text; "
             f"it is only allowed for localhost, not '{host}'")
    port = _number(env, "PORT", _DEFAULT_PORTS[security], int, fail)
    timeout = _number(env, "TIMEOUT", 30.0, float, fail)
    user, password = env.get(_ENV + "USER") or None, env.get(_ENV + "PASSWORD") or None
    if bool(user) != bool(password):
        fail(f"set both {_ENV}USER and {_ENV}PASSWORD, or neither")
    for name, value in (("USER", user), ("PASSWORD", password)):
        if value and not value.isascii():  # the value itself is never shown
            fail(f"{_ENV}{name} contains non-ASCII characters, which SMTP login cannot send "
                 "(AUTH sends it as ASCII): use an ASCII password, or an app password from "
                 "your mail provider")
    ca_file = Path(env[_ENV + "CA_FILE"]) if env.get(_ENV + "CA_FILE") else None
    if ca_file and not ca_file.is_file():
        fail(f"{_ENV}CA_FILE: no such file: {ca_file}")
    raise_all(errors)
    return SmtpSettings(host, port, security, user, password, timeout, ca_file)


def _number(env: Mapping[str, str], name: str, default, kind: type, fail):
    raw = env.get(_ENV + name, "").strip()
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        value = None
    if value is None or value <= 0 or (name == "PORT" and value > 65535):
        fail(f"{_ENV}{name} must be a positive number, not '{raw}'")
        return default
    return value


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
