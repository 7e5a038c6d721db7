"""A preview served and watched in this process, for the serve and browser tests."""
from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from typing import Callable, Iterator

from leadguide.preview.server import PreviewServer
from leadguide.preview.site import Preview
from leadguide.preview.watch import watch


@contextmanager
def serving(preview: Preview, log: Callable[[str], None]) -> Iterator[PreviewServer]:
    """``preview`` on a free loopback port with its file watcher, stopped on exit."""
    running = PreviewServer(preview, "127.0.0.1", 0, log=log)
    stop = threading.Event()
    threads = [threading.Thread(target=running.serve_forever, kwargs={"poll_interval": 0.05}),
               threading.Thread(target=watch, args=(preview, running.versions, stop, log))]
    for thread in threads:
        thread.start()
    time.sleep(0.3)  # the watcher is watching
    try:
        yield running
    finally:
        stop.set()
        running.shutdown()
        running.server_close()
        for thread in threads:
            thread.join(timeout=5)
