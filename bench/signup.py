"""Benchmark: the signup service on loopback, bounded in count and time.

1. Signups accepted per second and POST latency (p50/p95) under 20 concurrent clients
   (``serve --workers 0``: the web side alone, jobs only queued).
2. Time from POST to the SMTP server's acceptance (p50/p95) at 1 signup/s (embedded workers).
3. Deliveries lost and duplicated after random SIGKILLs of a separate worker process; each
   duplicate is checked against SMTP's final-reply window (a kill from 0.1 s before to 0.5 s
   after the server accepted its first copy: the final dot was out, the ledger not yet written).

Usage: .venv/bin/python bench/signup.py [--posts 2000] [--seconds 20] [--paced 20] [--kills 6]
"""
from __future__ import annotations

import argparse
import http.client
import json
import random
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from signup_support import (Process, free_port, make_guide, service_env, start_smtp,  # noqa: E402
                            token)

from leadguide.build import build  # noqa: E402

LIMITS = ("  answer_seconds: 0\n"  # throughput, not the padding against timing
          "  rate_limits:\n    per_ip: 1000000/minute\n    per_address: 5/day\n")


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[q - 1] if len(values) > 1 else values[0]


def start(base: Path, pdf: Path, smtp_port: int, args: list[str], name: str,
          min_fill: str = "0") -> tuple[Process, str, Path]:
    base.mkdir()
    port = free_port()
    guide = make_guide(base, pdf, port, LIMITS)
    text = (guide / "guide.yaml").read_text().replace("min_fill_seconds: 0.3",
                                                      f"min_fill_seconds: {min_fill}")
    (guide / "guide.yaml").write_text(text)
    process = Process(["serve", str(guide), "--port", str(port), *args], base,
                      service_env(smtp_port), base / f"{name}.log")
    url = f"http://127.0.0.1:{port}"
    process.wait_http(url, timeout=60)
    return process, url, guide


def post(connection: http.client.HTTPConnection, address: str, render: str | None = None) -> int:
    """One signup; without ``render``, a fresh token from /token first (each goes through once)."""
    if render is None:
        connection.request("GET", "/token")
        render = json.loads(connection.getresponse().read())["token"]
    body = urllib.parse.urlencode({"email": address, "consent": "yes", "website": "",
                                   "t": render})
    connection.request("POST", "/subscribe", body, {
        "Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"})
    response = connection.getresponse()
    response.read()
    return response.status


def throughput(url: str, posts: int, seconds: float, clients: int = 20) -> None:
    host, port = urllib.parse.urlsplit(url).hostname, urllib.parse.urlsplit(url).port
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    counter = iter(range(posts))
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client() -> None:
        connection = http.client.HTTPConnection(host, port, timeout=10)
        while time.monotonic() < deadline:
            with lock:
                n = next(counter, None)
            if n is None:
                return
            began = time.perf_counter()
            status = post(connection, f"t{n}@example.com")
            with lock:
                latencies.append(time.perf_counter() - began)
                statuses[status] = statuses.get(status, 0) + 1

    began = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    took = time.perf_counter() - began
    accepted = statuses.get(200, 0)
    print(f"1. {clients} clients: {accepted} signups accepted in {took:.1f} s = "
          f"{accepted / took:.0f}/s (target >= 200); POST p50 {pct(latencies, 50) * 1000:.1f} ms, "
          f"p95 {pct(latencies, 95) * 1000:.1f} ms (target <= 50); statuses {statuses}")


def paced(url: str, box, count: int) -> None:
    sent: dict[str, float] = {}
    for n in range(count):
        address = f"p{n}@example.com"
        render = token(url)
        sent[address] = time.time()
        host = urllib.parse.urlsplit(url)
        assert post(http.client.HTTPConnection(host.hostname, host.port, timeout=10), address,
                    render) == 200
        time.sleep(max(0.0, 1.0 - (time.time() - sent[address])))
    box.wait_for(count, timeout=60)
    waits = [box.arrived[address] - sent[address] for address in sent]
    print(f"2. 1 signup/s x {count}: POST -> SMTP accepted p50 {pct(waits, 50):.2f} s, "
          f"p95 {pct(waits, 95):.2f} s (target <= 3), max {max(waits):.2f} s")


def kills(base: Path, guide: Path, url: str, box, smtp_port: int, count: int,
          rounds: int) -> None:
    host = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(host.hostname, host.port, timeout=10)
    people = [f"k{n}@example.com" for n in range(count)]
    for address in people:
        assert post(connection, address) == 200
    box.delay = 0.004  # the server takes 4 ms to answer DATA: a real final-reply window
    env, killed_at = service_env(smtp_port), []
    for n in range(rounds):
        worker = Process(["worker", str(guide), "--workers", "2"], base, env,
                         base / f"worker{n}.log")
        time.sleep(random.uniform(2.0, 4.0))  # startup is ~1.5 s of imports on this machine
        worker.kill()
        killed_at.append(time.time())
    last = Process(["worker", str(guide), "--workers", "2"], base, env, base / "worker-last.log")
    try:
        deadline = time.monotonic() + 120
        while not set(people) <= set(box.counts()) and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(2)
    finally:
        last.stop()
    counts = box.counts()
    lost = [p for p in people if counts.get(p, 0) == 0]
    twice = [p for p in people if counts.get(p, 0) > 1]
    in_window = [p for p in twice
                 if any(-0.1 <= k - box.first[p] <= 0.5 for k in killed_at)]
    print(f"3. {count} signups, worker SIGKILLed {rounds} times at random: lost {len(lost)}, "
          f"duplicated {len(twice)} ({len(in_window)} of them with a kill from 0.1 s before to "
          f"0.5 s after SMTP accepted the first copy: SMTP's final-reply window; "
          f"{len(twice) - len(in_window)} outside it)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--posts", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--paced", type=int, default=20)
    parser.add_argument("--kills", type=int, default=6)
    parser.add_argument("--kill-signups", type=int, default=150)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-signup-") as folder:
        root = Path(folder)
        import shutil

        from signup_support import SAMPLE
        shutil.copytree(SAMPLE, root / "src")
        pdf = build(root / "src", out=root / "sample.pdf").output
        controller, box, smtp_port = start_smtp()
        box.arrived, box.first = {}, {}
        original = box.handle_DATA

        async def timed(server, session, envelope):
            reply = await original(server, session, envelope)
            if reply.startswith("250"):
                address = envelope.rcpt_tos[0].lower()
                box.arrived.setdefault(address, time.time())
                box.first.setdefault(address, time.time())
            return reply
        box.handle_DATA = timed
        try:
            web, url, _ = start(root / "a", pdf, smtp_port, ["--workers", "0"], "web")
            try:
                throughput(url, args.posts, args.seconds)
            finally:
                web.stop()
            served, url, _ = start(root / "b", pdf, smtp_port, [], "serve")
            try:
                paced(url, box, args.paced)
            finally:
                served.stop()
            web, url, guide = start(root / "c", pdf, smtp_port, ["--workers", "0"], "web2")
            try:
                kills(root / "c", guide, url, box, smtp_port, args.kill_signups, args.kills)
            finally:
                web.stop()
        finally:
            controller.stop()


if __name__ == "__main__":
    main()
