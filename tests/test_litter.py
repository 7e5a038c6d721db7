"""Builds killed with SIGKILL leave files; the next build removes exactly those."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time

from leadguide.build import build


def test_a_later_build_cleans_what_killed_builds_left(sample_guide, tmp_path, monkeypatch):
    temp = tmp_path / "tmp"
    temp.mkdir()
    out = tmp_path / "out" / "sample.pdf"
    killed = []
    # Killed during layout (the font folder exists) and during writing (the temp PDF too),
    # laid out whole so the kills land in one process; the later build takes the parts path,
    # which lays nothing out in its own process and still cleans up when it starts.
    for stage, delay in (("html", 0.5), ("layout", 0.0), ("layout", 0.05), ("layout", 0.1)):
        child = subprocess.Popen([sys.executable, "-m", "leadguide", "build", str(sample_guide),
                                  "--out", str(out), "--whole"], env={**os.environ, "TMPDIR": str(temp)},
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        for line in child.stderr:
            if line.split()[:1] == [stage]:
                break
        time.sleep(delay)
        child.send_signal(signal.SIGKILL)
        child.wait()
        killed.append(child.pid)
    # Somebody else's temp files, and a live process's, are never touched.
    foreign = temp / "weasyprint-abc123"
    foreign.mkdir()
    live = out.parent / f".{out.name}.{os.getpid()}.keep.tmp"
    out.parent.mkdir(exist_ok=True)
    live.write_bytes(b"x")
    left = [p.name for p in [*temp.iterdir(), *out.parent.iterdir()]]
    assert any(str(pid) in name for pid in killed for name in left), left  # there was litter

    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    build(sample_guide, out=out)
    after = [p.name for p in [*temp.iterdir(), *out.parent.iterdir()]]
    assert not any(f".{pid}." in name or f"-{pid}-" in name for pid in killed
                   for name in after), after
    assert foreign.exists() and live.exists()
