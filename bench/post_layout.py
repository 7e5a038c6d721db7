"""Benchmark: the incremental build's work on the whole PDF after layout.

One run: the guide is built once with the incremental path into a temp folder (so the part
cache exists and the parts' join inputs are caught), then each post-layout stage is timed on
its own, several times, and its median printed: ``join_parts`` on the cached parts,
``fix_tags`` on the joined bytes, the cheap preflight checks on the written PDF, and the
three together. Wall time and CPU time (this process, its threads included; on a shared
machine the CPU time is the steadier figure: compare the rows, not the seconds).
``--dump DIR`` writes the stages' outputs (joined.pdf, fixed.pdf, checks.json), to compare
two revisions byte for byte.
Usage: .venv/bin/python bench/post_layout.py [GUIDE_DIR] [--repeat N] [--dump DIR] [--json]
"""
from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from leadguide.build import build
from leadguide.check import run_checks
from leadguide.guide.config import load_config
from leadguide.layout import join
from leadguide.pdf.tags import fix_tags


def _caught_join(guide: Path, folder: Path) -> tuple[list, object]:
    """Build the guide into ``folder``, catching what the build hands join_parts."""
    caught = []
    original = join.join_parts

    def catch(parts, font_file):
        caught.append((parts, font_file))
        return original(parts, font_file)

    join.join_parts = catch  # incremental.py imports it when it joins
    try:
        build(guide, out=folder / "guide.pdf", draft=True)
    finally:
        join.join_parts = original
    if not caught:
        raise SystemExit("the guide was not built in parts: nothing to time")
    return caught[-1]


def _median(run, repeat: int) -> tuple[tuple[float, float], object]:
    """(median wall seconds, median CPU seconds) of ``repeat`` runs, and the last result."""
    walls, cpus, result = [], [], None
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        result = run()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return (statistics.median(walls), statistics.median(cpus)), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("guide", nargs="?", default="guide", type=Path)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--dump", type=Path)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    language = load_config(args.guide).language
    with tempfile.TemporaryDirectory(prefix="leadguide-post-") as temp:
        folder = Path(temp)
        parts, font_file = _caught_join(args.guide, folder)
        join_s, joined = _median(lambda: join.join_parts(parts, font_file), args.repeat)
        fix_s, fixed = _median(lambda: fix_tags(joined, language), args.repeat)
        written = folder / "fixed.pdf"
        written.write_bytes(fixed)
        checks_s, results = _median(lambda: run_checks(args.guide, written, cheap_only=True),
                                    args.repeat)
    stages = {"join_parts": join_s, "fix_tags": fix_s, "cheap_checks": checks_s}
    figures = {**{name: {"wall": wall, "cpu": cpu} for name, (wall, cpu) in stages.items()},
               "total": {"wall": sum(w for w, _ in stages.values()),
                         "cpu": sum(c for _, c in stages.values())}}
    if args.dump:
        args.dump.mkdir(parents=True, exist_ok=True)
        (args.dump / "joined.pdf").write_bytes(joined)
        (args.dump / "fixed.pdf").write_bytes(fixed)
        (args.dump / "checks.json").write_text(json.dumps(
            [[r.name, r.status, r.message, r.where] for r in results], indent=1))
    if args.json:
        print(json.dumps({"seconds": figures, "parts": len(parts), "repeat": args.repeat}))
        return
    print(f"{len(parts)} parts, median of {args.repeat} runs each, seconds")
    print(f"  {'stage':<13} {'wall':>6} {'cpu':>6}")
    for stage, seconds in figures.items():
        print(f"  {stage:<13} {seconds['wall']:6.3f} {seconds['cpu']:6.3f}")


if __name__ == "__main__":
    main()
