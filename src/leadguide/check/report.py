"""The results as a table for people, as JSON for machines, and as a one-line summary."""
from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from .model import FAIL, PASS, WARN, CheckResult

LABELS = {PASS: "PASS", WARN: "WARN", FAIL: "FAIL"}


def counts(results: list[CheckResult]) -> dict[str, int]:
    return {status: sum(1 for r in results if r.status == status) for status in (PASS, WARN, FAIL)}


def fit_to_send(results: list[CheckResult]) -> bool:
    return not any(result.status == FAIL for result in results)


def summary(results: list[CheckResult], label: str = "checks") -> str:
    """``cheap checks: 7 passed, 1 warning`` (and ``, 2 failed`` when some did)."""
    n = counts(results)
    text = f"{label}: {n[PASS]} passed, {n[WARN]} warning{'' if n[WARN] == 1 else 's'}"
    return text + (f", {n[FAIL]} failed" if n[FAIL] else "")


def table(results: list[CheckResult]) -> list[tuple[CheckResult, str]]:
    """One aligned line per result, paired with it so the caller can colour by status."""
    name_width = max((len(r.name) for r in results), default=0)
    where_width = min(max((len(r.where) for r in results), default=0), 40)
    return [(r, f"{LABELS[r.status]}  {r.name:<{name_width}}  {r.where:<{where_width}}  "
                f"{r.message}".rstrip()) for r in results]


def to_json(results: list[CheckResult], pdf: Path) -> str:
    return json.dumps({"pdf": str(pdf), "fit_to_send": fit_to_send(results),
                       "counts": counts(results), "checks": [asdict(r) for r in results]},
                      indent=2, ensure_ascii=False)
