"""Benchmark: `leadguide build` cold, after a one-paragraph edit and unchanged, against bare
`weasyprint` on the same final HTML.

Every figure comes from one run of this script, each build a fresh process, side by side:
wall time, CPU time (the process and its workers), peak memory (the resident memory of the
process tree, sampled every 10 ms as the sum of each process's proportional set size, so pages
forked workers share with their parent count once; and the top process's own VmHWM) and PDF
size. The machine is shared: compare the ratios, not the seconds.
The last rows time what a writer waits for while `leadguide serve` runs: from its start to
the first live PDF, and from a one-paragraph save to the chapter's page breaks and to the live
PDF rebuilt (median of 3 saves; serve's PDF process keeps the stylesheets parsed and forks
its part workers with them, and the PDF row includes the quiet time serve waits for more
saves), and bare WeasyPrint on the edited
chapter alone (the document serve lays out for its page breaks), which the save to page
breaks is compared with. The load average is printed at the start and at the end.
Usage: .venv/bin/python bench/build.py [GUIDE_DIR] [--json]
"""
from __future__ import annotations

import argparse
import json
import os
import queue
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from leadguide.build import read_sources
from leadguide.guide.config import load_config
from leadguide.html.assemble import assemble
from leadguide.layout.render import RENDER_OPTIONS
from leadguide.preview.background import PDF_QUIET_SECONDS

BIN = Path(sys.executable).parent
TARGETS = {"cold": 0.6, "edit": 0.2, "unchanged": 0.05}
EDITED_CHAPTER = "07-nutrition.md"  # a mid-sized chapter (3 of 24 pages)


def _tree(pid: int) -> list[int]:
    """A process and all its descendants."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as children:
                    todo += [int(child) for child in children.read().split()]
        except (OSError, ValueError):
            continue
    return found


def _field(path: str, name: str) -> int:
    """A ``Name:  123 kB`` line of a /proc file, in bytes (0 when the process is gone)."""
    try:
        with open(path) as lines:
            for line in lines:
                if line.startswith(name + ":"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


def _tree_pss(pid: int) -> int:
    return sum(_field(f"/proc/{p}/smaps_rollup", "Pss") for p in _tree(pid))


def timed(command: list[str]) -> dict:
    """Run a command; its wall and CPU seconds, peak memory of its process tree, stderr."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak, hwm, done = [0], [0], threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], _tree_pss(process.pid))
            hwm[0] = max(hwm[0], _field(f"/proc/{process.pid}/status", "VmHWM"))
            done.wait(0.01)
    sampler = threading.Thread(target=sample)
    sampler.start()
    stderr = process.stderr.read().decode()
    _, status, usage = os.wait4(process.pid, 0)  # CPU of the process and the workers it waited for
    done.set()
    sampler.join()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"failed: {' '.join(command)}\n{stderr}")
    return {"wall_s": time.perf_counter() - started, "cpu_s": usage.ru_utime + usage.ru_stime,
            "peak_mb": peak[0] / 1e6, "top_hwm_mb": hwm[0] / 1e6, "stderr": stderr}


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


def chapter_html(guide_dir: Path, name: str, folder: Path) -> tuple[Path, list[str]]:
    """Write the document serve lays out for one chapter's page breaks (the chapter alone,
    with the PDF's stylesheets), and the weasyprint flags for it: bare WeasyPrint on the
    chapter is what a save's page breaks are measured against."""
    from leadguide.layout.pagebreaks import chapter_document
    from leadguide.preview.site import Preview

    preview = Preview(guide_dir, folder / "chapter-preview", folder / "none.pdf")
    preview.build_all()
    document = chapter_document(preview.config, preview.env, preview.data,
                                preview.states[name].section)
    html = folder / "chapter.html"
    html.write_text(document.html, encoding="utf-8")
    flags = [f"--base-url={document.base_url}", "--presentational-hints"]
    return html, flags + [f"--stylesheet={sheet}" for sheet in document.stylesheets]


def edit_one_paragraph(guide: Path, name: str) -> str:
    """Add a sentence to the first paragraph of one chapter, as a writer would."""
    chapters = sorted((guide / "chapters").glob("*.md"))
    chapter = guide / "chapters" / name
    chapter = chapter if chapter.is_file() else chapters[len(chapters) // 2]
    text = chapter.read_text(encoding="utf-8")
    body = text.split("\n---", 2)[-1]
    paragraph = next(line for line in body.splitlines() if re.match(r"[A-Z][^|]{60,}\.$", line))
    chapter.write_text(text.replace(paragraph, paragraph + " Small steps add up.", 1),
                       encoding="utf-8")
    return chapter.name


def serve_figures(guide: Path, out: Path, chapter: str, edits: int = 3,
                  timeout: float = 180.0) -> dict[str, float]:
    """What a writer waits for under ``leadguide serve``, in seconds: from the start to the
    first live PDF, and (median of ``edits`` one-paragraph saves) from a save to the chapter's
    page breaks shown and to the live PDF rebuilt."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [str(BIN / "leadguide"), "serve", str(guide), "--port", "0", "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    events: queue.Queue[tuple[str, float]] = queue.Queue()

    def read() -> None:
        for line in process.stdout:
            if "live PDF rebuilt" in line:
                events.put(("pdf", time.perf_counter()))
            elif f"{chapter} lays out to" in line:
                events.put(("breaks", time.perf_counter()))
    threading.Thread(target=read, daemon=True).start()

    def next_event(kind: str) -> float:
        while True:
            got, when = events.get(timeout=timeout)
            if got == kind:
                return when
    try:
        first = next_event("pdf") - started
        to_pdf, to_breaks = [], []
        for _ in range(edits):
            time.sleep(0.5)  # the tab is idle again
            saved = time.perf_counter()
            edit_one_paragraph(guide, chapter)
            seen: dict[str, float] = {}
            while len(seen) < 2:
                got, when = events.get(timeout=timeout)
                seen.setdefault(got, when)
            to_breaks.append(seen["breaks"] - saved)
            to_pdf.append(seen["pdf"] - saved)
        return {"first_pdf": first, "save_to_breaks": sorted(to_breaks)[len(to_breaks) // 2],
                "save_to_pdf": sorted(to_pdf)[len(to_pdf) // 2]}
    except queue.Empty:
        sys.exit("leadguide serve did not rebuild its live PDF")
    finally:
        process.terminate()
        process.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("guide", nargs="?", default="guide", type=Path)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--edit", default=EDITED_CHAPTER, help="the chapter file to edit")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        guide = folder / "guide"
        shutil.copytree(args.guide, guide)
        html, flags = final_html(guide, folder)
        leadguide = [str(BIN / "leadguide"), "build", str(guide), "--draft"]
        load = [os.getloadavg()[0]]
        runs = {"bare": timed([str(BIN / "weasyprint"), "--quiet", *flags, str(html),
                               str(folder / "bare.pdf")])}
        runs["whole"] = timed([*leadguide, "--whole", "--out", str(folder / "whole.pdf")])
        out = folder / "out" / "guide.pdf"
        runs["cold"] = timed([*leadguide, "--out", str(out)])
        sizes = {"bare": (folder / "bare.pdf").stat().st_size,
                 "whole": (folder / "whole.pdf").stat().st_size, "cold": out.stat().st_size}
        edited = edit_one_paragraph(guide, args.edit)
        runs["edit"] = timed([*leadguide, "--out", str(out)])
        sizes["edit"] = out.stat().st_size
        runs["unchanged"] = timed([*leadguide, "--out", str(out)])
        sizes["unchanged"] = out.stat().st_size
        serve = serve_figures(guide, folder / "serve", args.edit)
        chapter, chapter_flags = chapter_html(guide, edited, folder)
        serve["bare_chapter"] = timed([str(BIN / "weasyprint"), "--quiet", *chapter_flags,
                                       str(chapter), str(folder / "chapter.pdf")])["wall_s"]
        load.append(os.getloadavg()[0])
    report(runs, sizes, edited, args.json, serve, load)


def report(runs: dict, sizes: dict, edited: str, as_json: bool, serve: dict[str, float],
           load: list[float]) -> None:
    bare = runs["bare"]
    figures = {name: {"wall_s": round(r["wall_s"], 3), "cpu_s": round(r["cpu_s"], 3),
                      "peak_mb": round(r["peak_mb"], 1),
                      "top_process_hwm_mb": round(r["top_hwm_mb"], 1), "pdf_mb": round(sizes[name] / 1e6, 3),
                      "time_ratio": round(r["wall_s"] / bare["wall_s"], 3),
                      "memory_ratio": round(r["peak_mb"] / bare["peak_mb"], 2),
                      "size_ratio_to_whole": round(sizes[name] / sizes["whole"], 3),
                      "parts": _parts(r["stderr"])} for name, r in runs.items()}
    if as_json:
        print(json.dumps({"cores": os.cpu_count(), "load_average": load, "edited": edited,
                          "targets": TARGETS,
                          "runs": figures,
                          "serve_s": {k: round(v, 3) for k, v in serve.items()},
                          "serve_time_ratio": {k: round(v / bare["wall_s"], 3)
                                               for k, v in serve.items()}},
                         indent=2))
        return
    labels = {"bare": "bare weasyprint", "whole": "leadguide --whole",
              "cold": "leadguide cold", "edit": "edited 1 paragraph", "unchanged": "nothing changed"}
    print(f"one run, each a fresh process, {os.cpu_count()} cores; edited: {edited}; "
          f"load average {load[0]:.1f} at the start, {load[-1]:.1f} at the end")
    print(f"{'':22}{'wall s':>8}{'cpu s':>8}{'x bare':>8}{'target':>8}{'peak MB':>9}"
          f"{'x bare':>8}{'PDF MB':>8}{'x whole':>8}  parts laid out")
    for name, row in figures.items():
        target = f"{TARGETS[name]:.2f}" if name in TARGETS else ""
        print(f"{labels[name]:22}{row['wall_s']:8.2f}{row['cpu_s']:8.2f}{row['time_ratio']:8.2f}"
              f"{target:>8}{row['peak_mb']:9.0f}{row['memory_ratio']:8.2f}{row['pdf_mb']:8.3f}"
              f"{row['size_ratio_to_whole']:8.3f}  {row['parts'] or ''}")
    cold = runs["cold"]["wall_s"]
    for key, label, note in (
            ("first_pdf", "serve: first live PDF", f"({serve['first_pdf'] / cold:.2f} x cold)"),
            ("save_to_breaks", "serve: save to breaks", "(median of 3 saves)"),
            ("save_to_pdf", "serve: save to PDF", f"(median of 3; includes serve's "
                                                  f"{PDF_QUIET_SECONDS} s wait for more saves)")):
        seconds = serve[key]
        print(f"{label:22}{seconds:8.2f}{'':8}{seconds / bare['wall_s']:8.2f}          {note}")
    chapter = serve["bare_chapter"]
    print(f"{'bare, chapter alone':22}{chapter:8.2f}{'':8}{chapter / bare['wall_s']:8.2f}          "
          f"(weasyprint on the edited chapter's page-break document; save to breaks "
          f"{serve['save_to_breaks'] / chapter:.2f} x this)")


def _parts(stderr: str) -> str:
    match = re.search(r"parts\s+(\d+ of \d+|all \d+ laid out|all \d+ from the cache)", stderr)
    return match.group(1) if match else ("0 (unchanged)" if "unchanged" in stderr else "")


if __name__ == "__main__":
    main()
