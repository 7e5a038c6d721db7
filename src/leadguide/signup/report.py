"""The owner's view: ``signup stats`` (per day) and ``signup export`` (the consent ledger, CSV)."""
from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from typing import Iterable

from .ledger import Ledger, QueueStats
from .readcounts import Readings, funnel_lines
from .store import Store

COLUMNS = ("signups", "confirmed", "sent", "failed", "unsubscribed", "downloads")
EXPORT_HEADER = ("email", "first_name", "status", "signed_up_at", "confirmed_at", "event",
                 "event_at", "ip", "user_agent", "page", "consent_box", "shown", "suppressed",
                 "suppressed_at")
_FORMULA = ("=", "+", "-", "@", "\t", "\r", "|", "%")


def daily_stats(store: Store, ledger: Ledger, guide: str) -> list[tuple[str, dict[str, int]]]:
    days = store.daily(guide)
    for day, counts in ledger.daily(guide).items():  # in the signup database, Redis or not
        days.setdefault(day, {}).update(counts)
    return sorted(days.items())


def stats_table(rows: list[tuple[str, dict[str, int]]]) -> list[str]:
    lines = [f"{'day':<12}" + "".join(f"{name:>14}" for name in COLUMNS)]
    totals = {name: 0 for name in COLUMNS}
    for day, counts in rows:
        lines.append(f"{day:<12}" + "".join(f"{counts.get(n, 0):>14}" for n in COLUMNS))
        for name in COLUMNS:
            totals[name] += counts.get(name, 0)
    lines.append(f"{'total':<12}" + "".join(f"{totals[n]:>14}" for n in COLUMNS))
    return lines


def reading_lines(store: Store, guide: str) -> list[str]:
    """The reading funnel and its counts per day (``signup.readcounts`` owns them)."""
    return funnel_lines(Readings(store.path), guide)


def queue_lines(stats: QueueStats) -> list[str]:
    """The queue now: what waits, for how long, what went out in the last minute."""
    lines = [f"queue: {stats.depth} owed ({stats.waiting} waiting, {stats.retrying} to retry, "
             f"{stats.sending} sending); the oldest waiting has waited "
             f"{stats.oldest_seconds:.0f} s",
             f"sent in the last minute: {stats.sent_last_minute}; failed in the last 24 hours: "
             f"{stats.failed_last_day}"]
    shown = stats.as_dict()
    if shown["paused_until"]:
        lines.append(f"paused until {shown['paused_until']}: {shown['pause_reason']}")
    return lines


def safe_cell(value: object) -> str:
    """A cell a spreadsheet shows as text: one starting like a formula gets a leading '."""
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(_FORMULA) else text


def write_export(rows: Iterable[tuple], out: Path | None) -> int:
    """Write the CSV (to ``out`` atomically, or return it via stdout by the caller)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(EXPORT_HEADER)
    count = 0
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])
        count += 1
    if out is None:
        print(buffer.getvalue(), end="")
        return count
    temp = out.with_name(f".{out.name}.tmp")
    temp.write_text(buffer.getvalue(), encoding="utf-8")
    os.replace(temp, out)
    return count
