"""The web app (Starlette): the form, /subscribe, confirm, unsubscribe and download links,
and the web edition behind the download link's token (/read).

``create_app(service)`` builds it; every route is a small function over that one service.
"""
from __future__ import annotations

import asyncio
import ipaddress
import math
import time
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import (FileResponse, HTMLResponse, JSONResponse, PlainTextResponse,
                                 RedirectResponse, Response)
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .again import Again, again_for
from .consent import safe_return, with_marker
from .downloads import Downloads
from .errors import SignupError, Unavailable
from .form import Refused, check_fields, check_traps, is_ticked
from .identity import Network, canonical_mailbox, client_ip, network_key
from .inbound import inbound_routes
from .ledgerroutes import ledger_routes
from .pages import Pages
from .ratelimit import Limits, open_limits
from .reading import HEADERS as READING_HEADERS, Edition, with_beacon
from .readroutes import count_download, reading_routes
from .recover import Helpers, cover_height, expired_confirm_page, recover_routes, unsubscribed_page
from .service import Service
from .steppreview import dev_routes
from .store import UNSUBSCRIBED, Visit
from .subscribers import add_tag, count_view, tag_from_form
from .tokens import RENDER_MAX_AGE, UNSUBSCRIBE, LinkExpired, TokenRefused

_NO_STORE = {"Cache-Control": "no-store"}
# One answer for every limit, whatever the address: it must not tell whose address it was.
TOO_MANY = "Too many signups just now; please try again later."


@dataclass
class Web:
    """What the routes share: the service, its pages, its rate limits, its trusted proxies."""

    service: Service
    pages: Pages
    limits: Limits
    proxies: tuple[Network, ...]
    cover_height: int | None = None
    downloads: Downloads | None = None

    def html(self, body: str, status: int = 200) -> HTMLResponse:
        return HTMLResponse(body, status, headers=_NO_STORE)

    def form_page(self, refused: Refused | None = None, values: dict | None = None) -> str:
        return self.pages.form(self.service.tokens.render(), "/subscribe", values,
                               refused.message if refused else None,
                               refused.field if refused else None,
                               again=bool(refused and refused.again))


def create_app(service: Service) -> Starlette:
    settings = service.settings
    web = Web(service, Pages(service.config, settings),
              open_limits(settings.database),
              tuple(ipaddress.ip_network(p, strict=False) for p in settings.trusted_proxies),
              cover_height(service.pdf), Downloads(service))

    def route(path: str, handler, methods: list[str]) -> Route:
        async def endpoint(request: Request) -> Response:
            return await handler(web, request)
        return Route(path, endpoint, methods=methods)

    routes = [
        *reading_routes(service),  # /go/TOKEN and /read/TOKEN/_seen(.js), before /read's files
        route("/", show_form, ["GET"]),
        route("/token", render_token, ["GET"]),
        route("/subscribe", subscribe, ["POST"]),
        route("/confirm/{token}", confirm_page, ["GET"]),
        route("/confirm/{token}", confirm, ["POST"]),
        route("/unsubscribe/{token}", unsubscribe_page, ["GET"]),
        route("/unsubscribe/{token}", unsubscribe, ["POST"]),
        route("/download/{token}", download_page, ["GET"]),
        route("/download/{token}/pdf", download_pdf, ["GET"]),
        route("/read/{token}", read_start, ["GET"]),
        route("/read/{token}/{path:path}", read_file, ["GET"]),
        route("/healthz", health, ["GET"]),
        *ledger_routes(service),  # /_ledger/*: remote workers' ledger (signup.remote_workers)
        *inbound_routes(service.store, web.limits),  # /hooks/<service>: bounces (inbound.py)
        *(dev_routes(service.config) if service.dev else []),  # /dev/emails (steppreview.py)
        *recover_routes(route, Helpers(_within, _first_use, _visit, _answer_at, _client,
                                               _check_origin)),
    ]
    middleware = [
        Middleware(TrailingSlash, base_url=service.base_url),
        Middleware(BodyLimit, max_bytes=settings.max_body_bytes),
        Middleware(SecurityHeaders, form_targets=settings.return_hosts),
        Middleware(CORSMiddleware, allow_origins=list(settings.allowed_origins),
                   allow_methods=["GET", "POST"], allow_headers=["Content-Type", "Accept"]),
    ]
    unavailable = lambda request, exc: _unavailable(web, request)  # noqa: E731
    app = Starlette(routes=routes, middleware=middleware,
                    exception_handlers={ClientDisconnect: _client_left, Unavailable: unavailable})
    app.router.redirect_slashes = False  # it builds the address from the Host header
    return app


async def _client_left(request: Request, exc: Exception) -> Response:
    """The client left (or was cut off for sending too slowly) mid-body: no one to answer."""
    return Response(status_code=400)


def _unavailable(web: Web, request: Request) -> Response:
    """The database could not be written (nothing was saved): 503, try again. A signup
    retried is then a first signup, with its email."""
    headers = {**_NO_STORE, "Retry-After": "10"}
    text = "We could not save that just now. Please try again in a moment."
    if "application/json" in request.headers.get("accept", ""):
        return JSONResponse({"ok": False, "error": text, "retry": True}, 503, headers=headers)
    return HTMLResponse(web.pages.note("Please try again", text), 503, headers=headers)


# ----- the form and /subscribe -----

async def show_form(web: Web, request: Request) -> Response:
    await run_in_threadpool(_count_view, web)
    return web.html(web.pages.landing(web.service.tokens.render(), cover_height=web.cover_height))


def _count_view(web: Web) -> None:
    """The funnel's first step (subscribers.count_view): a day's counter, nothing more."""
    try:
        count_view(web.service.store, web.service.guide)
    except Exception:  # noqa: BLE001 - a view not counted never stops the form
        pass


async def render_token(web: Web, request: Request) -> Response:
    """For the embedded form's optional script: a fresh render token (CORS for allowed origins)."""
    return JSONResponse({"token": web.service.tokens.render()}, headers=_NO_STORE)


async def subscribe(web: Web, request: Request) -> Response:
    """Every answer leaves at the same time after the post, so how long it took cannot tell
    a new address (a subscriber, a ledger entry, a job) from a known one (one consent row)."""
    began = time.monotonic()
    response = await _subscribe(web, request)
    await _answer_at(began, web.service.settings.answer_seconds)
    return response


async def _answer_at(began: float, step: float) -> None:
    """Wait until ``step`` seconds after ``began``, or the next multiple if that has passed."""
    if step <= 0:
        return
    elapsed = time.monotonic() - began
    await asyncio.sleep(max(1, math.ceil(elapsed / step)) * step - elapsed)


async def _subscribe(web: Web, request: Request) -> Response:
    wants_json = "application/json" in request.headers.get("accept", "")
    fields: dict[str, str] = {}
    try:
        _check_origin(web, request)
        fields = _text_fields(await request.form(max_files=0, max_fields=20))
        await _first_use(web, check_traps(fields, web.service.tokens, web.service.settings))
        await _within(web, "ip", network_key(_client(web, request)), web.service.settings.per_ip)
        submission = check_fields(fields, web.service.settings)
        await _within(web, "address", canonical_mailbox(submission.address),
                      web.service.settings.per_address)
    except Refused as refused:
        return _refusal(web, refused, fields, wants_json)
    settings = web.service.settings
    marketing = bool(settings.marketing_consent) and is_ticked(fields.get("marketing", ""))
    visit = _visit(web, request, marketing if settings.marketing_consent
                   else submission.consent_box)
    await run_in_threadpool(_signup, web.service, submission, visit,
                            again_for(settings, marketing))
    await run_in_threadpool(add_tag, web.service.store, web.service.guide, submission.address,
                            tag_from_form(fields))  # the form's hidden tag (subscribers.py)
    # The same answer whether or not the address was already subscribed (no enumeration).
    back = safe_return(fields.get("return_url", ""), settings.return_hosts)
    if back and not wants_json:
        return RedirectResponse(with_marker(back), 303, headers=_NO_STORE)
    if wants_json:
        return JSONResponse({"ok": True, "heading": settings.thanks_heading,
                             "text": settings.thanks_text}, headers=_NO_STORE)
    return web.html(web.pages.note(settings.thanks_heading, settings.thanks_text))


async def _first_use(web: Web, nonce: str) -> None:
    """A render token goes through once: a script that fetched one cannot post it again."""
    try:
        first = await run_in_threadpool(web.limits.first_use, "render", nonce, RENDER_MAX_AGE)
    except SignupError as error:  # the limits' database unwritable: 503 + Retry-After
        raise Unavailable(error.message) from None
    if not first:
        raise Refused("One more step: this form was sent already (if you pressed twice, "
                      "check your inbox).", again=True)


async def _within(web: Web, kind: str, key: str, limit) -> None:
    try:
        allowed = await run_in_threadpool(web.limits.hit, kind, key, limit)
    except SignupError as error:
        raise Unavailable(error.message) from None
    if not allowed:
        raise Refused(TOO_MANY, 429)


def _signup(service: Service, submission, visit: Visit, again: Again | None = None) -> None:
    payloads = service.store.signup(service.guide, submission.address, submission.name, visit,
                                    service.settings.double_opt_in, again)
    service.record(payloads)


def _check_origin(web: Web, request: Request) -> None:
    """A browser names the page's origin; only ours and the allowed ones may post. No Origin
    (a script, an old browser) is let through to the other traps; "null" (a sandboxed frame,
    a local file, a page sent with no-referrer) is refused: no website of ours sends it."""
    origin = request.headers.get("origin")
    if origin is None:
        return
    ours = "{0.scheme}://{0.netloc}".format(urlsplit(web.service.base_url))
    if origin not in (ours, *web.service.settings.allowed_origins):
        raise Refused("This form may not be posted from that website.", 403)


def _text_fields(form: FormData) -> dict[str, str]:
    return {key: value for key, value in form.items() if isinstance(value, str)}


def _refusal(web: Web, refused: Refused, fields: dict[str, str], wants_json: bool) -> Response:
    status = 400 if refused.again else refused.status
    if wants_json:  # with a fresh render token: the one sent has been taken
        return JSONResponse({"ok": False, "error": refused.message, "field": refused.field,
                             "token": web.service.tokens.render()}, status, headers=_NO_STORE)
    if refused.status in (403, 429, 503) or not (refused.again or refused.field):
        return web.html(web.pages.note("Sorry", refused.message), status)
    values = {key: fields.get(key, "") for key in ("email", "first_name", "consent",
                                                    "marketing")}
    if safe_return(fields.get("return_url", ""), web.service.settings.return_hosts):
        values["return_url"] = fields["return_url"]
    return web.html(web.form_page(refused, values), status)


def _client(web: Web, request: Request) -> str:
    peer = request.client.host if request.client else "unknown"
    forwarded = request.headers.getlist("x-forwarded-for") if web.proxies else []
    return client_ip(peer, forwarded, web.proxies)


def _visit(web: Web, request: Request, consent_box: bool) -> Visit:
    settings = web.service.settings
    shown = " | ".join(part for part in (settings.promise, settings.consent or "",
                                         settings.marketing_consent, settings.privacy) if part)
    return Visit(_client(web, request), request.headers.get("user-agent", ""),
                 request.headers.get("referer", ""), shown, consent_box)


# ----- double opt-in -----

async def confirm_page(web: Web, request: Request) -> Response:
    # A button, not an action on GET: mail scanners open links, and must not confirm for people.
    return web.html(web.pages.note("Confirm your email address",
                                   "Press the button and the guide is on its way.",
                                   button="Yes, send me the guide",
                                   action=f"/confirm/{request.path_params['token']}"))


async def confirm(web: Web, request: Request) -> Response:
    service = web.service
    try:
        found = service.tokens.read_confirm(request.path_params["token"], service.guide,
                                            service.settings.confirm_hours)
    except LinkExpired:
        return web.html(expired_confirm_page(web, request.path_params["token"]), 400)
    except TokenRefused as refused:
        return web.html(web.pages.note("This link does not work", f"Sorry: {refused.reason}. "
                                       "You can sign up again on the form.",
                                       link=("/", "Go to the form")), 400)
    visit = _visit(web, request, consent_box=False)
    outcome, payloads = await run_in_threadpool(service.store.confirm, service.guide,
                                                found.address_id, found.nonce, visit)
    if outcome == "invalid":
        return web.html(web.pages.note("This link does not work", "Sorry: this link has "
                                       "been used or replaced.", link=("/", "Go to the form")), 400)
    await run_in_threadpool(service.record, payloads)
    return web.html(web.pages.note("Thank you!", "Your address is confirmed: the guide is on "
                                   "its way to your inbox." if outcome == "confirmed" else
                                   "Your address was already confirmed."))


# ----- unsubscribe (RFC 8058 one-click, and a page with one button) -----

async def unsubscribe_page(web: Web, request: Request) -> Response:
    token = request.path_params["token"]
    if _read(web, UNSUBSCRIBE, token) is None:
        return _bad_link(web)
    return web.html(web.pages.note("Unsubscribe", "Press the button and we will not email you "
                                   "again.", button="Unsubscribe", action=f"/unsubscribe/{token}"))


async def unsubscribe(web: Web, request: Request) -> Response:
    found = _read(web, UNSUBSCRIBE, request.path_params["token"])
    if found is None:
        return _bad_link(web)
    form = await request.form(max_files=0, max_fields=5)
    one_click = form.get("List-Unsubscribe") == "One-Click"
    await run_in_threadpool(web.service.suppress, found, "", UNSUBSCRIBED,
                            "one-click" if one_click else "page")
    if one_click:
        return PlainTextResponse("Unsubscribed.\n", headers=_NO_STORE)
    return web.html(unsubscribed_page(web, request.path_params["token"]))


def _read(web: Web, purpose: str, token: str) -> str | None:
    """The address_id a link names, if the link is ours, for this purpose and this guide."""
    try:
        return web.service.tokens.read_address_link(purpose, token, web.service.guide)
    except TokenRefused:
        return None


def _bad_link(web: Web) -> Response:
    return web.html(web.pages.note("This link does not work", "Sorry: the link is incomplete "
                                   "or not ours. Copy the whole link from the email."), 400)


# ----- downloads -----

async def download_page(web: Web, request: Request) -> Response:
    token = request.path_params["token"]
    found = await _downloader(web, token)
    if isinstance(found, Response):
        return found
    config = web.service.config
    return web.html(web.pages.note(config.title, f"Your free {config.pages}-page guide, as a PDF.",
                                   link=(f"/download/{token}/pdf", "Download the PDF")))


async def download_pdf(web: Web, request: Request) -> Response:
    """The PDF; a GET (not a HEAD: link checkers) is rate-limited and counted once a day."""
    found = await _downloader(web, request.path_params["token"])
    if isinstance(found, Response):
        return found
    if request.method == "GET":
        settings = web.service.settings
        try:
            await _within(web, "download", found, settings.downloads)
            await _within(web, "download-ip", network_key(_client(web, request)),
                          settings.per_ip)
        except Refused as refused:
            return web.html(web.pages.note("Sorry", refused.message), refused.status)
        await run_in_threadpool(web.service.store.record_download, web.service.guide, found)
        await run_in_threadpool(count_download, web.service, found, request.headers)
        copy = await run_in_threadpool(web.downloads.copy_for, found) if web.downloads else None
        if copy is not None:  # theirs, as the welcome email attaches it
            return Response(copy, media_type="application/pdf", headers={
                **_NO_STORE, "Content-Disposition":
                    attachment_disposition(web.service.email.attachment_name)})
    return FileResponse(web.service.pdf, media_type="application/pdf",
                        filename=web.service.email.attachment_name, headers=_NO_STORE)


def attachment_disposition(filename: str) -> str:
    """``Content-Disposition`` for a file to save, as Starlette's FileResponse writes it (a
    name it would have to escape goes as RFC 5987 ``filename*``: no quote or line break can
    end the header)."""
    quoted = quote(filename)
    if quoted != filename:
        return f"attachment; filename*=utf-8''{quoted}"
    return f'attachment; filename="{filename}"'


async def _downloader(web: Web, token: str) -> str | Response:
    """Whose download link this is (their address_id), or the page saying why it does not
    work: not ours, expired (``signup.download_days``), or its person unsubscribed."""
    service = web.service
    try:
        ident = service.tokens.read_download(token, service.guide,
                                             service.settings.download_days)
    except LinkExpired as expired:
        return _gone(web, f"Sorry: {expired.reason}.")
    except TokenRefused:
        return _bad_link(web)
    if await run_in_threadpool(service.store.is_suppressed, ident):
        return _gone(web, "Sorry: this link no longer works.")
    return ident


# ----- the web edition -----

async def read_start(web: Web, request: Request) -> Response:
    """``/read/TOKEN``: the web edition's contents page, for whoever the link was made for."""
    token = request.path_params["token"]
    found = await _downloader(web, token)
    if isinstance(found, Response):
        return found
    edition = Edition(web.service.pdf)
    if not edition.exists:
        return _no_edition(web, token)
    return RedirectResponse(f"/read/{token}/{edition.start}", 303, headers=_NO_STORE)


async def read_file(web: Web, request: Request) -> Response:
    """A file of the web edition (``signup.reading``); its PDF link goes to the download."""
    token, path = request.path_params["token"], request.path_params["path"]
    found = await _downloader(web, token)
    if isinstance(found, Response):
        return found
    edition = Edition(web.service.pdf)
    if edition.is_pdf(path):
        return RedirectResponse(f"/download/{token}/pdf", 303, headers=_NO_STORE)
    if path.rstrip("/") == edition.folder.name and edition.exists:
        return RedirectResponse(f"/read/{token}/{edition.start}", 303, headers=_NO_STORE)
    file = edition.find(path) if edition.exists else None
    if file is None:
        return _no_edition(web, token) if not edition.exists else web.html(
            web.pages.note("Not found", "There is no such page in this guide.",
                           link=(f"/read/{token}", "Go to the contents")), 404)
    headers = {**READING_HEADERS, "Cache-Control": file.cache_control}
    if file.media_type.startswith("text/html"):  # a page: counted by the first-party beacon
        page = await run_in_threadpool(file.path.read_bytes)
        return Response(with_beacon(page, path.count("/")), media_type=file.media_type, headers=headers)
    return FileResponse(file.path, media_type=file.media_type, headers=headers)


def _no_edition(web: Web, token: str) -> Response:
    return web.html(web.pages.note("Not available", "This guide has no web edition yet.",
                                   link=(f"/download/{token}", "Download the PDF")), 404)


def _gone(web: Web, text: str) -> Response:
    return web.html(web.pages.note("This link does not work", f"{text} Sign up on the form "
                                   "for a new one.", link=("/", "Go to the form")), 410)


async def health(web: Web, request: Request) -> Response:
    """The service and its queue: emails owed, the longest wait, sent in the last minute,
    failures (JSON, for a monitor)."""
    try:
        stats = await run_in_threadpool(web.service.ledger.stats)
    except Exception as exc:  # noqa: BLE001 - the database unreadable: say so, no traceback
        return JSONResponse({"ok": False, "error": f"cannot read the signup database: {exc}"},
                            503, headers=_NO_STORE)
    return JSONResponse({"ok": True, "queue": stats.as_dict()}, headers=_NO_STORE)


# ----- middleware -----

class TrailingSlash:
    """``/subscribe/`` -> ``base_url/subscribe`` (307): the address built from ``base_url``,
    never from the request's Host header, which a client may forge."""

    def __init__(self, app: ASGIApp, base_url: str):
        self.app, self.base_url = app, base_url

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "/")
        if scope["type"] != "http" or path == "/" or not path.endswith("/"):
            return await self.app(scope, receive, send)
        query = scope.get("query_string", b"").decode("latin-1")
        target = self.base_url + "/" + path.strip("/") + (f"?{query}" if query else "")
        await RedirectResponse(target, 307)(scope, receive, send)


class BodyLimit:
    """413 for a request body over ``max_bytes``, announced or streamed."""

    def __init__(self, app: ASGIApp, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope["headers"]).get(b"content-length", b"0")
        if not length.isdigit() or int(length) > self.max_bytes:
            return await PlainTextResponse("Request too large.\n", 413)(scope, receive, send)
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                raise _TooLarge()
            return message

        try:
            await self.app(scope, limited, send)
        except _TooLarge:
            await PlainTextResponse("Request too large.\n", 413)(scope, receive, send)


class _TooLarge(Exception):
    pass


class SecurityHeaders:
    """No scripts, no framing, no Referer leaking a token, nothing sniffed."""

    HEADERS = [(b"content-security-policy", b"default-src 'none'; style-src 'unsafe-inline'; "
                b"img-src 'self'; font-src 'self'; "
                b"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
               (b"x-content-type-options", b"nosniff"),
               (b"referrer-policy", b"same-origin"),
               (b"x-frame-options", b"DENY")]

    def __init__(self, app: ASGIApp, form_targets: tuple[str, ...] = ()):
        self.app = app
        # A form on our page (the second chance) may end in a redirect to the owner's site.
        if form_targets:
            extra = " ".join(f"https://{host}:* http://{host}:*" for host in form_targets)
            policy = self.HEADERS[0][1].replace(b"form-action 'self'",
                                                f"form-action 'self' {extra}".encode())
            self.HEADERS = [(self.HEADERS[0][0], policy), *self.HEADERS[1:]]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":  # a route's own header stays alone
                own = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []),
                                      *(h for h in self.HEADERS if h[0] not in own)]
            await send(message)

        await self.app(scope, receive, with_headers)
