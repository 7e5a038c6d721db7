"""The signup service under abuse, as a real process on 127.0.0.1: slow and piled-up
connections against a small file limit, and what the log says about them."""
from __future__ import annotations

import logging
import resource
import socket
import time

import pytest
from signup_support import Process, free_port, make_guide, request, service_env, start_smtp

from leadguide.signup.logs import OncePerInterval

FILE_LIMIT = 400  # the service's: 100 connections at most (300 are kept for everything else)
SLOW = b"POST /subscribe HTTP/1.1\r\nHost: 127.0.0.1\r\n"


def _small_file_limit() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (FILE_LIMIT, FILE_LIMIT))


@pytest.fixture(scope="module")
def tight(tmp_path_factory, built_sample):
    base = tmp_path_factory.mktemp("signup-abuse")
    controller, box, smtp_port = start_smtp()
    port = free_port()
    guide = make_guide(base, built_sample[0].output, port,
                       "  header_timeout_seconds: 0.5\n  body_timeout_seconds: 0.5\n")
    log = base / "serve.log"
    process = Process(["serve", str(guide), "--port", str(port)], base,
                      service_env(smtp_port), log, preexec_fn=_small_file_limit)
    try:
        process.wait_http(f"http://127.0.0.1:{port}")
        yield port, log
    finally:
        process.stop()
        controller.stop()


def _status_then_close(sock: socket.socket, deadline: float) -> bytes:
    """The first line the server sent before closing (b"" if it closed without a word)."""
    received = b""
    while True:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            chunk = sock.recv(4096)
        except TimeoutError:
            raise AssertionError("the server kept a slow connection open") from None
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            return received.split(b"\r\n", 1)[0]
        received += chunk


def _healthy_within(port: int, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if request(f"http://127.0.0.1:{port}/healthz")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise AssertionError("the service answered nothing while slow clients held it")


def test_slowloris_past_the_file_limit_is_shed_and_logged_briefly(tight):
    port, log = tight
    before = log.stat().st_size
    slow = []
    for _ in range(FILE_LIMIT + 50):  # more than the service could hold open
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        sock.sendall(SLOW)
        slow.append(sock)
    try:
        _healthy_within(port, 10)
        deadline = time.monotonic() + 10
        answers = {_status_then_close(sock, deadline) for sock in slow}
    finally:
        for sock in slow:
            sock.close()
    assert answers <= {b"HTTP/1.1 408 Request Timeout", b"HTTP/1.1 503 Service Unavailable",
                       b""}, answers
    written = log.read_bytes()[before:].decode()
    assert "Traceback" not in written and len(written) < 2000, written
    assert written.count("took too long") <= 1 and written.count("the cap") <= 1


def test_a_dribbled_request_and_a_stalled_body_are_cut_off(tight):
    port, log = tight
    before = log.stat().st_size
    with socket.create_connection(("127.0.0.1", port), timeout=5) as dribble:
        sent = 0
        try:
            for byte in SLOW * 2:  # one byte every 0.1 s would take 9 s
                dribble.sendall(bytes([byte]))
                sent += 1
                time.sleep(0.1)
        except (BrokenPipeError, ConnectionResetError):
            pass
        assert sent < len(SLOW) * 2
    with socket.create_connection(("127.0.0.1", port), timeout=5) as stalled:
        stalled.sendall(b"POST /subscribe HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                        b"application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nemail=")
        assert _status_then_close(stalled, time.monotonic() + 5) == \
            b"HTTP/1.1 408 Request Timeout"
    _healthy_within(port, 5)
    assert "Traceback" not in log.read_bytes()[before:].decode()


def test_the_log_keeps_one_line_per_kind_per_interval():
    now = [0.0]
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    logger = logging.getLogger("leadguide.test.flood")
    logger.propagate = False
    handler = Keep()
    handler.addFilter(OncePerInterval(60, clock=lambda: now[0]))
    logger.addHandler(handler)
    try:
        for second in range(600):  # ten minutes of a full disk, 3 failures a second
            now[0] = float(second)
            for _ in range(3):
                try:
                    raise OSError(28, "No space left on device")
                except OSError:
                    logger.exception("Error writing to the queue")
            logger.warning("connection refused: %d connections open", 100)
    finally:
        logger.removeHandler(handler)
    failures = [r for r in records if r.msg.startswith("Error writing")]
    assert len(failures) == 10 and len(records) == 20
    assert failures[0].exc_info is not None  # the first one in full, with its traceback
    assert failures[1].exc_info is None and failures[1].getMessage() == (
        "Error writing to the queue (OSError: [Errno 28] No space left on device) "
        "[179 more like this in the last 60 s]")
