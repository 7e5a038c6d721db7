"""The ``leadguide`` command: parses arguments, calls the library, prints the outcome."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Sequence

import click

from ..build import build
from ..errors import GuideError, shown_path


class GuideCommand(click.Group):
    """Turns a GuideError into ``path:line: message`` and exit 1 (a traceback with --debug)."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except GuideError as error:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            click.secho(str(error), fg="red", err=True)
            ctx.exit(1)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), "email", "signup"])

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name == "email":  # imported when used: a build needs no SMTP, SQLite or CSS inlining
            from .email import email_group
            return email_group
        if name == "signup":  # the web service: Starlette, Huey, uvicorn only when used
            from .signup import signup_group
            return signup_group
        return super().get_command(ctx, name)


@click.group(cls=GuideCommand, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show Python tracebacks for errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Turn a folder of Markdown chapters into an exact-length PDF guide.

    \b
    Example:
      leadguide build guide
    """
    ctx.obj = {"debug": debug}


def _progress(stage: str, seconds: float) -> None:
    click.echo(f"  {stage:<7} {seconds * 1000:7.0f} ms", err=True)


@cli.command("build")
@click.argument("guide_dir", default="guide", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the PDF (default: GUIDE_DIR/build/<output from "
                   "guide.yaml>, whatever the current directory).")
@click.option("--draft", is_flag=True,
              help="Write the PDF even if it breaks the page promise or has warnings.")
@click.option("--whole", is_flag=True,
              help="Lay the guide out as one document: no parts, no cache (slower, the same PDF).")
@click.option("--jobs", type=click.IntRange(1, 64),
              help="Processes laying out chapters at once (default: one per core).")
@click.option("--print", "print_edition", is_flag=True,
              help="Also write the print edition (<name>.print.pdf): bleed, crop marks, "
                   "fields as lines to write on, links as short addresses.")
@click.option("--web", "web_edition", is_flag=True,
              help="Also write the web edition (<name>-web/): a page per chapter for phones.")
def build_command(guide_dir: Path, out: Path | None, draft: bool, whole: bool,
                  jobs: int | None, print_edition: bool, web_edition: bool) -> None:
    """Build GUIDE_DIR (default: guide) into a PDF.

    \b
    Example:
      leadguide build guide --out build/guide.pdf
    """
    click.echo(f"Building {guide_dir}{' (draft)' if draft else ''}", err=True)
    result = build(guide_dir, out=out, draft=draft, progress=_progress,
                   verify=_cheap_checks(guide_dir, draft), whole=whole, jobs=jobs,
                   print_edition=print_edition or None,  # no flag: as guide.yaml says
                   web_edition=web_edition or None)
    if result.laid_out:
        click.echo(f"  parts   {_parts_note(*result.laid_out)}", err=True)
    for notice in result.notices:
        click.echo(f"note: {notice}", err=True)
    for warning in result.warnings:
        click.secho(f"warning: {warning}", fg="yellow", err=True)
    if result.page_error:
        click.secho(f"DRAFT: {result.page_error}", fg="yellow", bold=True, err=True)
        click.secho("DRAFT BUILD: this PDF breaks the page promise; do not send it.",
                    fg="yellow", bold=True, err=True)
    click.echo(f"{result.output}  {result.pages} pages  {result.size / 1e6:.2f} MB")
    if result.print_output:
        click.echo(f"{result.print_output}  print edition")
    if result.web_output:
        click.echo(f"{result.web_output}/  web edition")


@cli.command("new")
@click.argument("guide_dir", type=click.Path(path_type=Path))
@click.option("--kind", type=click.Choice(["ebook", "checklist", "workbook"]), default="ebook",
              show_default=True, help="What the starter holds: chapters, a checklist, trackers.")
@click.option("--look", type=click.Choice(["classic", "editorial", "bold"]), default="classic",
              show_default=True, help="The design it wears (see docs/looks.png); guide.yaml's look:.")
@click.option("--page-size", default="Letter", show_default=True, metavar="SIZE",
              help="Letter, A4, A5 or a size like '6in x 9in': the starter's text is sized "
                   "for it (on a smaller page its optional blocks are left out).")
@click.option("--from", "sources", multiple=True, metavar="SOURCE",
              help="Make the guide from posts: a chapter per SOURCE (as `leadguide import` "
                   "takes them; repeat for more), the cover title from the first.")
@click.option("--post", "posts", multiple=True, metavar="TITLE_OR_SLUG",
              help="With --from a feed or WordPress export: the posts to use.")
@click.option("--pages", type=click.IntRange(1),
              help="With --from: the page count to promise, reached by `leadguide fit` "
                   "(default: the pages the posts lay out to).")
def new_command(guide_dir: Path, kind: str, look: str, page_size: str,
                sources: tuple[str, ...], posts: tuple[str, ...], pages: int | None) -> None:
    """Start a new guide in GUIDE_DIR (a new or empty folder) that builds on the first run.

    \b
    Example:
      leadguide new my-guide --kind workbook --look editorial
      leadguide new my-checklist --kind checklist --page-size A5
      leadguide new my-guide --from https://example.com/blog/post-1 --from post-2.html
    """
    if sources:
        _new_from(guide_dir, list(sources), posts, pages, look)
        return
    from ..fit.starter import new_sized_guide
    from ..starters.scaffold import KINDS
    new_sized_guide(guide_dir, kind, look, page_size,
                    progress=lambda line: click.echo(f"  {line}", err=True))
    click.echo(f"{guide_dir}: a {KINDS[kind].pages}-page {kind}, {look} look, {page_size} "
               f"paper. Next: edit "
               f"{guide_dir / 'guide.yaml'}, then: leadguide build {guide_dir}")


@cli.command("import")
@click.argument("sources", nargs=-1, required=True)
@click.option("--guide", "guide_dir", default="guide", show_default=True,
              type=click.Path(file_okay=False, path_type=Path), help="The guide to add to.")
@click.option("--at", type=click.IntRange(1), help="Chapter position of the first new chapter "
              "(default: after the last).")
@click.option("--post", "posts", multiple=True, metavar="TITLE_OR_SLUG",
              help="From a feed or WordPress export: the post to import (repeat for more; "
                   "default: every post).")
def import_command(sources: tuple[str, ...], guide_dir: Path, at: int | None,
                   posts: tuple[str, ...]) -> None:
    """Add a chapter per SOURCE: a web page's address, a saved .html page, a feed or
    WordPress export (.xml), a Word .docx, a Markdown file or a folder of them.

    Only the article comes in (no menus, sidebars, comments, share buttons or signup forms),
    with its title, address, author and date in the front matter and its images saved into
    the guide. One bad source and nothing is written.

    \b
    Example:
      leadguide import https://example.com/blog/my-post --guide guide --at 2
      leadguide import export.xml --post my-best-post --post "Another post"
    """
    from ..importer.write import import_sources
    report = import_sources(list(sources), guide_dir, at, posts)
    _print_import(report)
    click.echo(f"Next: read the new chapters, then: leadguide build {guide_dir} --draft", err=True)


def _print_import(report) -> None:  # type: ignore[no-untyped-def]
    for chapter in report.chapters:
        images = f"  {chapter.images} image{'s' if chapter.images != 1 else ''}" \
            if chapter.images else ""
        click.echo(f"{shown_path(chapter.path)}  {chapter.title}{images}")
    for note in report.notes:
        click.secho(f"note: {note}", fg="yellow", err=True)


def _new_from(guide_dir: Path, sources: list[str], posts: tuple[str, ...],
              pages: int | None, look: str) -> None:
    from ..fit.search import FitError
    from ..importer.guide import guide_from_sources
    try:
        report = guide_from_sources(guide_dir, sources, posts, pages,
                                    progress=lambda line: click.echo(f"  {line}", err=True),
                                    look=look)
    except FitError as error:
        click.secho(str(error), fg="red", err=True)
        click.secho(f"{guide_dir}: the guide is written; cut or add what the table says, or "
                    "change --pages, then: leadguide fit " + str(guide_dir), err=True)
        click.get_current_context().exit(1)
    _print_import(report.imported)
    click.echo(f"{report.build.output}  {report.build.pages} pages  "
               f"{report.build.size / 1e6:.2f} MB")
    click.echo(f"Next: edit {guide_dir / 'guide.yaml'} (author, cover, call to action, email), "
               f"then: leadguide check {guide_dir}")


# Commands of the other stages (`leadguide email` is loaded by GuideCommand.get_command)

_PREVIEW_OUT = click.option("--out", type=click.Path(file_okay=False, path_type=Path),
                            help="Folder to write the preview pages into (default: "
                                 "GUIDE_DIR/build/preview).")
_PREVIEW_PDF = click.option("--pdf", type=click.Path(dir_okay=False, path_type=Path),
                            help="The built PDF whose page spans and pages to show "
                                 "(default: GUIDE_DIR/build/<output from guide.yaml>).")


@cli.command("preview")
@click.argument("guide_dir", default="guide", type=click.Path(path_type=Path))
@_PREVIEW_OUT
@_PREVIEW_PDF
@click.option("--quick", is_flag=True,
              help="HTML only: skip laying out page breaks and drawing the PDF's pages.")
def preview_command(guide_dir: Path, out: Path | None, pdf: Path | None, quick: bool) -> None:
    """Write every chapter of GUIDE_DIR as an HTML page, with an index of page spans.

    \b
    Example:
      leadguide preview guide --out build/preview
    """
    from ..errors import raise_all
    from ..preview.paths import SITE_PAGES, default_out
    from ..preview.site import build_preview
    from ..preview.status import unique
    result = build_preview(guide_dir, out, pdf, quick=quick)
    chapters = [page for page in result.pages if page not in SITE_PAGES]
    click.echo(f"{(out or default_out(guide_dir)) / 'index.html'}  {len(chapters)} chapters")
    raise_all(unique(result.errors))


@cli.command("serve")
@click.argument("guide_dir", default="guide", type=click.Path(path_type=Path))
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on: only this computer unless you change it.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535),
              help="Port to listen on (0 picks a free one).")
@click.option("--open", "open_browser", is_flag=True, help="Open the preview in a browser.")
@_PREVIEW_OUT
@_PREVIEW_PDF
def serve_command(guide_dir: Path, host: str, port: int, open_browser: bool, out: Path | None,
                  pdf: Path | None) -> None:
    """Serve the preview of GUIDE_DIR, rebuild it on save and reload open browser tabs.

    \b
    Example:
      leadguide serve guide --port 8000 --open
    """
    import webbrowser

    from ..preview.serve import serve
    serve(guide_dir, out, host, port, pdf,
          log=lambda line: click.secho(line, fg="red" if "error:" in line else None),
          ready=webbrowser.open if open_browser else None)


@cli.command("fit")
@click.argument("guide_dir", default="guide", type=click.Path(path_type=Path))
def fit_command(guide_dir: Path) -> None:
    """Find typography that lands every chapter on its budget and GUIDE_DIR on its promise.

    Only chapters that miss are changed, each by the smallest change within the bounds in
    guide.yaml's fit: section (body size, leading, spacing, figure width); the words are never
    touched. The values go to GUIDE_DIR/fit.yaml, which every build applies, and the guide is
    then built strictly. If nothing within the bounds lands it, nothing is written and the
    table says how many lines to cut or add.

    \b
    Example:
      leadguide fit guide
    """
    from ..fit.search import FitError, fit_guide

    click.echo(f"Fitting {guide_dir}", err=True)
    try:
        report = fit_guide(guide_dir, progress=lambda line: click.echo(f"  {line}", err=True),
                           verify=_cheap_checks(guide_dir, draft=False))
    except FitError as error:
        click.secho(str(error), fg="red", err=True)
        click.get_current_context().exit(1)
    click.echo(report.table())
    click.echo(f"{report.fit_file}  {report.passes} layout passes  {report.seconds:.1f} s")
    click.echo(f"{report.build.output}  {report.build.pages} pages  "
               f"{report.build.size / 1e6:.2f} MB")


_STATUS_COLOURS = {"pass": "green", "warn": "yellow", "fail": "red"}


def _parts_note(layouts: int, parts: int) -> str:
    if layouts == 0:
        return f"all {parts} from the cache"
    if layouts > parts:  # a part that reads another's page numbers is laid out again
        return f"{layouts} layouts for {parts} parts (some twice, for page numbers)"
    if layouts == parts:
        return f"all {parts} laid out"
    return f"{layouts} of {parts} laid out, the rest from the cache"


def _cheap_checks(guide_dir: Path, draft: bool):
    """The preflight checks that read only the PDF's structure, run on the new file before it
    replaces the last good one."""
    def verify(pdf: Path) -> None:
        from ..check import fit_to_send, run_checks, summary, table

        results = run_checks(guide_dir, pdf, cheap_only=True)
        for result, line in table([r for r in results if r.status != "pass"]):
            click.secho(line, fg=_STATUS_COLOURS[result.status], err=True)
        click.echo(f"{summary(results, 'cheap checks')} (leadguide check runs them all)",
                   err=True)
        if not draft and not fit_to_send(results):
            raise GuideError("the new PDF fails the checks above, so the last good PDF was "
                             "kept (use --draft to write it anyway)", guide_dir)
    return verify


@cli.command("check")
@click.argument("guide_dir", default="guide", type=click.Path(path_type=Path))
@click.option("--pdf", "pdf_path", type=click.Path(dir_okay=False, path_type=Path),
              help="The PDF to check (default: GUIDE_DIR/build/<output from guide.yaml>). Built first "
                   "if it is missing or older than the guide.")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
def check_command(guide_dir: Path, pdf_path: Path | None, as_json: bool) -> None:
    """Check GUIDE_DIR's finished PDF item by item; exit 1 if it is not fit to send.

    \b
    Example:
      leadguide check guide --json
    """
    from ..check import ensure_pdf, fit_to_send, run_checks, summary, table, to_json
    pdf, built = ensure_pdf(guide_dir, pdf_path, progress=_progress)
    if built:
        click.echo(f"Built {pdf} first: it was missing or older than the guide", err=True)
    results = run_checks(guide_dir, pdf)
    if as_json:
        click.echo(to_json(results, pdf))
    else:
        for result, line in table(results):
            click.secho(line, fg=_STATUS_COLOURS[result.status])
        verdict = "fit to send" if fit_to_send(results) else "NOT fit to send"
        click.echo(f"{summary(results)}: {pdf} is {verdict}")
    if not fit_to_send(results):
        click.get_current_context().exit(1)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point for the console script and for tests: returns the exit code."""
    try:
        code = cli.main(args=list(argv) if argv is not None else None, prog_name="leadguide",
                        standalone_mode=False)
    except click.exceptions.Exit as done:
        return done.exit_code
    except click.ClickException as error:
        error.show()
        return error.exit_code
    except click.Abort:
        click.echo("Aborted.", err=True)
        return 1
    return code if isinstance(code, int) else 0


if __name__ == "__main__":
    sys.exit(main())
