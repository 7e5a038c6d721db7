"""The ``signup:`` section of guide.yaml and the service's secrets from the environment, checked."""
from __future__ import annotations

import ipaddress
import os
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping
from urllib.parse import urlsplit

from ..errors import ConfigError, raise_all, shown_path
from ..guide.config import KEYS, GuideConfig
from ..guide.yamlsource import FieldReader, LocatedDict
from .consent import read_consent_mode, return_hosts, thank_you
from .errors import SignupError
from .landing import Landing, read_landing
from .place import default_database, is_source, queue_file
from .ratelimit import Limit, parse_limit

_MIN_SECRET = 32


@dataclass(frozen=True)
class SignupSettings:
    """What guide.yaml says about the signup service. ``database`` is absolute."""

    base_url: str | None
    allowed_origins: tuple[str, ...]
    heading: str
    promise: str
    privacy: str
    button: str
    consent: str | None
    thanks_heading: str
    thanks_text: str
    double_opt_in: bool
    confirm_subject: str
    confirm_hours: float
    min_fill_seconds: float
    per_ip: Limit
    per_address: Limit
    downloads: Limit
    download_days: float
    answer_seconds: float
    max_body_bytes: int
    trusted_proxies: tuple[str, ...]
    database: Path
    quota_wait_seconds: float
    max_attempts: int
    max_connections: int
    header_timeout_seconds: float
    body_timeout_seconds: float
    send_per_second: float | None = None
    send_per_day: int | None = None
    alert_after_seconds: float = 300.0
    # ----- landing page, consent modes, no dead ends (issue 30) -----
    consent_mode: str = "single"
    marketing_consent: str = ""
    landing: Landing | None = None
    return_hosts: tuple[str, ...] = ()
    resend: Limit = Limit(1, 86400)
    resend_after_seconds: float = 60.0
    # ----- workers on other machines (issue 28): the ledger's signed routes -----
    remote_workers: bool = False

    @property
    def queue_path(self) -> Path:
        """Huey's SQLite storage, beside the signup database (its own file: its own locks)."""
        return queue_file(self.database)


def load_signup_settings(config: GuideConfig) -> SignupSettings:
    """Validate ``config.signup``; every problem is reported at once, with its line."""
    path = shown_path(config.config_path)
    if config.signup is None:
        raise ConfigError("there is no 'signup:' section; add one with at least base_url "
                          "(see docs/AUTHORING.md)", path)
    reader = FieldReader(path, ConfigError)
    raw = config.signup
    reader.unknown_keys(raw, KEYS["signup"], "signup")
    settings = _read(config, raw, reader)
    raise_all(reader.errors)
    return settings


def _read(config: GuideConfig, raw: LocatedDict, reader: FieldReader) -> SignupSettings:
    get = reader.get
    thanks = reader.mapping(get(raw, "thank_you", dict, LocatedDict()), "signup.thank_you",
                            raw.line_of("thank_you"))
    reader.unknown_keys(thanks, KEYS["signup.thank_you"], "signup.thank_you")
    limits = reader.mapping(get(raw, "rate_limits", dict, LocatedDict()), "signup.rate_limits",
                            raw.line_of("rate_limits"))
    reader.unknown_keys(limits, KEYS["signup.rate_limits"], "signup.rate_limits")
    pace = reader.mapping(get(raw, "send_rate", dict, LocatedDict()), "signup.send_rate",
                          raw.line_of("send_rate"))
    reader.unknown_keys(pace, KEYS["signup.send_rate"], "signup.send_rate")
    per_day = _positive(pace, "per_day", reader, 0.0, zero=True, where="signup.send_rate")
    mode, landing = read_consent_mode(raw, reader), read_landing(config, raw, reader)
    thanks_heading, thanks_text = thank_you(mode.mode)
    origins = tuple(_origins(raw, reader))
    return SignupSettings(
        base_url=_base_url(raw, reader),
        allowed_origins=origins,
        heading=_text(raw, "heading", reader, f"Get the free guide: {config.title}"),
        promise=_text(raw, "promise", reader,
                      f"Fill out the form below and get instant access to this free "
                      f"{config.pages} page guide."),
        privacy=_text(raw, "privacy", reader,
                      "We'll never spam you or sell your contact info. Unsubscribe at any time."),
        button=_text(raw, "button", reader, "Send me the guide"),
        consent=_text(raw, "consent", reader, "") or None,
        thanks_heading=_text(thanks, "heading", reader, thanks_heading, "signup.thank_you"),
        thanks_text=_text(thanks, "text", reader, thanks_text, "signup.thank_you"),
        double_opt_in=mode.double_opt_in,
        confirm_subject=_text(raw, "confirm_subject", reader,
                              "Please confirm your email address"),
        confirm_hours=_positive(raw, "confirm_hours", reader, 48.0),
        min_fill_seconds=_positive(raw, "min_fill_seconds", reader, 2.0, zero=True),
        per_ip=_limit(limits, "per_ip", reader, "20/hour"),
        per_address=_limit(limits, "per_address", reader, "3/day"),
        downloads=_limit(limits, "downloads", reader, "10/day"),
        download_days=_positive(raw, "download_days", reader, 30.0),
        answer_seconds=_positive(raw, "answer_seconds", reader, 0.25, zero=True),
        max_body_bytes=int(_positive(raw, "max_body_kb", reader, 16.0) * 1024),
        trusted_proxies=tuple(_proxies(raw, reader)),
        database=_database(config, raw, reader),
        quota_wait_seconds=_positive(raw, "quota_wait_seconds", reader, 300.0),
        max_attempts=int(_positive(raw, "max_attempts", reader, 6.0)),
        max_connections=int(_positive(raw, "max_connections", reader, 1000.0)),
        header_timeout_seconds=_positive(raw, "header_timeout_seconds", reader, 10.0),
        body_timeout_seconds=_positive(raw, "body_timeout_seconds", reader, 20.0),
        send_per_second=_positive(pace, "per_second", reader, 0.0, zero=True,
                                  where="signup.send_rate") or None,
        send_per_day=int(per_day) or None,
        alert_after_seconds=_positive(raw, "alert_after_seconds", reader, 300.0),
        consent_mode=mode.mode, marketing_consent=mode.marketing if mode.deliver_first else "",
        landing=landing, resend=_limit(limits, "resend", reader, "1/day"),
        resend_after_seconds=_positive(raw, "resend_after_seconds", reader, 60.0, zero=True),
        remote_workers=reader.get(raw, "remote_workers", bool, False, "signup"),
        return_hosts=return_hosts(origins, get(raw, "return_hosts", list, [], "signup"),
                                  landing.website))


def _text(raw: LocatedDict, key: str, reader: FieldReader, default: str,
          where: str = "signup") -> str:
    return " ".join(reader.get(raw, key, str, default, where).split())


def _positive(raw: LocatedDict, key: str, reader: FieldReader, default: float,
              zero: bool = False, where: str = "signup") -> float:
    value = reader.get(raw, key, float, default, where)
    if value < 0 or (value == 0 and not zero):
        reader.fail(f"'{where}.{key}' must be more than 0", raw.line_of(key))
        return default
    return value


def _limit(raw: LocatedDict, key: str, reader: FieldReader, default: str) -> Limit:
    text = reader.get(raw, key, str, default, "signup.rate_limits")
    try:
        return parse_limit(text)
    except ValueError as error:
        reader.fail(f"'signup.rate_limits.{key}': {error}", raw.line_of(key))
        return parse_limit(default)


def _base_url(raw: LocatedDict, reader: FieldReader) -> str | None:
    value = reader.get(raw, "base_url", str, None, "signup")
    if value is None:
        return None
    problem = _url_problem(value, path_allowed=True)
    if problem:
        reader.fail(f"'signup.base_url' {problem}, not '{value}'", raw.line_of("base_url"))
        return None
    return value.rstrip("/")


def _url_problem(value: str, path_allowed: bool) -> str | None:
    parts = urlsplit(value)
    local = (parts.hostname or "") in {"localhost", "127.0.0.1", "::1"}
    if parts.scheme != "https" and not (parts.scheme == "http" and local):
        return "must be an https:// address (http:// only for localhost)"
    if not parts.hostname or parts.query or parts.fragment or " " in value:
        return "must be a plain address like https://guide.example.com"
    if not path_allowed and parts.path not in ("", "/"):
        return "must be an origin (scheme and host, no path)"
    return None


def _origins(raw: LocatedDict, reader: FieldReader) -> list[str]:
    items = reader.get(raw, "allowed_origins", list, [], "signup")
    origins = []
    for index, item in enumerate(items):
        line = items.line_of(index) if hasattr(items, "line_of") else raw.line_of("allowed_origins")
        problem = _url_problem(item, path_allowed=False) if isinstance(item, str) else "must be text"
        if problem:
            reader.fail(f"'signup.allowed_origins' item {index + 1} {problem}", line)
        else:
            origins.append(item.rstrip("/"))
    return origins


def _proxies(raw: LocatedDict, reader: FieldReader) -> list[str]:
    items = reader.get(raw, "trusted_proxies", list, [], "signup")
    good = []
    for index, item in enumerate(items):
        try:
            ipaddress.ip_network(str(item), strict=False)
            good.append(str(item))
        except ValueError:
            line = items.line_of(index) if hasattr(items, "line_of") else None
            reader.fail(f"'signup.trusted_proxies' item {index + 1} must be an IP address or "
                        f"network like 127.0.0.1 or 10.0.0.0/8, not '{item}'",
                        line or raw.line_of("trusted_proxies"))
    return good


def _database(config: GuideConfig, raw: LocatedDict, reader: FieldReader) -> Path:
    value = reader.get(raw, "database", str, None, "signup")
    if not value:
        return default_database(config)
    path = (config.root / Path(value).expanduser()).resolve()
    if is_source(config, path):
        reader.fail(f"'signup.database' must not be among the guide's sources: put it in "
                    f"build/ (the default) or outside the guide folder, not '{value}'",
                    raw.line_of("database"))
    return path


# ----- postal address (CAN-SPAM: a valid physical postal address in every message) -----

_STREET = re.compile(r"\d|\bp\.?\s?o\.?\s+box\b|\bpostfach\b|\bapartado\b", re.IGNORECASE)
_PARTS = re.compile(r"\s*(?:·|•|\||,|;|\n)\s*")


def postal_address_problem(address: str) -> str | None:
    """Why ``address`` is not a full postal address (name, street or PO box, town, region/code).

    Not a postal-database lookup: it catches the usual mistakes (a bare city, a web address,
    a placeholder) so that every message carries somewhere a letter could be sent.
    """
    parts = [part for part in _PARTS.split(address.strip()) if part]
    if re.search(r"https?://|www\.|@", address):
        return "is a web or email address, not a postal one"
    street = next((i for i, part in enumerate(parts) if _STREET.search(part)), None)
    if street is None:
        return "has no street address with a number, or PO box"
    if len(parts) - street < 2 or not re.search(r"[A-Za-z]{2}", " ".join(parts[street + 1:])):
        return "needs the town and region or postal code after the street"
    return None


# ----- secrets and the queue, from the environment -----

@dataclass(frozen=True)
class Secrets:
    """LEADGUIDE_SECRET (never printed: not in repr) and where the queue lives."""

    secret: str = field(repr=False)
    queue_url: str | None
    generated: bool = False  # --dev without a secret: a random one, links die on restart


def read_secrets(dev: bool, env: Mapping[str, str] | None = None) -> Secrets:
    env = os.environ if env is None else env
    secret = env.get("LEADGUIDE_SECRET", "")
    queue_url = env.get("LEADGUIDE_QUEUE_URL") or None
    errors = []
    if queue_url and not queue_url.startswith(("redis://", "rediss://", "unix://")):
        errors.append(SignupError("LEADGUIDE_QUEUE_URL must be a redis:// (or rediss://) URL; "
                                  "leave it unset for the built-in SQLite queue"))
    if not secret and not dev:
        errors.append(SignupError(
            "LEADGUIDE_SECRET is not set: it signs every link the service sends. Create one "
            "with `python3 -c 'import secrets; print(secrets.token_urlsafe(32))'`, keep it "
            "private and the same across restarts (or use --dev to try the service locally)"))
    elif secret and len(secret) < _MIN_SECRET:
        errors.append(SignupError(f"LEADGUIDE_SECRET is too short ({len(secret)} characters): "
                                  f"use at least {_MIN_SECRET} random characters"))
    raise_all(errors)
    if not secret:
        return Secrets(secrets.token_urlsafe(32), queue_url, generated=True)
    return Secrets(secret, queue_url)
