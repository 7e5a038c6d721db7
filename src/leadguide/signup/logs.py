"""The service's log: one line per kind of failure per interval, so a flood cannot fill a disk.

A full disk, a run-out file limit or a flood of bad requests fails the same way thousands of
times a minute. The first record of each kind (logger, level, the message's first line, the
exception's type) is logged with its traceback; after that, at most one line per kind per
``interval`` seconds, without the traceback and with a count of the ones left out.
"""
from __future__ import annotations

import logging
import sys
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable

INTERVAL = 60.0
_MAX_KINDS = 1000
_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


@dataclass
class _Seen:
    logged_at: float
    left_out: int = 0


class OncePerInterval(logging.Filter):
    def __init__(self, interval: float = INTERVAL, clock: Callable[[], float] = time.monotonic):
        super().__init__()
        self.interval, self.clock = interval, clock
        self._kinds: OrderedDict[tuple, _Seen] = OrderedDict()
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        kind = _kind(record)
        now = self.clock()
        with self._lock:
            seen = self._kinds.get(kind)
            if seen is not None and now - seen.logged_at < self.interval:
                seen.left_out += 1
                return False
            self._kinds[kind] = _Seen(now)
            self._kinds.move_to_end(kind)
            while len(self._kinds) > _MAX_KINDS:
                self._kinds.popitem(last=False)
        if seen is not None:
            _shorten(record, seen.left_out, self.interval)
        return True


def _kind(record: logging.LogRecord) -> tuple:
    error = record.exc_info[0].__name__ if record.exc_info and record.exc_info[0] else ""
    return record.name, record.levelno, str(record.msg).split("\n", 1)[0][:200], error


def _shorten(record: logging.LogRecord, left_out: int, interval: float) -> None:
    """One line: the message, the exception in a few words, how many were left out."""
    text = record.getMessage().split("\n", 1)[0]
    if record.exc_info and record.exc_info[1] is not None:
        error = record.exc_info[1]
        text += f" ({type(error).__name__}: {str(error)[:200]})"
    if left_out:
        text += f" [{left_out} more like this in the last {interval:.0f} s]"
    record.msg, record.args = text, None
    record.exc_info, record.exc_text, record.stack_info = None, None, None


def install(interval: float = INTERVAL) -> None:
    """Send every logger's records (uvicorn's, asyncio's, Huey's, ours) to stderr through one
    rate-limited handler. Idempotent."""
    root = logging.getLogger()
    if any(isinstance(f, OncePerInterval) for h in root.handlers for f in h.filters):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(_FORMAT))
    handler.addFilter(OncePerInterval(interval))
    root.addHandler(handler)
