"""The web app (Starlette): the form, /subscribe, confirm, unsubscribe and download links.

``create_app(service)`` builds it; every route is a small function over that one service.
"""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    Response,
)
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import Unavailable
from .form import Refused, check_fields, check_traps, client_key
from .pages import Pages
from .ratelimit import RateLimiter
from .service import Service
from .store import UNSUBSCRIBED, Visit
from .tokens import DOWNLOAD, UNSUBSCRIBE, TokenRefused

_NO_STORE = {"Cache-Control": "no-store"}


@dataclass
class Web:
    """What the routes share: the service, its pages and its rate limiters."""

    service: Service
    pages: Pages
    per_ip: RateLimiter
    per_address: RateLimiter

    def html(self, body: str, status: int = 200) -> HTMLResponse:
        return HTMLResponse(body, status, headers=_NO_STORE)

    def form_page(self, refused: Refused | None = None, values: dict | None = None) -> str:
        return self.pages.form(self.service.tokens.render(), "/subscribe", values,
                               refused.message if refused else None,
                               refused.field if refused else None,
                               again=bool(refused and refused.again))


def create_app(service: Service) -> Starlette:
    settings = service.settings
    web = Web(service, Pages(service.config, settings), RateLimiter(settings.per_ip),
              RateLimiter(settings.per_address))

    def route(path: str, handler, methods: list[str]) -> Route:
        async def endpoint(request: Request) -> Response:
            return await handler(web, request)
        return Route(path, endpoint, methods=methods)

    routes = [
        route("/", show_form, ["GET"]),
        route("/token", render_token, ["GET"]),
        route("/subscribe", subscribe, ["POST"]),
        route("/confirm/{token}", confirm_page, ["GET"]),
        route("/confirm/{token}", confirm, ["POST"]),
        route("/unsubscribe/{token}", unsubscribe_page, ["GET"]),
        route("/unsubscribe/{token}", unsubscribe, ["POST"]),
        route("/download/{token}", download_page, ["GET"]),
        route("/download/{token}/pdf", download_pdf, ["GET"]),
        route("/healthz", health, ["GET"]),
    ]
    middleware = [
        Middleware(BodyLimit, max_bytes=settings.max_body_bytes),
        Middleware(SecurityHeaders),
        Middleware(CORSMiddleware, allow_origins=list(settings.allowed_origins),
                   allow_methods=["GET", "POST"], allow_headers=["Content-Type", "Accept"]),
    ]
    return Starlette(routes=routes, middleware=middleware,
                     exception_handlers={Unavailable: lambda request, exc: _unavailable(web,
                                                                                       request)})


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
    return web.html(web.form_page())


async def render_token(web: Web, request: Request) -> Response:
    """For the embedded form's optional script: a fresh render token (CORS for allowed origins)."""
    return JSONResponse({"token": web.service.tokens.render()}, headers=_NO_STORE)


async def subscribe(web: Web, request: Request) -> Response:
    wants_json = "application/json" in request.headers.get("accept", "")
    fields: dict[str, str] = {}
    try:
        _check_origin(web, request)
        fields = _text_fields(await request.form(max_files=0, max_fields=20))
        check_traps(fields, web.service.tokens, web.service.settings)
        if not web.per_ip.hit(client_key(_client(request))):
            raise Refused("Too many signups from your network; please try again later.", 429)
        submission = check_fields(fields, web.service.settings)
        if not web.per_address.hit(submission.address.lower()):
            raise Refused("This address was signed up several times already today; please "
                          "check your inbox.", 429)
    except Refused as refused:
        return _refusal(web, refused, fields, wants_json)
    visit = _visit(web, request, submission.consent_box)
    await run_in_threadpool(_signup, web.service, submission, visit)
    # The same answer whether or not the address was already subscribed (no enumeration).
    settings = web.service.settings
    if wants_json:
        return JSONResponse({"ok": True, "heading": settings.thanks_heading,
                             "text": settings.thanks_text}, headers=_NO_STORE)
    return web.html(web.pages.note(settings.thanks_heading, settings.thanks_text))


def _signup(service: Service, submission, visit: Visit) -> None:
    payloads = service.store.signup(service.guide, submission.address, submission.name, visit,
                                    service.settings.double_opt_in)
    service.record(payloads)


def _check_origin(web: Web, request: Request) -> None:
    """A browser names the page's origin; only ours and the allowed ones may post. (No Origin,
    or "null" from a page whose referrer policy hides it, is let through: the other traps
    still apply, and a script can send any Origin it likes anyway.)"""
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return
    ours = "{0.scheme}://{0.netloc}".format(urlsplit(web.service.base_url))
    if origin not in (ours, *web.service.settings.allowed_origins, _own_origin(request)):
        raise Refused("This form may not be posted from that website.", 403)


def _own_origin(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}"


def _text_fields(form: FormData) -> dict[str, str]:
    return {key: value for key, value in form.items() if isinstance(value, str)}


def _refusal(web: Web, refused: Refused, fields: dict[str, str], wants_json: bool) -> Response:
    status = 400 if refused.again else refused.status
    if wants_json:
        return JSONResponse({"ok": False, "error": refused.message, "field": refused.field},
                            status, headers=_NO_STORE)
    if refused.status in (403, 429) or not (refused.again or refused.field):
        return web.html(web.pages.note("Sorry", refused.message), status)
    values = {key: fields.get(key, "") for key in ("email", "first_name", "consent")}
    return web.html(web.form_page(refused, values), status)


def _client(request: Request) -> str:
    # uvicorn has already replaced this with X-Forwarded-For when the peer is a trusted proxy.
    return request.client.host if request.client else "unknown"


def _visit(web: Web, request: Request, consent_box: bool) -> Visit:
    settings = web.service.settings
    shown = " | ".join(part for part in (settings.promise, settings.consent or "",
                                         settings.privacy) if part)
    return Visit(_client(request), request.headers.get("user-agent", ""),
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
    return web.html(web.pages.note("You are unsubscribed", "We will not email you again. "
                                   "Sorry to see you go."))


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
    if _read(web, DOWNLOAD, token) is None:
        return _bad_link(web)
    config = web.service.config
    return web.html(web.pages.note(config.title, f"Your free {config.pages}-page guide, as a PDF.",
                                   link=(f"/download/{token}/pdf", "Download the PDF")))


async def download_pdf(web: Web, request: Request) -> Response:
    ident = _read(web, DOWNLOAD, request.path_params["token"])
    if ident is None:
        return _bad_link(web)
    await run_in_threadpool(web.service.store.record_download, web.service.guide, ident)
    return FileResponse(web.service.pdf, media_type="application/pdf",
                        filename=web.service.email.attachment_name, headers=_NO_STORE)


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
                b"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
               (b"x-content-type-options", b"nosniff"),
               (b"referrer-policy", b"same-origin"),
               (b"x-frame-options", b"DENY")]

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *self.HEADERS]
            await send(message)

        await self.app(scope, receive, with_headers)
