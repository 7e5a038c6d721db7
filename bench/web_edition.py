"""Benchmark: the web edition of a guide beside the PDF it goes with. Prints the time to write
it with the build's chapter cache warm and with no cache, side by side with the PDF build's
own time, and what a phone loads: the edition's size, the heaviest chapter page with the
styles and fonts it loads, against the PDF's size.

Usage: .venv/bin/python bench/web_edition.py [GUIDE_DIR] [--runs 3]
"""
from __future__ import annotations

import argparse
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from leadguide.build import build, read_sources
from leadguide.cache import BuildCache
from leadguide.guide.config import load_config
from leadguide.web.edition import write_web_edition


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("guide", nargs="?", default="guide", type=Path)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temp:
        guide = Path(temp) / "guide"
        shutil.copytree(args.guide, guide, ignore=shutil.ignore_patterns("build"))
        began = time.perf_counter()
        result = build(guide, whole=False)
        pdf_seconds = time.perf_counter() - began
        config = load_config(guide)
        chapters, data = read_sources(config)
        cached, bare = [], []
        for _ in range(args.runs):
            began = time.perf_counter()
            edition = write_web_edition(config, chapters, data, result.output,
                                        BuildCache(result.output).chapters(config))
            cached.append(time.perf_counter() - began)
            began = time.perf_counter()
            write_web_edition(config, chapters, data, result.output)
            bare.append(time.perf_counter() - began)
        total = sum(p.stat().st_size for p in edition.folder.rglob("*") if p.is_file())
        heaviest = max(_page_weight(edition.folder, page) for page in edition.pages[1:])
        print(f"{'':28}{'web edition':>14}{'PDF':>12}{'ratio':>9}")
        print(f"{'write, chapter cache warm':28}{statistics.median(cached):>13.2f}s"
              f"{pdf_seconds:>11.2f}s{statistics.median(cached) / pdf_seconds:>9.2f}")
        print(f"{'write, no cache':28}{statistics.median(bare):>13.2f}s")
        print(f"{'size on disk':28}{total / 1e6:>12.2f}MB{result.size / 1e6:>10.2f}MB"
              f"{total / result.size:>9.2f}")
        print(f"{'heaviest page + its files':28}{heaviest / 1e6:>12.2f}MB"
              f"{result.size / 1e6:>10.2f}MB"
              f"{heaviest / result.size:>9.2f}")
        print(f"pages: {len(edition.pages)} (contents + {len(edition.pages) - 1} chapters)")
    return 0


def _page_weight(folder: Path, page: str) -> int:
    """A page, its stylesheets, the fonts they name and its images (each once)."""
    text = (folder / page).read_text(encoding="utf-8")
    files = {folder / page}
    for href in re.findall(r'<link rel="stylesheet" href="([^"]+)"', text):
        sheet = folder / href
        files.add(sheet)
        css = sheet.read_text(encoding="utf-8")
        fonts = re.findall(r"url\(([^)'\"]+\.(?:otf|ttf|woff2?))\)", css)
        files |= {sheet.parent / url for url in fonts}
    files |= {folder / src for src in re.findall(r'<img[^>]* src="(images/[^"]+)"', text)}
    return sum(f.stat().st_size for f in files if f.is_file())


if __name__ == "__main__":
    sys.exit(main())
