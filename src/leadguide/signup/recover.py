"""The routes that keep a person from a dead end, and the landing page's files: "didn't get
it?" (``/resend``), a fresh confirm link for an expired one, opting in again after an
unsubscribe, the cover image and the brand's fonts.

Each answer is the same whether or not the address is known; resends are counted per address
in the signup database (``again.py``).
"""
from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response

from .again import again_for, renew_confirm, resend_to, resubscribe
from .form import Refused, check_fields, check_traps
from .identity import network_key
from .landing import PDFIUM_LOCK, cover_image
from .tokens import UNSUBSCRIBE, TokenRefused

_NO_STORE = {"Cache-Control": "no-store"}
_CACHED = {"Cache-Control": "public, max-age=3600"}
RESUBSCRIBE_WORDS = ("Changed your mind? Press the button and we may email you again: the "
                     "guide's emails, and our occasional tips if you agreed to them.")


@dataclass(frozen=True)
class Helpers:
    """What these routes share with app.py's: limits, single use, the visit, the answer's
    time (passed in: this module is imported by app.py, never the other way)."""

    within: Callable[..., Awaitable[None]]
    first_use: Callable[..., Awaitable[None]]
    visit: Callable[..., Any]
    answer_at: Callable[[float, float], Awaitable[None]]
    client: Callable[..., str]  # the client's IP, through the trusted proxies
    check_origin: Callable[..., None]


def recover_routes(route: Callable, helpers: Helpers) -> list:
    def bound(handler):
        async def call(web, request: Request) -> Response:
            return await handler(web, request, helpers)
        return call

    return [route("/cover.png", cover, ["GET"]),
            route("/fonts/{name}", font, ["GET"]),
            route("/resend", resend_page, ["GET"]),
            route("/resend", bound(resend), ["POST"]),
            route("/confirm/{token}/renew", bound(renew), ["POST"]),
            route("/resubscribe/{token}", bound(opt_in_again), ["POST"])]


def _html(body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(body, status, headers=_NO_STORE)


# ----- the landing page's files -----

def cover_height(pdf: Path, width: int = 600) -> int | None:
    """The cover image's height at ``width`` (the page reserves its box: no layout shift)."""
    try:
        import pypdfium2
        with PDFIUM_LOCK:  # PDFium is not thread-safe
            document = pypdfium2.PdfDocument(str(pdf))
            try:
                page = document[0]
                page_width, page_height = page.get_size()
                page.close()
            finally:
                document.close()
        return round(width * page_height / page_width)
    except Exception:  # noqa: BLE001 - the page then uses a Letter page's shape
        return None


async def cover(web, request: Request) -> Response:
    path = await run_in_threadpool(cover_image, web.service.pdf)
    return FileResponse(path, media_type="image/png", headers=_CACHED)


async def font(web, request: Request) -> Response:
    fonts, name = web.pages.fonts, request.path_params["name"]
    if name not in fonts.files:
        return Response("Not found.\n", 404, media_type="text/plain")
    return FileResponse(fonts.files[name], media_type=fonts.media_type(name),
                        headers={"Cache-Control": "public, max-age=86400"})


# ----- "didn't get it?" -----

async def resend_page(web, request: Request) -> Response:
    return _html(web.pages.resend(web.service.tokens.render()))


async def resend(web, request: Request, helpers: Helpers) -> Response:
    """The same answer, at the same time, for a known address and an unknown one."""
    began = time.monotonic()
    response = await _resend(web, request, helpers)
    await helpers.answer_at(began, web.service.settings.answer_seconds)
    return response


async def _resend(web, request: Request, helpers: Helpers) -> Response:
    service, settings = web.service, web.service.settings
    form = await request.form(max_files=0, max_fields=10)
    fields = {key: value for key, value in form.items() if isinstance(value, str)}
    try:
        helpers.check_origin(web, request)
        await helpers.first_use(web, check_traps(fields, service.tokens, settings))
        await helpers.within(web, "ip", network_key(helpers.client(web, request)),
                             settings.per_ip)
        address = check_fields({**fields, "consent": "yes"}, settings).address
    except Refused as refused:
        if refused.status in (403, 429, 503) or not (refused.again or refused.field):
            return _html(web.pages.note("Sorry", refused.message), refused.status)
        return _html(web.pages.resend(service.tokens.render(), values={
            "email": fields.get("email", "")}, error=refused.message), 400)
    visit = helpers.visit(web, request, False)
    payloads = await run_in_threadpool(resend_to, service.store, service.guide, address, visit,
                                       again_for(settings))
    await run_in_threadpool(service.record, payloads)
    return _html(web.pages.resend("", sent=True))


# ----- an expired confirm link -----

def expired_confirm_page(web, token: str) -> str:
    return web.pages.note("This link has expired", "Confirm links work for "
                          f"{web.service.settings.confirm_hours:g} hours. Press the button and "
                          "we will email you a fresh one.", button="Send me a new link",
                          action=f"/confirm/{token}/renew")


async def renew(web, request: Request, helpers: Helpers) -> Response:
    service = web.service
    try:
        ident = service.tokens.expired_confirm(request.path_params["token"], service.guide)
    except TokenRefused:
        return _html(web.pages.note("This link does not work", "Sorry: the link is "
                                    "incomplete or not ours. Copy the whole link from the "
                                    "email.", link=("/", "Go to the form")), 400)
    payloads = await run_in_threadpool(renew_confirm, service.store, service.guide, ident,
                                       again_for(service.settings))
    await run_in_threadpool(service.record, payloads)
    return _html(web.pages.note("Check your inbox to confirm", "If this address is still "
                                "waiting to be confirmed, a new link is on its way. Press it "
                                "within the next "
                                f"{service.settings.confirm_hours:g} hours."))


# ----- unsubscribed, and back -----

def unsubscribed_page(web, token: str) -> str:
    return web.pages.note("You are unsubscribed", "We will not email you again. Sorry to see "
                          "you go. " + RESUBSCRIBE_WORDS, button="Subscribe me again",
                          action=f"/resubscribe/{token}")


async def opt_in_again(web, request: Request, helpers: Helpers) -> Response:
    service = web.service
    try:
        ident = service.tokens.read_address_link(UNSUBSCRIBE, request.path_params["token"],
                                                 service.guide)
    except TokenRefused:
        return _html(web.pages.note("This link does not work", "Sorry: the link is "
                                    "incomplete or not ours. Copy the whole link from the "
                                    "email."), 400)
    visit = helpers.visit(web, request, True)
    visit = type(visit)(visit.ip, visit.user_agent, visit.page,
                        f"{RESUBSCRIBE_WORDS} [Subscribe me again]", True)
    await run_in_threadpool(resubscribe, service.store, service.guide, ident, visit)
    return _html(web.pages.note("Welcome back", "You are subscribed again. To get the guide "
                                "once more, use the form.",
                                link=("/resend", "Send me the guide again")))
