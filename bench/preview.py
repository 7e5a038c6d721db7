"""Preview speed: from saving a chapter to its rebuilt HTML, and to a browser showing it.

    .venv/bin/python bench/preview.py [GUIDE_DIR] [--runs 7] [--chapter 06-exercise-library.md]

Serves a temporary copy of the guide with ``leadguide serve`` (a real subprocess), opens the
chapter in headless Chromium (Debian's /usr/bin/chromium, driven by Playwright), then saves the
chapter with a new sentence several times. Prints median and worst of both intervals.
Targets: save → HTML ≤ 100 ms, save → visible ≤ 300 ms, save → print page breaks of the saved
text shown ≤ 1 s (a WeasyPrint layout of the chapter in the background).
"""
from __future__ import annotations

import argparse
import queue
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


# The page shows the new text and page breaks laid out from it (not the previous save's).
# (Spaces compared as spaces: typeset joins words with no-break spaces.)
SHOWN = "m => document.body.innerText.replace(/\\s+/g, ' ').includes(m)"
FRESH_BREAKS = """m => document.body.innerText.replace(/\\s+/g, " ").includes(m) &&
    JSON.parse(document.getElementById("page-starts").textContent).fresh"""


def start_server(guide: Path, out: Path, pdf: Path) -> tuple[subprocess.Popen, str, list[str]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "leadguide", "serve", str(guide), "--port", "0", "--out", str(out),
         "--pdf", str(pdf)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    url: queue.Queue[str] = queue.Queue()

    def read() -> None:
        for line in process.stdout:
            lines.append(line.rstrip())
            if match := re.search(r"Serving .* at (http://\S+/)", line):
                url.put(match.group(1))

    threading.Thread(target=read, daemon=True).start()
    try:
        return process, url.get(timeout=60), lines
    except queue.Empty:
        process.kill()
        sys.exit("leadguide serve did not start:\n" + "\n".join(lines))


def wait_for_text(path: Path, text: str, found: list[float], timeout: float = 10.0) -> None:
    """Poll the written page (its mtime, then its text) until ``text`` is in it."""
    deadline, seen = time.perf_counter() + timeout, 0
    while time.perf_counter() < deadline:
        try:
            mtime = path.stat().st_mtime_ns
            if mtime != seen:
                seen = mtime
                if text in path.read_text(encoding="utf-8"):
                    found.append(time.perf_counter())
                    return
        except OSError:
            pass
        time.sleep(0.001)


def longest_chapter(guide: Path) -> str:
    return max((guide / "chapters").glob("*.md"), key=lambda p: p.stat().st_size).name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("guide", nargs="?", default="guide", type=Path)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--chapter", help="chapter file to edit (default: the longest)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="leadguide-bench-") as temp:
        guide = Path(temp) / args.guide.resolve().name
        shutil.copytree(args.guide, guide)
        chapter = guide / "chapters" / (args.chapter or longest_chapter(guide))
        out = Path(temp) / "preview"
        pdf = Path(temp) / "build" / "none.pdf"  # spans do not matter for speed
        process, url, log = start_server(guide, out, pdf)
        page_name = re.sub(r"[^a-z0-9]+", "-", chapter.stem.lower()).strip("-") + ".html"
        to_html, to_visible, to_marked = [], [], []
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path="/usr/bin/chromium",
                                                     args=CHROMIUM_ARGS)
                page = browser.new_page()
                page.goto(url + page_name)
                for run in range(args.runs + 1):  # the first run warms up and is not counted
                    page.wait_for_timeout(500)  # the reloaded page's event stream is open
                    marker = f"Benchmark sentence {run} {time.time_ns()}."
                    written: list[float] = []
                    poller = threading.Thread(target=wait_for_text,
                                              args=(out / page_name, marker, written))
                    poller.start()
                    saved = time.perf_counter()
                    with chapter.open("a", encoding="utf-8") as stream:
                        stream.write(f"\n{marker}\n")
                    page.wait_for_function(SHOWN,
                                           arg=marker, polling="raf", timeout=10_000)
                    visible = time.perf_counter()
                    page.wait_for_function(FRESH_BREAKS, arg=marker, polling="raf",
                                           timeout=10_000)
                    marked = time.perf_counter()
                    poller.join()
                    if run and written:
                        to_html.append((written[0] - saved) * 1000)
                        to_visible.append((visible - saved) * 1000)
                        to_marked.append((marked - saved) * 1000)
                browser.close()
        finally:
            process.terminate()
            process.wait(timeout=10)

    rebuilds = [int(m.group(1)) for line in log[2:]
                if (m := re.search(rf"→ {re.escape(page_name)} \((\d+) ms\)", line))]
    print(f"guide {args.guide}, chapter {chapter.name}, {len(to_html)} saves")
    for label, figures, note in (
            ("save → chapter HTML written", to_html, "target ≤ 100 ms"),
            ("save → visible in Chromium", to_visible, "target ≤ 300 ms"),
            ("save → print page breaks shown", to_marked, "target ≤ 1000 ms")):
        print(f"{label:<32} median {statistics.median(figures):6.0f} ms   "
              f"worst {max(figures):6.0f} ms   ({note})")
    if rebuilds:
        print(f"  the rebuild itself: median {statistics.median(rebuilds):.0f} ms (the rest of "
              "save → HTML is the file watcher noticing the save)")


if __name__ == "__main__":
    main()
