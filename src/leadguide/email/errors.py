"""Errors of the welcome-email stage."""
from __future__ import annotations

from ..errors import GuideError


class EmailError(GuideError):
    """The welcome email cannot be built or sent as asked."""


class RecipientError(EmailError):
    """A recipient's address or name is unusable (reported before anything is sent)."""


class SmtpError(EmailError):
    """The SMTP server cannot be used at all: settings, TLS, login or an unreachable host."""
