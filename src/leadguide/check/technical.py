"""Checks on the file itself: fonts, image resolution, metadata, tags and email size."""
from __future__ import annotations

from collections import defaultdict

import pypdfium2 as pdfium

from ..limits import encoded_size, size_budget
from .facts import Facts
from .model import FAIL, PASS, WARN, CheckResult, page, pages, plural

MIN_DPI = 150


def check_fonts(facts: Facts) -> list[CheckResult]:
    """Every font that text on a page (or inside its form XObjects) is set in carries its font
    program, as PDFium finds when it loads the font (a Type 3 font draws its own glyphs)."""
    missing: dict[str, list[int]] = defaultdict(list)
    names: set[str] = set()
    for number, fonts in facts.fonts.items():
        for font in fonts:
            names.add(font.name)
            if not font.embedded:
                missing[font.name].append(number)
    results = [CheckResult("fonts", FAIL, f"font {name} is not embedded: readers without it "
                           "substitute another", pages(numbers))
               for name, numbers in missing.items()]
    return results or [CheckResult("fonts", PASS, f"{plural(len(names), 'font')}, all embedded")]


def _resolved(value: object) -> dict:
    """A pypdf dictionary (a dict), or an empty one for anything else."""
    value = value.get_object() if value is not None else None
    return value if isinstance(value, dict) else {}


def check_image_resolution(facts: Facts) -> list[CheckResult]:
    """Every raster image's pixels per inch at the size it is placed (PDFium measures it)."""
    results, count = [], 0
    for number, pdf_page in enumerate(facts.reader.pages, start=1):
        if not _has_images(pdf_page.get("/Resources"), set()):
            continue  # asking PDFium about every object of every page is the slow part
        for image in facts.page(number).get_objects(filter=[pdfium.raw.FPDF_PAGEOBJ_IMAGE]):
            count += 1
            meta = image.get_metadata()
            dpi = round(min(meta.horizontal_dpi, meta.vertical_dpi))
            if dpi < MIN_DPI:
                width, height = image.get_px_size()
                results.append(CheckResult("image-resolution", WARN, f"a {width}×{height} px "
                                           f"image prints at {dpi} dpi (print needs {MIN_DPI}): "
                                           "use a larger file", page(number)))
    found = f"{plural(count, 'raster image')}, all at {MIN_DPI} dpi or more"
    return results or [CheckResult("image-resolution", PASS,
                                   found if count else "no raster images")]


def _has_images(resources: object, seen: set[int]) -> bool:
    resources = _resolved(resources)
    if id(resources) in seen:
        return False
    seen.add(id(resources))
    for xobject in _resolved(resources.get("/XObject")).values():
        xobject = xobject.get_object()
        kind = xobject.get("/Subtype")
        if kind == "/Image" or (kind == "/Form" and _has_images(xobject.get("/Resources"), seen)):
            return True
    return False


def check_metadata(facts: Facts) -> list[CheckResult]:
    found = facts.metadata
    results = [CheckResult("metadata", FAIL, f"no document {key}: set it in guide.yaml",
                           facts.source_name(None))
               for key, value in found.items() if not value.strip()]
    return results or [CheckResult("metadata", PASS, f"title '{found['title']}', author "
                                   f"'{found['author']}', language {found['language']}")]


def check_tagged(facts: Facts) -> list[CheckResult]:
    if facts.structured and facts.marked:
        return [CheckResult("tagged", PASS, "tagged PDF (StructTreeRoot, MarkInfo /Marked)")]
    missing = [name for name, ok in (("StructTreeRoot", facts.structured),
                                     ("MarkInfo /Marked true", facts.marked)) if not ok]
    return [CheckResult("tagged", FAIL, f"not a tagged PDF: no {' and no '.join(missing)}; "
                        "screen readers cannot follow it")]


def _linked_instead(config, email) -> bool:
    """Whether an email too large to attach goes as a download link (email.delivery: a link
    from email.download_url or the signup service), as email/message.py decides."""
    return bool(email.get("download_url")) or config.signup is not None


def check_file_size(facts: Facts) -> list[CheckResult]:
    raw = len(facts.data)
    encoded = encoded_size(raw)
    budget = size_budget(facts.config.email, facts.config.config_path)
    figures = f"{raw / 1e6:.2f} MB ({encoded / 1e6:.2f} MB as an email attachment)"
    email = facts.config.email or {}
    if encoded > budget.max_bytes and _linked_instead(facts.config, email):
        return [CheckResult("file-size", WARN, f"{figures} is over the "
                            f"{budget.max_bytes / 1e6:g} MB limit: the welcome email links to "
                            "it instead of attaching it (email.delivery), and says why",
                            str(facts.pdf))]
    if encoded > budget.max_bytes:
        return [CheckResult("file-size", FAIL, f"{figures} is over the {budget.max_bytes / 1e6:g}"
                            " MB limit: many mail servers will refuse it", str(facts.pdf))]
    if encoded > budget.warn_bytes:
        return [CheckResult("file-size", WARN, f"{figures} is over {budget.warn_bytes / 1e6:g} MB:"
                            " some inboxes will bounce or clip it", str(facts.pdf))]
    return [CheckResult("file-size", PASS, f"{figures}, within the "
                        f"{budget.warn_bytes / 1e6:g} MB email budget", str(facts.pdf))]
