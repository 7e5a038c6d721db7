"""How long `leadguide fit` takes against one full build, on the default guide with one chapter
pushed over its budget by a paragraph. Each run is a fresh process; the figures are from one
run, side by side (these machines are shared: compare the ratio, not the seconds).

    python bench/fit.py [GUIDE_DIR] [--chapter NAME] [--json]
"""
from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

EXTRA = ("\n\nSleep, steps and stress are the quiet half of the plan. When one slips, the other "
         "two carry more of the load, so pick the easiest one to fix this week and start there. "
         "Small steps done often beat big plans done once, and the two of you can share them.\n")
LEADGUIDE = [sys.executable, "-m", "leadguide"]


def timed(args: list[str], cwd: Path) -> tuple[float, subprocess.CompletedProcess]:
    started = time.perf_counter()
    done = subprocess.run(LEADGUIDE + args, cwd=cwd, capture_output=True, text=True)
    return time.perf_counter() - started, done


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("guide", nargs="?", default="guide")
    parser.add_argument("--chapter", default="08-recovery-and-mindset.md")
    parser.add_argument("--json", action="store_true")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="leadguide-bench-fit-") as scratch:
        work = Path(scratch)
        guide = work / "guide"
        shutil.copytree(options.guide, guide)
        (guide / "fit.yaml").unlink(missing_ok=True)
        build_seconds, built = timed(["build", "guide"], work)
        if built.returncode:
            print(built.stderr, file=sys.stderr)
            return 1
        chapter = guide / "chapters" / options.chapter
        chapter.write_text(chapter.read_text(encoding="utf-8") + EXTRA, encoding="utf-8")
        _, over = timed(["build", "guide"], work)
        fit_seconds, fitted = timed(["fit", "guide"], work)
        if fitted.returncode:
            print(fitted.stdout, fitted.stderr, file=sys.stderr)
            return 1
    passes = int(re.search(r"(\d+) layout passes", fitted.stdout).group(1))
    figures = {"full_build_s": round(build_seconds, 2), "fit_s": round(fit_seconds, 2),
               "ratio": round(fit_seconds / build_seconds, 2), "layout_passes": passes,
               "pushed_over": over.returncode != 0, "decision": fitted.stdout.strip()}
    if options.json:
        print(json.dumps(figures, indent=2))
        return 0
    print(f"chapter pushed over: {options.chapter} "
          f"({'the build failed, as it should' if figures['pushed_over'] else 'still fits!'})")
    print(f"{'one full build':<16}{build_seconds:8.2f} s")
    print(f"{'leadguide fit':<16}{fit_seconds:8.2f} s   {figures['ratio']:.2f} x one build, "
          f"{passes} layout passes (target: under 3 x)")
    print(fitted.stdout.strip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
