"""Chapter files numbered in the guide's order: after ``import --at`` (or ``new --from``) no two
chapters share a number and the files sort as the guide reads. Links between chapters,
guide.yaml (``chapters:``, ``toc_after:``) and fit.yaml follow the new names."""
from __future__ import annotations

import os
import re
from pathlib import Path

from ..atomic import write_bytes
from ..guide.config import load_config
from ..guide.fitfile import FIT_NAME

_NUMBERED = re.compile(r"^(\d+)-(.+)$")


def number_in_order(guide_dir: Path | str, always: bool = False) -> dict[str, str]:
    """Renumber the numbered chapter files (``NN-name.md``) 01, 02, … in guide.yaml's order
    when their numbers repeat or run backwards (``always``: whenever they differ), keeping
    each number's width; files named without a number keep their names. The renames, old
    name to new."""
    config = load_config(guide_dir)
    numbered = [(name, _NUMBERED.match(name)) for name in config.chapters]
    numbers = [int(match.group(1)) for _, match in numbered if match]
    if not always and all(a < b for a, b in zip(numbers, numbers[1:])):
        return {}
    renamed = {name: f"{index:0{max(2, len(match.group(1)))}d}-{match.group(2)}"
               for index, (name, match) in enumerate(numbered, start=1) if match}
    renamed = {old: new for old, new in renamed.items() if old != new}
    if not renamed:
        return renamed
    folder = config.chapters_dir
    for old in renamed:  # in two steps: a new name may be an old one
        os.replace(folder / old, folder / f".renaming-{old}")
    for old, new in renamed.items():
        os.replace(folder / f".renaming-{old}", folder / new)
    relink(folder, renamed)
    names = re.compile(r"(?<![\w.-])(" + "|".join(map(re.escape, renamed)) + r")(?![\w.-])")
    for path in (config.config_path, config.root / FIT_NAME):
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            write_bytes(path, names.sub(lambda m: renamed[m.group(1)], text).encode())
    return renamed


def relink(folder: Path, renamed: dict[str, str]) -> None:
    """Links between chapters (``](name.md``, ``]: name.md``) follow renamed files."""
    pattern = re.compile(r"(\]\(|\]:[ \t]*)(" + "|".join(map(re.escape, renamed)) +
                         r")(?=[)#\s])")
    for path in folder.glob("*.md"):
        text = path.read_text(encoding="utf-8")
        new = pattern.sub(lambda m: m.group(1) + renamed[m.group(2)], text)
        if new != text:
            write_bytes(path, new.encode())
