"""Running the service: the web app on uvicorn, and the workers in processes of their own.

The web process never delivers: it saves signups and queues their jobs. ``signup serve`` with
the built-in SQLite queue (one command) starts ``signup worker`` as its child process, restarts
it if it dies, and stops it (gracefully: Huey's SIGINT lets its jobs finish) when it stops; the
child also gets SIGTERM if the web process is killed (Linux's parent-death signal). With Redis,
the workers are started apart (``signup worker``); with ``signup.remote_workers`` and no worker
of its own, the web process runs the sweep itself (workers on other machines run none).
"""
from __future__ import annotations

import functools
import logging
import os
import signal
import subprocess
import sys
import threading
from typing import Callable

import uvicorn

from ..lifetime import die_with_parent
from . import logs
from .app import create_app
from .connections import (BACKLOG, ConnectionLimits, connection_cap, limited_protocol,
                          raise_file_limit)
from .ledger import worker_name
from .periodic import periodic_work
from .queue import Sweeper, quiet_huey, run_consumer, sweep_seconds
from .sequence import load_sequence
from .service import Service, bind_web_only, make_mailer

log = logging.getLogger("leadguide.signup")


def uvicorn_config(service: Service, host: str, port: int) -> uvicorn.Config:
    settings = service.settings
    limits = ConnectionLimits(connection_cap(settings.max_connections, raise_file_limit()),
                              settings.header_timeout_seconds, settings.body_timeout_seconds)
    # log_config=None: uvicorn's records go to the one rate-limited handler (logs.install).
    # proxy_headers=False: the app reads X-Forwarded-For itself (identity.client_ip).
    return uvicorn.Config(create_app(service), host=host, port=port, log_level="warning",
                          http=limited_protocol(limits), proxy_headers=False,
                          server_header=False, access_log=False, log_config=None,
                          timeout_keep_alive=5, backlog=BACKLOG)


def serve(service: Service, host: str, port: int, workers: int,
          ready: Callable[[str], None] = lambda url: None) -> None:
    """Serve until Ctrl-C or SIGTERM; ``workers`` threads in a worker process of its own
    (0: none, for separate ``signup worker`` processes)."""
    logs.install()
    quiet_huey()
    bind_web_only(service)
    child = WorkerProcess(service, workers) if workers else None
    sweeper = None
    if child is None and service.settings.remote_workers:
        # Workers elsewhere run no sweep: the database's machine does (one at a time, by the
        # lock), even when no worker runs here.
        sweeper = Sweeper(service.queue, worker_name(), service.settings.alert_after_seconds,
                          sweep_seconds(), sweep_seconds(),
                          periodic_work(service, load_sequence(service.config)))
    server = uvicorn.Server(uvicorn_config(service, host, port))
    original = server.startup

    async def startup(sockets=None) -> None:
        await original(sockets)
        bound = server.servers[0].sockets[0].getsockname() if server.servers else (host, port)
        ready(f"http://{host}:{bound[1]}/")
    server.startup = startup
    try:
        if child:
            child.start()
        if sweeper:
            sweeper.start()
        server.run()
    finally:
        if child:
            child.stop()
        if sweeper:
            sweeper.stop()
        service.close()


class WorkerProcess:
    """``leadguide signup worker`` as a child of the web process, kept running."""

    def __init__(self, service: Service, threads: int):
        self.args = [sys.executable, "-m", "leadguide", "signup", "worker",
                     str(service.config.root), "--workers", str(threads),
                     "--base-url", service.base_url]
        if service.dev:
            self.args.append("--dev")
        # A --dev throwaway secret must sign the worker's links too (never on the command line).
        self.env = {**os.environ, "LEADGUIDE_SECRET": service.secrets.secret}
        self.proc: subprocess.Popen | None = None
        self._stopping = threading.Event()
        self._watcher = threading.Thread(target=self._watch, name="leadguide-worker-watch",
                                         daemon=True)

    def start(self) -> None:
        self._spawn()
        self._watcher.start()

    def _spawn(self) -> None:
        # In the child: SIGTERM when the web process dies, however it dies (Linux only).
        self.proc = subprocess.Popen(self.args, env=self.env, preexec_fn=functools.partial(
            die_with_parent, os.getpid(), signal.SIGTERM))

    def _watch(self) -> None:
        delay = 1.0
        while not self._stopping.is_set():
            code = self.proc.wait()
            if self._stopping.is_set():
                return
            log.warning("the worker process stopped (exit code %s); starting it again in "
                        "%g s", code, delay)
            if self._stopping.wait(delay):
                return
            delay = min(delay * 2, 30.0)
            self._spawn()

    def stop(self, wait: float = 30.0) -> None:
        self._stopping.set()
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGINT)  # Huey: finish the jobs in hand, then stop
        try:
            self.proc.wait(wait)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


WORKER_NICENESS = 10  # below the web process: a burst of sending never slows the form


def work(service: Service, workers: int, ready: Callable[[], None] = lambda: None) -> None:
    """``leadguide signup worker``: deliver queued emails until stopped, at a lower CPU
    priority than the web process (on a shared machine the form answers first). ``ready``:
    called once the mailer is built, as the consumer starts."""
    logs.install()
    logging.getLogger("huey").setLevel(logging.WARNING)
    try:
        os.nice(WORKER_NICENESS)
    except OSError:
        pass
    mailer = make_mailer(service)
    ready()
    try:
        run_consumer(service.queue, workers, mailer.owner, service.settings.alert_after_seconds,
                     periodic_work(service, mailer.steps))
    finally:
        mailer.close()
        service.close()
