"""leadguide serve: the preview over local HTTP, rebuilt on save, open tabs reloading themselves."""
from __future__ import annotations

import json
import mimetypes
import multiprocessing
import os
import re
import signal
import socket
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable
from urllib.parse import parse_qs, unquote, urlsplit

import watchfiles

from ..errors import GuideError
from ..guide.assets import BUILTIN_KITS, BUILTIN_STYLES, BUILTIN_TEMPLATES
from ..html.assemble import GuideHtml
from ..layout.pagebreaks import Layout, Layouter, lay_out_document
from .site import (
    ASSET_SUFFIXES,
    INDEX,
    PAGES_DIR,
    Preview,
    Update,
    newest_edit,
    shown_error,
    unique,
)
from .svgfonts import SvgFonts

GUIDE_URL = "/_guide/"
EVENTS_URL = "/_events"
PDF_URL = "/_pdf"  # the PDF the preview reads its spans from, wherever it is
PDF_QUIET_SECONDS = 0.4  # the live PDF is rebuilt once the saves pause this long
WATCH_STEP_MS = 20  # how long the watcher waits for more events of one save (editors write twice)
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


def watch_paths(preview: Preview) -> list[Path]:
    """The guide (recursively, new folders included), the built-in templates and styles, and
    the folder the PDF is built into."""
    build_dir = preview.pdf.parent
    build_dir.mkdir(parents=True, exist_ok=True)
    return [preview.root, BUILTIN_TEMPLATES, BUILTIN_STYLES, BUILTIN_KITS, build_dir]


def watch(preview: Preview, versions: Versions, stop: threading.Event, log: Log,
          rebuilt: Callable[[], None] | None = None) -> None:
    """Rebuild what each save touches until ``stop`` is set. Bad input never ends it.

    ``rebuilt`` is called after each rebuild, to wake the layout and PDF threads.
    """
    out = str(preview.out)
    default = watchfiles.DefaultFilter()

    def wanted(change: watchfiles.Change, path: str) -> bool:
        return default(change, path) and not path.startswith(out)

    reported = ""
    while not stop.is_set():
        try:
            for changes in watchfiles.watch(*watch_paths(preview), watch_filter=wanted,
                                            step=WATCH_STEP_MS, stop_event=stop,
                                            raise_interrupt=False,
                                            ignore_permission_denied=True):
                _apply(preview, versions, changed_files(changes), log)
                if rebuilt:
                    rebuilt()
        except Exception as exc:  # a watched folder vanished, say: wait and watch again
            if str(exc) != reported:
                reported = str(exc)
                log(f"watcher: {type(exc).__name__}: {exc}; retrying every second")
            stop.wait(1.0)


def changed_files(changes: set[tuple[watchfiles.Change, str]]) -> set[Path]:
    """The changed paths, and every file inside a folder that was just created.

    A file saved into a new folder (a guide's first ``styles/``) can land before the watcher
    has begun watching that folder, so its own event never comes: the folder's does.
    """
    changed = set()
    for change, name in changes:
        path = Path(name)
        changed.add(path)
        if change == watchfiles.Change.added and path.is_dir() and not path.is_symlink():
            changed.update(p for p in path.rglob("*") if p.is_file())
    return changed


def _apply(preview: Preview, versions: Versions, changed: set[Path], log: Log) -> None:
    try:
        update = preview.update(changed)
    except Exception as exc:  # never expected; the server must outlive it anyway
        log(f"preview failed: {type(exc).__name__}: {exc}")
        return
    if update.pages:
        versions.bump(update.pages, update.reload)
        log(describe(update, preview.root))


class WorkerProcess:
    """Runs a function in a process of its own: WeasyPrint layouts and PDF builds.

    They take 0.1 s to seconds of pure Python; in the server's process they would hold the GIL
    and slow down the rebuild of the next save and the answers to the browser.
    """

    def __init__(self) -> None:
        self._pool = self._start()

    @staticmethod
    def _start() -> ProcessPoolExecutor:
        # Forked before the server starts its threads (nothing to copy in a half-held lock),
        # and not spawned: that would run ``python -m leadguide`` again in the child.
        pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("fork"),
                                   initializer=_layout_worker, initargs=(os.getpid(),))
        pool.submit(int).result()
        return pool

    def run(self, function: Callable, *args: object) -> object:
        try:
            return self._pool.submit(function, *args).result()
        except BrokenProcessPool:  # the worker died (out of memory, killed): start another
            self._pool = self._start()
            return self._pool.submit(function, *args).result()

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


class LayoutProcess(WorkerProcess):
    """Lays chapters out in a process of its own (a Layouter)."""

    def __call__(self, document: GuideHtml, roots: tuple[Path, ...], source: Path) -> Layout:
        return self.run(lay_out_document, document, roots, source)  # type: ignore[return-value]


class PdfProcess(WorkerProcess):
    """Builds the live PDF (a draft) in a process of its own; returns what stopped it, if
    anything."""

    def __call__(self, guide_dir: Path, target: Path) -> str:
        return self.run(build_live_pdf, guide_dir, target)  # type: ignore[return-value]


def build_live_pdf(guide_dir: Path, target: Path) -> str:
    """A draft build into ``target``: over-budget chapters and warnings do not stop it."""
    from ..build import build

    try:
        build(guide_dir, out=target, draft=True)
    except GuideError as error:
        return shown_error(error, Path(guide_dir).resolve())
    except Exception as error:  # a bug must not end the live PDF for good
        return f"{type(error).__name__}: {error}"
    return ""


def _layout_worker(server: int) -> None:
    """In the layout process: leave Ctrl+C to the server, and end when the server ends.

    A forked worker keeps both ends of its task pipe, so it would never see the server go if
    the server is killed; it looks for its parent instead.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def end_with_server() -> None:
        while os.getppid() == server:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=end_with_server, daemon=True).start()


def lay_out(preview: Preview, versions: Versions, stop: threading.Event, log: Log,
            wake: threading.Event, layouter: Layouter = lay_out_document) -> None:
    """Mark the print page breaks of each rebuilt chapter, the latest edit first.

    Laying out takes 0.1–1 s a chapter, so it runs after the HTML is up, and the page
    reloads once more with its markers.
    """
    while not stop.is_set():
        wake.wait(1.0)
        wake.clear()
        while not stop.is_set() and (name := preview.next_layout()):
            started = time.perf_counter()
            try:
                pages = preview.lay_out(name, layouter)
            except Exception as exc:  # never expected; the markers can wait for the next save
                log(f"layout of {name} failed: {type(exc).__name__}: {exc}")
                continue
            if pages:
                versions.bump(pages)
                state = preview.states.get(name)
                layout = state.layout if state else None
                if layout:
                    log(f"  {name} lays out to {layout.pages} page{'s' * (layout.pages > 1)} "
                        f"({(time.perf_counter() - started) * 1000:.0f} ms)")


def keep_pdf(preview: Preview, versions: Versions, stop: threading.Event, log: Log,
             wake: threading.Event, builder: Callable[[Path, Path], str]) -> None:
    """Rebuild the live PDF once the saves pause, and reload the tabs with its pages.

    A save during a build wakes the next one: the PDF catches up with the last save.
    """
    reported = ""
    while not stop.is_set():
        if not wake.wait(1.0):
            continue
        wake.clear()
        while wake.wait(PDF_QUIET_SECONDS) and not stop.is_set():  # more saves coming
            wake.clear()
        if stop.is_set() or not pdf_stale(preview):
            continue
        preview.pdf_state.building = True
        started = time.perf_counter()
        error = builder(preview.guide_dir, preview.pdf)
        preview.pdf_state.building, preview.pdf_state.error = False, error
        update = preview.pdf_changed()
        versions.bump(update.pages)
        if error and error != reported:
            log(f"  live PDF not rebuilt: {error}")
        elif not error:
            pages = preview.last_build.pages if preview.last_build else 0
            log(f"  live PDF rebuilt: {pages} pages ({time.perf_counter() - started:.1f} s)")
        reported = error


def pdf_stale(preview: Preview) -> bool:
    """The live PDF is missing or older than a file it is made from."""
    try:
        built = preview.pdf.stat().st_mtime
    except OSError:
        return True
    return newest_edit(preview.root, built, preview.out) is not None


def describe(update: Update, root: Path) -> str:
    """One line per rebuild for the terminal, then one per distinct problem."""
    pages = update.pages if len(update.pages) <= 3 else [f"{len(update.pages)} pages"]
    line = f"{update.cause or 'rebuilt'} → {', '.join(pages)} ({update.seconds * 1000:.0f} ms)"
    return "\n".join([line, *(f"  error: {shown_error(e, root)}"
                              for e in unique(update.errors))])


def serve(guide_dir: Path | str, out: Path | str, host: str = "127.0.0.1", port: int = 8000,
          pdf: Path | str | None = None, log: Log = print,
          ready: Callable[[str], None] | None = None) -> None:
    """Build the preview, then serve and rebuild it until interrupted (Ctrl+C)."""
    if not Path(guide_dir).is_dir():
        raise ServeError(f"guide folder not found: {guide_dir}", Path(guide_dir))
    preview = Preview(guide_dir, out, pdf, live=pdf is None)
    # The worker processes first: before the server's socket and threads exist.
    layouter = LayoutProcess()
    builder = PdfProcess() if preview.live else None
    try:
        server = PreviewServer(preview, host, port, log)  # a taken port fails at once
    except ServeError:
        for process in (layouter, builder):
            if process:
                process.close()
        raise
    log(describe(preview.build_all(), preview.root))
    stop, laid_out, pdf_due = threading.Event(), threading.Event(), threading.Event()
    laid_out.set()  # lay out every chapter of the first build
    pdf_due.set()  # and bring the live PDF up to date

    def rebuilt() -> None:
        laid_out.set()
        pdf_due.set()

    workers = [threading.Thread(target=watch, args=(preview, server.versions, stop, log, rebuilt),
                                name="leadguide-watch", daemon=True),
               threading.Thread(target=lay_out, args=(preview, server.versions, stop, log,
                                                      laid_out, layouter),
                                name="leadguide-layout", daemon=True)]
    if builder:
        workers.append(threading.Thread(target=keep_pdf, args=(
            preview, server.versions, stop, log, pdf_due, builder), name="leadguide-pdf",
            daemon=True))
    for worker in workers:
        worker.start()
    log(f"Serving {preview.guide_dir} at {server.url} (Ctrl+C to stop)")
    if ready:
        ready(server.url)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        server.server_close()
        for worker in workers:
            worker.join(timeout=2)
        for process in (layouter, builder):
            if process:
                process.close()


__all__ = ["PreviewServer", "ServeError", "Versions", "route", "serve", "watch"]
