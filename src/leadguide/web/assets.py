"""The stylesheets, fonts and icons a web page loads, copied into the edition: built-in, the
kit's, then the guide's own styles over them, file by file (as the PDF's cascade has them)."""
from __future__ import annotations

import shutil
from pathlib import Path

from ..guide.assets import BUILTIN_KITS, BUILTIN_STYLES, kit_of

STYLE_SUFFIXES = frozenset({".css", ".svg", ".png", ".jpg", ".jpeg", ".gif", ".webp", ".avif",
                            ".otf", ".ttf", ".woff", ".woff2", ".txt"})
WEB_STYLESHEET = "web.css"  # the edition's own sheet, loaded after the guide's


def copy_styles(root: Path, target: Path, kit_name: str | None = None) -> list[str]:
    """Every style file into ``target`` (the edition's styles/); returns their names. A file
    whose real path leaves its styles folder (a symlink pointing out) is never copied."""
    kit = kit_of(kit_name)
    found: dict[str, Path] = {}
    for folder, inside in ((BUILTIN_STYLES, BUILTIN_STYLES),
                           (kit.styles_dir if kit else None, BUILTIN_KITS),
                           (root / "styles", root)):
        if folder is None or not folder.is_dir():
            continue
        real_folder = folder.resolve()
        if not real_folder.is_relative_to(inside.resolve()):
            continue
        for path in sorted(folder.rglob("*")):
            relative = path.relative_to(folder)
            real = path.resolve()
            if (not any(part.startswith(".") for part in relative.parts) and real.is_file()
                    and real.suffix.lower() in STYLE_SUFFIXES
                    and real.is_relative_to(real_folder)):
                found[relative.as_posix()] = real
    for relative, source in found.items():
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target / relative)
    return sorted(found)
