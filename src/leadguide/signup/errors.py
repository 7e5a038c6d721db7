"""Errors of the signup service (settings, store, queue): GuideErrors, shown at the CLI edge."""
from __future__ import annotations

from ..errors import GuideError


class SignupError(GuideError):
    """The signup service cannot start or a signup command cannot run."""


class ImportProblem(GuideError):
    """A row of a suppression export that could not be read."""
