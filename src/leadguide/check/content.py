"""Checks on the content, read from the HTML and confirmed in the PDF: alt text, heading
levels, the disclaimer and the fillable trackers."""
from __future__ import annotations

from pathlib import PurePosixPath

from ..errors import shown_path
from ..starters.scaffold import leftover_lines, starter_phrases
from .facts import HEADINGS, Facts, Node, squash
from .model import FAIL, PASS, WARN, CheckResult, page, plural

FIELDS = ("input", "select", "textarea")


def check_alt_text(facts: Facts) -> list[CheckResult]:
    """Every image has alt text, unless it is marked decorative (role=presentation or
    aria-hidden=true)."""
    images = facts.elements("img")
    results = []
    for node in images:
        if not _decorative(node) and not (node.get("alt") or "").strip():
            src = node.get("src") or ""
            results.append(CheckResult("alt-text", FAIL, f"image {src} has no alt text",
                                       facts.locate(node.chapter, src, PurePosixPath(src).stem)))
    count = plural(len(images), "image")
    return results or [CheckResult("alt-text", PASS, f"{count}, all with alt text")]


def _decorative(node: Node) -> bool:
    return node.get("role") in ("presentation", "none") or node.get("aria-hidden") == "true"


def check_headings(facts: Facts) -> list[CheckResult]:
    """Headings go down one level at a time (h1 → h2 → h3), as screen readers expect."""
    headings = facts.elements(*HEADINGS)
    results, previous = [], 0
    for node in headings:
        level = int(node.tag[1])
        if level > previous + 1:
            results.append(CheckResult("headings", FAIL, f"'{node.text}' is h{level} right after "
                                       f"h{previous}: a level is skipped",
                                       facts.locate(node.chapter, node.text)))
        previous = level
    return results or [CheckResult("headings", PASS,
                                   f"{plural(len(headings), 'heading')}, no level skipped")]


def check_disclaimer(facts: Facts) -> list[CheckResult]:
    """A block of class ``disclaimer`` with text, and that text printed in the PDF."""
    blocks = [node for node in facts.html if "disclaimer" in node.classes]
    if not blocks:
        return [CheckResult("disclaimer", FAIL, "no disclaimer: the guide has no block of class "
                            "'disclaimer' (see docs/AUTHORING.md)")]
    results = [_disclaimer_in_pdf(facts, node) for node in blocks]
    return results


def _disclaimer_in_pdf(facts: Facts, node: Node) -> CheckResult:
    where = facts.locate(node.chapter, "disclaimer")
    opening = squash(node.text)[:60]
    if not opening:
        return CheckResult("disclaimer", FAIL, "the disclaimer block is empty", where)
    start = facts.destinations.get(node.chapter.anchor if node.chapter else "") or 1
    order = list(range(start, facts.page_count + 1)) + list(range(1, start))
    for number in order:
        if opening in squash(facts.text(number)):
            return CheckResult("disclaimer", PASS, "disclaimer printed", page(number))
    return CheckResult("disclaimer", FAIL, "the disclaimer is in the HTML but its text is not "
                       "in the PDF (hidden?)", where)


def check_trackers(facts: Facts) -> list[CheckResult]:
    """Each ``data-tracker`` block's inputs are fillable AcroForm fields in the PDF."""
    trackers = [node for node in facts.html if node.get("data-tracker")]
    fields = set(facts.reader.get_fields() or {}) if trackers else set()
    results = [_tracker(facts, node, fields) for node in trackers]
    return results or [CheckResult("trackers", PASS, "no trackers declared")]


def _tracker(facts: Facts, node: Node, fields: set[str]) -> CheckResult:
    kind = node.get("data-tracker") or ""
    where = facts.locate(node.chapter, f'"{kind}"', kind)
    names = [n.get("name") for n in facts.html
             if n.tag in FIELDS and node.element in n.parents and n.get("name")]
    if not names:
        return CheckResult("trackers", FAIL, f"tracker '{kind}' has no fields to fill in", where)
    missing = [name for name in names if name not in fields]
    if missing:
        shown = ", ".join(missing[:3]) + (", ..." if len(missing) > 3 else "")
        return CheckResult("trackers", FAIL, f"tracker '{kind}': {len(missing)} of {len(names)} "
                           f"fields are not fillable in the PDF ({shown})", where)
    return CheckResult("trackers", PASS, f"tracker '{kind}': {len(names)} fillable fields", where)


def check_scaffold_text(facts: Facts) -> list[CheckResult]:
    """No sentence left from the `leadguide new` starter in guide.yaml, chapters or data."""
    phrases = starter_phrases()
    root = facts.config.root
    sources = [root / "guide.yaml", *(root / "chapters" / name for name in facts.config.chapters),
               *sorted((root / "data").glob("*.y*ml"))]
    results = []
    for path in sources:
        lines = leftover_lines(path.read_text(encoding="utf-8"), phrases) if path.is_file() else []
        if lines:
            more = f" (and {plural(len(lines) - 1, 'more line')})" if len(lines) > 1 else ""
            results.append(CheckResult("scaffold-text", WARN, "still has the starter's "
                                       f"placeholder text: write your own{more}",
                                       f"{shown_path(path)}:{lines[0]}"))
    return results or [CheckResult("scaffold-text", PASS, "no placeholder text from the starter")]
