"""The job queue (Huey): SQLite storage by default, Redis when LEADGUIDE_QUEUE_URL says so.

Two jobs: ``deliver`` (one email, see tasks.py) and a sweep, every minute and when a worker
starts, that queues again whatever the ledger says is owed but may have lost its job (a worker
killed mid-job, a crash between the signup and its job). A job queued twice is harmless: the
ledger lets only one of them send.
"""
from __future__ import annotations

import logging
import signal
import threading
from dataclasses import dataclass
from typing import Callable

from huey import Huey, RedisHuey, SqliteHuey, crontab

from .ledger import Ledger
from .settings import Secrets, SignupSettings
from .store import Payload

_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
SWEEP_GRACE = 60.0  # seconds a queued job may wait before the sweep queues it again


def make_huey(name: str, settings: SignupSettings, secrets: Secrets) -> Huey:
    if secrets.queue_url:
        return RedisHuey(name, url=secrets.queue_url, results=False)
    settings.queue_path.parent.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(name, filename=str(settings.queue_path), results=False, fsync=True)


@dataclass
class Queue:
    huey: Huey
    ledger: Ledger
    lease: float
    _deliver: Callable | None = None

    def bind(self, deliver: Callable[[Payload], object]) -> None:
        """Register the jobs; the web side and the workers both call this, with the same names."""
        def run(fields: dict[str, str]) -> object:
            return deliver(Payload(**fields))

        self._deliver = self.huey.task(name="leadguide.signup.deliver")(run)
        self.huey.periodic_task(crontab(minute="*"), name="leadguide.signup.sweep")(
            lambda: self.sweep(SWEEP_GRACE))

    def enqueue(self, payload: Payload) -> None:
        self._deliver(payload.as_dict())

    def schedule(self, payload: Payload, delay: float) -> None:
        self._deliver.schedule(args=(payload.as_dict(),), delay=delay)

    def sweep(self, grace: float) -> int:
        owed = self.ledger.due(self.lease, grace)
        for payload in owed:
            self.enqueue(payload)
        return len(owed)


def make_consumer(queue: Queue, workers: int):
    """Huey's consumer, polling an idle SQLite queue every 0.05-0.5 s, so a signup's email
    leaves within a second."""
    return queue.huey.create_consumer(workers=workers, worker_type="thread",
                                      initial_delay=0.05, backoff=1.5, max_delay=0.5,
                                      periodic=True, check_worker_health=True)


def start_consumer(queue: Queue, workers: int):
    """Start the consumer's threads beside the web server; ``stop()`` ends them."""
    queue.sweep(grace=0)
    consumer = make_consumer(queue, workers)
    main = threading.current_thread() is threading.main_thread()
    saved = {sig: signal.getsignal(sig) for sig in _SIGNALS} if main else {}
    try:
        consumer.start()
    except ValueError:  # not the main thread: Huey cannot set its signal handlers there
        pass
    for sig, handler in saved.items():  # the web server handles signals, not Huey
        signal.signal(sig, handler)
    return consumer


def run_consumer(queue: Queue, workers: int) -> None:
    """``leadguide signup worker``: run until SIGINT (finish jobs) or SIGTERM."""
    queue.sweep(grace=0)
    make_consumer(queue, workers).run()


def quiet_huey() -> None:
    """Huey logs every job at INFO; the service reports outcomes through the ledger instead."""
    logging.getLogger("huey").setLevel(logging.WARNING)
