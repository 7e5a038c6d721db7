"""Where built-in templates, styles and fonts live, and how a guide overrides them."""
from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def _builtin(name: str) -> Path:
    # Installed wheels carry the folders inside the package; a source checkout keeps them at
    # the repository root, where authors can find and read them.
    packaged = _PACKAGE / name
    return packaged if packaged.is_dir() else _PACKAGE.parents[1] / name


BUILTIN_TEMPLATES = _builtin("templates")
BUILTIN_STYLES = _builtin("styles")
STYLESHEETS = ("theme.css", "print.css")


def template_dirs(guide_root: Path) -> list[Path]:
    """The guide's own templates first, then the built-in ones (file-by-file override)."""
    own = guide_root / "templates"
    return [own, BUILTIN_TEMPLATES] if own.is_dir() else [BUILTIN_TEMPLATES]


def style_path(guide_root: Path, name: str) -> Path:
    """A stylesheet from the guide's styles/ if it has one, else the built-in one."""
    own = guide_root / "styles" / name
    return own if own.is_file() else BUILTIN_STYLES / name


def allowed_roots(guide_root: Path) -> tuple[Path, ...]:
    """The only folders a build may read files from."""
    return (guide_root.resolve(), BUILTIN_STYLES.resolve(), BUILTIN_TEMPLATES.resolve())


def asset_fallbacks(guide_root: Path) -> dict[Path, Path]:
    """Folders of a guide that fall back to the built-in ones for files they lack."""
    return {guide_root / "styles": BUILTIN_STYLES, guide_root / "templates": BUILTIN_TEMPLATES}
