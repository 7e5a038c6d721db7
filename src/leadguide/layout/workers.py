"""The processes that lay out a guide's parts (incremental.py): at most one per core.

The first is started before the guide's HTML is made, and parses the stylesheets while it is
(part.parsed_styles), so a one-chapter edit finds a worker ready to lay the chapter out;
the others start when there is more than one part to lay out at once. Each worker is a plain
process talking over a pipe: no thread runs in the build, so forking a worker later is safe.
"""
from __future__ import annotations

import ctypes
import gc
import multiprocessing
import os
import pickle
import signal
import threading
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import RenderError
from ..lifetime import die_with_parent

if TYPE_CHECKING:
    from .parts import PartJob, PartLayout

Styles = tuple[tuple[Path, ...], tuple[Path, ...], dict[Path, Path]]


class WorkerDied(RenderError):
    """A layout process ended without an answer (killed, or out of memory)."""


@dataclass
class Task:
    job: PartJob
    priority: float = 0.0  # the higher, the sooner a worker takes it
    result: PartLayout | None = None
    error: BaseException | None = None
    done: bool = False

    def value(self) -> PartLayout:
        if self.error is not None:
            raise self.error
        assert self.result is not None
        return self.result


@dataclass
class _Worker:
    process: multiprocessing.process.BaseProcess
    conn: Connection
    task: Task | None = None


@dataclass
class PartWorkers:
    """Lays out parts on up to ``count`` processes (default: one per core), or in this
    process when one is enough. ``styles`` (stylesheets, roots, fallbacks) are parsed in
    each worker as soon as it starts.

    Workers are forked, which is fast (they inherit the imported WeasyPrint, and the parsed
    stylesheets when this process holds them) but unsafe once this process runs threads:
    then they come from a fresh server process, and only when more than one part is to be
    laid out at once. serve's live PDF process holds the stylesheets parsed, so one part is
    laid out there without a worker."""

    count: int | None = None
    styles: Styles | None = None
    _workers: list[_Worker] = field(default_factory=list)
    _queue: list[Task] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.count = max(1, self.count or os.cpu_count() or 1)
        if self.count > 1 and threading.active_count() == 1 and not self._styles_here():
            self._start_worker()

    def _styles_here(self) -> bool:
        """This process holds the stylesheets parsed (serve's live PDF process, between
        saves): one part is laid out here at once, more by workers forked with them."""
        if self.styles is None:
            return False
        from .part import styles_parsed

        return styles_parsed(*self.styles)

    def submit(self, jobs: list[PartJob], priorities: list[float] | None = None) -> list[Task]:
        """Start laying out ``jobs``, those of higher ``priorities`` first; their tasks, in
        the same order."""
        tasks = [Task(job, priority) for job, priority in zip(jobs, priorities or [0.0] * len(jobs))]
        if not self._workers and (len(jobs) == 1 or self.count == 1):
            for task in sorted(tasks, key=lambda t: -t.priority):
                _run_here(task)
            return tasks
        self._queue += tasks
        self._queue.sort(key=lambda t: -t.priority)  # stable: equal ones in the order sent
        self._dispatch()
        return tasks

    def wait_any(self, tasks: list[Task]) -> list[Task]:
        """Block until one of ``tasks`` is done; the done ones."""
        # The queue is served before waiting, not after an answer: the caller may have
        # parts to send that the answer let start, ahead of those queued.
        self._dispatch()
        while not any(task.done for task in tasks):
            busy = [worker for worker in self._workers if worker.task is not None]
            for conn in wait([worker.conn for worker in busy]):
                self._receive(next(w for w in busy if w.conn is conn))
            if not any(task.done for task in tasks):
                self._dispatch()
        return [task for task in tasks if task.done]

    def _dispatch(self) -> None:
        idle = [worker for worker in self._workers if worker.task is None]
        while self._queue and (idle or len(self._workers) < self.count):
            worker = idle.pop() if idle else self._start_worker()
            worker.task = self._queue.pop(0)
            worker.conn.send(worker.task.job)

    def _receive(self, worker: _Worker) -> None:
        task, worker.task = worker.task, None
        try:
            ok, value = worker.conn.recv()
        except (EOFError, OSError):
            self._workers.remove(worker)
            worker.process.join(timeout=5)  # its pipe closes before it can be reaped
            ok, value = False, WorkerDied(
                f"a layout process ended (exit code {worker.process.exitcode}) while laying "
                "out a part: was it out of memory? `leadguide build --jobs 1` uses one process")
        task.result, task.error, task.done = (value, None, True) if ok else (None, value, True)

    def _start_worker(self) -> _Worker:
        # Imported before forking, WeasyPrint's pages are shared by the build and its
        # workers (about 12 MB less each than importing it in the worker, measured).
        import weasyprint  # noqa: F401

        method = "fork" if threading.active_count() == 1 else "forkserver"
        context = multiprocessing.get_context(method)
        conn, child = context.Pipe()
        process = context.Process(target=_serve, args=(child, os.getpid(), self.styles),
                                  daemon=True)
        process.start()
        child.close()
        self._workers.append(_Worker(process, conn))
        return self._workers[-1]

    def close(self) -> None:
        for worker in self._workers:
            try:
                worker.conn.send(None)
            except OSError:
                pass
        for worker in self._workers:
            worker.process.join(timeout=5)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join()
            worker.conn.close()
        self._workers.clear()

    def __enter__(self) -> "PartWorkers":
        return self

    def __exit__(self, *_exc) -> None:
        self.close()


def _run_here(task: Task) -> None:
    from .part import lay_out_part

    try:
        task.result = lay_out_part(task.job)
    except Exception as exc:  # raised again by value(), as a worker's would be
        task.error = exc
    task.done = True


def _serve(conn: Connection, build: int, styles: Styles | None) -> None:
    """A worker: parse the stylesheets, then lay out each job sent until None comes."""
    _start(build, styles)
    from .part import lay_out_part

    while (job := conn.recv()) is not None:
        try:
            conn.send((True, lay_out_part(job)))
        except Exception as exc:
            conn.send((False, _sendable(exc)))
        _give_back_memory()


def _give_back_memory() -> None:
    """Return a laid-out part's memory to the system before the next part (glibc keeps freed
    memory otherwise, and a worker's size grows to its largest part's layout)."""
    gc.collect()
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _sendable(exc: Exception) -> Exception:
    """The exception, or its text when it would not survive the pipe."""
    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:
        return RuntimeError(f"{type(exc).__name__}: {exc}")


def _start(build: int, styles: Styles | None) -> None:
    """A worker names its temporary folders after the build (litter.py) and ends when the
    build does, even when the build is killed (Linux). A forked worker leaves what it
    inherited to the garbage collector's permanent generation: collections then do not
    touch, and copy, the pages it shares with the build. Then it parses the stylesheets."""
    from . import litter

    litter.build_pid = build
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the build's to handle
    gc.freeze()
    die_with_parent(None)  # its parent may be a forkserver; a build gone closes the pipe
    if styles is not None:
        from .part import parsed_styles

        try:
            parsed_styles(*styles)
        except Exception:  # unreadable now: the part's own layout reports it
            pass
