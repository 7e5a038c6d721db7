"""The email size budget for the PDF, shared by the welcome email and the preflight check."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping

DEFAULT_WARN_MB = 5.0
DEFAULT_MAX_MB = 10.0


@dataclass(frozen=True)
class SizeBudget:
    warn_bytes: int
    max_bytes: int


def encoded_size(raw_bytes: int) -> int:
    """Bytes a file takes in a MIME message: base64, 76-character lines ending in CRLF."""
    encoded = 4 * math.ceil(raw_bytes / 3)
    return encoded + 2 * math.ceil(encoded / 76)


def size_budget(email: Mapping | None) -> SizeBudget:
    """Limits from guide.yaml's ``email:`` section (``warn_attachment_mb``, ``max_attachment_mb``)."""
    email = email or {}
    warn = float(email.get("warn_attachment_mb", DEFAULT_WARN_MB))
    most = float(email.get("max_attachment_mb", DEFAULT_MAX_MB))
    return SizeBudget(int(warn * 1_000_000), int(most * 1_000_000))
