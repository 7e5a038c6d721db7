"""leadguide serve: the preview over local HTTP, rebuilt on save, open tabs reloading themselves."""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Callable

from .background import LayoutProcess, PdfProcess, keep_pdf, lay_out
from .plan import describe
from .server import Log, PreviewServer, ServeError
from .site import Preview
from .watch import watch


def serve(guide_dir: Path | str, out: Path | str | None, host: str = "127.0.0.1", port: int = 8000,
          pdf: Path | str | None = None, log: Log = print,
          ready: Callable[[str], None] | None = None) -> None:
    """Build the preview, then serve and rebuild it until interrupted (Ctrl+C)."""
    if not Path(guide_dir).is_dir():
        raise ServeError(f"guide folder not found: {guide_dir}", Path(guide_dir))
    preview = Preview(guide_dir, out, pdf, live=pdf is None)
    # The worker processes first: before the server's socket and threads exist.
    layouter = LayoutProcess()
    builder = PdfProcess() if preview.live else None
    try:
        server = PreviewServer(preview, host, port, log)  # a taken port fails at once
    except ServeError:
        for process in (layouter, builder):
            if process:
                process.close()
        raise
    log(describe(preview.build_all(), preview.root))
    stop, laid_out, pdf_due = threading.Event(), threading.Event(), threading.Event()
    pdf_due.set()  # bring the live PDF up to date
    laid_out.set()  # and lay out every chapter of the first build: after the live PDF
    first_pdf = threading.Event() if builder else None

    workers = [threading.Thread(target=watch, args=(preview, server.versions, stop, log,
                                                    laid_out.set, pdf_due.set),
                                name="leadguide-watch", daemon=True),
               threading.Thread(target=lay_out, args=(preview, server.versions, stop, log,
                                                      laid_out, layouter, first_pdf),
                                name="leadguide-layout", daemon=True)]
    if builder:
        workers.append(threading.Thread(target=keep_pdf, args=(
            preview, server.versions, stop, log, pdf_due, builder, first_pdf.set),
            name="leadguide-pdf", daemon=True))
    for worker in workers:
        worker.start()
    log(f"Serving {preview.guide_dir} at {server.url} (Ctrl+C to stop)")
    if ready:
        ready(server.url)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        server.server_close()
        for process in (layouter, builder):  # first: the threads may be waiting on them
            if process:
                process.close()
        for worker in workers:
            worker.join(timeout=2)


__all__ = ["serve"]
