"""The signup service under abuse, as a real process on 127.0.0.1: slow and piled-up
connections against a small file limit, and what the log says about them."""
from __future__ import annotations

import http.client
import ipaddress
import json
import logging
import re
import resource
import socket
import sqlite3
import time
from pathlib import Path

import pytest
from signup_support import (SECRET, Mailbox, Process, free_port, make_guide, request, service_env,
                            signup, start_smtp, token)

from leadguide.signup.app import TOO_MANY
from leadguide.signup.identity import canonical_mailbox, client_ip, network_key
from leadguide.signup.logs import OncePerInterval
from leadguide.signup.tokens import UNSUBSCRIBE, LinkExpired, TokenRefused, Tokens, address_id

FILE_LIMIT = 500  # the service's: 100 connections at most (400 are kept for everything else)
SLOW = b"POST /subscribe HTTP/1.1\r\nHost: 127.0.0.1\r\n"


class Tight:
    """What else the ``tight`` service's tests read: its mailbox and folder."""

    box: Mailbox
    base: Path


def _small_file_limit() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (FILE_LIMIT, FILE_LIMIT))


@pytest.fixture(scope="module")
def tight(tmp_path_factory, built_sample):
    base = tmp_path_factory.mktemp("signup-abuse")
    controller, box, smtp_port = start_smtp()
    port = free_port()
    guide = make_guide(base, built_sample[0].output, port,
                       "  header_timeout_seconds: 0.5\n  body_timeout_seconds: 0.5\n"
                       "  rate_limits:\n    downloads: 3/day\n")
    log = base / "serve.log"
    process = Process(["serve", str(guide), "--port", str(port)], base,
                      service_env(smtp_port), log, preexec_fn=_small_file_limit)
    try:
        process.wait_http(f"http://127.0.0.1:{port}")
        Tight.box, Tight.base = box, base
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


# ----- bot traps that bind -----

def _subscribe(port: int, fields: dict, headers: dict | None = None) -> tuple[int, dict]:
    status, body, _ = request(f"http://127.0.0.1:{port}/subscribe", fields,
                              {"Accept": "application/json", **(headers or {})})
    return status, json.loads(body)


def test_a_render_token_goes_through_once_and_the_traps_bind(tight):
    port, _ = tight
    url = f"http://127.0.0.1:{port}"
    person = {"consent": "yes", "website": ""}
    fetched = token(url)  # what a script gets from /token
    time.sleep(0.35)
    assert _subscribe(port, {**person, "email": "first@example.com", "t": fetched})[0] == 200
    replays = [_subscribe(port, {**person, "email": f"replay{i}@example.com", "t": fetched})
               for i in range(10)]
    assert {status for status, _ in replays} == {400}
    assert replays[0][1]["error"].startswith("One more step: this form was sent already")
    assert replays[0][1]["token"] != fetched  # a fresh one for a person's next press

    young = token(url)
    assert _subscribe(port, {**person, "email": "fast@example.com", "t": young})[0] == 400
    for trap in ({"Origin": "null"}, {"Origin": "https://evil.example"}):
        render = token(url)
        time.sleep(0.35)
        assert _subscribe(port, {**person, "email": "null@example.com", "t": render},
                          trap)[0] == 403
    render = token(url)
    time.sleep(0.35)
    no_honeypot = {"consent": "yes", "email": "nohoney@example.com", "t": render}
    status, answer = _subscribe(port, no_honeypot)
    assert status == 400 and answer["error"] == "Sorry, that did not go through."
    assert _subscribe(port, {**no_honeypot, "website": ""})[0] == 200  # the same token, unused


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


# ----- limits that hold: mailboxes, networks, proxies, restarts -----

@pytest.mark.parametrize("address, mailbox", [
    ("Jo.Ann+guide@GMail.com", "joann@gmail.com"),
    ("j.o.a.n.n@googlemail.com", "joann@gmail.com"),
    ("jo.ann+1+2@example.com", "jo.ann@example.com"),
    ("+tag@example.com", "+tag@example.com"),
    ("Jo.Ann@Outlook.com", "jo.ann@outlook.com"),
])
def test_addresses_are_limited_by_the_mailbox_they_reach(address, mailbox):
    assert canonical_mailbox(address) == mailbox


LOCAL = [ipaddress.ip_network("127.0.0.1/32"), ipaddress.ip_network("10.0.0.0/8")]


@pytest.mark.parametrize("peer, forwarded, client", [
    ("127.0.0.1", ["203.0.113.7"], "203.0.113.7"),
    ("127.0.0.1", ["198.51.100.1, 10.0.0.2"], "198.51.100.1"),  # through two of our proxies
    ("127.0.0.1", ["1.1.1.1, 198.51.100.1"], "198.51.100.1"),  # the client wrote 1.1.1.1
    ("127.0.0.1", ["<script>, 198.51.100.1"], "198.51.100.1"),
    ("127.0.0.1", ["not-an-ip"], "127.0.0.1"),
    ("127.0.0.1", ["198.51.100.1, evil"], "127.0.0.1"),
    ("127.0.0.1", ["1.1.1.1", "198.51.100.1:4711"], "198.51.100.1"),  # two headers, a port
    ("127.0.0.1", ["[2001:db8::1]:443"], "2001:db8::1"),
    ("127.0.0.1", ["::ffff:198.51.100.1"], "198.51.100.1"),
    ("192.0.2.9", ["203.0.113.7"], "192.0.2.9"),  # not a trusted proxy: the header is ignored
    ("127.0.0.1", [], "127.0.0.1"),
])
def test_x_forwarded_for_gives_the_right_most_untrusted_hop(peer, forwarded, client):
    assert client_ip(peer, forwarded, LOCAL) == client


def test_ipv6_clients_are_limited_by_their_64():
    assert network_key("2001:db8:1:2::1") == network_key("2001:db8:1:2:ffff::9") \
        == "2001:db8:1:2::/64"
    assert network_key("2001:db8:1:3::1") != network_key("2001:db8:1:2::1")
    assert network_key("198.51.100.1") == "198.51.100.1"


@pytest.fixture(scope="module")
def proxied(tmp_path_factory, built_sample):
    """A service behind a (pretend) proxy on 127.0.0.1 with tight limits; restartable."""
    base = tmp_path_factory.mktemp("signup-proxied")
    controller, _box, smtp_port = start_smtp()
    port = free_port()
    guide = make_guide(base, built_sample[0].output, port,
                       "  trusted_proxies: [127.0.0.1]\n"
                       "  rate_limits:\n    per_ip: 3/hour\n    per_address: 2/day\n")
    url = f"http://127.0.0.1:{port}"

    def start() -> Process:
        process = Process(["serve", str(guide), "--port", str(port)], base,
                          service_env(smtp_port), base / "serve.log")
        process.wait_http(url)
        return process

    running = [start()]

    def restart() -> None:
        running[0].stop()
        running[0] = start()
    try:
        yield url, base, restart
    finally:
        running[0].stop()
        controller.stop()


def _post(url: str, address: str, forwarded: str) -> int:
    render = token(url)
    time.sleep(0.35)
    status, body, _ = request(url + "/subscribe", {"email": address, "consent": "yes",
                                                   "website": "", "t": render},
                              {"Accept": "application/json", "X-Forwarded-For": forwarded})
    if status == 429:
        assert json.loads(body)["error"] == TOO_MANY
    return status


def test_limits_count_mailboxes_and_networks_and_survive_a_restart(proxied):
    url, base, restart = proxied
    gmail = ["Jo.Ann+1@gmail.com", "joann+2@googlemail.com", "j.o.a.n.n@gmail.com"]
    assert [_post(url, address, f"198.51.100.{i}") for i, address in enumerate(gmail)] \
        == [200, 200, 429]
    household = ["2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:ffff::3",
                 "2001:db8:1:2::4"]
    assert [_post(url, f"h{i}@example.com", ip) for i, ip in enumerate(household)] \
        == [200, 200, 200, 429]
    restart()
    assert _post(url, "JOANN+3@gmail.com", "198.51.100.9") == 429
    assert _post(url, "h9@example.com", "2001:db8:1:2::99") == 429
    assert _post(url, "other@example.com", "2001:db8:1:3::1") == 200
    assert _post(url, "forged@example.com", "<script>alert(1)</script>") == 200
    with sqlite3.connect(base / "guide" / "build" / "sample.signup.sqlite") as db:
        ips = dict(db.execute("SELECT s.address, c.ip FROM consents c JOIN subscribers s "
                              "ON s.id = c.subscriber_id"))
    assert ips["Jo.Ann+1@gmail.com"] == "198.51.100.0" and ips["h0@example.com"] == \
        "2001:db8:1:2::1"
    assert ips["forged@example.com"] == "127.0.0.1"  # not the header's text


# ----- download links -----

def test_download_links_are_sealed_per_send_and_expire():
    now = [1_000_000.0]
    tokens = Tokens(SECRET, clock=lambda: now[0])
    one, two = (tokens.download("Dora@Example.com", "sample") for _ in range(2))
    assert one != two and address_id("dora@example.com") not in one + two
    assert tokens.read_download(one, "sample", 30) == address_id("dora@example.com")
    signed = tokens.address_link(UNSUBSCRIBE, "dora@example.com", "sample")
    for wrong in ((one, "other"), (signed, "sample"), (one[:-2] + "AA", "sample")):
        with pytest.raises(TokenRefused):
            tokens.read_download(*wrong, 30)
    now[0] += 30 * 86400 + 1
    with pytest.raises(LinkExpired):
        tokens.read_download(two, "sample", 30)


def test_a_download_link_is_limited_counted_once_a_day_and_stops_on_unsubscribe(tight):
    port, _ = tight
    url = f"http://127.0.0.1:{port}"
    assert signup(url, "dora@example.com", "Dora")[0] == 200
    deadline = time.monotonic() + 20
    while not Tight.box.to("dora@example.com"):
        assert time.monotonic() < deadline, "no welcome email"
        time.sleep(0.05)
    (message,) = Tight.box.to("dora@example.com")
    text = message.get_body(("plain",)).get_content()
    link = re.search(r"(http://\S+/download/\S+)", text)[1]
    assert address_id("dora@example.com") not in link
    assert request(link)[0] == 200
    assert [request(link + "/pdf", method="HEAD")[0] for _ in range(3)] == [200] * 3
    assert [request(link + "/pdf")[0] for _ in range(4)] == [200, 200, 200, 429]
    with sqlite3.connect(Tight.base / "guide" / "build" / "sample.signup.sqlite") as db:
        (rows,) = db.execute("SELECT count(*) FROM downloads").fetchone()
    assert rows == 1

    unsubscribe = re.search(r"<(http[^>]+)>", message["List-Unsubscribe"])[1]
    assert request(unsubscribe, b"List-Unsubscribe=One-Click")[0] == 200
    assert request(link)[0] == 410 and request(link + "/pdf")[0] == 410


def test_redirects_come_from_base_url_never_from_the_host_header(tight):
    port, _ = tight
    for path in ("/subscribe/", "/token/?x=1", "//evil.example/"):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        connection.request("GET", path, headers={"Host": "evil.example"})
        response = connection.getresponse()
        response.read()
        connection.close()
        assert response.status == 307
        location = response.getheader("location")
        assert location.startswith(f"http://127.0.0.1:{port}/"), location
    assert request(f"http://127.0.0.1:{port}/token/")[0] == 200  # followed, to our own address
