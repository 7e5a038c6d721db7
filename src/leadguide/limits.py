"""The email size budget for the PDF, shared by the welcome email and the preflight check."""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from .errors import ConfigError

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


def size_budget(email: Mapping | None, path: Path | None = None) -> SizeBudget:
    """Limits from guide.yaml's ``email:`` section (``warn_attachment_mb``, ``max_attachment_mb``)."""
    email = email or {}
    warn = _megabytes(email, "warn_attachment_mb", DEFAULT_WARN_MB, path)
    most = _megabytes(email, "max_attachment_mb", DEFAULT_MAX_MB, path)
    return SizeBudget(int(warn * 1_000_000), int(most * 1_000_000))


def _megabytes(email: Mapping, key: str, default: float, path: Path | None) -> float:
    value = email.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        line = email.line_of(key) if hasattr(email, "line_of") else None
        raise ConfigError(f"'email.{key}' must be a number of megabytes above 0, not {value!r}",
                          path, line)
    return float(value)
