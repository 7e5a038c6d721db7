"""The processes that lay out a guide's parts (incremental.py): one per core.

They are started before the guide's HTML is made, and parse the stylesheets while it is
(partpdf.parsed_styles), so a one-chapter edit finds a worker ready to lay the chapter out.
"""
from __future__ import annotations

import ctypes
import gc
import multiprocessing
import os
import signal
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path

from .partpdf import PartJob, lay_out_part, parsed_styles

_PR_SET_PDEATHSIG = 1


class PartWorkers:
    """Lays out parts on ``count`` processes (default: one per core), or in this process
    when one is enough.

    ``styles`` (stylesheets, roots, fallbacks) are parsed in each worker as soon as it
    starts. Workers are forked, which is fast (they inherit the imported WeasyPrint) but
    unsafe once this process runs threads (the preview server): then they are started from a
    fresh server process, and only when more than one part is to be laid out at once.
    """

    def __init__(self, count: int | None = None,
                 styles: tuple[tuple[Path, ...], tuple[Path, ...], dict[Path, Path]] | None = None):
        self.count = max(1, count or os.cpu_count() or 1)
        self.styles = styles
        self._pool: ProcessPoolExecutor | None = None
        if self.count > 1 and threading.active_count() == 1:
            self._start("fork")

    def _start(self, method: str) -> None:
        self._pool = ProcessPoolExecutor(self.count,
                                         mp_context=multiprocessing.get_context(method),
                                         initializer=_start_worker,
                                         initargs=(os.getpid(), self.styles))
        self._pool.submit(int)  # a forking pool starts its workers on the first job

    def submit(self, jobs: list[PartJob]) -> list[Future]:
        """Start laying out ``jobs``; their futures, in the same order."""
        if self._pool is None and (len(jobs) > 1 and self.count > 1):
            self._start("forkserver")
        if self._pool is None:
            return [_done(lay_out_part, job) for job in jobs]
        return [self._pool.submit(lay_out_part, job) for job in jobs]

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def __enter__(self) -> "PartWorkers":
        return self

    def __exit__(self, *_exc) -> None:
        self.close()


def _done(function, job: PartJob) -> Future:
    future: Future = Future()
    try:
        future.set_result(function(job))
    except BaseException as exc:  # raised again by result(), as a worker's would be
        future.set_exception(exc)
    return future


def _start_worker(build: int, styles) -> None:
    """A worker names its temporary folders after the build (litter.py) and ends when the
    build does, even when the build is killed (Linux). A forked worker leaves what it
    inherited to the garbage collector's permanent generation: collections then do not
    touch, and copy, the pages it shares with the build. Then it parses the stylesheets."""
    from . import litter

    litter.build_pid = build
    gc.freeze()
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass
    if styles is not None:
        try:
            parsed_styles(*styles)
        except Exception:  # unreadable now: the part's own layout reports it
            pass

