"""The reading figures' routes: ``/go/TOKEN`` (a personal CTA link: counted, then redirected)
and the web edition's beacon, ``/read/TOKEN/_seen?chapter=ID&event=open|end`` (POST from
``navigator.sendBeacon``, or GET), with its first-party script ``/read/TOKEN/_seen.js``.

A web edition's chapter page includes the script with its chapter id::

    <script src="_seen.js" data-chapter="03-program" defer></script>

(relative: the page is served at ``/read/TOKEN/…``). It sends ``open`` once, and ``end``
when the chapter's last element scrolls into view; it sends nothing when the browser has
Global Privacy Control or Do Not Track on, and the server does not count such requests either.
No cookie is set; the answer is ``204 No Content``.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from ..email.message import guide_key
from .readcounts import CHAPTER, GoLinks, Readings, not_tracked
from .tokens import TokenRefused

if TYPE_CHECKING:
    from .service import Service

_NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
SEEN_JS = """(function () {
  var me = document.currentScript, chapter = me && me.getAttribute("data-chapter");
  if (!chapter || navigator.globalPrivacyControl || navigator.doNotTrack === "1") return;
  function send(event) {
    var url = new URL("_seen?chapter=" + encodeURIComponent(chapter) + "&event=" + event,
                      me.src).href;  // beside the script, whatever folder the page is in
    if (navigator.sendBeacon) { navigator.sendBeacon(url); }
    else { fetch(url, {method: "POST", keepalive: true, credentials: "omit"}); }
  }
  send("open");
  var main = document.querySelector("main") || document.body;
  var last = document.querySelector("[data-chapter-end]") || (main && main.lastElementChild);
  while (last && /^(SCRIPT|NOSCRIPT|STYLE|TEMPLATE)$/.test(last.tagName)) {
    last = last.previousElementSibling;  // the chapter's last shown element
  }
  if (last && "IntersectionObserver" in window) {
    var seen = new IntersectionObserver(function (entries) {
      if (entries.some(function (e) { return e.isIntersecting; })) {
        send("end"); seen.disconnect();
      }
    });
    seen.observe(last);
  }
})();
"""


def go_links(service: "Service") -> GoLinks:
    return GoLinks(service.base_url, service.secrets.secret, service.guide)


def targets(service: "Service") -> tuple[str, ...]:
    """The URLs personal links may lead to: the guide's own CTA."""
    cta = service.config.cta
    return (cta.url,) if cta else ()


def reading_routes(service: "Service") -> list[Route]:
    readings = Readings(service.settings.database)
    links = go_links(service)

    async def go(request: Request) -> Response:
        found = links.read(request.path_params["token"], targets(service))
        if found is None:
            return Response("This link is not ours.", 404, media_type="text/plain")
        subscriber, target = found
        if not not_tracked(request.headers):
            await run_in_threadpool(readings.count, service.guide, subscriber, "click")
        return RedirectResponse(target, 303, headers=_NO_STORE)

    async def seen(request: Request) -> Response:
        chapter = request.query_params.get("chapter", "")
        event = request.query_params.get("event", "")
        if event not in ("open", "end") or not CHAPTER.match(chapter):
            return Response(status_code=400, headers=_NO_STORE)
        if not_tracked(request.headers):
            return Response(status_code=204, headers=_NO_STORE)
        subscriber = await run_in_threadpool(_reader, service, readings,
                                             request.path_params["token"])
        if subscriber is None:
            return Response(status_code=404, headers=_NO_STORE)
        await run_in_threadpool(readings.count, service.guide, subscriber, event, chapter)
        return Response(status_code=204, headers=_NO_STORE)

    async def script(request: Request) -> Response:
        return Response(SEEN_JS, media_type="text/javascript",
                        headers={"Cache-Control": "public, max-age=3600"})

    return [Route("/go/{token}", go, methods=["GET"]),
            Route("/read/{token}/_seen", seen, methods=["GET", "POST"]),
            Route("/read/{token}/_seen.js", script, methods=["GET"])]


def _reader(service: "Service", readings: Readings, token: str) -> int | None:
    """The subscriber a read link (the download token) belongs to."""
    try:
        ident = service.tokens.read_download(token, service.guide, service.settings.download_days)
    except TokenRefused:
        return None
    return readings.subscriber(service.guide, ident)


def count_download(service: "Service", address_id: str, headers) -> None:
    """A PDF download through the signed link, counted once a day (not with GPC or DNT)."""
    if not_tracked(headers):
        return
    readings = Readings(service.settings.database)
    subscriber = readings.subscriber(service.guide, address_id)
    if subscriber is not None:
        readings.count(service.guide, subscriber, "download")


def personal_cta(service: "Service"):
    """``address_id → the subscriber's /go/ link for the CTA`` (None before they signed up)."""
    return cta_links(service.config, service.settings.database, service.base_url,
                     service.secrets.secret)


def cta_links(config, database, base_url: str, secret: str):
    """``personal_cta`` for what ``email send`` knows of the service (signup.hooks)."""
    if not config.cta:
        return None
    return go_links_for(config, Readings(database).subscriber, base_url, secret)


def go_links_for(config, subscriber_of, base_url: str, secret: str):
    """``address_id → /go/ link`` with ``subscriber_of(guide, address_id) → id or None`` (the
    database's, or a remote worker's ledger); None when the guide has no CTA."""
    if not config.cta:
        return None
    target = config.cta.url
    links = GoLinks(base_url.rstrip("/"), secret, guide_key(config))

    def link(address_id: str) -> str | None:
        subscriber = subscriber_of(links.guide, address_id)
        return links.make(subscriber, target) if subscriber is not None else None
    return link
