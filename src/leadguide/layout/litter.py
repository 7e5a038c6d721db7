"""Temporary files a build names after its process, and the cleanup of dead builds' ones.

A build killed mid-write leaves its temp PDF and WeasyPrint's font folder behind. Each
carries the pid of the build that made it, so a later build removes exactly those whose
process is gone: never a file another program, or a running build, still owns.
"""
from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

FONT_FOLDER_PREFIX = "weasyprint-leadguide-"
_FONT_FOLDER = re.compile(rf"^{FONT_FOLDER_PREFIX}(\d+)-")


def temp_prefix(target: Path) -> str:
    """The name start of a temp file beside ``target`` (mkstemp adds a random part)."""
    return f".{target.name}.{os.getpid()}."


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def clean_dead_temp_pdfs(target: Path) -> None:
    pattern = re.compile(rf"^\.{re.escape(target.name)}\.(\d+)\.[^/]*\.tmp$")
    for path in target.parent.glob(f".{target.name}.*.tmp"):
        match = pattern.match(path.name)
        if match and not _alive(int(match.group(1))) and path.is_file() and \
                not path.is_symlink():
            path.unlink(missing_ok=True)


# A worker laying out part of a build names its folders after the build (incremental.py):
# it is killed with the build, and a later build then removes them.
build_pid: int | None = None


def font_folder() -> Path:
    """A fresh folder for WeasyPrint's downloaded-font copies, named after this build."""
    clean_dead_font_folders()
    return Path(tempfile.mkdtemp(prefix=f"{FONT_FOLDER_PREFIX}{build_pid or os.getpid()}-"))


def clean_dead_font_folders() -> None:
    for path in Path(tempfile.gettempdir()).glob(f"{FONT_FOLDER_PREFIX}*"):
        match = _FONT_FOLDER.match(path.name)
        try:
            if match and not _alive(int(match.group(1))) and path.is_dir() and \
                    not path.is_symlink() and path.stat().st_uid == os.getuid():
                shutil.rmtree(path, ignore_errors=True)
        except FileNotFoundError:  # another build (or worker) removed it first
            continue
