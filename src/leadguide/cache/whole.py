"""The whole build remembered by its sources: a rebuild with nothing changed copies the last PDF.

The key is every file the PDF can be made from (the guide folder, the built-in templates and
styles), leadguide's own code, the WeasyPrint version and how it was finished (strict, draft
or serve's live PDF). Nothing else is read or imported (not even WeasyPrint) when nothing
changed.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from functools import lru_cache
from importlib.metadata import version
from pathlib import Path
from typing import Iterator

from .. import errors
from ..atomic import write_bytes
from ..errors import GuideError, PagePromiseError
from ..guide.assets import (BUILTIN_KITS, BUILTIN_STYLES, BUILTIN_TEMPLATES, output_dirs,
                            outside_the_pdf)
from ..guide.config import GuideConfig
from ..layout.pagefill import PageFill
from ..layout.spans import ChapterSpan


@dataclass(frozen=True)
class Unchanged:
    pages: int
    size: int
    spans: list[ChapterSpan]
    warnings: list[GuideError]
    page_error: PagePromiseError | None
    fills: list[PageFill]


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """leadguide's code (options included) and the WeasyPrint it drives."""
    digest = hashlib.sha256(f"weasyprint {version('weasyprint')}".encode())
    for path in sorted(Path(__file__).parents[1].rglob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def source_files(config: GuideConfig, cache_folder: Path) -> Iterator[tuple[Path, bytes]]:
    """Every file the guide's PDF is made from, with its content, leadguide's code first; a
    symlink gives where it points, never what: nothing outside is read."""
    yield Path("leadguide"), code_fingerprint().encode()
    skip = cache_folder.resolve()
    outputs = output_dirs(config.root, config.output_dir)
    for folder in (config.root, BUILTIN_TEMPLATES, BUILTIN_STYLES, BUILTIN_KITS):
        for path in sorted(folder.rglob("*")):
            if outside_the_pdf(path.absolute(), outputs) or skip in path.resolve().parents:
                continue
            if path.is_symlink():
                yield path, f"link -> {os.readlink(path)}".encode()
            elif path.is_file():
                yield path, b"file " + path.read_bytes()


def sources_key(config: GuideConfig, finish: str, cache_folder: Path) -> str:
    digest = hashlib.sha256(f"finish={finish}".encode())
    for path, content in source_files(config, cache_folder):
        digest.update(str(path).encode() + b"\0" + content + b"\0")
    return digest.hexdigest()


def lookup(cache_folder: Path, config: GuideConfig, finish: str,
           target: Path) -> Unchanged | None:
    """The last build of exactly these sources, its PDF put at ``target``; or None."""
    key = sources_key(config, finish, cache_folder)
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
        write_bytes(target, pdf)
    return unchanged


def store(cache_folder: Path, config: GuideConfig, finish: str, target: Path, result) -> None:
    """Remember a finished build (``result`` is the BuildResult written to ``target``)."""
    key = sources_key(config, finish, cache_folder)
    pdf = target.read_bytes()
    meta = {"pdf_sha256": hashlib.sha256(pdf).hexdigest(), "pages": result.pages,
            "size": result.size,
            "spans": [{**asdict(s), "path": str(s.path)} for s in result.spans],
            "warnings": [_error(w) for w in result.warnings],
            "page_error": _error(result.page_error) if result.page_error else None,
            "fills": [asdict(fill) for fill in result.fills]}
    write_bytes(cache_folder / "builds" / f"{key}.pdf", pdf)
    write_bytes(cache_folder / "builds" / f"{key}.json", json.dumps(meta).encode())


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
    page_error = (PagePromiseError(page["message"], page["path"], page["line"], page["table"])
                  if page else None)
    fills = [PageFill(**{**fill, "one_word_lines": tuple(fill["one_word_lines"]),
                         "boxes": tuple(tuple(b) for b in fill.get("boxes", ()))})
             for fill in meta["fills"]]
    return Unchanged(meta["pages"], meta["size"], spans, warnings, page_error, fills)
