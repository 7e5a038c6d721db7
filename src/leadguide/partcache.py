"""The cache of laid-out parts under the output folder: ``build/.cache/``.

An entry is a part's PDF and what its layout found (``PartLayout`` less the PDF, as JSON),
filed under a key made of everything its layout reads: the part's HTML (its text, the data and
templates it was made from, the theme; its first page and the pages of the ids it reads are
written into it), the stylesheets, the options, the WeasyPrint and leadguide versions. The files
WeasyPrint fetched (images, fonts) are listed with their hashes and checked on every read.
Entries are written atomically; one that cannot be read is a miss, so concurrent builds and a
damaged entry cost a re-layout, never a wrong page.
"""
from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import Callable

from .buildcache import code_fingerprint, keep_file
from .parts import PartJob, PartLayout

CACHE_FORMAT = 6
_KEEP_DAYS = 7


def job_key(job: PartJob) -> str:
    digest = hashlib.sha256(f"{CACHE_FORMAT} {code_fingerprint()}".encode())
    for value in (job.html, job.base_url, job.primers, job.stub_pages,
                  sorted(job.foreign_refs), styles_key(job.stylesheets, job.roots, job.fallbacks)):
        digest.update(repr(value).encode() + b"\0")
    return digest.hexdigest()


def styles_key(stylesheets: tuple[Path, ...], roots: tuple[Path, ...],
               fallbacks: dict[Path, Path]) -> str:
    """The stylesheets (names and contents) and the folders their URLs may read from."""
    digest = hashlib.sha256(repr(([str(r) for r in roots],
                                  sorted((str(a), str(b)) for a, b in fallbacks.items()))).encode())
    for sheet in stylesheets:
        digest.update(str(sheet).encode() + b"\0" + sheet.read_bytes() + b"\0")
    return digest.hexdigest()


class PartCache:
    def __init__(self, folder: Path, file_sha: Callable[[str], str | None]):
        """``file_sha`` hashes a fetched URL's file as it is now (None if it is gone)."""
        self.folder = folder
        self.parts = folder / "parts"
        self.fonts = folder / "fonts"
        self.file_sha = file_sha

    def has(self, key: str) -> bool:
        """Is there an entry for ``key`` (not yet checked, see get)?"""
        return (self.parts / f"{key}.json").is_file()

    def get(self, key: str) -> PartLayout | None:
        try:
            meta = json.loads((self.parts / f"{key}.json").read_text(encoding="utf-8"))
            pdf = (self.parts / f"{key}.pdf").read_bytes()
            if hashlib.sha256(pdf).hexdigest() != meta.pop("pdf_sha256"):
                return None
            layout = PartLayout(pdf=pdf, **{**meta, "breaks": tuple(meta["breaks"])})
        except (OSError, ValueError, TypeError, KeyError):
            return None  # missing, half-written by a build that died, or damaged: lay it out
        if any(self.file_sha(url) != sha for url, sha in layout.deps.items()):
            return None
        if not all((self.fonts / use[0]).is_file() for use in layout.fonts.values()):
            return None
        (self.parts / f"{key}.json").touch()
        return layout

    def put(self, key: str, layout: PartLayout) -> None:
        meta = {k: v for k, v in asdict(layout).items() if k != "pdf"}
        meta["pdf_sha256"] = hashlib.sha256(layout.pdf).hexdigest()
        keep_file(self.parts / f"{key}.pdf", layout.pdf)
        keep_file(self.parts / f"{key}.json", json.dumps(meta).encode())

    def font_file(self, sha: str) -> bytes:
        return (self.fonts / sha).read_bytes()

    def prune(self) -> None:
        """Forget parts no build has used for a week."""
        cutoff = time.time() - _KEEP_DAYS * 86400
        for meta in self.parts.glob("*.json"):
            try:
                if meta.stat().st_mtime < cutoff:
                    meta.unlink()
                    meta.with_suffix(".pdf").unlink(missing_ok=True)
            except OSError:
                pass
