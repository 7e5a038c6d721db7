"""The preview over local HTTP: routes to pages, page images, the guide's assets and the live PDF,
and the event stream that tells an open tab its page changed.
"""
from __future__ import annotations

import json
import mimetypes
import re
import socket
import sys
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable
from urllib.parse import parse_qs, unquote, urlsplit

from ..errors import GuideError
from .paths import ASSET_SUFFIXES, INDEX, PAGES_DIR
from .plan import describe
from .site import Preview
from .svgfonts import SvgFonts

GUIDE_URL = "/_guide/"
EVENTS_URL = "/_events"
PDF_URL = "/_pdf"  # the PDF the preview reads its spans from, wherever it is
PING_SECONDS = 15.0
_PAGE_IMAGE = re.compile(rf"^{PAGES_DIR}/p(\d{{1,4}})\.png$")
_LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}
Log = Callable[[str], None]
# Injected into every HTML page served (not into the files): waits for this page to change,
# then swaps the new body in (stylesheets and fonts stay loaded: a full reload took most of the
# time from save to text on screen), or reloads when the page's <head> changed. The place is
# kept relative to the page's content, so an error banner that comes or goes above it does
# not move the text the writer was reading.
LIVE_SCRIPT = """<script>
(function () {
  var page = %(page)s, version = %(version)d, key = "leadguide-scroll:" + page;
  function contentTop() {
    var frame = document.querySelector(".preview-frame");
    return frame ? frame.getBoundingClientRect().top + scrollY : 0;
  }
  function headKey(head) {
    return Array.prototype.filter.call(head.children, function (e) { return e.tagName !== "TITLE"; })
      .map(function (e) { return e.outerHTML; }).join("");
  }
  var saved = sessionStorage.getItem(key);
  if (saved !== null) {
    sessionStorage.removeItem(key);
    if ("scrollRestoration" in history) history.scrollRestoration = "manual";
    var restore = function () { scrollTo(0, contentTop() + Number(saved)); };
    if (document.readyState === "loading") addEventListener("DOMContentLoaded", restore);
    else restore();
    addEventListener("load", restore);
  }
  function reload() { location.reload(); }
  function swap(text) {
    var fresh = new DOMParser().parseFromString(text, "text/html");
    if (headKey(fresh.head) !== headKey(document.head)) return reload();
    document.title = fresh.title;
    document.body.replaceWith(document.adoptNode(fresh.body));
    // Scripts parsed by DOMParser do not run: run each one again, in order (this one too,
    // which then listens for the next change with the page's new version).
    Array.prototype.forEach.call(document.body.querySelectorAll("script"), function (old) {
      var script = document.createElement("script");
      Array.prototype.forEach.call(old.attributes, function (a) { script.setAttribute(a.name, a.value); });
      script.textContent = old.textContent;
      old.replaceWith(script);
    });
  }
  var events = new EventSource("%(events)s?page=" + encodeURIComponent(page) + "&v=" + version);
  events.addEventListener("reload", function (event) {
    events.close();
    sessionStorage.setItem(key, String(scrollY - contentTop()));
    if (JSON.parse(event.data || "{}").full) return reload();
    fetch(location.href, {cache: "no-store"}).then(function (answer) {
      return answer.ok ? answer.text().then(swap) : reload();
    }).catch(reload);
  });
})();
</script>
"""


class ServeError(GuideError):
    """The server cannot start (the port is taken, the address is wrong)."""


class Versions:
    """A counter per preview page; a browser tab waits for its page's counter to move on."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._versions: dict[str, int] = {}
        self._reloaded: dict[str, int] = {}  # the last version that needs a full reload
        self.stopping = False

    def get(self, page: str) -> int:
        with self._changed:
            return self._versions.get(page, 0)

    def bump(self, pages: list[str], reload: bool = False) -> None:
        with self._changed:
            for page in pages:
                self._versions[page] = self._versions.get(page, 0) + 1
                if reload:
                    self._reloaded[page] = self._versions[page]
            self._changed.notify_all()

    def needs_reload(self, page: str, seen: int) -> bool:
        """Whether a change since version ``seen`` needs the whole page loaded again."""
        with self._changed:
            return self._reloaded.get(page, 0) > seen

    def wait(self, page: str, seen: int, timeout: float) -> bool:
        """True once ``page`` differs from version ``seen``; False after ``timeout``."""
        with self._changed:
            return self._changed.wait_for(
                lambda: self.stopping or self._versions.get(page, 0) != seen, timeout) \
                and not self.stopping

    def stop(self) -> None:
        with self._changed:
            self.stopping = True
            self._changed.notify_all()


@dataclass(frozen=True)
class Route:
    """What a request path asks for: a file, an event stream, or a PDF page image."""

    kind: str  # "file" | "events" | "page-image" | "pdf"
    path: Path | None = None
    page: str = ""
    number: int = 0


def route(raw: str, out: Path, guide_root: Path) -> Route | None:
    """Map a request target to what may be served; None (404) for anything else.

    Only the preview output and the guide's images and fonts are served. A path with a ``..``
    or ``.`` segment, a backslash, a hidden file, or one that resolves (through a symlink)
    outside those folders, is refused before the file system is asked.
    """
    parts = urlsplit(raw)
    if parts.scheme or parts.netloc or not parts.path.startswith("/"):
        return None
    path = unquote(parts.path)
    segments = path[1:].split("/")
    if path.startswith("//") or "\\" in path or "\x00" in path or any(
            s in (".", "..") or s.startswith(".") for s in segments):
        return None
    relative = "/".join(segments)
    if path == EVENTS_URL:
        return Route("events")
    if path == PDF_URL:
        return Route("pdf")
    if path.startswith(GUIDE_URL):
        return _file(guide_root, relative[len(GUIDE_URL) - 1:], assets_only=True)
    if match := _PAGE_IMAGE.match(relative):
        return Route("page-image", page=relative, number=int(match.group(1)))
    return _file(out, relative or INDEX)


def _file(root: Path, relative: str, assets_only: bool = False) -> Route | None:
    if not relative or (assets_only and Path(relative).suffix.lower() not in ASSET_SUFFIXES):
        return None
    if assets_only and relative.split("/")[0] in ("styles", "templates"):
        return None
    real = (root / relative).resolve()
    if not real.is_relative_to(root.resolve()) or not real.is_file():
        return None
    return Route("file", real, page=relative)


class PreviewServer(ThreadingHTTPServer):
    """Serves the preview folder, the guide's assets and the reload events."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, preview: Preview, host: str = "127.0.0.1", port: int = 8000,
                 log: Log = print):
        self.preview, self.versions, self.log = preview, Versions(), log
        self.svgs = SvgFonts(preview.out / "styles")
        self.host = host
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        try:
            super().__init__((host, port), _Handler)
        except OSError as exc:
            raise ServeError(f"cannot listen on {host}:{port}: {exc.strerror or exc}"
                             + (" (pick another with --port)" if port else "")) from None

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        shown = f"[{host}]" if ":" in str(host) else host
        return f"http://{shown}:{port}/"

    def rebuild(self, cause: str) -> None:
        """Write the whole preview again and reload every tab."""
        update = self.preview.build_all(cause)
        self.versions.bump(update.pages, reload=True)
        self.log(describe(update, self.preview.root))

    def handle_error(self, request: object, client_address: object) -> None:
        """A browser that hangs up early is normal; anything else is logged in one line."""
        error = sys.exc_info()[1]
        if not isinstance(error, ConnectionError):
            self.log(f"serve: {type(error).__name__}: {error}")

    def server_close(self) -> None:
        self.versions.stop()
        super().server_close()


class _Handler(BaseHTTPRequestHandler):
    server: PreviewServer
    server_version = "leadguide"

    def do_GET(self) -> None:
        self._answer(send_body=True)

    def do_HEAD(self) -> None:
        self._answer(send_body=False)

    def log_message(self, format: str, *args: object) -> None:
        pass  # the author wants rebuilds and errors in the terminal, not every request

    def _answer(self, send_body: bool) -> None:
        try:
            self._route(send_body)
        except ConnectionError:  # the browser went away mid-answer: nothing to tell anyone
            pass

    def _route(self, send_body: bool) -> None:
        preview = self.server.preview
        if not (preview.out / INDEX).is_file():  # the preview folder was deleted: write it again
            self.server.rebuild("the preview folder was deleted")
        target = route(self.path, preview.out, preview.root) if self._host_allowed() else None
        if target is None and preview.config is None and self._host_allowed() and \
                urlsplit(self.path).path.endswith(".html"):
            target = route("/", preview.out, preview.root)  # only the error page to show
        if target is None:
            return self._send(404, b"Not found\n", "text/plain; charset=utf-8", send_body)
        if target.kind == "events":
            return self._events()
        if target.kind == "pdf":
            target = Route("file", preview.pdf, "pdf")
        if target.kind == "page-image":
            image = preview.page_image(target.number)
            if image is None:
                return self._send(404, b"No such page in the last PDF\n",
                                  "text/plain; charset=utf-8", send_body)
            target = Route("file", image, target.page)
        assert target.path is not None
        try:
            if target.path.suffix == ".html":
                body, kind = self._page(target), "text/html; charset=utf-8"
            elif target.path.suffix == ".svg":
                body, kind = self.server.svgs.get(target.path), "image/svg+xml"
            else:
                body = target.path.read_bytes()
                kind = mimetypes.guess_type(target.path.name)[0] or "application/octet-stream"
        except OSError:
            return self._send(404, b"Not found\n", "text/plain; charset=utf-8", send_body)
        self._send(200, body, kind, send_body)

    def _host_allowed(self) -> bool:
        """Against DNS rebinding: on a loopback address, answer only to loopback names."""
        if self.server.host not in _LOOPBACK:
            return True
        host = (self.headers.get("Host") or "").strip().lower()
        if not host:
            return True
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        return name in _LOOPBACK

    def _page(self, target: Route) -> bytes:
        """The HTML file, pointed at the guide's assets over HTTP and listening for changes."""
        preview, page = self.server.preview, target.page
        version = self.server.versions.get(page)  # before reading: a newer file only reloads
        text = target.path.read_text(encoding="utf-8")
        text = text.replace(f'="{preview.guide_prefix}', f'="{GUIDE_URL}')
        text = text.replace(f'href="{preview.pdf_href}?', f'href="{PDF_URL}?')
        script = LIVE_SCRIPT % {"page": json.dumps(page), "version": version,
                                "events": EVENTS_URL}
        at = text.rfind("</body>")
        text = text[:at] + script + text[at:] if at >= 0 else text + script
        return text.encode("utf-8")

    def _send(self, status: int, body: bytes, kind: str, send_body: bool) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-cache")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        if send_body:
            self.wfile.write(body)

    def _events(self) -> None:
        query = parse_qs(urlsplit(self.path).query)
        page = (query.get("page") or [INDEX])[0].lstrip("/") or INDEX
        try:
            seen = int((query.get("v") or ["0"])[0])
        except ValueError:
            seen = 0
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        versions = self.server.versions
        try:
            self.wfile.write(b"retry: 1000\n\n")
            self.wfile.flush()
            while not versions.stopping:
                if versions.wait(page, seen, PING_SECONDS):
                    full = json.dumps({"full": versions.needs_reload(page, seen)})
                    self.wfile.write(f"event: reload\ndata: {full}\n\n".encode())
                    self.wfile.flush()
                    return
                self.wfile.write(b": ping\n\n")  # finds tabs that closed
                self.wfile.flush()
        except ConnectionError:
            return
