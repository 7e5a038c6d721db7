"""serve's live PDF finished for the eye, quickly: ``finish_live(pdf)``.

A writer looks at the live PDF after every save; what they look at is the pages. So it gets
what changes what a viewer shows (form fields completed, ``forms``; the DRAFT mark,
``draftmark``) in one pass over the file, and skips what only readers of the tags and
validators see: mending the tag tree (``tags``, 0.5-0.9 s on the 24-page default guide) and
judging PDF/UA (``conformance``, 0.15 s). Not judged, it claims no standard: its
``pdfuaid``/``pdfaid`` identification is taken out. ``leadguide build`` writes the PDF that
is mended, judged and sent.
"""
from __future__ import annotations

from io import BytesIO

import pikepdf

from .conformance import remove_claims
from .draftmark import stamp_pages
from .forms import complete_fields


def finish_live(pdf: bytes) -> bytes:
    """The laid-out ``pdf`` with its fields completed, the DRAFT mark and no conformance
    claim."""
    with pikepdf.open(BytesIO(pdf)) as document:
        complete_fields(document)
        stamp_pages(document)
        remove_claims(document)
        out = BytesIO()
        document.save(out)
        return out.getvalue()
