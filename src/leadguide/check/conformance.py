"""PDF/UA-1 as an independent validator judges it (page-validation, via ``pdf.conformance``),
each failure placed on its page and the chapter that made that page."""
from __future__ import annotations

from ..layout.spans import chapter_spans
from ..pdf.conformance import UA_1, claims, validate
from .facts import Facts
from .model import FAIL, PASS, CheckResult, page


def check_conformance(facts: Facts) -> list[CheckResult]:
    failures = validate(facts.data, UA_1)
    claimed = claims(facts.data).get("pdfuaid:part")
    if not failures:
        note = "and claims it (pdfuaid:part 1)" if claimed else "but does not claim it"
        return [CheckResult("pdf-ua", PASS, f"page-validation passes PDF/UA-1 {note}")]
    spans = chapter_spans(facts.chapters, facts.anchor_pages, facts.page_count)
    results = []
    for failure in failures:
        span = next((s for s in spans if failure.page and s.first <= failure.page <= s.last),
                    None)
        where = f"{page(failure.page)}, {span.path}" if span else page(failure.page)
        results.append(CheckResult("pdf-ua", FAIL, f"{failure.rule}: {failure.message}",
                                   where, {"rule": failure.rule, "page": failure.page}))
    if claimed:
        results.append(CheckResult("pdf-ua", FAIL, "the XMP claims PDF/UA-1 (pdfuaid:part) "
                                   "but the file breaks it"))
    return results
