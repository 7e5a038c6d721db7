"""Rough edges: damaged files and a missing Redis are one-line messages, Ctrl+C in `serve`
does not wait for a layout, and no process start runs a compiler to find WeasyPrint's
libraries."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from signup_support import SECRET, free_port, make_guide

from leadguide.cli import main

SRC = Path(__file__).resolve().parents[1] / "src"


def _one_line_error(capsys, argv: list[str]) -> str:
    assert main(argv) == 1
    err = capsys.readouterr().err.strip()
    said = [line for line in err.splitlines() if not line.startswith("Building ")]
    assert "Traceback" not in err and len(said) == 1, err
    return said[0]


@pytest.fixture
def signup_guide(tmp_path, built_sample, monkeypatch):
    guide = make_guide(tmp_path, built_sample[0].output, free_port())
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LEADGUIDE_SECRET", SECRET)
    monkeypatch.delenv("LEADGUIDE_QUEUE_URL", raising=False)
    return guide


@pytest.mark.parametrize("damaged, says", [
    ("sample.signup.queue.sqlite", "cannot open the job queue: file is not a database"),
    ("sample.signup.sqlite", "cannot open the signup database: file is not a database"),
])
def test_a_damaged_database_at_start_is_one_line(signup_guide, capsys, damaged, says):
    (signup_guide / "build" / damaged).write_bytes(b"\x93garbage" * 512)
    err = _one_line_error(capsys, ["signup", "serve", str(signup_guide), "--port", "0"])
    assert f"build/{damaged}: {says}" in err


def test_stats_with_redis_down_still_counts(signup_guide, capsys, monkeypatch):
    """The ledger is in the signup database in Redis mode too: stats need no Redis."""
    monkeypatch.setenv("LEADGUIDE_QUEUE_URL", f"redis://127.0.0.1:{free_port()}/0")
    assert main(["signup", "stats", str(signup_guide)]) == 0
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err and "signups" in captured.out


def test_a_binary_stylesheet_is_one_line(signup_guide, capsys):
    (signup_guide / "styles").mkdir(exist_ok=True)
    (signup_guide / "styles" / "theme.css").write_bytes(bytes(range(128, 256)) * 8)
    err = _one_line_error(capsys, ["build", str(signup_guide)])
    assert "guide/styles/theme.css: not a text file in UTF-8" in err


def _python(code: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(SRC), **env})


def test_closing_a_worker_process_ends_its_task_at_once():
    """What Ctrl+C in `leadguide serve` does: before, Python's exit waited for the task."""
    done = _python("""
        import threading, time
        from leadguide.preview.background import LayoutProcess
        worker = LayoutProcess()
        threading.Thread(target=lambda: worker.run(time.sleep, 600), daemon=True).start()
        time.sleep(0.5)
        worker.close()
        print("closed")
    """)
    assert done.returncode == 0 and done.stdout == "closed\n", done.stderr


def test_the_live_pdf_process_forks_its_workers_and_dies_with_serve():
    """serve's PDF process runs no thread of its own (a thread would make its part workers
    come from a forkserver, a fresh interpreter each), yet ends when serve is killed."""
    done = _python("""
        import os, threading
        from leadguide.preview.background import PdfProcess
        process = PdfProcess()
        print(process.run(threading.active_count), process.pid, flush=True)
        os.kill(os.getpid(), 9)  # serve killed: nothing closes the process
    """)
    threads, pid = (int(n) for n in done.stdout.split())
    assert threads == 1, done.stderr
    deadline = time.monotonic() + 10
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(pid)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ")[1][0] != "Z"
    except OSError:
        return False


def test_weasyprint_is_loaded_without_running_a_compiler(tmp_path):
    calls = tmp_path / "calls"
    for name in ("gcc", "cc", "ld"):  # what ctypes.util.find_library runs on Linux
        (tmp_path / name).write_text(f'#!/bin/sh\necho "$0 $*" >> {calls}\nexit 1\n')
        (tmp_path / name).chmod(0o755)
    done = _python("""
        import leadguide, weasyprint
        pdf = weasyprint.HTML(string="<p>Hello</p>").write_pdf()
        print(pdf[:5].decode())
    """, PATH=f"{tmp_path}:{os.environ['PATH']}")
    assert done.stdout == "%PDF-\n", done.stderr
    assert not calls.exists(), calls.read_text()
