"""Benchmark: `leadguide check` on a built guide, the build excluded (target: under 1 s).

Builds the guide once (as a draft, into a temporary folder), then times every check together,
the cheap ones the build runs, and each check on its own share of the work, over a few runs.
Usage: .venv/bin/python bench/check.py [GUIDE_DIR] [--runs N]
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from leadguide.build import build
from leadguide.check import CHECKS, run_checks
from leadguide.check.facts import Facts


def seconds(action) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def per_check(guide: Path, pdf: Path) -> dict[str, float]:
    """Each check in registry order on one fresh read: a check pays for what it reads first."""
    facts = Facts(guide, pdf)
    try:
        return {check.name: seconds(lambda: check.run(facts)) for check in CHECKS}
    finally:
        facts.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("guide", nargs="?", default="guide", type=Path)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        pdf = build(args.guide, out=Path(folder) / "guide.pdf", draft=True).output
        run_checks(args.guide, pdf)  # warm up imports and caches of the libraries
        full = [seconds(lambda: run_checks(args.guide, pdf)) for _ in range(args.runs)]
        cheap = [seconds(lambda: run_checks(args.guide, pdf, cheap_only=True))
                 for _ in range(args.runs)]
        parts = per_check(args.guide, pdf)
        pages = Facts(args.guide, pdf).page_count
    print(f"leadguide check on {args.guide} ({pages} pages), build excluded, {args.runs} runs")
    print(f"  all {len(CHECKS)} checks   median {statistics.median(full) * 1000:6.0f} ms   "
          f"best {min(full) * 1000:6.0f} ms   target < 1000 ms")
    print(f"  cheap checks   median {statistics.median(cheap) * 1000:6.0f} ms   "
          f"best {min(cheap) * 1000:6.0f} ms   (run after every build)")
    print("  one run, check by check (each pays for the PDF/HTML it reads first):")
    for name, spent in parts.items():
        print(f"    {name:<17} {spent * 1000:6.0f} ms")


if __name__ == "__main__":
    main()
