"""The service's parts, opened once from a guide folder and the environment: what the app,
the workers and the commands share."""
from __future__ import annotations

import logging
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping

from ..build import Progress
from ..email.dkim import dkim_signer
from ..email.message import Attachment, ensure_pdf, guide_key, prepare_attachment
from ..email.personal import personal_copies
from ..email.send import RetryPolicy, SmtpTransport, Transport
from ..email.settings import EmailSettings, load_email_settings, smtp_settings
from ..errors import ConfigError, shown_path
from ..guide.config import GuideConfig, load_config
from .errors import SignupError
from .ledger import Complaints, Ledger, SendRate, import_redis_ledger, worker_name
from .queue import Queue, make_huey
from .reading import Edition
from .readroutes import personal_cta
from .sequence import load_sequence
from .settings import (Secrets, SignupSettings, load_signup_settings, postal_address_problem,
                       read_secrets)
from .store import WEB_WAIT, Payload, Store
from .tasks import Links, Mailer
from .tokens import Tokens
from .webhooks import load_webhooks

LEASE = 120.0  # seconds a claim is honoured when its worker cannot be checked (another host)
log = logging.getLogger("leadguide.signup")
_complaints = Complaints()


@dataclass
class Service:
    config: GuideConfig
    settings: SignupSettings
    email: EmailSettings
    secrets: Secrets
    tokens: Tokens
    store: Store
    ledger: Ledger
    queue: Queue
    pdf: Path
    base_url: str
    dev: bool = False

    @property
    def guide(self) -> str:
        return guide_key(self.config)

    @property
    def links(self) -> Links:
        return Links(self.base_url, self.tokens, self.guide, Edition(self.pdf).exists,
                     personal_cta(self))

    def record(self, payloads: list[Payload]) -> None:
        """Put on the queue the emails a committed signup or confirmation owes (their ledger
        rows are already written, in that transaction). A queue that cannot take a job (Redis
        down) loses nothing: the sweep queues it once it can."""
        for payload in payloads:
            try:
                self.queue.enqueue(payload)
            except Exception as exc:  # noqa: BLE001 - whatever the queue's storage raised
                _complaints.say(f"cannot put a job on the queue ({type(exc).__name__}: {exc}); "
                                "the signup is saved and the workers' sweep will queue it")

    def suppress(self, ident: str, address: str, reason: str, source: str) -> bool:
        return self.store.suppress(ident, address, reason, source)

    def close(self) -> None:
        self.store.close()
        self.ledger.close()


def open_service(guide_dir: Path | str, dev: bool = False, base_url: str | None = None,
                 web: bool = False,
                 env: Mapping[str, str] | None = None, pdf: Path | None = None,
                 progress: Progress | None = None) -> Service:
    """Load and check everything the service needs; raise a GuideError before listening."""
    env = os.environ if env is None else env
    config = load_config(guide_dir)
    settings, email = load_signup_settings(config), load_email_settings(config)
    check_postal_address(config, email)
    secrets = read_secrets(dev, env)
    base = base_url or settings.base_url
    if not base:
        raise ConfigError("'signup.base_url' is required: the public address the links in "
                          "each email point to (e.g. https://guide.example.com)",
                          shown_path(config.config_path))
    load_sequence(config)  # its emails checked before the service starts
    load_webhooks(config, env)  # and the webhooks' addresses and secret
    pdf_path, _ = ensure_pdf(config, pdf, progress)
    store = Store(settings.database, WEB_WAIT)  # a person waits: 503 sooner
    ledger = Ledger(Store(settings.database),
                    SendRate(settings.send_per_second, settings.send_per_day))
    if secrets.queue_url:
        _import_redis_ledger(secrets.queue_url, f"leadguide:{guide_key(config)}", ledger.store)
    huey = _open_queue(config, settings, secrets, web)
    queue = Queue(huey, ledger, lease_seconds(env))
    return Service(config, settings, email, secrets, Tokens(secrets.secret), store, ledger,
                   queue, pdf_path, base.rstrip("/"), dev)


def _open_queue(config: GuideConfig, settings: SignupSettings, secrets: Secrets, web: bool):
    try:
        return make_huey(f"leadguide-{guide_key(config)}", settings, secrets, web)
    except (sqlite3.Error, OSError) as error:
        raise SignupError(f"cannot open the job queue: {error}. Move the file aside to start "
                          "with an empty one: the sweep at start queues again every email "
                          "the ledger says is owed", settings.queue_path) from None


def _import_redis_ledger(url: str, prefix: str, store: Store) -> None:
    try:
        added = import_redis_ledger(url, prefix, store)
    except Exception as exc:  # noqa: BLE001 - Redis down: the next start tries again
        log.warning("could not look for an older version's ledger in Redis: %s", exc)
        return
    if added:
        log.warning("moved %d delivery records from Redis into the signup database", added)


def lease_seconds(env: Mapping[str, str] | None = None) -> float:
    """LEASE, or LEADGUIDE_LEASE_SECONDS (the tests' shorter leases)."""
    env = os.environ if env is None else env
    try:
        return max(0.5, float(env.get("LEADGUIDE_LEASE_SECONDS", LEASE)))
    except ValueError:
        return LEASE


def check_postal_address(config: GuideConfig, email: EmailSettings) -> None:
    problem = postal_address_problem(email.postal_address)
    if problem:
        line = config.email.line_of("postal_address") if config.email else None
        raise ConfigError(f"'email.postal_address' {problem}: the law in many countries "
                          "(CAN-SPAM in the US) requires a full postal address in every "
                          "marketing email, e.g. \"Clinic · 100 Main Street · Springfield, "
                          "IL 62701 · USA\"", shown_path(config.config_path), line)


def make_mailer(service: Service, connect: Callable[[], Transport] | None = None,
                retry: RetryPolicy | None = None, env: Mapping[str, str] | None = None) -> Mailer:
    """The worker side: the PDF within the size budget, SMTP from the environment, DKIM."""
    return assemble_mailer(service.config, service.email, service.settings, service.links,
                           service.pdf, service.ledger, service.queue, connect, retry, env)


def assemble_mailer(config: GuideConfig, email: EmailSettings, settings: SignupSettings,
                    links: Links, pdf: Path, ledger, queue: Queue,
                    connect: Callable[[], Transport] | None = None,
                    retry: RetryPolicy | None = None,
                    env: Mapping[str, str] | None = None) -> Mailer:
    """A worker's Mailer over ``ledger`` (the database's, or a RemoteLedger), its job bound
    to ``queue``."""
    env = os.environ if env is None else env
    if connect is None:
        smtp = smtp_settings(env)
        connect = lambda: SmtpTransport(smtp)  # noqa: E731
    attachment: Attachment | None = prepare_attachment(config, email, pdf)
    if attachment and attachment.warning:  # e.g. too large: it goes as a link (email.delivery)
        log.warning("%s", attachment.warning)
    mailer = Mailer(config, email, settings, links, attachment, ledger, connect,
                    queue.schedule, worker_name(),
                    retry=retry or RetryPolicy(attempts=settings.max_attempts,
                                               first_delay=30, max_delay=3600),
                    lease=queue.lease, sign=dkim_signer(env, email),
                    steps=load_sequence(config), personal=personal_copies(config, attachment))
    queue.bind(mailer.deliver)
    return mailer


def bind_web_only(service: Service) -> None:
    """The web side without a worker still registers the jobs it queues (same names)."""
    service.queue.bind(lambda payload: None)
