"""Benchmark: a cold `leadguide build` against a bare `weasyprint` render of the same HTML.

Prints wall time, peak memory (max RSS) and PDF size for each, side by side, from one run.
Usage: .venv/bin/python bench/build.py [GUIDE_DIR] [--runs N]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from leadguide.assemble import assemble
from leadguide.build import read_sources
from leadguide.config import load_config
from leadguide.pdf import RENDER_OPTIONS

BIN = Path(sys.executable).parent


def timed(command: list[str]) -> tuple[float, int]:
    """Run a command; return its wall time in seconds and its peak RSS in bytes."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"failed: {' '.join(command)}\n{process.stderr.read().decode()}")
    return elapsed, usage.ru_maxrss * 1024


def final_html(guide_dir: Path, folder: Path) -> tuple[Path, list[str]]:
    """Write the exact HTML leadguide renders, and the weasyprint flags for its options."""
    config = load_config(guide_dir)
    guide = assemble(config, *read_sources(config))
    html = folder / "guide.html"
    html.write_text(guide.html, encoding="utf-8")
    flags = [f"--base-url={guide.base_url}"]  # relative image paths resolve in the guide
    flags += [f"--stylesheet={sheet}" for sheet in guide.stylesheets]
    flags += [f"--pdf-variant={RENDER_OPTIONS['pdf_variant']}", "--pdf-forms",
              f"--dpi={RENDER_OPTIONS['dpi']}", f"--jpeg-quality={RENDER_OPTIONS['jpeg_quality']}",
              "--presentational-hints"]
    return html, flags


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("guide", nargs="?", default="guide", type=Path)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        html, flags = final_html(args.guide, folder)
        ours = [timed([str(BIN / "leadguide"), "build", str(args.guide), "--draft",
                       "--out", str(folder / "leadguide.pdf")]) for _ in range(args.runs)]
        bare = [timed([str(BIN / "weasyprint"), "--quiet", *flags, str(html),
                       str(folder / "weasyprint.pdf")]) for _ in range(args.runs)]
        ours_s = statistics.median(t for t, _ in ours)
        bare_s = statistics.median(t for t, _ in bare)
        print(f"guide: {args.guide}  runs: {args.runs} (median; each a fresh process)")
        print(f"{'':22}{'leadguide build':>18}{'bare weasyprint':>18}")
        print(f"{'wall time (s)':22}{ours_s:18.2f}{bare_s:18.2f}")
        print(f"{'peak memory (MB)':22}{max(m for _, m in ours) / 1e6:18.0f}"
              f"{max(m for _, m in bare) / 1e6:18.0f}")
        print(f"{'PDF size (MB)':22}{(folder / 'leadguide.pdf').stat().st_size / 1e6:18.2f}"
              f"{(folder / 'weasyprint.pdf').stat().st_size / 1e6:18.2f}")
        print(f"ratio leadguide / weasyprint: {ours_s / bare_s:.2f}  (target <= 1.10)")


if __name__ == "__main__":
    main()
