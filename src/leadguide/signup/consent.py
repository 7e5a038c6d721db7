"""Consent modes (guide.yaml's ``signup.consent_mode``), the words each one shows, and where a
form posted from the owner's site may send the person back to (``return_url``, no open
redirect).

- ``single``: the guide goes at once; the ``consent`` box, if set, must be ticked (today's).
- ``double_opt_in``: a confirm email first; the guide only once its link is pressed.
- ``deliver_first``: the guide goes at once (the service the person asked for); marketing
  consent is a separate, unticked box whose exact words go into the consent ledger only when
  it is ticked.
"""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ..guide.yamlsource import FieldReader, LocatedDict

SINGLE, DOUBLE_OPT_IN, DELIVER_FIRST = "single", "double_opt_in", "deliver_first"
MODES = (SINGLE, DOUBLE_OPT_IN, DELIVER_FIRST)
MARKETING_DEFAULT = ("Also email me occasional tips and offers. I can unsubscribe at any time.")
SUCCESS_MARKER = ("signup", "ok")  # added to return_url after a signup from the owner's site


@dataclass(frozen=True)
class ConsentMode:
    mode: str
    marketing: str  # deliver_first's box: its exact words

    @property
    def double_opt_in(self) -> bool:
        return self.mode == DOUBLE_OPT_IN

    @property
    def deliver_first(self) -> bool:
        return self.mode == DELIVER_FIRST


def read_consent_mode(raw: LocatedDict, reader: FieldReader) -> ConsentMode:
    """``consent_mode`` (``double_opt_in: true`` still means double opt-in)."""
    legacy = reader.get(raw, "double_opt_in", bool, False, "signup")
    mode = reader.get(raw, "consent_mode", str, DOUBLE_OPT_IN if legacy else SINGLE, "signup")
    if mode not in MODES:
        reader.fail(f"'signup.consent_mode' must be one of {', '.join(MODES)}, not '{mode}'",
                    raw.line_of("consent_mode"))
        mode = SINGLE
    words = " ".join(reader.get(raw, "marketing_consent", str, MARKETING_DEFAULT,
                                "signup").split())
    return ConsentMode(mode, words)


def thank_you(mode: str) -> tuple[str, str]:
    """The thank-you page's default heading and line for a mode: never "on its way" while
    the person still has a link to press."""
    if mode == DOUBLE_OPT_IN:
        text = ("We have sent you an email with a link. Press it to confirm your address, "
                "and the guide comes straight after. Nothing there? Check your spam folder.")
        return "Check your inbox to confirm", text
    return "Check your inbox", "The guide is on its way to your inbox."


# ----- where to send a person back to -----

def safe_return(url: str, hosts: tuple[str, ...]) -> str | None:
    """``url`` if it is http(s) on one of ``hosts`` (the owner's own sites), else None."""
    if not url or len(url) > 2000 or any(ch in url for ch in "\r\n\t\\ "):
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username \
            or parts.password:
        return None
    return url if parts.hostname.lower() in hosts else None


def with_marker(url: str) -> str:
    parts = urlsplit(url)
    query = [pair for pair in parse_qsl(parts.query, keep_blank_values=True)
             if pair[0] != SUCCESS_MARKER[0]] + [SUCCESS_MARKER]
    return urlunsplit(parts._replace(query=urlencode(query)))


def return_hosts(origins: tuple[str, ...], extra: list[str], website: str | None) -> tuple[str, ...]:
    """The hosts a return_url may point at: the allowed origins', the listed ones, the
    website's."""
    hosts = {urlsplit(origin).hostname or "" for origin in origins}
    hosts |= {str(host).strip().lower() for host in extra}
    if website:
        hosts.add((urlsplit(website).hostname or "").lower())
    return tuple(sorted(host for host in hosts if host))
