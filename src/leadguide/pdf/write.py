"""The finished PDF written beside its target and renamed into place, its tags fixed first."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Callable

from ..atomic import umask
from ..layout.litter import clean_dead_temp_pdfs, temp_prefix
from ..layout.render import RENDER_OPTIONS, Rendered
from .draftmark import stamp_draft
from .tags import fix_tags


def write_atomically(rendered: Rendered | bytes, target: Path, language: str,
                     verify: Callable[[Path], None] | None = None, draft: bool = False) -> int:
    """Write the PDF beside ``target`` and rename it into place; return its size in bytes.

    ``rendered`` is a whole laid-out document or the bytes of a joined one (layout.incremental):
    every finished PDF goes through here. Its tag tree is fixed for screen readers first
    (``tags.fix_tags``, with the guide's ``language``).

    A ``draft`` carries the DRAFT mark on every page (``draftmark.stamp_draft``).

    ``verify`` inspects the finished file before the rename: if it raises, the previous PDF
    at ``target`` is left as it was.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    clean_dead_temp_pdfs(target)
    handle, temp_name = tempfile.mkstemp(prefix=temp_prefix(target), suffix=".tmp",
                                         dir=target.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            pdf = rendered if isinstance(rendered, bytes) else \
                rendered.document.write_pdf(**RENDER_OPTIONS)
            fixed = fix_tags(pdf, language)
            stream.write(stamp_draft(fixed) if draft else fixed)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temp_name, 0o666 & ~umask())  # mkstemp makes it private; a PDF is to share
        if verify:
            verify(Path(temp_name))
        os.replace(temp_name, target)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    return target.stat().st_size
