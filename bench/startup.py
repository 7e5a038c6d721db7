"""Benchmark: what importing WeasyPrint costs a process, with its library lookup (each name
it cannot open goes through ctypes.util.find_library: ldconfig, gcc, ld) and without
(leadguide.native: the sonames open directly). Each import is a fresh process; the two kinds
alternate; prints the medians side by side from this one run, and the compiler runs counted
by a stand-in gcc on PATH.

Usage: .venv/bin/python bench/startup.py [--runs 9]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
CODE = """
import sys, time
import leadguide
if sys.argv[1] == "lookup":  # take leadguide.native's finder out again
    sys.meta_path[:] = [f for f in sys.meta_path if type(f).__module__ != "leadguide.native"]
began = time.perf_counter()
import weasyprint
print(time.perf_counter() - began)
"""


def one(kind: str, path: str) -> float:
    done = subprocess.run([sys.executable, "-c", CODE, kind], capture_output=True, text=True,
                          check=True, env={**os.environ, "PYTHONPATH": str(SRC), "PATH": path})
    return float(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as folder:
        calls = Path(folder) / "calls"
        gcc = Path(folder) / "gcc"  # counts, then does what the real one would: finds nothing
        gcc.write_text(f'#!/bin/sh\necho x >> {calls}\nexec /usr/bin/gcc "$@"\n'
                       if Path("/usr/bin/gcc").exists() else f"#!/bin/sh\necho x >> {calls}\n"
                       "exit 1\n")
        gcc.chmod(0o755)
        path = f"{folder}:{os.environ['PATH']}"
        times: dict[str, list[float]] = {"lookup": [], "direct": []}
        runs: dict[str, int] = {}
        for _ in range(args.runs):
            for kind in times:
                before = len(calls.read_text().split()) if calls.exists() else 0
                times[kind].append(one(kind, path))
                after = len(calls.read_text().split()) if calls.exists() else 0
                runs[kind] = after - before
    print(f"import weasyprint, {args.runs} fresh processes each: median (min-max), gcc runs")
    for kind, label in (("lookup", "find_library lookup"), ("direct", "leadguide.native")):
        values = times[kind]
        print(f"{label:22} {statistics.median(values):.3f} s ({min(values):.3f}-"
              f"{max(values):.3f})  {runs[kind]} gcc runs")


if __name__ == "__main__":
    main()
