"""Preflight: prove the finished PDF keeps its promises before it is sent, check by check."""
from __future__ import annotations

from pathlib import Path

from ..build import BuildResult, Progress, build_if_stale
from ..errors import GuideError
from . import bounds, conformance, content, cover, document, links, tags, technical, typography
from .facts import Facts, PreflightError
from .model import FAIL, PASS, WARN, Check, CheckResult
from .report import counts, fit_to_send, summary, table, to_json

CHECKS: tuple[Check, ...] = (
    Check("page-count", document.check_page_count, True,
          "the page count is the one guide.yaml promises"),
    Check("page-size", document.check_page_size, True,
          "every page has the size guide.yaml's page_size names"),
    Check("chapter-budget", document.check_chapter_budgets, True,
          "each chapter fits the pages its front matter budgets"),
    Check("toc-numbers", document.check_toc_numbers, False,
          "each number in the contents is the page its chapter starts on"),
    Check("bookmarks", document.check_bookmarks, False,
          "each bookmark opens its heading's page; none for the cover or contents"),
    Check("blank-pages", document.check_blank_pages, False,
          "no blank or nearly empty page, unless marked"),
    Check("page-fill", typography.check_page_fill, False,
          "how full each page is and what ends it; fails a page under guide.yaml's fit.min_fill"),
    Check("typography", typography.check_typography, False,
          "widows, orphans, one-word last lines; fails a heading alone at a page foot"),
    Check("cover", cover.check_cover, False,
          "the cover's brand row, title, subtitle, art and footer never overlap"),
    Check("internal-links", links.check_internal_links, True,
          "every link in the PDF lands on a page"),
    Check("link-targets", links.check_link_targets, False,
          "every #id link in the HTML has its destination in the PDF"),
    Check("external-links", links.check_external_links, False,
          "external links listed; calls to action carry UTM tags"),
    Check("trim-box", bounds.check_trim_box, True,
          "no text or image is drawn outside the page's trim box"),
    Check("print-edition", bounds.check_print_edition, False,
          "the print edition (if built) has trim and bleed boxes on every page, no fields"),
    Check("fonts", technical.check_fonts, True, "every font is embedded"),
    Check("image-resolution", technical.check_image_resolution, False,
          f"raster images print at {technical.MIN_DPI} dpi or more"),
    Check("metadata", technical.check_metadata, True, "title, author and language are set"),
    Check("tagged", technical.check_tagged, True, "the PDF is tagged for screen readers"),
    Check("pdf-ua", conformance.check_conformance, False,
          "page-validation (an independent validator) passes PDF/UA-1; the claim is honest"),
    Check("tagged-text", tags.check_reachable_text, False,
          "every visible text is in the tag tree or an artifact"),
    Check("parent-tree", tags.check_parent_tree, False,
          "each marked text's parent-tree entry is the element that holds it"),
    Check("link-tags", tags.check_link_tags, False,
          "links are Link elements described in words"),
    Check("table-headers", tags.check_empty_headers, False, "no empty table header cell"),
    Check("table-header-map", tags.check_header_map, False,
          "header cells have /Scope; each data cell names the headers of its row and column"),
    Check("contents-tags", tags.check_contents_tags, False,
          "the contents is tagged as a table of contents (TOC/TOCI)"),
    Check("xmp-language", tags.check_xmp_language, False,
          "the XMP metadata names the language (dc:language)"),
    Check("alt-text", content.check_alt_text, False, "every image has alt text"),
    Check("headings", content.check_headings, False, "headings skip no level"),
    Check("disclaimer", content.check_disclaimer, False, "the disclaimer block is printed"),
    Check("trackers", content.check_trackers, False,
          "every data-tracker block's fields are fillable in the PDF"),
    Check("scaffold-text", content.check_scaffold_text, False,
          "no placeholder text left from the `leadguide new` starter"),
    Check("file-size", technical.check_file_size, True, "the PDF fits the email size budget"),
)


def run_checks(guide_dir: Path | str, pdf: Path | str,
               cheap_only: bool = False) -> list[CheckResult]:
    """Run every check (or only the cheap ones) on ``pdf``, built from ``guide_dir``."""
    facts = Facts(guide_dir, pdf)
    try:
        return [result for check in CHECKS if check.cheap or not cheap_only
                for result in _run(check, facts)]
    finally:
        facts.close()


def _run(check: Check, facts: Facts) -> list[CheckResult]:
    try:
        return check.run(facts)
    except GuideError:
        raise
    except Exception as exc:  # a damaged PDF must not hide what the other checks find
        return [CheckResult(check.name, FAIL, f"could not run: {type(exc).__name__}: {exc}")]


def ensure_pdf(guide_dir: Path | str, pdf: Path | None = None,
               progress: Progress | None = None) -> tuple[Path, BuildResult | None]:
    """The PDF to check, built first when stale: as a draft, so its faults can be reported."""
    return build_if_stale(guide_dir, pdf, draft=True, progress=progress)


__all__ = ["CHECKS", "FAIL", "PASS", "WARN", "Check", "CheckResult", "PreflightError", "counts",
           "ensure_pdf", "fit_to_send", "run_checks", "summary", "table", "to_json"]
