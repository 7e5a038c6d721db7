"""Each recipient's own copy of the PDF: ``PersonalCopies.attachment(person, cta)``.

The guide's built PDF is the base; ``pdf.personal`` stamps a copy with the recipient's first
name on the cover and, given one, their own CTA link (the signup service's signed ``/go/``
redirect) in the links and QR code. Copies are cached on disk per recipient under
``<output folder>/.personal/<base digest>/``, each as the incremental update the stamp
appended to the base (about 3 % of its size, not a whole copy per subscriber): a resend reads
it instead of stamping again, and a new base PDF (another digest) starts a new folder, the
old ones deleted. The base PDF is only read. ``personalize: false`` in guide.yaml: every recipient gets the base.
Returns an ``Attachment`` (bytes and path), so attaching and linking both fit.
"""
from __future__ import annotations

import hashlib
import json
import shutil
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..atomic import write_bytes
from ..build import manifest_path
from ..guide.assets import BUILTIN_STYLES
from ..guide.config import GuideConfig
from ..guide.theme import BUNDLED_FAMILIES
from ..pdf.personal import Plan, plan_copies, stamp
from .message import Attachment
from .recipients import Recipient

CACHE_FOLDER = ".personal"


@dataclass
class PersonalCopies:
    """Personal copies of ``base``'s PDF for one guide; one plan, made on first use."""

    config: GuideConfig
    base: Attachment
    _plan: Plan | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.base.data).hexdigest()[:24]

    @property
    def folder(self) -> Path:
        return self.base.path.parent / CACHE_FOLDER / self.digest

    def plan(self) -> Plan:
        with self._lock:
            if self._plan is None:
                self._plan = _plan(self.config, self.base)
            return self._plan

    def attachment(self, person: Recipient, cta: str | None = None) -> Attachment:
        """``person``'s copy (from the cache when stamped before), as the attachment."""
        if self.config.personalize is None or not (person.name.strip() or cta):
            return self.base  # nothing of theirs to stamp
        key = hashlib.sha256(json.dumps([person.address.lower(), person.name, cta])
                             .encode()).hexdigest()[:32]
        path = self.folder / f"{key}.increment"
        try:
            return replace(self.base, data=self.base.data + path.read_bytes(), path=path)
        except OSError:
            pass
        links = {self.config.cta.url: cta} if cta and self.config.cta else {}
        copy = stamp(self.plan(), person.name, links)
        if copy.pdf is self.base.data:
            return self.base
        if copy.pdf.startswith(self.base.data):  # kept: only what the stamp appended (~3 %)
            self._keep(path, copy.pdf[len(self.base.data):])
        return replace(self.base, data=copy.pdf, path=path)

    def _keep(self, path: Path, data: bytes) -> None:
        fresh = not self.folder.exists()
        path.parent.mkdir(parents=True, exist_ok=True)
        write_bytes(path, data)
        if fresh:  # a new base: the copies of older ones are stale
            for old in self.folder.parent.iterdir():
                if old.is_dir() and old != self.folder:
                    shutil.rmtree(old, ignore_errors=True)


def personal_copies(config: GuideConfig, base: Attachment | None) -> PersonalCopies | None:
    """The copies of ``base`` for this guide, or None (no attachment, one too large to attach,
    or ``personalize: false``)."""
    if base is None or base.too_large or config.personalize is None:
        return None  # nothing attached: nothing to personalise
    copies = PersonalCopies(config, base)
    copies.plan()  # now, not in the first delivery's send-rate slot (0.3-0.9 s, once per base)
    return copies


def _plan(config: GuideConfig, base: Attachment) -> Plan:
    targets = (config.cta.url,) if config.cta else ()
    colors = config.theme.colors
    return plan_copies(base.data, _cover_boxes(base.path), targets, config.personalize or "",
                       fonts=_guide_fonts(config),
                       qr_colors=(colors.get("primary-text", "#000000"),
                                  colors.get("paper", "#FFFFFF")))


def _cover_boxes(pdf: Path) -> dict[str, list[float]] | None:
    """The cover's labelled boxes the build recorded (page 1), if the manifest is there."""
    try:
        manifest = json.loads(manifest_path(pdf).read_text(encoding="utf-8"))
        first = manifest["page_fill"][0]
        return {label: box for label, *box in first.get("boxes", ())}
    except (OSError, ValueError, KeyError, IndexError, TypeError, AttributeError):
        return None


def _guide_fonts(config: GuideConfig) -> tuple[Path, ...]:
    """The guide's body font, regular: its own file, or the bundled one."""
    font = config.theme.fonts.get("body")
    if font is None:
        return ()
    own = font.files.get("regular")
    if own:
        return (config.root / own,)
    if font.family in BUNDLED_FAMILIES:
        stem = font.family.replace(" ", "")
        return tuple(BUILTIN_STYLES / "fonts" / f"{stem}-Regular{suffix}"
                     for suffix in (".otf", ".ttf")
                     if (BUILTIN_STYLES / "fonts" / f"{stem}-Regular{suffix}").is_file())
    return ()
