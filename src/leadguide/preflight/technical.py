"""Checks on the file itself: fonts, image resolution, metadata, tags and email size."""
from __future__ import annotations

from collections import defaultdict

import pypdfium2 as pdfium
from pypdf.generic import DictionaryObject

from ..limits import encoded_size, size_budget
from .facts import Facts
from .model import FAIL, PASS, WARN, CheckResult, page, pages, plural

MIN_DPI = 150
_FONT_FILES = ("/FontFile", "/FontFile2", "/FontFile3")


def check_fonts(facts: Facts) -> list[CheckResult]:
    """Every font on every page (and inside form XObjects) carries its font program."""
    missing: dict[str, list[int]] = defaultdict(list)
    names: set[str] = set()
    for number, pdf_page in enumerate(facts.reader.pages, start=1):
        for font in _fonts(pdf_page.get("/Resources"), set()):
            name = str(font.get("/BaseFont", "(unnamed)")).lstrip("/")
            names.add(name)
            if not _embedded(font):
                missing[name].append(number)
    results = [CheckResult("fonts", FAIL, f"font {name} is not embedded: readers without it "
                           "substitute another", pages(numbers))
               for name, numbers in missing.items()]
    return results or [CheckResult("fonts", PASS, f"{plural(len(names), 'font')}, all embedded")]


def _fonts(resources: object, seen: set[int]) -> list[DictionaryObject]:
    resources = _resolved(resources)
    if id(resources) in seen:
        return []
    seen.add(id(resources))
    fonts = [font.get_object() for font in _resolved(resources.get("/Font")).values()]
    for xobject in _resolved(resources.get("/XObject")).values():
        xobject = xobject.get_object()
        if xobject.get("/Subtype") == "/Form":
            fonts += _fonts(xobject.get("/Resources"), seen)
    return fonts


def _resolved(value: object) -> DictionaryObject:
    value = value.get_object() if value is not None else None
    return value if isinstance(value, DictionaryObject) else DictionaryObject()


def _embedded(font: DictionaryObject) -> bool:
    if font.get("/Subtype") == "/Type3":  # glyphs are drawn by the PDF's own procedures
        return True
    if font.get("/Subtype") == "/Type0":
        descendants = font.get("/DescendantFonts")
        font = descendants.get_object()[0].get_object() if descendants else DictionaryObject()
    descriptor = _resolved(font.get("/FontDescriptor"))
    return any(key in descriptor for key in _FONT_FILES)


def check_image_resolution(facts: Facts) -> list[CheckResult]:
    """Every raster image's pixels per inch at the size it is placed (PDFium measures it)."""
    results, count = [], 0
    for number, pdf_page in enumerate(facts.reader.pages, start=1):
        if not _has_images(pdf_page.get("/Resources"), set()):
            continue  # asking PDFium about every object of every page is the slow part
        for image in facts.pdfium[number - 1].get_objects(filter=[pdfium.raw.FPDF_PAGEOBJ_IMAGE]):
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
    info = facts.reader.metadata or {}
    found = {"title": info.get("/Title"), "author": info.get("/Author"),
             "language": facts.reader.trailer["/Root"].get("/Lang")}
    results = [CheckResult("metadata", FAIL, f"no document {key}: set it in guide.yaml",
                           facts.source_name(None))
               for key, value in found.items() if not str(value or "").strip()]
    return results or [CheckResult("metadata", PASS, f"title '{found['title']}', author "
                                   f"'{found['author']}', language {found['language']}")]


def check_tagged(facts: Facts) -> list[CheckResult]:
    root = facts.reader.trailer["/Root"]
    mark_info = root.get("/MarkInfo")
    marked = bool(mark_info.get_object().get("/Marked")) if mark_info is not None else False
    if "/StructTreeRoot" in root and marked:
        return [CheckResult("tagged", PASS, "tagged PDF (StructTreeRoot, MarkInfo /Marked)")]
    missing = [name for name, ok in (("StructTreeRoot", "/StructTreeRoot" in root),
                                     ("MarkInfo /Marked true", marked)) if not ok]
    return [CheckResult("tagged", FAIL, f"not a tagged PDF: no {' and no '.join(missing)}; "
                        "screen readers cannot follow it")]


def check_file_size(facts: Facts) -> list[CheckResult]:
    raw = len(facts.data)
    encoded = encoded_size(raw)
    budget = size_budget(facts.config.email, facts.config.config_path)
    figures = f"{raw / 1e6:.2f} MB ({encoded / 1e6:.2f} MB as an email attachment)"
    if encoded > budget.max_bytes:
        return [CheckResult("file-size", FAIL, f"{figures} is over the {budget.max_bytes / 1e6:g}"
                            " MB limit: many mail servers will refuse it", str(facts.pdf))]
    if encoded > budget.warn_bytes:
        return [CheckResult("file-size", WARN, f"{figures} is over {budget.warn_bytes / 1e6:g} MB:"
                            " some inboxes will bounce or clip it", str(facts.pdf))]
    return [CheckResult("file-size", PASS, f"{figures}, within the "
                        f"{budget.warn_bytes / 1e6:g} MB email budget", str(facts.pdf))]
