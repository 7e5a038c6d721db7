"""The PDF's conformance claim, judged by an independent validator (page-validation).

WeasyPrint writes ``pdfuaid:part="1"`` into the XMP of every PDF made with
``pdf_variant="pdf/ua-1"``, whatever the PDF holds. ``claim`` runs page-validation (a PDF/UA-1
and PDF/A checker, a compiled library: about 0.15 s on the default guide) on the finished
bytes and keeps the claim only when it passes; otherwise the claim is taken out of the XMP and
the failures are handed back, each with the page it was found on where one can be told.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from io import BytesIO

import page
import pikepdf

UA_1 = "ua1"
_PAGE_IN_MESSAGE = re.compile(r"\bpage (\d+)\b")
CLAIMS = ("pdfuaid:part", "pdfaid:part", "pdfaid:conformance", "pdfaid:amd")


@dataclass(frozen=True)
class Failure:
    """One rule the file breaks: its id, what the validator says, and the 1-based page."""

    rule: str
    message: str
    page: int | None = None

    def __str__(self) -> str:
        return f"{self.rule}: {self.message}"


def validate(pdf: bytes, profile: str = UA_1) -> list[Failure]:
    """Every rule of ``profile`` (page-validation's name: ``ua1``, ``2b``, ``3a`` …) the PDF
    breaks (the validator reports each rule once, at its first offence)."""
    report = page.validate_pdf_bytes(pdf, profile=profile)
    if report.is_compliant:
        return []
    with pikepdf.open(BytesIO(pdf)) as document:
        pages = _object_pages(document)
        return [Failure(found.rule_id, found.message, _page_of(found, pages))
                for found in report.failures]


def _page_of(found, pages: dict[tuple[int, int], int]) -> int | None:
    named = _PAGE_IN_MESSAGE.search(found.message)
    if named:
        return int(named.group(1))
    if found.object_id is None:
        return None
    return pages.get((found.object_id.object_number, found.object_id.generation))


def _object_pages(document: pikepdf.Pdf) -> dict[tuple[int, int], int]:
    """Object → the first page that shows it: structure elements by ``/Pg``, fonts and
    images by the page resources (forms' included) that hold them, annotations by page."""
    found: dict[tuple[int, int], int] = {}
    numbers = {page.objgen: n for n, page in enumerate(document.pages, start=1)}
    for number, pdf_page in enumerate(document.pages, start=1):
        for annotation in pdf_page.obj.get("/Annots", []):
            found.setdefault(annotation.objgen, number)
        _resources(pdf_page.obj.get("/Resources"), number, found, depth=0)
    for obj in document.objects:
        if isinstance(obj, pikepdf.Dictionary) and isinstance(obj.get("/Pg"), pikepdf.Dictionary):
            if obj.Pg.objgen in numbers:
                found.setdefault(obj.objgen, numbers[obj.Pg.objgen])
    return found


def _resources(resources, number: int, found: dict, depth: int) -> None:
    if not isinstance(resources, pikepdf.Dictionary) or depth > 4:
        return
    for kind in ("/Font", "/XObject"):
        for item in (resources.get(kind) or {}).values():
            if item.is_indirect and item.objgen not in found:
                found[item.objgen] = number
                if kind == "/XObject":
                    _resources(item.get("/Resources"), number, found, depth + 1)


def claim(pdf: bytes, profiles: tuple[str, ...] = (UA_1,)) -> tuple[bytes, list[Failure]]:
    """The PDF with its conformance claims kept if it passes every one of ``profiles``, else
    without any claim; and the failures."""
    failures = [failure for profile in profiles for failure in validate(pdf, profile)]
    return (drop_claims(pdf) if failures else pdf), failures


def drop_claims(pdf: bytes) -> bytes:
    """The PDF without ``pdfuaid``/``pdfaid`` identification in its XMP metadata."""
    with pikepdf.open(BytesIO(pdf)) as document:
        remove_claims(document)
        out = BytesIO()
        document.save(out)
        return out.getvalue()


def remove_claims(document: pikepdf.Pdf) -> None:
    """Take the ``pdfuaid``/``pdfaid`` identification out of ``document``'s XMP metadata."""
    with document.open_metadata(set_pikepdf_as_editor=False, update_docinfo=False) as meta:
        for name in CLAIMS:
            if name in meta:
                del meta[name]


def claims(pdf: bytes) -> dict[str, str]:
    """The identification the XMP metadata claims (``pdfuaid:part`` → ``1`` …)."""
    with pikepdf.open(BytesIO(pdf)) as document:
        meta = document.open_metadata()
        return {name: str(meta[name]) for name in CLAIMS if name in meta}
