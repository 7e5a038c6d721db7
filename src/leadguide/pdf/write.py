"""The finished PDF written beside its target and renamed into place, its tags fixed first and
its conformance claim kept only if an independent validator passes it."""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..atomic import umask
from ..layout.litter import clean_dead_temp_pdfs, temp_prefix
from ..layout.render import RENDER_OPTIONS, Rendered
from .conformance import Failure, claim
from .draftmark import stamp_draft
from .forms import fill_ready
from .live import finish_live
from .standards import DEFAULT, STANDARDS, Standard, apply_standard
from .tags import fix_tags


@dataclass(frozen=True)
class Written:
    """The PDF on disk: its size, and the rules it breaks (then it claims no conformance)."""

    size: int
    failures: list[Failure] = field(default_factory=list)


class Unconforming(Exception):
    """A strict write refused a PDF that breaks the standard it would claim."""

    def __init__(self, failures: list[Failure]):
        super().__init__("; ".join(str(failure) for failure in failures))
        self.failures = failures


def write_atomically(rendered: Rendered | bytes, target: Path, language: str,
                     verify: Callable[[Path], None] | None = None,
                     strict: bool = False, standard: str = DEFAULT,
                     draft: bool = False, live: bool = False) -> Written:
    """Write the PDF beside ``target`` and rename it into place.

    ``rendered`` is a whole laid-out document or the bytes of a joined one (layout.incremental):
    every finished PDF goes through here. Its tag tree is fixed for screen readers first
    (``tags.fix_tags``, with the guide's ``language``), its form fields made to fill in any
    viewer (``forms.fill_ready``).

    A ``draft`` carries the DRAFT mark on every page (``draftmark.stamp_draft``). A ``live``
    PDF (serve's) is finished for the eye alone (``live.finish_live``): the DRAFT mark and
    completed fields, its tags neither mended nor judged, so it claims no standard.

    ``verify`` inspects the finished file before the rename: if it raises, the previous PDF
    at ``target`` is left as it was.

    The PDF is given what its ``standard`` (guide.yaml's ``pdf_standard``) needs
    (``standards.apply_standard``) and judged by page-validation (``conformance.claim``): a
    PDF that breaks it loses its ``pdfuaid``/``pdfaid`` claims and its failures are returned;
    ``strict`` raises ``Unconforming`` instead, leaving the previous PDF in place.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    clean_dead_temp_pdfs(target)
    handle, temp_name = tempfile.mkstemp(prefix=temp_prefix(target), suffix=".tmp",
                                         dir=target.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            pdf = rendered if isinstance(rendered, bytes) else \
                rendered.document.write_pdf(**RENDER_OPTIONS)
            fixed, failures = (finish_live(pdf), []) if live else \
                _finish(pdf, language, STANDARDS[standard], draft)
            if failures and strict:
                raise Unconforming(failures)
            stream.write(fixed)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temp_name, 0o666 & ~umask())  # mkstemp makes it private; a PDF is to share
        if verify:
            verify(Path(temp_name))
        os.replace(temp_name, target)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    return Written(target.stat().st_size, failures)


def _finish(pdf: bytes, language: str, wanted: Standard, draft: bool
            ) -> tuple[bytes, list[Failure]]:
    """The PDF mended, given its standard's needs, marked when a draft, and judged."""
    finished = apply_standard(fill_ready(fix_tags(pdf, language)), wanted)
    if draft:  # the DRAFT mark before the claim: what is validated is what is written
        finished = stamp_draft(finished)
    return claim(finished, wanted.profiles)
