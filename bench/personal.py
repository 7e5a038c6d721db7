"""Benchmark: personal copies of the default guide's PDF (pdf/personal.py).

Builds the default guide once (or takes ``--pdf``, with its manifest beside it), plans the
copies, then stamps ``--copies`` of them (default 1,000): a name from a rotating list of
scripts (Latin, Greek, Arabic, Chinese/Japanese, emoji, long double names) and a distinct
signed ``/go/`` link each, as the signup worker does. Prints the plan's one-off cost, ms per
copy (median, 95th percentile, mean), bytes per copy against the base and the peak memory
(tracemalloc's peak of Python allocations over a second pass of 100 copies, and the
process's max RSS) side by
side with the targets (30 ms, 1.1x). Stamps in memory: the on-disk cache is ``email.personal``'s.

Usage: .venv/bin/python bench/personal.py [--copies 1000] [--pdf build/guide.pdf]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import tempfile
import time
import tracemalloc
from pathlib import Path

from leadguide.build import build, manifest_path
from leadguide.email.message import Attachment
from leadguide.email.personal import personal_copies
from leadguide.guide.config import load_config
from leadguide.pdf.personal import stamp

GUIDE = Path(__file__).resolve().parents[1] / "guide"
NAMES = ("Ana", "Ελένη", "فاطمة", "美咲", "Ana 🌸", "Marie-Hélène", "José", "Oluwaseun",
         "Zoë", "Александра", "Nguyễn", "Anna Maria Katharina")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--copies", type=int, default=1000)
    parser.add_argument("--pdf", type=Path)
    args = parser.parse_args()
    pdf = args.pdf or build(GUIDE, out=Path(tempfile.mkdtemp()) / "guide.pdf").output
    assert manifest_path(pdf).exists(), "the PDF's manifest must sit beside it"
    config = load_config(GUIDE)
    base = pdf.read_bytes()
    started = time.perf_counter()
    copies = personal_copies(config, Attachment("guide.pdf", base, pdf, False))  # plans
    planned = time.perf_counter() - started
    plan = copies.plan()
    cta = config.cta.url
    times, cpu, sizes, left_off = [], [], [], 0
    for n in range(args.copies):
        link = f"https://signup.example.com/go/{n}.AbCdEfGhIjKl.{n:027d}"
        started, started_cpu = time.perf_counter(), time.process_time()
        copy = stamp(plan, NAMES[n % len(NAMES)], {cta: link})
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
        sizes.append(len(copy.pdf))
        left_off += not copy.name
    tracemalloc.start()  # a second, shorter pass: tracing slows Python down
    for n in range(100):
        stamp(plan, NAMES[n % len(NAMES)], {cta: f"https://signup.example.com/go/{n}.x.{n}"})
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    ms = sorted(t * 1000 for t in times)
    p95 = ms[int(len(ms) * 0.95) - 1]
    ratio = statistics.mean(sizes) / len(base)
    load = os.getloadavg()[0]
    print(json.dumps({"copies": args.copies, "base_bytes": len(base), "load": round(load, 1)}))
    print(f"{'':<26}{'measured':>12}{'target':>10}{'ratio':>8}")
    print(f"{'plan (once per base)':<26}{planned * 1000:>10.0f}ms{'':>10}{'':>8}")
    print(f"{'ms per copy, median':<26}{statistics.median(ms):>10.1f}ms{30:>8}ms"
          f"{statistics.median(ms) / 30:>8.2f}")
    print(f"{'ms per copy, p95':<26}{p95:>10.1f}ms{30:>8}ms{p95 / 30:>8.2f}")
    print(f"{'ms per copy, mean':<26}{statistics.mean(ms):>10.1f}ms{30:>8}ms"
          f"{statistics.mean(ms) / 30:>8.2f}")
    cpu_ms = statistics.median(cpu) * 1000
    print(f"{'CPU ms per copy, median':<26}{cpu_ms:>10.1f}ms{30:>8}ms{cpu_ms / 30:>8.2f}")
    print(f"{'bytes per copy, mean':<26}{statistics.mean(sizes):>12.0f}"
          f"{1.1 * len(base):>10.0f}{ratio:>8.3f}x base")
    print(f"{'bytes per copy, largest':<26}{max(sizes):>12.0f}"
          f"{1.1 * len(base):>10.0f}{max(sizes) / len(base):>8.3f}x base")
    print(f"{'peak Python memory':<26}{peak / 1e6:>10.1f}MB")
    print(f"{'peak RSS (process)':<26}{rss:>10.1f}MB")
    print(f"{'names left off':<26}{left_off:>12}")


if __name__ == "__main__":
    main()
