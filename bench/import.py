"""From a saved blog page to a built PDF: how long `leadguide import` and the build take.

The page is tests/import_sources/knees-over-toes.html (a hosted-blog post with its menu,
sidebar, comments, share bar and signup form) saved with its photo beside it, as a browser
saves it. Each run starts from fresh copies in a temporary folder, in a fresh process per
command (as a user types them), and prints the median of --runs:

- import: `leadguide import page.html --guide guide` into a copy of the sample guide;
- build: then `leadguide build guide --draft` (cold: no cache);
- new --from: `leadguide new DIR --from page.html` (import, a draft layout to count the pages,
  then the strict build), the one-command path.

Usage: PYTHONPATH=src .venv/bin/python bench/import.py [--runs 3]
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "tests" / "import_sources" / "knees-over-toes.html"
SAMPLE = ROOT / "tests" / "sample_guide"


def leadguide(*args: str, cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "leadguide", *args], cwd=cwd, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    return time.perf_counter() - started


def saved_page(folder: Path) -> Path:
    (folder / "images").mkdir(parents=True)
    shutil.copy(PAGE, folder / "post.html")
    Image.new("RGB", (3200, 2400), (190, 120, 90)).save(
        folder / "images" / "knee-over-toe-split-squat.jpg", quality=85)
    return folder / "post.html"


def one_run() -> dict[str, float]:
    with tempfile.TemporaryDirectory() as temp:
        work = Path(temp)
        page = saved_page(work / "saved")
        shutil.copytree(SAMPLE, work / "guide")
        imported = leadguide("import", str(page), "--guide", "guide", cwd=work)
        built = leadguide("build", "guide", "--draft", cwd=work)
        new = leadguide("new", "fresh", "--from", str(page), cwd=work)
    return {"import": imported, "build": built, "import + build": imported + built,
            "new --from": new}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    runs = [one_run() for _ in range(parser.parse_args().runs)]
    print(f"saved page -> PDF, median of {len(runs)} runs (fresh process per command)")
    for name in runs[0]:
        print(f"  {name:<15} {statistics.median(run[name] for run in runs):6.2f} s")


if __name__ == "__main__":
    main()
