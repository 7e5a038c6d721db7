"""``leadguide signup report --html FILE``: the owner's funnel as one static HTML file (no
script, no font, no image, nothing fetched: it opens anywhere, offline)."""
from __future__ import annotations

import html
from datetime import datetime, timezone
from pathlib import Path

from ..atomic import write_bytes
from .ledger import QueueStats
from .report import FUNNEL, funnel_totals, queue_lines

_LABELS = {"views": "Form views", "signups": "Sign-ups", "confirmed": "Confirmed",
           "delivered": "Guide delivered", "downloads": "Downloads",
           "unsubscribes": "Unsubscribes"}
_STYLE = """
body{font:16px/1.5 system-ui,sans-serif;color:#1b1b1b;max-width:60rem;margin:2rem auto;
padding:0 1rem}h1{font-size:1.6rem}table{border-collapse:collapse;width:100%;margin:1rem 0}
th,td{padding:.35rem .6rem;border-bottom:1px solid #ddd;text-align:right}
th:first-child,td:first-child{text-align:left}.bar{background:#2f6f5e;height:1.1rem}
.funnel td:nth-child(2){width:50%}.funnel th:nth-child(2){text-align:left}caption{text-align:left;font-weight:600;padding:.5rem 0}
.note{color:#555;font-size:.9rem}
"""


def funnel_html(title: str, rows: list[tuple[str, dict[str, int]]],
                queue: QueueStats | None = None) -> str:
    esc = html.escape
    totals = funnel_totals(rows)
    top = max(totals.values()) or 1
    funnel = []
    previous = None
    for name in FUNNEL:
        value = totals[name]
        share = (f"{100 * value / previous:.0f}% of the step before"
                 if previous and name != "unsubscribes" else "")
        funnel.append(f"<tr><th scope=\"row\">{_LABELS[name]}</th><td><div class=\"bar\" "
                      f"style=\"width:{100 * value / top:.1f}%\"></div></td><td>{value}</td>"
                      f"<td>{share}</td></tr>")
        previous = value if name != "unsubscribes" else previous
    days = "".join("<tr><td>" + esc(day) + "</td>" + "".join(
        f"<td>{counts.get(name, 0)}</td>" for name in FUNNEL) + "</tr>"
        for day, counts in reversed(rows))
    made = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    queue_text = "".join(f"<p class=\"note\">{esc(line)}</p>"
                         for line in (queue_lines(queue) if queue else []))
    return (
        f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
        f"<title>Sign-ups: {esc(title)}</title><style>{_STYLE}</style></head><body><main>"
        f"<h1>Sign-ups: {esc(title)}</h1><p class=\"note\">Made {made}. Form views are "
        "counted per day without cookies.</p>"
        "<table class=\"funnel\"><caption>The funnel, all days</caption><thead><tr>"
        "<th scope=\"col\">Step</th><th scope=\"col\">Share</th><th scope=\"col\">Count</th>"
        f"<th scope=\"col\">Conversion</th></tr></thead><tbody>{''.join(funnel)}</tbody></table>"
        "<table><caption>Per day (UTC), newest first</caption><thead><tr>"
        "<th scope=\"col\">Day</th>" + "".join(f"<th scope=\"col\">{_LABELS[n]}</th>"
                                               for n in FUNNEL) +
        f"</tr></thead><tbody>{days}</tbody></table>{queue_text}</main></body></html>\n")


def write_html_report(path: Path, title: str, rows: list[tuple[str, dict[str, int]]],
                      queue: QueueStats | None = None) -> Path:
    write_bytes(path, funnel_html(title, rows, queue).encode())
    return path
