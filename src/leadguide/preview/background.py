"""What serve runs beside the server, each in its own process: the page breaks of saved chapters
and the live draft PDF.
"""
from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Callable

from ..build import is_stale
from ..errors import GuideError
from ..html.assemble import GuideHtml
from ..layout.pagebreaks import Layout, Layouter, lay_out_document
from ..lifetime import die_with_parent
from .server import Log, Versions
from .site import Preview
from .status import shown_error

# The live PDF is rebuilt once the saves pause this long. The watcher already takes the files
# of one save together (watch.WATCH_STEP_MS); this is for saves in quick succession (an
# editor's autosave, a script writing several files one after the other).
PDF_QUIET_SECONDS = 0.1


class WorkerProcess:
    """Runs a function in a process of its own: WeasyPrint layouts and PDF builds.

    They take 0.1 s to seconds of pure Python; in the server's process they would hold the GIL
    and slow down the rebuild of the next save and the answers to the browser.
    """

    def __init__(self) -> None:
        self._closed = False
        self._pool, self._pid = self._start()

    @staticmethod
    def _start() -> tuple[ProcessPoolExecutor, int]:
        # Forked before the server starts its threads (nothing to copy in a half-held lock),
        # and not spawned: that would run ``python -m leadguide`` again in the child.
        pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("fork"),
                                   initializer=_layout_worker, initargs=(os.getpid(),))
        return pool, pool.submit(os.getpid).result()

    @property
    def pid(self) -> int:
        return self._pid

    def run(self, function: Callable, *args: object) -> object:
        try:
            return self._pool.submit(function, *args).result()
        except BrokenProcessPool:  # the worker died (out of memory, killed): start another
            if self._closed:
                raise
            self._pool, self._pid = self._start()
            return self._pool.submit(function, *args).result()

    def start(self, function: Callable, *args: object) -> None:
        """Run ``function`` without waiting for it (the next ``run`` waits its turn)."""
        try:
            self._pool.submit(function, *args)
        except (BrokenProcessPool, RuntimeError):  # dead or shut down: ``run`` restarts it
            pass

    def close(self) -> None:
        """Stop now: end the worker mid-task. Python's exit waits for a pool's running task,
        and a stale layout took up to 106 s after Ctrl+C."""
        self._closed = True
        self._pool.shutdown(wait=False, cancel_futures=True)
        for child in multiprocessing.active_children():
            if child.pid == self._pid:
                child.terminate()
                child.join(5)


class LayoutProcess(WorkerProcess):
    """Lays chapters out in a process of its own (a Layouter)."""

    def __call__(self, document: GuideHtml, roots: tuple[Path, ...], source: Path) -> Layout:
        return self.run(lay_out_document, document, roots, source)  # type: ignore[return-value]


class PdfProcess(WorkerProcess):
    """Builds the live PDF (a draft) in a process of its own; returns what stopped it, if
    anything."""

    def __call__(self, guide_dir: Path, target: Path) -> str:
        stopped = self.run(build_live_pdf, guide_dir, target)
        self.start(warm_styles, guide_dir)  # while the writer reads: ready for the next save
        return stopped  # type: ignore[return-value]


def build_live_pdf(guide_dir: Path, target: Path) -> str:
    """A draft build into ``target``, finished for the eye (``pdf.live``: its tags are the
    build's to mend and judge): over-budget chapters and warnings do not stop it. It
    shares the cache of the guide's own build folder, so after a `leadguide build` the live
    PDF lays out only what changed since, and the next build reuses the live PDF's parts."""
    from ..build import build, default_output
    from ..guide.config import load_config

    try:
        home = default_output(load_config(guide_dir)).parent
        build(guide_dir, out=target, live=True, cache_home=home, print_edition=False,
              web_edition=False)  # the live PDF alone: the editions are the build's
    except GuideError as error:
        return shown_error(error, Path(guide_dir).resolve())
    except Exception as error:  # a bug must not end the live PDF for good
        return f"{type(error).__name__}: {error}"
    return ""


def warm_styles(guide_dir: Path) -> None:
    """The guide's stylesheets parsed in this process, once while they stay the same: the
    live PDF's part workers are forked from it and start with them
    (``layout.part.parsed_styles``) instead of parsing them again on every save (0.3-0.5 s)."""
    from ..guide.assets import allowed_roots, asset_fallbacks, stylesheets
    from ..guide.config import load_config
    from ..layout.part import parsed_styles

    try:
        config = load_config(guide_dir)
        parsed_styles(stylesheets(config.root, config.kit, config.look),
                      allowed_roots(config.root), asset_fallbacks(config.root))
    except Exception:  # noqa: BLE001 - unreadable now: the next build reports it
        pass


def _layout_worker(server: int) -> None:
    """In the layout process: leave Ctrl+C to the server, and end when the server ends.

    A forked worker keeps both ends of its task pipe, so it would never see the server go if
    the server is killed: the kernel tells it (``lifetime``), or where it cannot, a thread
    looks for the parent. Without that thread the process stays single-threaded, so the
    live PDF's build forks its part workers (a forkserver would start each one as a fresh
    interpreter: 0.5 s more for the first live PDF, measured).
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if die_with_parent(server):
        return

    def end_with_server() -> None:
        while os.getppid() == server:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=end_with_server, daemon=True).start()


FIRST_PDF_FIRST_SECONDS = 30.0  # at most this long do the page breaks wait for it


def lay_out(preview: Preview, versions: Versions, stop: threading.Event, log: Log,
            wake: threading.Event, layouter: Layouter = lay_out_document,
            after: threading.Event | None = None) -> None:
    """Mark the print page breaks of each rebuilt chapter, the latest edit first.

    Laying out takes 0.1–1 s a chapter, so it runs after the HTML is up, and the page
    reloads once more with its markers. With ``after``, it begins once that is set (serve's
    first live PDF: both at once would halve its speed on two cores), or after
    ``FIRST_PDF_FIRST_SECONDS``.
    """
    if after is not None:
        waited = time.monotonic()
        while not (after.wait(0.2) or stop.is_set()
                   or time.monotonic() - waited > FIRST_PDF_FIRST_SECONDS):
            pass
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
             wake: threading.Event, builder: Callable[[Path, Path], str],
             built: Callable[[], None] | None = None) -> None:
    """Rebuild the live PDF once the saves pause, and reload the tabs with its pages;
    ``built`` is called after each look at it (serve's page breaks wait for the first).

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
            if built:
                built()
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
        if built:
            built()


def pdf_stale(preview: Preview) -> bool:
    """The live PDF is missing or not made from the guide's files as they are now (one edited,
    created, deleted or renamed since its build began)."""
    return is_stale(preview.pdf, preview.root)
