"""The ``leadguide signup`` commands: parse, call the service, print."""
from __future__ import annotations

from pathlib import Path

import click

from ..signup.errors import SignupError
from ..signup.store import BOUNCED, COMPLAINED, UNSUBSCRIBED

_GUIDE = click.argument("guide_dir", default="guide", type=click.Path(path_type=Path))
_DEV = click.option("--dev", is_flag=True,
                    help="Try it locally: a throwaway secret if LEADGUIDE_SECRET is unset, and "
                         "links to this computer's address.")


@click.group("signup")
def signup_group() -> None:
    """The signup service: a form, the guide in the inbox at once, one-click unsubscribe.

    \b
    Example:
      LEADGUIDE_SECRET=... leadguide signup serve guide --port 8100
    """


@signup_group.command("serve")
@_GUIDE
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (behind a reverse proxy, keep 127.0.0.1).")
@click.option("--port", default=8100, show_default=True, type=click.IntRange(0, 65535),
              help="Port to listen on (0 picks a free one).")
@click.option("--workers", default=None, type=click.IntRange(0, 32),
              help="Threads of the worker process serve starts to send email (default 4; 0 "
                   "with a Redis queue, whose workers run as `leadguide signup worker`).")
@_DEV
def serve_command(guide_dir: Path, host: str, port: int, workers: int | None, dev: bool) -> None:
    """Serve the signup form and deliver the guide to each new subscriber.

    Settings: the signup: section of guide.yaml. Environment: LEADGUIDE_SECRET
    (signs every link; required unless --dev), LEADGUIDE_SMTP_* (as for
    `leadguide email send`), LEADGUIDE_QUEUE_URL=redis://... for a Redis queue,
    LEADGUIDE_DKIM_* to sign with DKIM.

    \b
    Example:
      leadguide signup serve guide --port 8100
    """
    from ..signup.runner import serve
    from ..signup.service import open_service
    base = f"http://{host}:{port}" if dev and port else None
    service = open_service(guide_dir, dev=dev, base_url=base if dev else None, web=True)
    _announce(service)
    count = workers if workers is not None else (0 if service.secrets.queue_url else 4)
    serve(service, host, port, count,
          ready=lambda url: click.echo(f"Signup form: {url}  (Ctrl-C to stop)", err=True))


def _announce(service) -> None:
    queue = "Redis" if service.secrets.queue_url else f"SQLite ({service.settings.queue_path})"
    click.echo(f"Queue: {queue}; subscribers: {service.settings.database}", err=True)
    if service.secrets.generated:
        click.secho("--dev: LEADGUIDE_SECRET is not set, so a throwaway one signs the links; "
                    "they stop working when the service stops.", fg="yellow", err=True)


@signup_group.command("worker")
@_GUIDE
@click.option("--workers", default=4, show_default=True, type=click.IntRange(1, 32),
              help="Worker threads in this process (each keeps one SMTP connection).")
@click.option("--ledger-url", envvar="LEADGUIDE_LEDGER_URL", default=None, metavar="URL",
              help="On another machine than the signup database: the signup service's "
                   "address, whose ledger this worker uses (signup.remote_workers: true). "
                   "Also LEADGUIDE_LEDGER_URL.")
@click.option("--base-url", hidden=True, help="The links' address (serve --dev passes its own).")
@_DEV
def worker_command(guide_dir: Path, workers: int, ledger_url: str | None, base_url: str | None,
                   dev: bool) -> None:
    """Deliver queued emails (for a Redis queue, or `serve --workers 0`). Run it on the
    machine that holds the signup database, or on any other with --ledger-url.

    \b
    Example:
      LEADGUIDE_QUEUE_URL=redis://127.0.0.1:6379/0 leadguide signup worker guide
    On a second machine (the same LEADGUIDE_SECRET and LEADGUIDE_QUEUE_URL):
      leadguide signup worker guide --ledger-url https://guide.example.com
    """
    if ledger_url:
        from ..signup.remoteworker import open_remote_worker, work_remote
        if dev:
            raise SignupError("--dev and --ledger-url do not go together: a remote worker "
                              "needs the service's own LEADGUIDE_SECRET")
        remote = open_remote_worker(guide_dir, ledger_url, base_url)
        work_remote(remote, workers, ready=lambda: click.echo(
            f"Worker: {workers} threads, queue Redis, ledger at {remote.ledger.url}", err=True))
        return
    from ..signup.runner import work
    from ..signup.service import open_service
    service = open_service(guide_dir, dev=dev, base_url=base_url)
    queue = "Redis" if service.secrets.queue_url else service.settings.queue_path
    work(service, workers,
         ready=lambda: click.echo(f"Worker: {workers} threads, queue {queue}", err=True))


@signup_group.command("embed")
@_GUIDE
@click.option("--return-url", default=None, metavar="URL",
              help="Where a visitor without JavaScript comes back to after signing up "
                   "(a page on your website; ?signup=ok is added).")
def embed_command(guide_dir: Path, return_url: str | None) -> None:
    """Print a styled HTML form to paste into your website (works without JavaScript).

    Add the website's origin to signup.allowed_origins.

    \b
    Example:
      leadguide signup embed guide --return-url https://example.com/thanks > form.html
    """
    from ..guide.config import load_config
    from ..signup.embed import checked_return_url, snippet
    from ..signup.settings import load_signup_settings
    config = load_config(guide_dir)
    settings = load_signup_settings(config)
    if not settings.base_url:
        raise SignupError("set signup.base_url first: the form posts to it")
    if return_url and not checked_return_url(return_url, settings):
        raise SignupError(f"--return-url must be an http(s) address on your website "
                          f"(signup.landing.website, signup.allowed_origins or "
                          f"signup.return_hosts: {', '.join(settings.return_hosts) or 'none'}), "
                          f"not '{return_url}'")
    click.echo(snippet(settings.base_url, settings, config.theme.colors, return_url), nl=False)


def _store_and_ledger(guide_dir: Path):
    from ..email.message import guide_key
    from ..guide.config import load_config
    from ..signup.ledger import Ledger
    from ..signup.settings import load_signup_settings
    from ..signup.store import Store
    config = load_config(guide_dir)
    settings = load_signup_settings(config)
    store = Store(settings.database)
    return store, Ledger(store), guide_key(config)


@signup_group.command("stats")
@_GUIDE
def stats_command(guide_dir: Path) -> None:
    """The funnel per day (UTC): form views, signups, confirmed, delivered, downloads,
    unsubscribes; and the queue now: emails owed, the longest wait, sent in the last minute,
    failures.

    \b
    Example:
      leadguide signup stats guide
    """
    from ..signup.report import FUNNEL, funnel_stats, queue_lines, reading_lines, stats_table
    from ..signup.webhooks import status_lines
    store, ledger, guide = _store_and_ledger(guide_dir)
    for line in stats_table(funnel_stats(store, ledger, guide), FUNNEL) + [""] + queue_lines(
            ledger.stats()) + status_lines(store) + [""] + reading_lines(store, guide):
        click.echo(line)


@signup_group.command("report")
@_GUIDE
@click.option("--html", "html_path", required=True,
              type=click.Path(dir_okay=False, path_type=Path),
              help="Write the report here: one HTML file, nothing fetched when opened.")
def report_command(guide_dir: Path, html_path: Path) -> None:
    """The funnel as a page the owner can open: views → signups → confirmed → delivered →
    downloads → unsubscribes, in all and per day.

    \b
    Example:
      leadguide signup report guide --html report.html
    """
    from ..guide.config import load_config
    from ..signup.htmlreport import write_html_report
    from ..signup.report import funnel_stats
    store, ledger, guide = _store_and_ledger(guide_dir)
    path = write_html_report(html_path, load_config(guide_dir).title,
                             funnel_stats(store, ledger, guide), ledger.stats())
    click.echo(str(path))


@signup_group.command("export")
@_GUIDE
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the CSV here (default: print it).")
@click.option("--subscribers", is_flag=True,
              help="One row per person (status, consent, tags, dates) instead of one per "
                   "consent record.")
@click.option("--reading", is_flag=True,
              help="Export the reading figures instead (day, event, chapter, people).")
def export_command(guide_dir: Path, out: Path | None, subscribers: bool, reading: bool) -> None:
    """Export subscribers with the consent ledger (what each was shown, when, from where),
    with --subscribers one row per person, or with --reading the reading figures.

    Cells that a spreadsheet would run as a formula are written as text.

    \b
    Example:
      leadguide signup export guide --out subscribers.csv
    """
    from ..signup.report import write_export
    store, _, guide = _store_and_ledger(guide_dir)
    if subscribers:
        from ..signup.subscribers import SUBSCRIBER_HEADER, subscriber_rows
        count = write_export(subscriber_rows(store, guide), out, SUBSCRIBER_HEADER)
        if out:
            click.echo(f"{out}  {count} subscribers", err=True)
        return
    if reading:
        from ..signup.readcounts import Readings, write_reading_export
        count = write_reading_export(Readings(store.path), guide, out)
        if out:
            click.echo(f"{out}  {count} rows of reading figures", err=True)
        return
    count = write_export(store.ledger_rows(guide), out)
    if out:
        click.echo(f"{out}  {count} consent records", err=True)


@signup_group.command("suppress")
@_GUIDE
@click.option("--import", "import_path", required=True,
              type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="A bounce, complaint or suppression CSV export (SES, Postmark, Mailgun).")
@click.option("--reason", type=click.Choice([BOUNCED, COMPLAINED, UNSUBSCRIBED]),
              help="What every address in the file is (default: from the file).")
def suppress_command(guide_dir: Path, import_path: Path, reason: str | None) -> None:
    """Add a sending service's bounces and complaints to the suppression list.

    No email from `signup serve` or `email send` goes to an address on it.

    \b
    Example:
      leadguide signup suppress guide --import mailgun-bounces.csv
    """
    from ..signup.imports import read_export
    from ..signup.tokens import address_id
    imported = read_export(import_path, reason)
    store, _, _ = _store_and_ledger(guide_dir)
    added = 0
    for address, why in imported.addresses:
        added += store.suppress(address_id(address), address, why, f"import:{import_path.name}")
    for problem in imported.problems:
        click.secho(f"skipped row: {problem}", fg="yellow", err=True)
    click.echo(f"Suppressed {added} new addresses ({len(imported.addresses) - added} already "
               f"on the list); {len(imported.problems)} rows skipped.")
