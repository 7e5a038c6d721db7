"""The standards guide.yaml's ``pdf_standard`` claims (PDF/UA-1 by default, PDF/A on request)
as an independent validator judges them (page-validation, via ``pdf.conformance``), each
failure placed on its page and the chapter that made that page."""
from __future__ import annotations

from ..layout.spans import chapter_spans
from ..pdf.conformance import claims, validate
from ..pdf.standards import STANDARDS
from .facts import Facts
from .model import FAIL, PASS, CheckResult, page


def check_conformance(facts: Facts) -> list[CheckResult]:
    standard = STANDARDS[facts.config.pdf_standard]
    failures = [f for profile in standard.profiles for f in validate(facts.data, profile)]
    found = claims(facts.data)
    claimed = found.get("pdfuaid:part") if standard.ua else found.get("pdfaid:part")
    if not failures:
        note = "and claims it" if claimed else "but does not claim it"
        return [CheckResult("pdf-ua", PASS, f"page-validation passes {standard.label} {note}")]
    spans = chapter_spans(facts.chapters, facts.anchor_pages, facts.page_count)
    results = []
    for failure in failures:
        span = next((s for s in spans if failure.page and s.first <= failure.page <= s.last),
                    None)
        where = f"{page(failure.page)}, {span.path}" if span else page(failure.page)
        results.append(CheckResult("pdf-ua", FAIL, f"{failure.rule}: {failure.message}",
                                   where, {"rule": failure.rule, "page": failure.page}))
    if claimed:
        results.append(CheckResult("pdf-ua", FAIL, f"the XMP claims {standard.label} "
                                   "(pdfuaid/pdfaid) but the file breaks it"))
    return results
