"""Where the signup database lives: in the guide's ``build/``, beside the PDF it sends, and
never among the guide's sources. A database at the place older versions kept it
(``<guide>/../build/``) is moved into ``build/`` with its queue, whole or not at all, and
used where it is when it cannot be moved: subscribers are never left behind."""
from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
from pathlib import Path

from ..guide.assets import output_dirs
from ..guide.config import GuideConfig

log = logging.getLogger("leadguide.signup")


def queue_file(database: Path) -> Path:
    """Huey's SQLite storage beside a signup database."""
    return database.with_name(database.stem + ".queue.sqlite")


def default_database(config: GuideConfig) -> Path:
    """``<guide>/build/<output name>.signup.sqlite``, moving an older default there first."""
    name = f"{Path(config.output).stem}.signup.sqlite"
    new = (config.root / "build" / name).resolve()
    old = (config.root.parent / "build" / name).resolve()
    if new.exists() or not old.exists():
        return new
    problem = _move_together([old, queue_file(old)], [new, queue_file(new)])
    if problem is None:
        log.warning("note: the signup database moved from %s to %s (beside the guide's PDF), "
                    "with its queue", old, new)
        return new
    log.warning("note: the signup database is still at %s, where older versions kept it, "
                "and is used there (%s); stop the service and run it again to move it to %s",
                old, problem, new)
    return old


def is_source(config: GuideConfig, database: Path) -> bool:
    """Inside the guide folder but outside every folder builds write to."""
    inside = database.is_relative_to(config.root.resolve())
    outputs = output_dirs(config.root.resolve(), config.output_dir.resolve())
    return inside and not any(database.is_relative_to(folder) for folder in outputs)


def _move_together(olds: list[Path], news: list[Path]) -> str | None:
    """Move each existing ``olds[i]`` to ``news[i]``, all or none; why not, when not."""
    present = [(old, new) for old, new in zip(olds, news) if old.exists()]
    for old, _ in present:
        problem = _settle_log(old)
        if problem:
            return problem
    news[0].parent.mkdir(parents=True, exist_ok=True)
    linked: list[Path] = []
    try:
        for old, new in present:
            os.link(old, new)  # never over an existing file; fails across disks
            linked.append(new)
    except OSError as error:
        for new in linked:
            new.unlink(missing_ok=True)
        return f"it cannot be linked into the guide's build folder: {error.strerror}"
    for old, _ in present:
        old.unlink()
    return None


def _settle_log(path: Path) -> str | None:
    """Write the file's write-ahead log into it, so the file alone holds every row; why not,
    when another process holds it."""
    try:
        with contextlib.closing(sqlite3.connect(path, timeout=0.5)) as db:
            busy, _, _ = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            if busy:
                return "another process has it open"
            db.execute("BEGIN EXCLUSIVE")  # nobody else is in it
            db.rollback()
    except sqlite3.Error as error:
        return f"it cannot be opened alone: {error}"
    for extra in ("-wal", "-shm", "-journal"):
        if Path(f"{path}{extra}").exists() and Path(f"{path}{extra}").stat().st_size:
            return "another process has it open"
    return None
