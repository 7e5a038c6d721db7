"""The PDF behind a download link: the subscriber's own copy when the guide makes personal
copies (their name on the cover, their ``/go/`` link in the call to action and its QR code),
the very bytes the welcome email attaches; else the built PDF as it is.

The copies come from ``email.personal`` and share its cache beside the PDF, so a link opened
after the email was sent reads the stamp the worker made. They are made whatever the
delivery mode: a guide that sends a link only (``email.delivery: link``, or a PDF too large
to attach) gives each reader their copy this way.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from ..email.message import Attachment
from ..email.personal import PersonalCopies, personal_copies
from ..email.recipients import Recipient
from .landing import PDFIUM_LOCK
from .readroutes import personal_cta

if TYPE_CHECKING:
    from .service import Service


@dataclass
class Downloads:
    """Personal copies of ``service``'s PDF, made again when the PDF on disk changes."""

    service: "Service"
    _copies: tuple[tuple[int, int], PersonalCopies | None] | None = field(default=None,
                                                                         repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def copy_for(self, ident: str) -> bytes | None:
        """The PDF for the subscriber ``ident`` (an address_id), or None when everyone gets
        the file as it is (no personal copies, or nothing of theirs to stamp)."""
        copies = self._personal()
        subscriber = self.service.store.subscriber(self.service.guide, ident)
        if copies is None or subscriber is None:
            return None
        person = Recipient(subscriber.address, subscriber.name)
        copy = copies.attachment(person, self._cta(ident) if self._cta else None)
        return None if copy is copies.base else copy.data

    @cached_property
    def _cta(self):
        """address_id → their ``/go/`` link (None without a CTA), made once, not per
        download (it reads the signup database's reading tables when made)."""
        return personal_cta(self.service)

    def _personal(self) -> PersonalCopies | None:
        pdf: Path = self.service.pdf
        try:
            stat = pdf.stat()
        except OSError:  # being replaced: the file as it is, for this one
            return None
        version = (stat.st_mtime_ns, stat.st_size)
        with self._lock:
            if self._copies is None or self._copies[0] != version:
                base = Attachment(self.service.email.attachment_name, pdf.read_bytes(), pdf,
                                  rebuilt=False)
                with PDFIUM_LOCK:  # the plan reads the cover with PDFium, not thread-safe
                    self._copies = (version, personal_copies(self.service.config, base))
            return self._copies[1]
