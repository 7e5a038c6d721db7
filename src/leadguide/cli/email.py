"""The ``leadguide email`` commands (build, send): parse, call welcome.py, print."""
from __future__ import annotations

from pathlib import Path

import click

from ..email.batch import RESENDING, SKIPPED, WOULD_SEND, Outcome, Summary
from ..email.sendlog import DEFERRED, FAILED, SENT
from ..email.welcome import build_eml, plan_send, run

_GUIDE = click.argument("guide_dir", default="guide", type=click.Path(path_type=Path))
_COLORS = {SENT: "green", SKIPPED: None, FAILED: "red", DEFERRED: "red", WOULD_SEND: "cyan",
           RESENDING: "yellow"}


@click.group("email")
def email_group() -> None:
    """Build or send the welcome email that delivers the guide's PDF.

    \b
    Example:
      leadguide email build guide --to you@example.com
    """


class _Progress:
    """Announces a PDF rebuild once, then prints its stages like ``leadguide build``."""

    def __init__(self) -> None:
        self.started = False

    def __call__(self, stage: str, seconds: float) -> None:
        if not self.started:
            click.echo("Building the PDF first (it is missing or older than the guide)", err=True)
            self.started = True
        click.echo(f"  {stage:<7} {seconds * 1000:7.0f} ms", err=True)


@email_group.command("build")
@_GUIDE
@click.option("--to", "to", required=True, metavar="ADDRESS", help="The recipient's address.")
@click.option("--name", default="", help="The recipient's name, for the greeting.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the .eml file (default: GUIDE_DIR/build/welcome.eml).")
@click.option("--step", type=click.IntRange(min=1), default=None, metavar="N",
              help="Follow-up email N of signup.sequence instead of the welcome email "
                   "(default file: GUIDE_DIR/build/step-N.eml).")
def build_command(guide_dir: Path, to: str, name: str, out: Path | None,
                  step: int | None) -> None:
    """Write the welcome email for one recipient as a .eml file (sends nothing).

    Open the file in a mail client to check it. The PDF is built first if it is
    missing or older than the guide.

    \b
    Example:
      leadguide email build guide --to jane@example.com --name "Jane Doe"
    """
    if step is not None:
        from ..signup.steppreview import build_step_eml
        path, size = build_step_eml(guide_dir, step, to, name, out)
        click.echo(f"{path}  {size / 1e3:.1f} kB")
        return
    from ..signup.hooks import email_send_hooks  # the service's signed links, as send uses
    result = build_eml(guide_dir, to, name, out, progress=_Progress(), hooks=email_send_hooks)
    _size_notes(result.attachment)
    click.echo(f"{result.path}  {result.size / 1e6:.2f} MB")


def _size_notes(attachment) -> None:
    if attachment and attachment.warning:
        click.secho(f"warning: {attachment.warning}", fg="yellow", err=True)


@email_group.command("send")
@_GUIDE
@click.option("--to", "to", metavar="ADDRESS", help="Send to this one address.")
@click.option("--name", default="", help="The name for --to, for the greeting.")
@click.option("--list", "list_path", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="A CSV file with a header row and the columns email, name.")
@click.option("--dry-run", is_flag=True,
              help="Check everything and show who would get it; send nothing.")
@click.option("--rate", type=click.FloatRange(min=0, min_open=True), metavar="N",
              help="Send at most N messages per second (e.g. 0.5 for one every 2 s).")
@click.option("--log", "log_path", type=click.Path(dir_okay=False, path_type=Path),
              help="The send log (default: email.send_log, else build/<name>.sendlog.sqlite "
                   "in the guide folder).")
@click.option("--retry-failed", is_flag=True,
              help="Also retry recipients whose earlier send failed permanently.")
def send_command(guide_dir: Path, to: str | None, name: str, list_path: Path | None,
                 dry_run: bool, rate: float | None, log_path: Path | None,
                 retry_failed: bool) -> None:
    """Send the welcome email over SMTP, exactly once per recipient.

    SMTP settings come from the environment: LEADGUIDE_SMTP_HOST, _PORT, _USER,
    _PASSWORD, _SECURITY (starttls, ssl, or none for localhost only), and
    optionally _CA_FILE and _TIMEOUT (seconds). A send log records who has been
    sent the email: run the same command again after a failure or a crash and
    only those not yet sent get it.

    \b
    Examples:
      leadguide email send guide --to jane@example.com --name "Jane Doe"
      leadguide email send guide --list subscribers.csv --rate 2
    """
    from ..signup.hooks import email_send_hooks  # the signup service's suppression list
    plan = plan_send(guide_dir, to, name, list_path, dry=dry_run, rate=rate, log_path=log_path,
                     retry_failed=retry_failed, progress=_Progress(), hooks=email_send_hooks)
    _size_notes(plan.job.attachment)
    for problem in plan.rejected_rows + plan.duplicate_rows:
        click.secho(f"skipped row: {problem}", fg="yellow", err=True)
    summary = run(plan, report=_report)
    _print_summary(summary, plan.log_path, dry_run)
    if not summary.ok:
        raise click.exceptions.Exit(1)


def _report(outcome: Outcome) -> None:
    label = "resent" if outcome.resend and outcome.status == SENT else outcome.status
    detail = f"  ({outcome.detail})" if outcome.detail else ""
    click.secho(f"  {label:<10} {outcome.recipient.address}{detail}", fg=_COLORS[outcome.status])


def _print_summary(summary: Summary, log_path: Path, dry: bool) -> None:
    twice = (f" {len(summary.duplicate_rows)} listed twice: sent once."
             if summary.duplicate_rows else "")
    if dry:
        click.echo(f"Dry run: would send {summary.count(WOULD_SEND)}, skipped {summary.skipped} "
                   f"(already sent), failed {summary.failed}.{twice} Nothing was sent.")
        return
    resent = [o for o in summary.outcomes if o.resend and o.status == SENT]
    click.secho(f"Sent {summary.sent}, skipped {summary.skipped} (already sent), "
                f"failed {summary.failed}.{twice}", bold=True, fg="green" if summary.ok else "red")
    if resent:
        click.echo(f"{len(resent)} sent again: cut off after the end of DATA, before the server's "
                   "reply, so the first copy may also have arrived (both carry the same "
                   "Message-ID).")
    failures = [o for o in summary.outcomes if o.status in (FAILED, DEFERRED)]
    for outcome in failures:
        hint = (" (temporary: run the same command later to retry)"
                if outcome.status == DEFERRED else "")
        click.secho(f"  failed  {outcome.recipient.address}: {outcome.detail}{hint}", fg="red")
    for problem in summary.rejected_rows:
        click.secho(f"  failed  {problem}", fg="red")
    if summary.stopped:
        click.secho(f"Stopped: {summary.stopped}. {summary.not_attempted} not attempted; run the "
                    "same command again to continue.", fg="red", err=True)
    click.echo(f"Send log: {log_path}")
