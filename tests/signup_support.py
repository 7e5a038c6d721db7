"""Real parts for the signup tests: a guide with a signup section, an SMTP server (aiosmtpd),
the service as a real process, and HTTP calls as a browser or a script would make them."""
from __future__ import annotations

import email
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from email.policy import default
from pathlib import Path

from aiosmtpd.controller import Controller

SAMPLE = Path(__file__).parent / "sample_guide"
SECRET = "test-secret-" + "x" * 40
EMAIL = """\
email:
  from: Test Clinic <coach@example.com>
  reply_to: coach@example.com
  subject: "Your free guide"
  unsubscribe_mailto: unsubscribe@example.com
  postal_address: "Test Clinic · 1 Test Street · Testville, TS 12345 · USA"
  attachment_name: The Sample Guide.pdf
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_guide(base: Path, pdf: Path, port: int, signup: str = "") -> Path:
    """A copy of the sample guide with email: and signup: sections; the session's PDF is
    copied in after, so it is newer than the guide and never rebuilt."""
    guide = base / "guide"
    shutil.copytree(SAMPLE, guide)
    section = (f"signup:\n  base_url: http://127.0.0.1:{port}\n"
               "  consent: \"Yes, email me the guide.\"\n  min_fill_seconds: 0.3\n" + signup)
    (guide / "guide.yaml").write_text((guide / "guide.yaml").read_text() + EMAIL + section)
    (guide / "build").mkdir(exist_ok=True)
    shutil.copy(pdf, guide / "build" / "sample.pdf")
    return guide


class Mailbox:
    """aiosmtpd handler: keeps what it accepts; can answer DATA from a script, or stall RCPT."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.raw: list[bytes] = []
        self.data_replies: list[str] = []
        self.delay = 0.0
        self.stall_after: int | None = None
        self.stalled = threading.Event()
        self.before_reply = None  # called after the message is in, before the 250
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, options):
        import asyncio
        if self.stall_after is not None and len(self.messages) >= self.stall_after:
            self.stalled.set()
            await asyncio.sleep(3600)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        import asyncio
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.data_replies:
            return self.data_replies.pop(0)
        with self.lock:
            self.raw.append(envelope.original_content)
            self.messages.append(email.message_from_bytes(envelope.original_content,
                                                          policy=default))
        if self.before_reply:
            self.before_reply()
        return "250 2.0.0 Accepted"

    def to(self, address: str) -> list[email.message.EmailMessage]:
        return [m for m in self.messages if m["To"].addresses[0].addr_spec.lower() == address]

    def counts(self) -> Counter:
        return Counter(m["To"].addresses[0].addr_spec.lower() for m in list(self.messages))

    def wait_for(self, count: int, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.messages)} messages arrived, not {count}")
            time.sleep(0.05)


def start_smtp() -> tuple[Controller, Mailbox, int]:
    box, port = Mailbox(), free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    return controller, box, port


def service_env(smtp_port: int, **extra: str) -> dict[str, str]:
    env = {**os.environ, "LEADGUIDE_SMTP_HOST": "127.0.0.1",
           "LEADGUIDE_SMTP_PORT": str(smtp_port), "LEADGUIDE_SMTP_SECURITY": "none",
           "LEADGUIDE_SMTP_TIMEOUT": "5", "LEADGUIDE_SECRET": SECRET}
    env.pop("LEADGUIDE_QUEUE_URL", None)
    env.update(extra)
    return env


class Process:
    """``leadguide signup serve`` or ``worker`` as a real process, output in a log file."""

    command = [sys.executable, "-m", "leadguide", "signup"]

    def __init__(self, args: list[str], cwd: Path, env: dict[str, str], log: Path,
                 preexec_fn=None):
        self.log = log
        self.handle = open(log, "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "leadguide", "signup", *args],
                                     cwd=cwd, env=env, stdout=self.handle, stderr=self.handle,
                                     preexec_fn=preexec_fn)

    def wait_http(self, url: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"the service exited: {self.log.read_text()}")
            try:
                urllib.request.urlopen(url + "/healthz", timeout=2).read()
                return
            except OSError:
                time.sleep(0.1)
        raise AssertionError(f"the service did not start: {self.log.read_text()}")

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()
        self.handle.close()


def request(url: str, data: dict | bytes | None = None, headers: dict | None = None,
            method: str | None = None) -> tuple[int, bytes, dict]:
    body = urllib.parse.urlencode(data).encode() if isinstance(data, dict) else data
    req = urllib.request.Request(url, data=body, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as response:
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, error.read(), dict(error.headers)


def token(base: str) -> str:
    return json.loads(request(base + "/token")[1])["token"]


def signup(base: str, address: str, name: str = "", wait: float = 0.35,
           fresh_token: str | None = None) -> tuple[int, dict]:
    """What the hosted form sends, as JSON; waits out the minimum fill time."""
    render = fresh_token or token(base)
    time.sleep(wait)
    status, body, _ = request(base + "/subscribe", {"email": address, "first_name": name,
                                                    "consent": "yes", "website": "",
                                                    "t": render},
                              {"Accept": "application/json"})
    return status, json.loads(body)


def signup_many(base: str, addresses: list[str], wait: float = 0.35) -> list[int]:
    """Several signups: every form rendered first, then all sent after one fill-time wait."""
    tokens = [token(base) for _ in addresses]
    time.sleep(wait)
    return [signup(base, address, wait=0, fresh_token=render)[0]
            for address, render in zip(addresses, tokens)]


class RedisServer:
    """A real redis-server on a free port, with or without AOF; killed and started again on
    the same port and folder (so with AOF it comes back with its data)."""

    def __init__(self, folder: Path, aof: bool = False):
        self.folder, self.aof, self.port = folder, aof, free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen | None = None
        self.start()

    def start(self) -> None:
        import redis
        server = shutil.which("redis-server")
        if server is None:
            raise AssertionError("redis-server is missing: run scripts/system-deps.sh test")
        persistence = (["--appendonly", "yes", "--appendfsync", "always"] if self.aof
                       else ["--appendonly", "no"])
        self.proc = subprocess.Popen([server, "--port", str(self.port), "--bind", "127.0.0.1",
                                      "--save", "", *persistence, "--dir", str(self.folder)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        client = redis.Redis(port=self.port)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except (redis.ConnectionError, redis.BusyLoadingError):
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
            self.proc = None

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None

    def client(self):
        import redis
        return redis.Redis.from_url(self.url, decode_responses=True)
