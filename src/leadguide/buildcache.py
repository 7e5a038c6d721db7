"""The whole build remembered by its sources: a rebuild with nothing changed copies the last PDF.

The key is every file the PDF can be made from (the guide folder, the built-in templates and
styles), leadguide's own code, the WeasyPrint version and draft or strict. Nothing else is read
or imported (not even WeasyPrint) when nothing changed.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import asdict, dataclass
from functools import lru_cache
from importlib.metadata import version
from pathlib import Path
from typing import Iterator

from .assets import BUILTIN_KITS, BUILTIN_STYLES, BUILTIN_TEMPLATES
from .checks import ChapterSpan
from .config import GuideConfig
from .errors import GuideError, PagePromiseError
from .pagefill import PageFill
from . import errors


@dataclass(frozen=True)
class Unchanged:
    pages: int
    size: int
    spans: list[ChapterSpan]
    warnings: list[GuideError]
    page_error: PagePromiseError | None
    fills: list[PageFill]


def keep_file(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` at once or not at all (caches other builds read too)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(temp_name, 0o666 & ~mask)  # mkstemp makes it private; a PDF is to share
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """leadguide's code (options included) and the WeasyPrint it drives."""
    digest = hashlib.sha256(f"weasyprint {version('weasyprint')}".encode())
    for path in sorted(Path(__file__).parent.rglob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def source_files(config: GuideConfig, cache_folder: Path) -> Iterator[tuple[Path, bytes]]:
    """Every file the guide's PDF is made from, with its content, leadguide's code first; a
    symlink gives where it points, never what: nothing outside is read."""
    from .build import _outside_the_pdf

    yield Path("leadguide"), code_fingerprint().encode()
    skip = cache_folder.resolve()
    for folder in (config.root, BUILTIN_TEMPLATES, BUILTIN_STYLES, BUILTIN_KITS):
        for path in sorted(folder.rglob("*")):
            if _outside_the_pdf(path) or skip in path.resolve().parents:
                continue
            if path.is_symlink():
                yield path, f"link -> {os.readlink(path)}".encode()
            elif path.is_file():
                yield path, b"file " + path.read_bytes()


def sources_key(config: GuideConfig, draft: bool, cache_folder: Path) -> str:
    digest = hashlib.sha256(f"draft={draft}".encode())
    for path, content in source_files(config, cache_folder):
        digest.update(str(path).encode() + b"\0" + content + b"\0")
    return digest.hexdigest()


def lookup(cache_folder: Path, config: GuideConfig, draft: bool, target: Path) -> Unchanged | None:
    """The last build of exactly these sources, its PDF put at ``target``; or None."""
    key = sources_key(config, draft, cache_folder)
    try:
        meta = json.loads((cache_folder / "builds" / f"{key}.json").read_text(encoding="utf-8"))
        pdf = (cache_folder / "builds" / f"{key}.pdf").read_bytes()
        if hashlib.sha256(pdf).hexdigest() != meta["pdf_sha256"]:
            return None
        unchanged = _unchanged(meta)
    except (OSError, ValueError, TypeError, KeyError):
        return None
    if not (target.is_file() and hashlib.sha256(target.read_bytes()).digest() ==
            hashlib.sha256(pdf).digest()):
        # The same bytes a build checked and wrote before: verified then, copied now.
        keep_file(target, pdf)
    return unchanged


def store(cache_folder: Path, config: GuideConfig, draft: bool, target: Path, result) -> None:
    """Remember a finished build (``result`` is the BuildResult written to ``target``)."""
    key = sources_key(config, draft, cache_folder)
    pdf = target.read_bytes()
    meta = {"pdf_sha256": hashlib.sha256(pdf).hexdigest(), "pages": result.pages,
            "size": result.size,
            "spans": [{**asdict(s), "path": str(s.path)} for s in result.spans],
            "warnings": [_error(w) for w in result.warnings],
            "page_error": _error(result.page_error) if result.page_error else None,
            "fills": [asdict(fill) for fill in result.fills]}
    keep_file(cache_folder / "builds" / f"{key}.pdf", pdf)
    keep_file(cache_folder / "builds" / f"{key}.json", json.dumps(meta).encode())


def _error(error: GuideError) -> dict:
    return {"kind": type(error).__name__, "message": error.message,
            "path": str(error.path) if error.path else None, "line": error.line,
            "table": getattr(error, "table", None)}


def _unchanged(meta: dict) -> Unchanged:
    spans = [ChapterSpan(s["title"], Path(s["path"]), s["first"], s["last"], s["budget"])
             for s in meta["spans"]]
    warnings = [getattr(errors, w["kind"], GuideError)(w["message"], w["path"], w["line"])
                for w in meta["warnings"]]
    page = meta["page_error"]
    page_error = PagePromiseError(page["message"], page["path"], page["table"]) if page else None
    fills = [PageFill(**{**fill, "one_word_lines": tuple(fill["one_word_lines"])})
             for fill in meta["fills"]]
    return Unchanged(meta["pages"], meta["size"], spans, warnings, page_error, fills)
