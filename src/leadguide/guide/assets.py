"""Where built-in templates, styles, fonts and kits live, and how a guide overrides or adds to them."""
from __future__ import annotations

from pathlib import Path

from ..errors import ContentError
from .kit import Kit, get_kit

_PACKAGE = Path(__file__).resolve().parents[1]  # src/leadguide (or site-packages/leadguide)


def _builtin(name: str) -> Path:
    # Installed wheels carry the folders inside the package; a source checkout keeps them at
    # the repository root, where authors can find and read them.
    packaged = _PACKAGE / name
    return packaged if packaged.is_dir() else _PACKAGE.parents[1] / name


BUILTIN_TEMPLATES = _builtin("templates")
BUILTIN_STYLES = _builtin("styles")
BUILTIN_KITS = _PACKAGE / "kits"
STYLESHEETS = ("theme.css", "print.css", "markdown.css")
EXTRA_STYLESHEET = "extra.css"  # a guide's own additions, loaded after every built-in sheet
# The built-in looks (guide.yaml's look:): classic is the base styles alone; another adds its
# sheet, look-<name>.css, after them
LOOKS = ("classic", "editorial", "bold")
MACROS = "macros.html"
GUIDE_MACROS = "macros"  # a guide's templates/macros/*.html, added to the built-in macros


def kit_of(kit_name: str | None) -> Kit | None:
    return get_kit(kit_name) if kit_name else None


def template_dirs(guide_root: Path, kit_name: str | None = None) -> list[Path]:
    """The guide's own templates first, then its kit's, then the built-in ones (file-by-file
    override)."""
    own = guide_root / "templates"
    kit = kit_of(kit_name)
    dirs = [own] if own.is_dir() else []
    return [*dirs, *([kit.templates_dir] if kit else []), BUILTIN_TEMPLATES]


def macro_templates(guide_root: Path, kit_name: str | None = None) -> list[str]:
    """The macro templates chapters can call, in override order: built-in, kit, guide."""
    kit = kit_of(kit_name)
    own = sorted(p.name for p in (guide_root / "templates" / GUIDE_MACROS).glob("*.html"))
    return [MACROS, *(kit.macros if kit else ()), *(f"{GUIDE_MACROS}/{name}" for name in own)]


def style_path(guide_root: Path, name: str, builtin: Path = BUILTIN_STYLES) -> Path:
    """A stylesheet from the guide's styles/ if it has one, else the built-in one."""
    own = guide_root / "styles" / name
    return own if own.is_file() else builtin / name


def stylesheet_names(guide_root: Path, kit_name: str | None = None,
                     look: str = "classic") -> list[str]:
    """The stylesheets' file names in cascade order (as the preview copies them)."""
    kit = kit_of(kit_name)
    extra = [EXTRA_STYLESHEET] if (guide_root / "styles" / EXTRA_STYLESHEET).is_file() else []
    looks = [f"look-{look}.css"] if look != "classic" else []
    return [*STYLESHEETS, *looks, *(kit.stylesheets if kit else ()), *extra]


def stylesheets(guide_root: Path, kit_name: str | None = None,
                look: str = "classic") -> tuple[Path, ...]:
    """The PDF's stylesheets: theme, print, markdown, the look's, the kit's, then the guide's
    extra.css."""
    kit = kit_of(kit_name)
    kit_sheets = kit.stylesheets if kit else ()
    return tuple(_css_text(style_path(guide_root, name, kit.styles_dir if name in kit_sheets
                                      else BUILTIN_STYLES))
                 for name in stylesheet_names(guide_root, kit_name, look))


def _css_text(path: Path) -> Path:
    """``path``, once it is known to be UTF-8 text (a binary file saved as theme.css stopped
    the build with a UnicodeDecodeError traceback)."""
    try:
        path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as error:
        raise ContentError(f"not a text file in UTF-8 (byte {error.start} cannot be read): "
                           "a stylesheet must be CSS saved as UTF-8", path) from None
    except OSError as error:
        raise ContentError(f"cannot be read: {error.strerror}", path) from None
    return path


def allowed_roots(guide_root: Path) -> tuple[Path, ...]:
    """The only folders a build may read files from."""
    return (guide_root.resolve(), BUILTIN_STYLES.resolve(), BUILTIN_TEMPLATES.resolve(),
            BUILTIN_KITS.resolve())


def asset_fallbacks(guide_root: Path) -> dict[Path, Path]:
    """Folders of a guide that fall back to the built-in ones for files they lack."""
    return {guide_root / "styles": BUILTIN_STYLES, guide_root / "templates": BUILTIN_TEMPLATES}


def outside_the_pdf(path: Path, outputs: tuple[Path, ...] = ()) -> bool:
    """Files in a guide or the built-in folders that never go into the PDF: email and preview
    templates, the screen stylesheet, PDFs, compiled Python, the email send log (``*.sqlite``
    and its -wal, -shm and .lock files) and anything in the guide's ``outputs`` folders (what
    builds write: the PDF's manifest, its cache, the preview, the welcome email)."""
    in_templates = "templates" in path.parts and bool({"email", "preview"} & set(path.parts))
    return (in_templates or path.name == "screen.css" or path.suffix.lower() == ".pdf"
            or "__pycache__" in path.parts or ".sqlite" in path.suffixes
            or path.suffix.startswith(".sqlite")
            or any(path.is_relative_to(folder) for folder in outputs))


def output_dirs(guide_root: Path, *more: Path) -> tuple[Path, ...]:
    """A guide's build folders: ``build/`` (the default, never a source even when guide.yaml
    names another) and ``more`` (the configured one, a PDF's folder), absolute."""
    return tuple(dict.fromkeys(folder.absolute() for folder in
                               (Path(guide_root) / "build", *more)))
