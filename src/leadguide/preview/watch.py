"""The guide's files watched (watchfiles): a save becomes a preview update and new page versions."""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Callable

import watchfiles

from ..guide.assets import BUILTIN_KITS, BUILTIN_STYLES, BUILTIN_TEMPLATES
from .plan import describe
from .server import Log, Versions
from .site import Preview

WATCH_STEP_MS = 20  # how long the watcher waits for more events of one save (editors write twice)


def watch_paths(preview: Preview) -> list[Path]:
    """The guide (recursively, new folders included), the built-in templates and styles, and
    the folder the PDF is built into."""
    build_dir = preview.pdf.parent
    build_dir.mkdir(parents=True, exist_ok=True)
    return [preview.root, BUILTIN_TEMPLATES, BUILTIN_STYLES, BUILTIN_KITS, build_dir]


def watch(preview: Preview, versions: Versions, stop: threading.Event, log: Log,
          rebuilt: Callable[[], None] | None = None,
          saw: Callable[[], None] | None = None) -> None:
    """Rebuild what each save touches until ``stop`` is set. Bad input never ends it.

    ``saw`` is called as soon as a save is seen (the live PDF is built from the files, and
    need not wait for the preview's pages), ``rebuilt`` after each rebuild, to wake the
    page-break layout.
    """
    out = str(preview.out)
    default = watchfiles.DefaultFilter()

    def wanted(change: watchfiles.Change, path: str) -> bool:
        return default(change, path) and not path.startswith(out)

    reported = ""
    while not stop.is_set():
        try:
            for changes in watchfiles.watch(*watch_paths(preview), watch_filter=wanted,
                                            step=WATCH_STEP_MS, stop_event=stop,
                                            raise_interrupt=False,
                                            ignore_permission_denied=True):
                if saw:
                    saw()
                _apply(preview, versions, changed_files(changes), log)
                if rebuilt:
                    rebuilt()
        except Exception as exc:  # a watched folder vanished, say: wait and watch again
            if str(exc) != reported:
                reported = str(exc)
                log(f"watcher: {type(exc).__name__}: {exc}; retrying every second")
            stop.wait(1.0)


def changed_files(changes: set[tuple[watchfiles.Change, str]]) -> set[Path]:
    """The changed paths, and every file inside a folder that was just created.

    A file saved into a new folder (a guide's first ``styles/``) can land before the watcher
    has begun watching that folder, so its own event never comes: the folder's does.
    """
    changed = set()
    for change, name in changes:
        path = Path(name)
        changed.add(path)
        if change == watchfiles.Change.added and path.is_dir() and not path.is_symlink():
            changed.update(p for p in path.rglob("*") if p.is_file())
    return changed


def _apply(preview: Preview, versions: Versions, changed: set[Path], log: Log) -> None:
    try:
        update = preview.update(changed)
    except Exception as exc:  # never expected; the server must outlive it anyway
        log(f"preview failed: {type(exc).__name__}: {exc}")
        return
    if update.pages:
        versions.bump(update.pages, update.reload)
        log(describe(update, preview.root))
