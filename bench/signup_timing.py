"""Benchmark: can the time /subscribe takes tell a new address from a known one?

Runs ``leadguide signup serve`` on loopback twice, with ``signup.answer_seconds: 0`` (every
answer as soon as it is ready: the service before the padding) and with the default (0.25 s),
and times, alternately, POSTs of new addresses and of addresses already subscribed. Prints
the medians and the 5th-95th percentiles side by side from this one run.

Usage: .venv/bin/python bench/signup_timing.py [--posts 30]
"""
from __future__ import annotations

import argparse
import http.client
import json
import shutil
import statistics
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from signup_support import (SAMPLE, Process, free_port, make_guide, service_env,  # noqa: E402
                            start_smtp)

from leadguide.build import build  # noqa: E402

SETTINGS = ("  min_fill_seconds: 0\n  rate_limits:\n    per_ip: 1000000/minute\n"
            "    per_address: 1000/day\n")


def post(connection: http.client.HTTPConnection, address: str) -> float:
    connection.request("GET", "/token")
    render = json.loads(connection.getresponse().read())["token"]
    body = urllib.parse.urlencode({"email": address, "consent": "yes", "website": "",
                                   "t": render})
    began = time.perf_counter()
    connection.request("POST", "/subscribe", body, {
        "Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"})
    response = connection.getresponse()
    response.read()
    took = time.perf_counter() - began
    assert response.status == 200, response.status
    return took * 1000


def measure(base: Path, pdf: Path, smtp_port: int, answer: str | None, posts: int,
            name: str) -> tuple[list[float], list[float]]:
    base.mkdir()
    port = free_port()
    extra = SETTINGS + (f"  answer_seconds: {answer}\n" if answer is not None else "")
    guide = make_guide(base, pdf, port, extra)
    (guide / "guide.yaml").write_text((guide / "guide.yaml").read_text().replace(
        "  min_fill_seconds: 0.3\n", ""))
    process = Process(["serve", str(guide), "--port", str(port)], base, service_env(smtp_port),
                      base / f"{name}.log")
    try:
        process.wait_http(f"http://127.0.0.1:{port}", timeout=60)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        for n in range(posts):
            post(connection, f"known{n}@example.com")
        new, known = [], []
        for n in range(posts):
            new.append(post(connection, f"new{n}@example.com"))
            known.append(post(connection, f"known{n}@example.com"))
        return new, known
    finally:
        process.stop()


def spread(values: list[float]) -> str:
    cuts = statistics.quantiles(values, n=20)
    return f"{statistics.median(values):6.1f} ms ({cuts[0]:.1f}-{cuts[-1]:.1f})"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--posts", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-timing-") as tmp:
        base = Path(tmp)
        shutil.copytree(SAMPLE, base / "src")
        pdf = build(base / "src", out=base / "sample.pdf").output
        controller, _, smtp_port = start_smtp()
        try:
            rows = [("answer_seconds: 0", *measure(base / "a", pdf, smtp_port, "0",
                                                   args.posts, "unpadded")),
                    ("default (0.25 s)", *measure(base / "b", pdf, smtp_port, None,
                                                  args.posts, "padded"))]
        finally:
            controller.stop()
    print(f"POST /subscribe, {args.posts} each, median (5th-95th percentile):")
    print(f"{'':20} {'new address':>28} {'known address':>28}")
    for label, new, known in rows:
        print(f"{label:20} {spread(new):>28} {spread(known):>28}")


if __name__ == "__main__":
    main()
