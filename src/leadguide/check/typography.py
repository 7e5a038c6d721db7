"""Checks on the page as a reader sees it: how full each page is, widows, orphans, headings
left at the foot of a page and one-word last lines.

All are measured on the laid-out pages the PDF was drawn from, which the build records beside
the PDF (``leadguide.pagefill``); the record is used only when it belongs to this very file.
"""
from __future__ import annotations

import json
from typing import Any

from .facts import Facts
from .model import FAIL, PASS, WARN, CheckResult, page, pages, plural

# ---- fill, from the build's record of the layout
EXEMPT_PARTS = {"cover": "the cover", "contents": "the contents", "back": "the back page"}


def check_page_fill(facts: Facts) -> list[CheckResult]:
    """Fails a page under guide.yaml's ``fit.min_fill``: a page promise met by blank space is
    a broken promise. The cover, contents, back page, pages marked notes or blank and pages
    the styles or the author end with a page break are exempt, and listed as such."""
    fills = recorded_fills(facts)
    if fills is None:
        return [CheckResult("page-fill", WARN, "no fill measurements for this PDF: build it "
                            "with 'leadguide build' to measure them", str(facts.pdf))]
    threshold = facts.config.fit.min_fill
    exempt = _exempt(facts, fills)
    low = [f for f in fills if f["fill"] < threshold and f["page"] not in exempt]
    results = [CheckResult("page-fill", FAIL, f"only {f['fill']:.0%} full (guide.yaml's "
                           f"fit.min_fill is {threshold:.0%}); {_ending(f)}; "
                           f"{_remedy(facts, f, threshold)}", page(f["page"])) for f in low]
    light = [f for f in fills if f["fill"] < threshold and f["page"] in exempt]
    if light:
        results.append(CheckResult(
            "page-fill", PASS, "exempt from fit.min_fill: " + "; ".join(
                f"p. {f['page']} {f['fill']:.0%} ({exempt[f['page']]})" for f in light),
            pages([f["page"] for f in light]), details={"exempt": {
                f["page"]: exempt[f["page"]] for f in light}}))
    emptiest = min(fills, key=lambda f: f["fill"])
    average = sum(f["fill"] for f in fills) / len(fills)
    summary = (f"{plural(len(fills) - len(low), 'page')} at least {threshold:.0%} full or "
               f"exempt; average {average:.0%}, emptiest p. {emptiest['page']} at "
               f"{emptiest['fill']:.0%}")
    results.insert(0, CheckResult("page-fill", PASS, summary, details={"pages": fills}))
    return results


def _remedy(facts: Facts, fill: dict[str, Any], threshold: float) -> str:
    """What to do: add text, or (a chapter over more than one page) take a page from it."""
    short = f"about {threshold - fill['fill']:.0%} of a page"
    if fill["ends"] not in ("chapter end", "last page"):
        return f"add {short} before the next block, or let it start on this page"
    chapter = next((c for c in facts.chapters if c.anchor == facts.part_at(fill["page"])), None)
    if chapter is not None and (chapter.pages or 0) > 1:
        return (f"add {short} to the chapter, or give it one page fewer (pages: "
                f"{chapter.pages - 1}) and let 'leadguide fit' land it")
    return f"add {short} to the chapter"


def recorded_fills(facts: Facts) -> list[dict[str, Any]] | None:
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


def _exempt(facts: Facts, fills: list[dict[str, Any]]) -> dict[int, str]:
    """Pages meant to be light, each with why: the cover, the contents and the back page,
    pages marked notes or blank, and pages ended by a page break the styles or the author
    asked for."""
    from .document import intended_pages

    exempt = {f["page"]: "ends at a page break asked for" for f in fills
              if f["ends"] == "forced break"}
    exempt.update({number: f"marked {marker}"
                   for number, marker in intended_pages(facts)[0].items()})
    for f in fills:
        part = facts.part_at(f["page"])
        if part in EXEMPT_PARTS:
            exempt[f["page"]] = EXEMPT_PARTS[part]
    return exempt


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
    fills = recorded_fills(facts)
    if fills is None:
        return [CheckResult("typography", WARN, "no layout record for this PDF: build it with "
                            "'leadguide build' to count widows and orphans", str(facts.pdf))]
    results = []
    counts: dict[str, int] = {}
    for key, noun, meaning in QUALITY:
        found = [f for f in fills if f.get(key)]
        counts[key] = len(found)
        # a heading that ends a page has lost its text: fail; a widow or orphan costs a line
        status = FAIL if key == "heading_at_foot" else WARN
        results += [CheckResult("typography", status, f"{noun} ({meaning}): \"{_cut(f[key])}\"",
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
