"""The owner's view: ``signup stats`` (the funnel per day), ``signup export`` (the consent
ledger, or one row per subscriber, CSV) and ``signup report --html`` (a static page)."""
from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from typing import Iterable

from .ledger import Ledger, QueueStats
from .readcounts import Readings, funnel_lines
from .store import Store
from .subscribers import views_per_day

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


def stats_table(rows: list[tuple[str, dict[str, int]]],
                columns: tuple[str, ...] = COLUMNS) -> list[str]:
    lines = [f"{'day':<12}" + "".join(f"{name:>14}" for name in columns)]
    totals = {name: 0 for name in columns}
    for day, counts in rows:
        lines.append(f"{day:<12}" + "".join(f"{counts.get(n, 0):>14}" for n in columns))
        for name in columns:
            totals[name] += counts.get(name, 0)
    lines.append(f"{'total':<12}" + "".join(f"{totals[n]:>14}" for n in columns))
    return lines


# ----- the funnel -----

FUNNEL = ("views", "signups", "confirmed", "delivered", "downloads", "unsubscribes")


def funnel_stats(store: Store, ledger: Ledger, guide: str) -> list[tuple[str, dict[str, int]]]:
    """Per UTC day: the form's views (counted without cookies), signups, confirmed,
    delivered (the guide's email sent), downloads, unsubscribes (of this guide's people)."""
    days: dict[str, dict[str, int]] = {}
    for day, counts in store.daily(guide).items():
        for name in ("signups", "confirmed", "downloads"):
            if name in counts:
                days.setdefault(day, {})[name] = counts[name]
    for day, counts in ledger.daily(guide).items():
        if counts.get("sent"):
            days.setdefault(day, {})["delivered"] = counts["sent"]
    for day, views in views_per_day(store, guide).items():
        days.setdefault(day, {})["views"] = views
    for day, count in store.db.execute(
            "SELECT substr(x.at, 1, 10), count(*) FROM suppressions x WHERE x.reason = "
            "'unsubscribe' AND EXISTS (SELECT 1 FROM subscribers s WHERE s.guide = ? AND "
            "s.address_id = x.address_id) GROUP BY 1", (guide,)):
        days.setdefault(day, {})["unsubscribes"] = count
    return sorted(days.items())


def funnel_totals(rows: list[tuple[str, dict[str, int]]]) -> dict[str, int]:
    return {name: sum(counts.get(name, 0) for _, counts in rows) for name in FUNNEL}


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


def write_export(rows: Iterable[tuple], out: Path | None,
                 header: tuple[str, ...] = EXPORT_HEADER) -> int:
    """Write the CSV (to ``out`` atomically, or return it via stdout by the caller)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
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
