"""What a preflight check returns, and the registry entry that names it."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Literal

if TYPE_CHECKING:
    from .facts import Facts

Status = Literal["pass", "warn", "fail"]
PASS: Status = "pass"
WARN: Status = "warn"
FAIL: Status = "fail"


@dataclass(frozen=True)
class CheckResult:
    """One finding: ``where`` is ``p. 5``, ``path:line``, a file, or empty; ``details`` are
    figures for ``check --json`` that the table leaves out."""

    name: str
    status: Status
    message: str
    where: str = ""
    details: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class Check:
    """A named check; ``cheap`` ones read only the PDF's structure and run on every build."""

    name: str
    run: Callable[[Facts], list[CheckResult]]
    cheap: bool
    summary: str


def page(number: int | None) -> str:
    return f"p. {number}" if number else ""


def pages(numbers: list[int]) -> str:
    """``p. 3`` or ``pp. 3, 7, 9``."""
    unique = sorted(set(numbers))
    if len(unique) == 1:
        return page(unique[0])
    return "pp. " + ", ".join(str(n) for n in unique) if unique else ""


def plural(count: int, noun: str, many: str | None = None) -> str:
    return f"{count} {noun if count == 1 else many or noun + 's'}"
