"""The stylesheets, fonts and icons a web page loads, copied into the edition: built-in, the
kit's, then the guide's own styles over them, file by file (as the PDF's cascade has them);
the fonts guide.yaml's theme names; WOFF2 where a font has one."""
from __future__ import annotations

import re
import shutil
from pathlib import Path
from urllib.parse import unquote

from ..errors import GuideError
from ..guide.assets import BUILTIN_KITS, BUILTIN_STYLES, kit_of
from ..guide.guard import real_path

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


_THEME_URL = re.compile(r"""url\("([^"]+)"\)""")


def copy_theme_files(theme_css: str, root: Path, target: Path) -> None:
    """The guide's own font files that guide.yaml's theme names (``url("fonts/x.otf")``,
    relative to the guide) copied to the same place under ``target``, where the theme's
    stylesheet finds them; only files inside the guide (``guide.guard``)."""
    for url in _THEME_URL.findall(theme_css):
        if re.match(r"^(?:[a-zA-Z][a-zA-Z0-9+.-]*:|/)", url):
            continue
        try:
            source = real_path(root / unquote(url), (root.resolve(),))
        except GuideError:
            continue  # the build has already said what is wrong with it
        dest = (target / unquote(url)).resolve()
        if dest.is_relative_to(target.resolve()):
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, dest)


_FONT_URL = re.compile(r"""url\((["']?)([^)"']+)\.(?:otf|ttf)\1\)(\s*format\([^)]*\))?""")


def prefer_woff2(target: Path) -> None:
    """Fonts with a WOFF2 copy beside them (the built-in ones ship one: less than half the
    bytes) are loaded as WOFF2: each stylesheet's ``url(x.otf)`` becomes ``url(x.woff2)``
    and the OpenType file is left out of the edition."""
    replaced: set[Path] = set()
    for sheet in target.rglob("*.css"):
        css = sheet.read_text(encoding="utf-8")

        def woff2(match: re.Match) -> str:
            font = sheet.parent / f"{match.group(2)}.woff2"
            if not font.resolve().is_relative_to(target.resolve()) or not font.is_file():
                return match.group(0)
            replaced.update(font.with_suffix(s) for s in (".otf", ".ttf"))
            return f'url({match.group(1)}{match.group(2)}.woff2{match.group(1)}) format("woff2")'
        changed = _FONT_URL.sub(woff2, css)
        if changed != css:
            sheet.write_text(changed, encoding="utf-8")
    for font in replaced:  # every sheet naming it now names its WOFF2
        font.unlink(missing_ok=True)
