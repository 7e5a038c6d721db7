"""Per-key rate limits ("20/hour"): a sliding window of recent hits, kept in memory."""
from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import Callable

_UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
_FORMAT = re.compile(r"^\s*(\d+)\s*/\s*(second|minute|hour|day)s?\s*$")


@dataclass(frozen=True)
class Limit:
    count: int
    seconds: float

    def __str__(self) -> str:
        unit = next(name for name, size in _UNITS.items() if size == self.seconds)
        return f"{self.count}/{unit}"


def parse_limit(text: str) -> Limit:
    match = _FORMAT.match(text)
    if not match or int(match[1]) < 1:
        raise ValueError(f"write a limit as N/second, N/minute, N/hour or N/day, not '{text}'")
    return Limit(int(match[1]), _UNITS[match[2]])


class RateLimiter:
    """``hit(key)`` is True while ``key`` stays within the limit. Thread-safe.

    At most ``max_keys`` keys are remembered (the least recently seen are forgotten first), so
    a flood of new addresses cannot exhaust memory. In one process: ``signup serve`` is one.
    """

    def __init__(self, limit: Limit, max_keys: int = 100_000,
                 clock: Callable[[], float] = time.monotonic):
        self.limit, self.max_keys, self.clock = limit, max_keys, clock
        self._hits: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def hit(self, key: str) -> bool:
        now = self.clock()
        with self._lock:
            hits = self._hits.pop(key, None) or deque()
            while hits and hits[0] <= now - self.limit.seconds:
                hits.popleft()
            allowed = len(hits) < self.limit.count
            if allowed:
                hits.append(now)
            self._hits[key] = hits
            while len(self._hits) > self.max_keys:
                self._hits.popitem(last=False)
            return allowed
