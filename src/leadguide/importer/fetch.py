"""Fetching a named web page and its images: an honest User-Agent, timeouts, size and
redirect limits, the content type checked, and robots.txt asked first."""
from __future__ import annotations

import http.client
import time
import urllib.error
import urllib.request
import urllib.robotparser
from dataclasses import dataclass
from email.message import Message
from importlib.metadata import PackageNotFoundError, version
from urllib.parse import urlsplit, urlunsplit


def _version() -> str:
    try:
        return version("leadguide")
    except PackageNotFoundError:
        return "dev"


USER_AGENT = (f"leadguide/{_version()} (imports one page its user named into a PDF guide; "
              "+https://pypi.org/project/leadguide/)")
ROBOT_NAME = "leadguide"
HTML_TYPES = ("text/html", "application/xhtml+xml")
FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/xml", "text/xml")
IMAGE_TYPES = ("image/",)


@dataclass(frozen=True)
class Limits:
    """How far an import goes for one source (tests shrink them)."""

    timeout: float = 20.0  # seconds for the connection and for each read
    whole_seconds: float = 120.0  # for a whole page or image, however slowly it comes
    page_bytes: int = 8 * 1024 * 1024
    image_bytes: int = 16 * 1024 * 1024
    images_per_source: int = 60
    redirects: int = 5
    unpacked_bytes: int = 200 * 1024 * 1024  # what a .docx may unpack to (zip bombs)


DEFAULT_LIMITS = Limits()


@dataclass(frozen=True)
class Fetched:
    url: str  # after redirects
    content_type: str
    charset: str | None
    body: bytes


class FetchError(Exception):
    """A page or image that could not be fetched: the message says why, in a few words."""


class _Redirects(urllib.request.HTTPRedirectHandler):
    def __init__(self, limit: int):
        self.max_redirections = limit
        self.max_repeats = limit

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        if urlsplit(newurl).scheme.lower() not in ("http", "https"):
            raise FetchError(f"redirected to '{newurl}', which is not a web address")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _opener(limits: Limits) -> urllib.request.OpenerDirector:
    # No proxy or file handlers: only http(s), only where the source says.
    return urllib.request.build_opener(_Redirects(limits.redirects),
                                       urllib.request.ProxyHandler({}))


def fetch(url: str, limits: Limits, accept: tuple[str, ...], most: int,
          what: str = "an HTML page") -> Fetched:
    """``url``'s body, at most ``most`` bytes, of a content type starting with one of
    ``accept`` (``what`` names them in the error)."""
    if urlsplit(url).scheme.lower() not in ("http", "https"):
        raise FetchError("only http and https addresses can be imported")
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT,
                                                   "Accept": ", ".join(accept) + ";q=1, */*;q=0.1"})
    try:
        with _opener(limits).open(request, timeout=limits.timeout) as response:
            kind, charset = _content_type(response.headers)
            if not kind.startswith(accept):
                raise FetchError(f"not {what} but {kind or 'an unnamed type'}")
            return Fetched(response.geturl(), kind, charset,
                           _read(response, most, limits.whole_seconds))
    except urllib.error.HTTPError as error:
        if 300 <= error.code < 400:
            raise FetchError(f"more than {limits.redirects} redirects (or a redirect loop)") \
                from None
        raise FetchError(f"the server answered {error.code} {error.reason}") from None
    except urllib.error.URLError as error:
        raise FetchError(f"cannot reach it ({_reason(error.reason)})") from None
    except (TimeoutError, OSError, http.client.HTTPException) as error:
        raise FetchError(f"cannot reach it ({_reason(error)})") from None
    except ValueError as error:  # a malformed address
        raise FetchError(str(error)) from None


def _content_type(headers: Message) -> tuple[str, str | None]:
    return headers.get_content_type().lower(), headers.get_content_charset()


def _reason(reason: object) -> str:
    if isinstance(reason, TimeoutError) or "timed out" in str(reason):
        return "timed out"
    return str(reason)


def _read(response, most: int, deadline: float) -> bytes:  # type: ignore[no-untyped-def]
    length = response.headers.get("Content-Length")
    if length and length.isdigit() and int(length) > most:
        raise FetchError(f"larger than {most // 1024 // 1024} MB ({int(length) // 1024 // 1024}"
                         " MB)")
    chunks, size, started = [], 0, time.monotonic()
    while chunk := response.read(64 * 1024):
        chunks.append(chunk)
        size += len(chunk)
        if size > most:
            raise FetchError(f"larger than {most // 1024 // 1024} MB")
        if time.monotonic() - started > deadline:  # a server dripping bytes to stay open
            raise FetchError(f"cannot reach it (timed out: still sending after {deadline:.0f} s)")
    return b"".join(chunks)


def robots_allow(url: str, limits: Limits) -> bool:
    """Whether the site's robots.txt lets leadguide fetch ``url`` (no robots.txt: yes)."""
    parts = urlsplit(url)
    robots_url = urlunsplit((parts.scheme, parts.netloc, "/robots.txt", "", ""))
    try:
        robots = fetch(robots_url, limits, ("text/plain",), 512 * 1024, "robots.txt")
    except FetchError:
        return True  # none, or unreadable: the page itself has not asked anything
    parser = urllib.robotparser.RobotFileParser()
    parser.parse(robots.body.decode(robots.charset or "utf-8", "replace").splitlines())
    return parser.can_fetch(ROBOT_NAME, url)
