"""A delivery worker on another machine: ``leadguide signup worker GUIDE --ledger-url URL``.

It takes jobs from the shared Redis queue and sends them like any worker (tasks.Mailer), but
claims and records each email through the signup service (remoteledger.RemoteLedger) instead
of the signup database, which it never opens. It needs the guide folder and its built PDF,
LEADGUIDE_SECRET (the service's: the links it signs and the ledger requests), the service's
LEADGUIDE_QUEUE_URL, and SMTP settings. It runs no sweep: that stays with the database's
machine (``signup serve`` / local ``signup worker``), which queues again what a remote worker
left behind (killed mid-send: once the lease has run out).
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping

from ..email.message import ensure_pdf, guide_key
from ..email.send import RetryPolicy, Transport
from ..email.settings import EmailSettings, load_email_settings
from ..errors import ConfigError, shown_path
from ..guide.config import GuideConfig, load_config
from . import logs
from .errors import SignupError
from .queue import Queue, make_consumer, make_huey, quiet_huey
from .reading import Edition
from .readroutes import go_links_for
from .remoteledger import RemoteLedger
from .sequence import load_sequence
from .service import assemble_mailer, check_postal_address, lease_seconds
from .settings import Secrets, SignupSettings, load_signup_settings, read_secrets
from .tasks import Links, Mailer
from .tokens import Tokens

LEDGER_URL_ENV = "LEADGUIDE_LEDGER_URL"
NICENESS = 10  # as a local worker: below anything interactive on a shared machine

log = logging.getLogger("leadguide.signup")


@dataclass
class RemoteWorker:
    config: GuideConfig
    settings: SignupSettings
    email: EmailSettings
    secrets: Secrets
    ledger: RemoteLedger
    queue: Queue
    pdf: Path
    base_url: str

    @property
    def links(self) -> Links:
        secret = self.secrets.secret
        return Links(self.base_url, Tokens(secret), guide_key(self.config),
                     Edition(self.pdf).exists,
                     go_links_for(self.config, self.ledger.subscriber, self.base_url, secret))

    def close(self) -> None:
        self.ledger.close()


def open_remote_worker(guide_dir: Path | str, ledger_url: str, base_url: str | None = None,
                       env: Mapping[str, str] | None = None) -> RemoteWorker:
    """Load and check what a remote worker needs, and ask the service once (a signed hello)
    that it takes this worker: a SignupError says what to fix before any job is taken."""
    env = os.environ if env is None else env
    config = load_config(guide_dir)
    settings, email = load_signup_settings(config), load_email_settings(config)
    check_postal_address(config, email)
    secrets = read_secrets(False, env)
    if not secrets.queue_url:
        raise SignupError("a worker on another machine takes its jobs from the service's Redis "
                          "queue: set LEADGUIDE_QUEUE_URL=redis://... (the same as the "
                          "service's)")
    base = (base_url or settings.base_url or "").rstrip("/")
    if not base:
        raise ConfigError("'signup.base_url' is required: the public address the links in "
                          "each email point to", shown_path(config.config_path))
    load_sequence(config)
    pdf, _ = ensure_pdf(config)
    ledger = RemoteLedger(ledger_url, secrets.secret)
    answer = ledger.hello()
    if answer.get("guide") != guide_key(config):
        raise SignupError(f"the signup service at {ledger.url} serves the guide "
                          f"'{answer.get('guide')}', not '{guide_key(config)}': give this "
                          "worker a copy of the same guide folder")
    if not answer.get("redis"):
        raise SignupError(f"the signup service at {ledger.url} keeps its queue in SQLite on its "
                          "own machine: give it and every worker the same "
                          "LEADGUIDE_QUEUE_URL=redis://...")
    huey = make_huey(f"leadguide-{guide_key(config)}", settings, secrets)
    queue = Queue(huey, ledger, float(answer.get("lease") or lease_seconds(env)))
    return RemoteWorker(config, settings, email, secrets, ledger, queue, pdf, base)


def remote_mailer(worker: RemoteWorker, connect: Callable[[], Transport] | None = None,
                  retry: RetryPolicy | None = None,
                  env: Mapping[str, str] | None = None) -> Mailer:
    return assemble_mailer(worker.config, worker.email, worker.settings, worker.links,
                           worker.pdf, worker.ledger, worker.queue, connect, retry, env)


def work_remote(worker: RemoteWorker, threads: int,
                ready: Callable[[], None] = lambda: None) -> None:
    """Deliver queued emails until SIGINT (finish the jobs in hand) or SIGTERM; no sweep.
    ``ready``: called once the mailer is built, as the consumer starts."""
    logs.install()
    quiet_huey()
    try:
        os.nice(NICENESS)
    except OSError:
        pass
    mailer = remote_mailer(worker)
    ready()
    try:
        make_consumer(worker.queue, threads).run()
    finally:
        mailer.close()
        worker.close()
