"""Benchmark: the signup service under a burst, on loopback, SQLite and Redis, 1/2/4 workers.

For each queue (SQLite, Redis) and each number of worker processes it runs the service as
real processes (``serve --workers 0`` and N ``worker`` processes) against a lean SMTP server
that takes ``--smtp-ms`` (20) ms per message, with the real welcome email (the default guide's
PDF attached, DKIM-signed) or link-only (``--link``):

1. **Drain**: ``--signups`` signups posted as fast as 20 clients can (signups accepted/s) with
   no worker running, then the workers are started: deliveries/s from the first to the last
   message the server accepts, and the workers' CPU per message over that time.
2. **Burst**: ``--signups`` more at ``--rate`` per second (paced, open loop) with the workers
   running: POST p50/p95, POST -> SMTP accepted p50/p95, queue peak (accepted, not yet at the
   server).

Then peak RSS per process, duplicates and losses (every address is checked), and in Redis mode
Redis's memory. ``--remote 0,2`` runs each Redis row also with that many of its workers as
workers of another machine (``signup worker --ledger-url``: a copy of the guide without the
database, claiming and recording through the service's signed ledger routes); "web ms" is the
service process's CPU per delivered message during the drain (the ledger's cost on the
database's machine: what caps how many deliveries/s any number of machines can make). ``--serve`` adds a row for the default one-command ``signup serve`` (its own
workers) under the same burst. ``--kills N`` adds the old fault run: a worker SIGKILLed N times
at random while it delivers; each duplicate is checked against SMTP's final-reply window.

Targets (issue 28, this 2-core machine, 20 ms SMTP): >= 80 deliveries/s with the attachment and
DKIM, >= 200/s link-only; POST p95 <= 50 ms at 100/s with the default `signup serve`; 0 lost.

Usage: .venv/bin/python bench/signup.py [--signups 300] [--rate 100] [--queues sqlite,redis]
       [--workers 1,2,4] [--remote 0,N] [--threads N] [--link] [--no-dkim] [--serve]
       [--kills 0] [--pdf PATH]
       [--before OLD/src]   (each row also run with an older version first: ratios)
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from signup_support import SAMPLE, Process, free_port, make_guide, service_env  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
LIMITS = ("  answer_seconds: 0\n"  # throughput, not the padding against timing
          "  rate_limits:\n    per_ip: 1000000/minute\n    per_address: 5/day\n")
TICK = os.sysconf("SC_CLK_TCK")
SOURCES: dict[str, str] = {}  # "now": the src folder the services of this row run from


def pct(values: list[float], q: int) -> float:
    if not values:
        return float("nan")
    return statistics.quantiles(values, n=100)[q - 1] if len(values) > 1 else values[0]


# ----- a lean SMTP server: bulk reads, no parsing, a fixed delay per message -----

class Sink:
    """Accepts every message after ``delay`` seconds; keeps who got what, and when."""

    def __init__(self, delay: float):
        self.delay = delay
        self.arrived: dict[str, list[float]] = {}
        self.dkim = 0
        self.count = 0
        self.lock = threading.Lock()
        self.loop = asyncio.new_event_loop()
        self.port = free_port()
        ready = threading.Event()
        threading.Thread(target=self._run, args=(ready,), daemon=True).start()
        ready.wait(10)

    def _run(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(asyncio.start_server(
            self._session, "127.0.0.1", self.port, limit=1 << 22))
        ready.set()
        self.loop.run_forever()
        server.close()

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 sink ESMTP\r\n")
        rcpt = ""
        try:
            while True:
                line = await reader.readline()
                if not line:
                    break
                verb = line[:4].upper()
                if verb in (b"EHLO", b"HELO"):
                    writer.write(b"250-sink\r\n250 8BITMIME\r\n")
                elif verb == b"MAIL":
                    rcpt = ""
                    writer.write(b"250 OK\r\n")
                elif verb == b"RCPT":
                    rcpt = line.split(b"<", 1)[1].split(b">", 1)[0].decode().lower()
                    writer.write(b"250 OK\r\n")
                elif verb == b"DATA":
                    writer.write(b"354 go on\r\n")
                    await writer.drain()
                    data = await reader.readuntil(b"\r\n.\r\n")
                    if self.delay:
                        await asyncio.sleep(self.delay)
                    with self.lock:
                        self.arrived.setdefault(rcpt, []).append(time.time())
                        self.count += 1
                        self.dkim += data.startswith(b"DKIM-Signature:")
                    writer.write(b"250 2.0.0 Accepted\r\n")
                elif verb == b"QUIT":
                    writer.write(b"221 bye\r\n")
                    await writer.drain()
                    break
                else:  # RSET, NOOP
                    writer.write(b"250 OK\r\n")
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError,
                asyncio.CancelledError):
            pass
        finally:
            with contextlib.suppress(RuntimeError):
                writer.close()

    def reset(self) -> None:
        with self.lock:
            self.arrived, self.count, self.dkim = {}, 0, 0

    def first(self, address: str) -> float | None:
        times = self.arrived.get(address)
        return times[0] if times else None

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)


# ----- processes: CPU and peak memory from /proc -----

def family(pid: int) -> list[int]:
    """The process and its children (serve starts its worker as a child)."""
    pids = [pid]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                pids.append(int(entry.name))
    return pids


def cpu_seconds(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / TICK
    return total


def peak_rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


# ----- HTTP -----

class Client:
    def __init__(self, url: str):
        parts = urllib.parse.urlsplit(url)
        self.host, self.port = parts.hostname, parts.port
        self.local = threading.local()

    def connection(self) -> http.client.HTTPConnection:
        conn = getattr(self.local, "conn", None)
        if conn is None:
            conn = self.local.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        return conn

    def call(self, method: str, path: str, body: str | None = None,
             headers: dict | None = None) -> tuple[int, bytes]:
        for attempt in (1, 2):
            conn = self.connection()
            try:
                conn.request(method, path, body, headers or {})
                response = conn.getresponse()
                return response.status, response.read()
            except (OSError, http.client.HTTPException):
                conn.close()
                self.local.conn = None
                if attempt == 2:
                    return 0, b""
        return 0, b""

    def token(self) -> str:
        status, body = self.call("GET", "/token")
        return json.loads(body)["token"] if status == 200 else ""

    def signup(self, address: str, render: str) -> int:
        body = urllib.parse.urlencode({"email": address, "consent": "yes", "website": "",
                                       "t": render})
        return self.call("POST", "/subscribe", body, {
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json"})[0]


@dataclass
class Posts:
    began: dict[str, float] = field(default_factory=dict)
    answered: dict[str, float] = field(default_factory=dict)
    latency: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def accepted(self) -> list[str]:
        return list(self.answered)


def post_all(client: Client, addresses: list[str], rate: float, clients: int) -> Posts:
    """POST every address: as fast as ``clients`` threads can (rate 0), or paced open-loop at
    ``rate`` per second (each POST starts at its slot, whatever the earlier ones took)."""
    with ThreadPoolExecutor(clients) as pool:
        tokens = list(pool.map(lambda _: client.token(), addresses))
    posts, lock = Posts(), threading.Lock()
    start = time.perf_counter() + 0.05

    def one(n: int) -> None:
        if rate:
            time.sleep(max(0.0, start + n / rate - time.perf_counter()))
        address = addresses[n]
        wall, began = time.time(), time.perf_counter()
        status = client.signup(address, tokens[n])
        took = time.perf_counter() - began
        with lock:
            posts.statuses[status] = posts.statuses.get(status, 0) + 1
            posts.latency.append(took)
            if status == 200:
                posts.began[address] = wall
                posts.answered[address] = wall + took

    began = time.perf_counter()
    with ThreadPoolExecutor(clients if not rate else max(clients, int(rate))) as pool:
        list(pool.map(one, range(len(addresses))))
    posts.seconds = time.perf_counter() - max(began, start)
    return posts


def wait_delivered(sink: Sink, addresses: list[str], timeout: float,
                   on_first=lambda: None) -> bool:
    deadline, seen_first = time.monotonic() + timeout, False
    while time.monotonic() < deadline:
        got = sum(1 for a in addresses if a in sink.arrived)
        if got and not seen_first:
            seen_first = True
            on_first()
        if got == len(addresses):
            time.sleep(1.0)  # room for a duplicate to show up
            return True
        time.sleep(0.02)
    return False


def queue_peak(posts: Posts, sink: Sink) -> int:
    events = [(t, 1) for t in posts.answered.values()]
    events += [(sink.first(a), -1) for a in posts.answered if sink.first(a) is not None]
    depth = peak = 0
    for _, step in sorted(events):
        depth += step
        peak = max(peak, depth)
    return peak


# ----- one configuration -----

@dataclass
class Row:
    name: str
    accepted_per_s: float = float("nan")
    post_p50: float = float("nan")
    post_p95: float = float("nan")
    deliveries_per_s: float = float("nan")
    smtp_p50: float = float("nan")
    smtp_p95: float = float("nan")
    queue_peak: int = 0
    cpu_ms: float = float("nan")
    web_cpu_ms: float = float("nan")
    rss: str = ""
    duplicates: int = 0
    lost: int = 0
    note: str = ""


class Redis:
    def __init__(self, folder: Path):
        self.port = free_port()
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(folder)],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        self.url = f"redis://127.0.0.1:{self.port}/0"
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.info().get("used_memory"):
                return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def info(self) -> dict[str, str]:
        try:
            out = subprocess.run(["redis-cli", "-p", str(self.port), "info", "memory"],
                                 capture_output=True, text=True, timeout=5).stdout
        except (OSError, subprocess.TimeoutExpired):
            return {}
        return dict(line.split(":", 1) for line in out.splitlines() if ":" in line)

    def dbsize(self) -> str:
        return subprocess.run(["redis-cli", "-p", str(self.port), "dbsize"], capture_output=True,
                              text=True, timeout=5).stdout.strip()

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def prepare(base: Path, pdf: Path, args, port: int, extra: str = "") -> Path:
    base.mkdir(parents=True)
    guide = make_guide(base, pdf, port, LIMITS + extra)
    text = (guide / "guide.yaml").read_text().replace("min_fill_seconds: 0.3",
                                                      "min_fill_seconds: 0")
    if args.link:
        text = text.replace("  attachment_name:", "  attach: false\n"
                            "  download_url: https://example.com/guide.pdf\n  attachment_name:")
    (guide / "guide.yaml").write_text(text)
    return guide


def environment(sink: Sink, args, base: Path, queue_url: str | None) -> dict[str, str]:
    env = service_env(sink.port, LEADGUIDE_SMTP_TIMEOUT="30")
    if queue_url:
        env["LEADGUIDE_QUEUE_URL"] = queue_url
    if not args.no_dkim:
        key = base / "dkim.pem"
        subprocess.run(["openssl", "genrsa", "-out", str(key), "2048"], check=True,
                       capture_output=True)
        env.update(LEADGUIDE_DKIM_KEY_FILE=str(key), LEADGUIDE_DKIM_SELECTOR="lg")
    # --before's sources for its rows (another version), else the caller's, else this checkout's.
    env["PYTHONPATH"] = SOURCES.get("now") or os.environ.get("PYTHONPATH") or str(ROOT / "src")
    return env


def run_workers(name: str, base: Path, pdf: Path, sink: Sink, args, workers: int,
                redis: bool, remote: int = 0) -> Row:
    """``remote`` of the ``workers`` processes run as another machine's (--ledger-url)."""
    row, port = Row(name), free_port()
    extra = "  remote_workers: true\n" if remote else ""
    guide = prepare(base, pdf, args, port, extra)
    far = prepare(base / "far", pdf, args, port, extra) if remote else guide
    server = Redis(base) if redis else None
    env = environment(sink, args, base, server.url if server else None)
    far_env = {**env, "LEADGUIDE_WORKER_HOST": "bench-far"}
    url = f"http://127.0.0.1:{port}"
    web = Process(["serve", str(guide), "--port", str(port), "--workers", "0"], base, env,
                  base / "web.log")
    procs: list[Process] = []
    client = Client(url)
    try:
        web.wait_http(url, timeout=60)
        if remote:  # the second machine gets the PDF the service built or checked
            shutil.copy(guide / "build" / "sample.pdf", far / "build" / "sample.pdf")
        # 1. drain: the queue filled with no worker, then the workers started
        drain = [f"d{n}@example.com" for n in range(args.signups)]
        filled = post_all(client, drain, 0, 20)
        row.accepted_per_s = len(filled.accepted) / filled.seconds
        threads = ["--workers", str(args.threads)] if args.threads else []
        procs = [Process(["worker", str(far), *threads, "--ledger-url", url], base, far_env,
                         base / f"far{n}.log") if n < remote else
                 Process(["worker", str(guide), *threads], base, env, base / f"worker{n}.log")
                 for n in range(workers)]
        cpu_first: list[float] = []
        wait_delivered(sink, filled.accepted, args.timeout,
                       lambda: cpu_first.extend([cpu_seconds([p.proc.pid for p in procs]),
                                                 cpu_seconds([web.proc.pid])]))
        times = sorted(sink.first(a) for a in filled.accepted if sink.first(a))
        if len(times) > 1:
            row.deliveries_per_s = (len(times) - 1) / (times[-1] - times[0])
            spent = cpu_seconds([p.proc.pid for p in procs]) - cpu_first[0]
            row.cpu_ms = spent / (len(times) - 1) * 1000
            row.web_cpu_ms = (cpu_seconds([web.proc.pid]) - cpu_first[1]) / (len(times) - 1) \
                * 1000
        # 2. burst at --rate with the workers running
        burst_row(row, client, sink, args, "b")
        lost_and_twice(row, sink, filled.accepted)
        row.note += f"{sink.dkim} of {sink.count} DKIM-signed;"
        row.rss = f"web {peak_rss_mb(web.proc.pid):.0f}, worker " + \
            "/".join(f"{peak_rss_mb(p.proc.pid):.0f}" for p in procs)
        if server:
            memory = server.info().get("used_memory_human", "?")
            row.note += f" redis {memory}, {server.dbsize()} keys"
    finally:
        for proc in procs:
            proc.stop()
        web.stop()
        if server:
            server.stop()
    return row


def burst_row(row: Row, client: Client, sink: Sink, args, prefix: str) -> None:
    burst = [f"{prefix}{n}@example.com" for n in range(args.signups)]
    posts = post_all(client, burst, args.rate, 20)
    wait_delivered(sink, posts.accepted, args.timeout)
    row.post_p50, row.post_p95 = pct(posts.latency, 50) * 1000, pct(posts.latency, 95) * 1000
    waits = [sink.first(a) - posts.began[a] for a in posts.accepted if sink.first(a)]
    row.smtp_p50, row.smtp_p95 = pct(waits, 50), pct(waits, 95)
    row.queue_peak = queue_peak(posts, sink)
    if posts.statuses.get(200, 0) != len(burst):
        row.note += f" burst statuses {posts.statuses}"
    lost_and_twice(row, sink, posts.accepted)


def lost_and_twice(row: Row, sink: Sink, addresses: list[str]) -> None:
    row.lost += sum(1 for a in addresses if a not in sink.arrived)
    row.duplicates += sum(1 for a in addresses if len(sink.arrived.get(a, ())) > 1)


def run_serve(base: Path, pdf: Path, sink: Sink, args) -> Row:
    row, port = Row("serve (default)"), free_port()
    guide = prepare(base, pdf, args, port)
    env = environment(sink, args, base, None)
    url = f"http://127.0.0.1:{port}"
    web = Process(["serve", str(guide), "--port", str(port)], base, env, base / "serve.log")
    try:
        web.wait_http(url, timeout=60)
        time.sleep(2)  # the worker's start
        pids = family(web.proc.pid)
        before = cpu_seconds(pids)
        burst_row(row, Client(url), sink, args, "s")
        spent = cpu_seconds(pids) - before
        row.cpu_ms = spent / max(1, args.signups) * 1000
        row.note += " (cpu: web and worker, per signup)"
        row.rss = " / ".join(f"{peak_rss_mb(pid):.0f}" for pid in pids)
    finally:
        web.stop()
    return row


def run_kills(base: Path, pdf: Path, sink: Sink, args) -> Row:
    row, port = Row(f"kills x{args.kills}"), free_port()
    guide = prepare(base, pdf, args, port)
    env = environment(sink, args, base, None)
    url = f"http://127.0.0.1:{port}"
    web = Process(["serve", str(guide), "--port", str(port), "--workers", "0"], base, env,
                  base / "web.log")
    try:
        web.wait_http(url, timeout=60)
        people = [f"k{n}@example.com" for n in range(args.signups)]
        posts = post_all(Client(url), people, 0, 20)
        killed_at = []
        for n in range(args.kills):
            worker = Process(["worker", str(guide)], base, env, base / f"worker{n}.log")
            time.sleep(random.uniform(2.0, 4.0))
            worker.kill()
            killed_at.append(time.time())
        last = Process(["worker", str(guide)], base, env, base / "worker-last.log")
        try:
            wait_delivered(sink, posts.accepted, args.timeout)
        finally:
            last.stop()
        lost_and_twice(row, sink, posts.accepted)
        twice = [a for a in posts.accepted if len(sink.arrived.get(a, ())) > 1]
        window = [a for a in twice if any(-0.1 <= k - sink.first(a) <= 0.5 for k in killed_at)]
        row.note = f"{len(window)} of the duplicates in SMTP's final-reply window"
    finally:
        web.stop()
    return row


def default_pdf(folder: Path) -> Path:
    from leadguide.build import build
    shutil.copytree(ROOT / "guide", folder / "guide")
    return build(folder / "guide", out=folder / "guide.pdf").output


def print_rows(rows: list[Row], args) -> None:
    mode = "link-only" if args.link else "attachment"
    print(f"\n{args.signups} signups per phase, burst {args.rate:g}/s, {mode}, "
          f"DKIM {'off' if args.no_dkim else 'on'}, SMTP {args.smtp_ms:g} ms/message, "
          f"threads per worker {args.threads or 'default'}")
    head = (f"{'run':<18}{'acc/s':>7}{'POST p50':>10}{'p95':>8}{'deliv/s':>9}"
            f"{'->SMTP p50':>11}{'p95':>8}{'peak':>6}{'cpu ms':>8}{'web ms':>8}{'dup':>5}"
            f"{'lost':>5}"
            f"  peak RSS MB; notes")
    print(head)
    for r in rows:
        print(f"{r.name:<18}{r.accepted_per_s:>7.0f}{r.post_p50:>10.1f}{r.post_p95:>8.1f}"
              f"{r.deliveries_per_s:>9.1f}{r.smtp_p50:>11.2f}{r.smtp_p95:>8.2f}"
              f"{r.queue_peak:>6}{r.cpu_ms:>8.1f}{r.web_cpu_ms:>8.2f}{r.duplicates:>5}"
              f"{r.lost:>5}  {r.rss}; {r.note}")
    sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--signups", type=int, default=300)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--queues", default="sqlite,redis")
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--remote", default="0", help="Redis rows: how many of the workers "
                        "run as another machine's (--ledger-url), e.g. 0,2")
    parser.add_argument("--threads", type=int, default=0, help="threads per worker process")
    parser.add_argument("--link", action="store_true", help="link-only: no attachment")
    parser.add_argument("--no-dkim", action="store_true")
    parser.add_argument("--smtp-ms", type=float, default=20.0)
    parser.add_argument("--serve", action="store_true", help="also the default signup serve")
    parser.add_argument("--kills", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=180.0)
    parser.add_argument("--pdf", type=Path, help="the PDF to attach (default: build the guide)")
    parser.add_argument("--before", type=Path, help="another version's src folder (e.g. from "
                        "`git archive`): each row is run with it first, then with this one, "
                        "and the ratio printed")
    args = parser.parse_args()
    versions = [("before ", str(args.before.resolve())), ("", "")] if args.before else [("", "")]
    print(f"load average at the start {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory(prefix="bench-signup-") as folder:
        root = Path(folder)
        pdf = args.pdf or default_pdf(root)
        print(f"PDF {pdf.stat().st_size / 1e6:.2f} MB ({pdf.name}); sample guide {SAMPLE.name}")
        sink = Sink(args.smtp_ms / 1000)
        rows: list[Row] = []
        try:
            for queue in filter(None, args.queues.split(",")):  # --queues "": --serve alone
                for workers in map(int, args.workers.split(",")):
                    remotes = [r for r in map(int, args.remote.split(",")) if r <= workers]
                    for remote in remotes if queue == "redis" else [0]:
                        for label, source in versions:
                            SOURCES["now"] = source
                            name = f"{label}{queue} {workers}w" + (f" {remote}r" if remote
                                                                   else "")
                            sink.reset()
                            rows.append(run_workers(name, root / name.replace(" ", "-"), pdf,
                                                    sink, args, workers, queue == "redis",
                                                    remote))
                            print_rows(rows[-1:], args)
            for label, source in versions:
                SOURCES["now"] = source
                if args.serve:
                    sink.reset()
                    rows.append(run_serve(root / f"{label}serve".replace(" ", "-"), pdf, sink,
                                          args))
                    rows[-1].name = f"{label}{rows[-1].name}"
                if args.kills:
                    sink.reset()
                    rows.append(run_kills(root / f"{label}kills".replace(" ", "-"), pdf, sink,
                                          args))
        finally:
            sink.stop()
        print_rows(rows, args)
        if args.before:
            print_ratios(rows)
        print(f"load average at the end {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


def print_ratios(rows: list[Row]) -> None:
    """after / before for each row run both ways (same run, same machine load)."""
    before = {row.name.removeprefix("before "): row for row in rows
              if row.name.startswith("before ")}
    print("\nafter / before: deliveries/s, POST p95, POST->SMTP p95, CPU ms per message")
    for row in rows:
        old = before.get(row.name)
        if old is None or row.name.startswith("before "):
            continue
        ratios = [row.deliveries_per_s / old.deliveries_per_s, row.post_p95 / old.post_p95,
                  row.smtp_p95 / old.smtp_p95, row.cpu_ms / old.cpu_ms]
        print(f"{row.name:<18}" + "".join(f"{r:>9.2f}x" for r in ratios))


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    main()
