"""Errors of the signup service (settings, store, queue): GuideErrors, shown at the CLI edge."""
from __future__ import annotations

from ..errors import GuideError


class SignupError(GuideError):
    """The signup service cannot start or a signup command cannot run."""


class ImportProblem(GuideError):
    """A row of a suppression export that could not be read."""


class Unavailable(Exception):
    """The signup database cannot be written just now (locked past the wait, the disk full or
    read-only): nothing was saved, and the same request made again later can succeed. The web
    side answers 503 with Retry-After."""

    def __init__(self, detail: str):
        super().__init__(f"the signup database cannot be written just now: {detail}")
        self.detail = detail
