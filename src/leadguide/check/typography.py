"""Checks on the page as a reader sees it: how full each page is, widows, orphans, headings
left at the foot of a page and one-word last lines.

All are measured on the laid-out pages the PDF was drawn from, which the build records beside
the PDF (``leadguide.pagefill``); the record is used only when it belongs to this very file.
"""
from __future__ import annotations

import json
from typing import Any

from .facts import Facts
from .model import PASS, WARN, CheckResult, page, pages, plural


# ---- fill, from the build's record of the layout
def check_page_fill(facts: Facts) -> list[CheckResult]:
    fills = _recorded_fills(facts)
    if fills is None:
        return [CheckResult("page-fill", WARN, "no fill measurements for this PDF: build it "
                            "with 'leadguide build' to measure them", str(facts.pdf))]
    threshold = facts.config.fit.min_fill
    low = [f for f in fills if f["fill"] < threshold and f["page"] not in _exempt(facts)]
    results = [CheckResult("page-fill", WARN, f"only {f['fill']:.0%} full (guide.yaml's "
                           f"fit.min_fill is {threshold:.0%}); {_ending(f)}", page(f["page"]))
               for f in low]
    emptiest = min(fills, key=lambda f: f["fill"])
    average = sum(f["fill"] for f in fills) / len(fills)
    summary = (f"{plural(len(fills) - len(low), 'page')} at least {threshold:.0%} full; "
               f"average {average:.0%}, emptiest p. {emptiest['page']} at {emptiest['fill']:.0%}")
    results.insert(0, CheckResult("page-fill", PASS, summary, details={"pages": fills}))
    return results


def _recorded_fills(facts: Facts) -> list[dict[str, Any]] | None:
    """The page fills the build of this very PDF recorded, if it did."""
    from ..build import manifest_path

    try:
        manifest = json.loads(manifest_path(facts.pdf).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    fills = manifest.get("page_fill") if isinstance(manifest, dict) else None
    if (not isinstance(fills, list) or len(fills) != facts.page_count
            or manifest.get("size") != len(facts.data)):
        return None
    return fills


def _exempt(facts: Facts) -> set[int]:
    """Pages meant to be light: the cover, the back page, and pages marked notes or blank."""
    from .document import intended_pages

    exempt = {facts.anchor_pages[a] for a in ("cover", "back") if a in facts.anchor_pages}
    return exempt | set(intended_pages(facts)[0])


def _ending(fill: dict[str, Any]) -> str:
    if fill["ends"] == "moved on" and fill.get("moved"):
        return f"the next block, {fill['moved']}, did not fit in what was left"
    return {"chapter end": "its chapter ends here", "forced break": "a page break is forced "
            "here", "continues": "text runs on"}.get(fill["ends"], fill["ends"])


# ---- widows, orphans, headings at the foot, one-word last lines: from the same record
QUALITY = (("orphan", "orphan", "a paragraph's first line alone at the foot of the page"),
           ("widow", "widow", "a paragraph's last line alone at the top of the page"),
           ("heading_at_foot", "heading", "alone at the foot of the page, its text overleaf"))


def check_typography(facts: Facts) -> list[CheckResult]:
    fills = _recorded_fills(facts)
    if fills is None:
        return [CheckResult("typography", WARN, "no layout record for this PDF: build it with "
                            "'leadguide build' to count widows and orphans", str(facts.pdf))]
    results = []
    counts: dict[str, int] = {}
    for key, noun, meaning in QUALITY:
        found = [f for f in fills if f.get(key)]
        counts[key] = len(found)
        results += [CheckResult("typography", WARN, f"{noun} ({meaning}): \"{_cut(f[key])}\"",
                                page(f["page"])) for f in found]
    runts = [(f["page"], text) for f in fills for text in f.get("one_word_lines", ())]
    counts["one_word_lines"] = len(runts)
    # A one-word last line is counted, not warned about: it costs a line, rarely a reader.
    listed = ", ".join(f'"{text}"' for _, text in runts[:4]) + (" …" if len(runts) > 4 else "")
    results.insert(0, CheckResult(
        "typography", PASS, f"{plural(counts['widow'], 'widow')}, "
        f"{plural(counts['orphan'], 'orphan')}, {counts['heading_at_foot']} headings alone at "
        f"a page foot, {counts['one_word_lines']} one-word last lines"
        + (f": {listed}" if runts else ""), pages([number for number, _ in runts]),
        details=counts))
    return results


def _cut(text: str, length: int = 50) -> str:
    return text if len(text) <= length else text[:length - 1] + "…"
