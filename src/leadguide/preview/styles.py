"""The stylesheets, fonts and images a preview page loads, copied beside it: built-in, kit, guide."""
from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from ..guide.assets import BUILTIN_KITS, BUILTIN_STYLES, kit_of
from .paths import STYLE_SUFFIXES


def copy_styles(root: Path, target: Path, kit_name: str | None = None) -> str:
    """The built-in styles folder, the kit's, then the guide's own styles over them, file by file.

    Only what a page loads is copied (stylesheets, fonts, images), never a file whose real
    path leaves its styles folder (a symlink pointing out); a file no longer there goes.
    Returns a stamp of what was copied, which changes whenever any of it does.
    """
    wanted = style_files(root, kit_name)
    stamp = hashlib.sha256()
    for relative, source in wanted.items():
        dest = target / relative
        stat = source.stat()
        stamp.update(f"{relative}\0{stat.st_size}\0{stat.st_mtime_ns}\0".encode())
        if dest.is_file() and (dest.stat().st_size, dest.stat().st_mtime_ns) == (
                stat.st_size, stat.st_mtime_ns):
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, dest)
    if target.is_dir():
        for path in target.rglob("*"):
            if path.is_file() and path.relative_to(target).as_posix() not in wanted:
                path.unlink()
    return stamp.hexdigest()[:12]


def style_files(root: Path, kit_name: str | None = None) -> dict[str, Path]:
    """Relative name → real file of every style asset: built-in, the kit's, then the guide's
    (each overriding the one before)."""
    kit = kit_of(kit_name)
    found: dict[str, Path] = {}
    for folder, inside in ((BUILTIN_STYLES, BUILTIN_STYLES), (kit.styles_dir, BUILTIN_KITS)
                           if kit else (None, None), (root / "styles", root)):
        if folder is None:
            continue
        real_folder = folder.resolve()
        if not real_folder.is_dir() or not real_folder.is_relative_to(inside.resolve()):
            continue
        for path in sorted(folder.rglob("*")):
            relative = path.relative_to(folder)
            real = path.resolve()
            if (any(part.startswith(".") for part in relative.parts) or not real.is_file()
                    or real.suffix.lower() not in STYLE_SUFFIXES
                    or not real.is_relative_to(real_folder)):
                continue
            found[relative.as_posix()] = real
    return found
