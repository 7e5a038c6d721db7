"""The email commands' library side: write one welcome .eml, or plan and run a send."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping

from ..build import Progress
from ..guide.config import GuideConfig, load_config
from .batch import Job, Report, Summary, dry_run, send_batch
from .dkim import dkim_signer
from .errors import EmailError, RecipientError
from .message import (Attachment, PersonalLinks, build_message, guide_key, prepare_attachment,
                      write_eml)
from .personal import personal_copies
from .recipients import Recipient, read_list, recipient
from .send import RetryPolicy, SmtpTransport, Transport
from .sendlog import default_log_path, log_place
from .settings import TOKEN, EmailSettings, SmtpSettings, load_email_settings, smtp_settings
from .unsubscribe import token_maker

DEFAULT_EML = "welcome.eml"  # in the guide's output folder, beside its PDF


@dataclass(frozen=True)
class EmlResult:
    path: Path
    size: int
    attachment: Attachment | None


def build_eml(guide_dir: Path | str, to: str, name: str = "", out: Path | None = None,
              pdf: Path | None = None, progress: Progress | None = None,
              hooks: Callable[[GuideConfig], tuple] | None = None,
              env: Mapping[str, str] | None = None) -> EmlResult:
    """Write the welcome email one recipient would get, as a .eml file a mail client opens
    (with the signup service's signed links when ``hooks`` gives them, as plan_send)."""
    person = recipient(to, name)
    config, settings = _load(guide_dir)
    attachment = prepare_attachment(config, settings, pdf, progress)
    links = _links(config, settings, hooks, env)[1]
    own = links(person) if links else None
    copies = personal_copies(config, attachment)
    if copies is not None:  # their name on the cover (personalize: in guide.yaml)
        attachment = copies.attachment(person, own.cta if own else None)
    target = out or config.output_dir / DEFAULT_EML
    message = build_message(config, settings, person, attachment,
                            links=links(person) if links else None)
    return EmlResult(target, write_eml(message, target), attachment)


def _links(config: GuideConfig, settings: EmailSettings,
           hooks: Callable[[GuideConfig], tuple] | None, env: Mapping[str, str] | None
           ) -> tuple[Callable[[str], bool] | None, Callable[[Recipient], PersonalLinks] | None]:
    """The suppression list and each recipient's links: the signup service's (hooks), else
    guide.yaml's unsubscribe_url with its signed {token} filled in (LEADGUIDE_SECRET)."""
    suppressed, links = hooks(config) if hooks else (None, None)
    if links is not None:
        return suppressed, links
    token = token_maker(os.environ if env is None else env, guide_key(config),
                        needed=TOKEN in (settings.unsubscribe_url or ""))
    if token is None:
        return suppressed, None
    return suppressed, lambda person: PersonalLinks(settings.unsubscribe_link(token(person)))


def _load(guide_dir: Path | str) -> tuple[GuideConfig, EmailSettings]:
    config = load_config(guide_dir)
    return config, load_email_settings(config)


@dataclass(frozen=True)
class Plan:
    """Everything checked before the first message goes out."""

    job: Job
    people: list[Recipient]
    smtp: SmtpSettings | None
    dry: bool = False
    rejected_rows: list[RecipientError] = field(default_factory=list)
    duplicate_rows: list[RecipientError] = field(default_factory=list)

    @property
    def log_path(self) -> Path:
        return self.job.log_path


def plan_send(guide_dir: Path | str, to: str | None = None, name: str = "",
              list_path: Path | None = None, *, dry: bool = False, rate: float | None = None,
              log_path: Path | None = None, retry_failed: bool = False,
              retry: RetryPolicy = RetryPolicy(), smtp: SmtpSettings | None = None,
              pdf: Path | None = None, progress: Progress | None = None,
              hooks: Callable[[GuideConfig], tuple] | None = None,
              env: Mapping[str, str] | None = None) -> Plan:
    """Check the guide, the recipients and the SMTP settings, and ready the PDF.

    ``hooks(config) -> (suppressed, links)`` lets the signup service add its suppression list
    and signed links (see leadguide.signup.hooks)."""
    if (to is None) == (list_path is None):
        raise RecipientError("give either one address (--to) or a subscriber list (--list)")
    people, rejected, duplicates = _people(to, name, list_path)
    config, settings = _load(guide_dir)
    smtp = None if dry else smtp or smtp_settings()
    attachment = prepare_attachment(config, settings, pdf, progress)
    log = log_path or settings.send_log or _default_log(config)
    suppressed, links = _links(config, settings, hooks, env)
    sign = dkim_signer(os.environ if env is None else env, settings)  # as the service signs
    job = Job(config, settings, attachment, log, rate, retry, retry_failed, suppressed, links,
              sign, personal_copies(config, attachment))
    return Plan(job, people, smtp, dry, rejected, duplicates)


def _default_log(config: GuideConfig) -> Path:
    path = default_log_path(config.root, guide_key(config))
    try:
        return log_place(config.root, str(path.relative_to(config.root)))
    except ValueError:
        raise EmailError(f"the default send log {path} leads outside the guide folder (is "
                         "build/ a symlink?); set email.send_log", config.config_path) from None


def _people(to: str | None, name: str, list_path: Path | None):
    if to is not None:
        return [recipient(to, name)], [], []
    listed = read_list(list_path)
    return listed.recipients, listed.problems, listed.duplicates


def run(plan: Plan, report: Report = lambda outcome: None,
        transport: Transport | None = None) -> Summary:
    """Send (or, for a dry run, only rehearse) the plan."""
    if plan.dry:
        summary = dry_run(plan.job, plan.people, report)
    elif transport is not None:
        summary = send_batch(plan.job, plan.people, transport, report)
    else:
        with SmtpTransport(plan.smtp) as smtp:
            summary = send_batch(plan.job, plan.people, smtp, report)
    summary.rejected_rows, summary.duplicate_rows = plan.rejected_rows, plan.duplicate_rows
    return summary
