"""Connection limits for uvicorn: a deadline to send a whole request, and a cap on connections.

uvicorn (0.55) closes idle keep-alive connections but never one that is slow to send its
request: a client sending one header byte every few seconds (slowloris) holds its connection
and a file descriptor forever, and enough of them exhaust the process's file limit. This
protocol gives each request ``header_seconds`` from its first byte (or from the connection's
opening) to finish its headers and then ``body_seconds`` to finish its body; a connection
past either deadline is answered 408 and closed. Connections over ``max_connections`` are
answered 503 and closed at once, so the process never runs out of file descriptors.
"""
from __future__ import annotations

import asyncio
import logging
import resource
from dataclasses import dataclass

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

# Descriptors kept for everything else: SQLite files (three per connection in WAL mode, a
# connection per thread and database handle: 250 measured under 40 concurrent signups), the
# queue, SMTP and Redis connections, logs; and for connections accepted before the cap can
# close them (asyncio accepts up to BACKLOG at a time; a refused one closes a few turns later).
RESERVED_FILES = 400
BACKLOG = 32  # the listen queue, and so the most connections asyncio accepts in one go
MIN_CONNECTIONS = 16

_TIMEOUT = b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
_BUSY = (b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: 5\r\n"
         b"Content-Length: 0\r\n\r\n")
_log = logging.getLogger("leadguide.signup.connections")


@dataclass(frozen=True)
class ConnectionLimits:
    max_connections: int
    header_seconds: float
    body_seconds: float


def raise_file_limit() -> int:
    """Raise this process's soft open-file limit to its hard limit; return the soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):
            pass
    return soft


def connection_cap(wanted: int, file_limit: int) -> int:
    """``wanted``, or fewer so that connections never use up the file limit."""
    if file_limit == resource.RLIM_INFINITY:
        return wanted
    return max(MIN_CONNECTIONS, min(wanted, file_limit - RESERVED_FILES))


class LimitedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with request deadlines and a connection cap (``limits``)."""

    limits: ConnectionLimits
    _deadline: asyncio.TimerHandle | None = None
    _refused = False
    _phase = "headers"

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        if len(self.server_state.connections) >= self.limits.max_connections:
            self._refused = True
            _log.warning("connection refused: %d connections open (the cap)",
                         self.limits.max_connections)
            transport.write(_BUSY)
            transport.close()
            return
        super().connection_made(transport)
        self._arm(self.limits.header_seconds, "headers")

    def connection_lost(self, exc: Exception | None) -> None:
        if self._refused:
            return
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        if self._deadline is None and self.conn.their_state is h11.IDLE:
            self._arm(self.limits.header_seconds, "headers")  # the next request's first byte
        super().data_received(data)
        self._follow_request()

    def _follow_request(self) -> None:
        state = self.conn.their_state
        if state is h11.SEND_BODY and self._phase == "headers":
            self._arm(self.limits.body_seconds, "body")
        elif state is not h11.IDLE and state is not h11.SEND_BODY:
            self._disarm()  # the whole request is in (or the connection is ending)

    def _arm(self, seconds: float, phase: str) -> None:
        self._disarm()
        self._phase = phase
        self._deadline = self.loop.call_later(seconds, self._too_slow)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        _log.warning("connection closed: the request's %s took too long", self._phase)
        if self.cycle is None or not self.cycle.response_started:
            self.transport.write(_TIMEOUT)
        self.transport.close()


def limited_protocol(limits: ConnectionLimits) -> type[LimitedH11Protocol]:
    """The protocol class to give uvicorn.Config(http=...)."""
    return type("LimitedH11Protocol", (LimitedH11Protocol,), {"limits": limits})
