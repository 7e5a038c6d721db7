"""The cache of laid-out parts under the output folder: ``build/.cache/``.

An entry is a part's PDF and what its layout found (``PartLayout`` less the PDF, as JSON),
filed under a key made of everything its layout reads: the part's HTML (its text, the data and
templates it was made from, the theme; its first page is written into it), the stylesheets,
the options, the WeasyPrint and leadguide versions, and the pages of the ids in other parts
that its ``target-counter()`` looked up. Which ids those are is known once the part was laid
out (``PartLayout.reads``): it is kept beside the entries, by the rest of the key, so a part
that links to an anchor elsewhere without printing its page stays cached when that anchor
moves (the pages of ids it does not read, also written into its HTML, are left out). The files
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

from ..atomic import write_bytes
from ..errors import GuideError
from ..guide.guard import file_url_path, read_bytes
from ..layout.parts import PartJob, PartLayout, styles_key
from .whole import code_fingerprint

CACHE_FORMAT = 7
_KEEP_DAYS = 7


def plain_key(job: PartJob) -> str:
    """Everything a part's layout reads but the pages of the ids in other parts."""
    digest = hashlib.sha256(f"{CACHE_FORMAT} {code_fingerprint()}".encode())
    for value in (job.plain_sha or job.html, job.base_url, job.primers,
                  sorted(job.foreign_refs), styles_key(job.stylesheets, job.roots, job.fallbacks)):
        digest.update(repr(value).encode() + b"\0")
    return digest.hexdigest()


def job_key(plain: str, reads: list[str], targets: dict[str, int]) -> str:
    """The part's key: ``plain`` and the pages it was given of the ids it reads."""
    pages = [(anchor, targets.get(anchor)) for anchor in sorted(reads)]
    return hashlib.sha256(f"{plain} {pages!r}".encode()).hexdigest()


class PartCache:
    """The ``layout.parts.PartStore`` of an output folder's cache. ``roots`` and ``fallbacks``
    are the folders the parts' layout may fetch from, so an entry's files can be checked."""

    def __init__(self, folder: Path, roots: tuple[Path, ...], fallbacks: dict[Path, Path]):
        self.folder = folder
        self.hints = folder / "hints.json"
        self.parts = folder / "parts"
        self.fonts = folder / "fonts"
        self.file_sha = _file_hasher(roots, fallbacks)
        self._reads: dict[str, list[str] | None] = {}  # by plain_key

    def key(self, job: PartJob) -> str:
        """The job's key; a part never laid out gets one no entry has."""
        plain = plain_key(job)
        reads = self._reads_of(plain)
        return f"{plain}-new" if reads is None else job_key(plain, reads, job.targets)

    def _reads_of(self, plain: str) -> list[str] | None:
        if plain not in self._reads:
            try:
                path = self.parts / f"{plain}.reads"
                reads = json.loads(path.read_text(encoding="utf-8"))
                self._reads[plain] = [str(r) for r in reads] if isinstance(reads, list) else None
                path.touch()  # in use: kept by prune
            except (OSError, ValueError):
                self._reads[plain] = None
        return self._reads[plain]

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

    def put(self, job: PartJob, layout: PartLayout) -> str:
        """File the part laid out for ``job``; its key."""
        plain = plain_key(job)
        if self._reads_of(plain) != layout.reads:
            write_bytes(self.parts / f"{plain}.reads", json.dumps(layout.reads).encode())
            self._reads[plain] = layout.reads
        key = job_key(plain, layout.reads, job.targets)
        meta = {k: v for k, v in asdict(layout).items() if k != "pdf"}
        meta["pdf_sha256"] = hashlib.sha256(layout.pdf).hexdigest()
        write_bytes(self.parts / f"{key}.pdf", layout.pdf)
        write_bytes(self.parts / f"{key}.json", json.dumps(meta).encode())
        return key

    def font_file(self, sha: str) -> bytes:
        return (self.fonts / sha).read_bytes()

    def prune(self) -> None:
        """Forget parts no build has used for a week."""
        cutoff = time.time() - _KEEP_DAYS * 86400
        for path in [*self.parts.glob("*.json"), *self.parts.glob("*.reads")]:
            try:
                if path.stat().st_mtime < cutoff:
                    path.unlink()
                    if path.suffix == ".json":
                        path.with_suffix(".pdf").unlink(missing_ok=True)
            except OSError:
                pass


def _file_hasher(roots: tuple[Path, ...], fallbacks: dict[Path, Path]):
    """The sha256 of a file a part's layout fetched, as it is now (None: refused or gone),
    read through the guard as SafeFetcher reads it, without importing WeasyPrint."""
    roots = tuple(root.resolve() for root in roots)
    fallbacks = {own.resolve(): builtin.resolve() for own, builtin in fallbacks.items()}
    known: dict[str, str | None] = {}

    def file_sha(url: str) -> str | None:
        if url not in known:
            path = file_url_path(url, roots, fallbacks)
            try:
                known[url] = hashlib.sha256(read_bytes(path, roots)).hexdigest() if path else None
            except (GuideError, OSError):  # refused or gone: the part must be laid out again
                known[url] = None
        return known[url]
    return file_sha
