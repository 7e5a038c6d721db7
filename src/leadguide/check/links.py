"""Checks on links: internal ones land somewhere, external ones are listed, CTAs are tracked."""
from __future__ import annotations

from collections import defaultdict
from urllib.parse import parse_qs, urlsplit

from .facts import Facts
from .model import FAIL, PASS, WARN, CheckResult, page, pages, plural

UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign")


def check_internal_links(facts: Facts) -> list[CheckResult]:
    """Every link annotation in the PDF goes to a destination that exists."""
    results = []
    for link in facts.links:
        if link.action:
            results.append(CheckResult("internal-links", WARN, f"a link runs a {link.action[1:]} "
                                       "action: readers may block it", page(link.page)))
        elif link.internal and link.target is None:
            name = f"'#{link.dest}'" if link.dest else "an explicit page"
            results.append(CheckResult("internal-links", FAIL, f"link to {name} goes nowhere",
                                       page(link.page)))
    internal = sum(1 for link in facts.links if link.internal)
    return results or [CheckResult("internal-links", PASS,
                                   f"{plural(internal, 'internal link')}, all land on a page")]


def check_link_targets(facts: Facts) -> list[CheckResult]:
    """Every ``href="#id"`` in the HTML has a destination in the PDF. WeasyPrint silently drops
    a link whose id does not exist, so only the HTML shows it was meant to be there."""
    results, count = [], 0
    for node in facts.elements("a"):
        href = node.get("href") or ""
        if not href.startswith("#"):
            continue
        count += 1
        if facts.destinations.get(href[1:]) is None:
            results.append(CheckResult("link-targets", FAIL, f"link '{node.text}' goes to "
                                       f"'{href}', which is nowhere in the PDF",
                                       facts.locate(node.chapter, f"({href})", href)))
    return results or [CheckResult("link-targets", PASS,
                                   f"{plural(count, 'link')} to #ids, each id is in the PDF")]


def check_external_links(facts: Facts) -> list[CheckResult]:
    """List every external link with its pages; warn when a call to action lacks UTM tags."""
    on_pages: dict[str, list[int]] = defaultdict(list)
    for link in facts.links:
        if link.uri is not None:
            on_pages[link.uri].append(link.page)
    calls = _calls_to_action(facts)
    results = []
    for uri, numbers in on_pages.items():
        missing = [key for key in UTM_KEYS if key not in parse_qs(urlsplit(uri).query)]
        if urlsplit(uri).scheme.lower() == "file":
            results.append(CheckResult("external-links", FAIL, f"link to {uri}: a file on the "
                                       "machine that built the PDF, which no reader has",
                                       pages(numbers)))
        elif uri in calls and urlsplit(uri).scheme in ("http", "https") and missing:
            results.append(CheckResult("external-links", WARN, f"call to action {uri} lacks "
                                       f"{', '.join(missing)}: clicks from the guide will not "
                                       "be counted as such", pages(numbers)))
        else:
            label = "call to action" if uri in calls else "link"
            results.append(CheckResult("external-links", PASS, f"{label} {uri}", pages(numbers)))
    return results or [CheckResult("external-links", PASS, "no external links")]


def _calls_to_action(facts: Facts) -> set[str]:
    """guide.yaml's cta.url, and every link styled as a button or inside a .cta block."""
    urls = {facts.config.cta.url} if facts.config.cta else set()
    for node in facts.elements("a"):
        if node.get("href") and ("button" in node.classes or node.inside("cta")):
            urls.add(node.get("href") or "")
    return urls
