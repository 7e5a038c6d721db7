"""What the checks read, each once and only when asked: the finished PDF and its HTML."""
from __future__ import annotations

import io
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING
from xml.etree.ElementTree import Element

import pypdfium2 as pdfium
import tinyhtml5  # the HTML parser WeasyPrint itself uses, so we read the tree it laid out

from ..errors import GuideError
from ..guide.chapters import Chapter, load_chapters
from ..guide.config import GuideConfig, load_config
from ..guide.data import load_data
from ..html.assemble import assemble
from ..layout.spans import PART_ANCHORS
from . import structure
from .structure import Drawn, Font, Link, Rect

if TYPE_CHECKING:
    from pypdf import PdfReader

HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
_TYPOGRAPHY = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"', "–": "--",
                             "—": "---", "…": "...", "\u00a0": " "})


class PreflightError(GuideError):
    """The PDF to check is missing or cannot be read."""


@dataclass(frozen=True)
class Node:
    """One HTML element in document order, with its ancestors and chapter."""

    element: Element
    parents: tuple[Element, ...]
    chapter: Chapter | None
    anchor: str | None  # its id, or the id of the nearest ancestor it is the first heading in

    @property
    def tag(self) -> str:
        return str(self.element.tag)

    @property
    def classes(self) -> set[str]:
        return set((self.element.get("class") or "").split())

    def get(self, attribute: str) -> str | None:
        return self.element.get(attribute)

    @property
    def text(self) -> str:
        return " ".join("".join(self.element.itertext()).split())

    def inside(self, css_class: str) -> bool:
        return any(css_class in (p.get("class") or "").split() for p in self.parents)


def squash(text: str) -> str:
    """Text for comparing HTML with PDF text: no spaces or line-end hyphens, any case."""
    return "".join(c for c in text.casefold() if not c.isspace() and c not in "-\u00ad‐")


class Facts:
    """The guide and its finished PDF, read lazily: a cheap check never lays out HTML."""

    def __init__(self, guide_dir: Path | str, pdf: Path | str):
        self.pdf = Path(pdf)
        found = self.pdf.is_file()
        self.data = self.pdf.read_bytes() if found else b""
        self._pages: dict[int, pdfium.PdfPage] = {}
        self._textpages: dict[int, pdfium.PdfTextPage] = {}
        self._drawn: dict[int, list[Drawn]] = {}
        try:
            self.config: GuideConfig = load_config(guide_dir)
            if not found:
                raise PreflightError("no PDF to check: build it first", self.pdf)
        except BaseException:
            self.close()
            raise

    # ---- the guide
    @cached_property
    def chapters(self) -> list[Chapter]:
        return load_chapters(self.config)

    @cached_property
    def config_text(self) -> str:
        return self.config.config_path.read_text(encoding="utf-8")

    # ---- the PDF as PDFium reads it, on this thread (PDFium is not thread-safe): opened,
    # and every page parsed, by the first check that asks (page-size asks in every run)
    @cached_property
    def pdfium(self) -> pdfium.PdfDocument:
        try:
            document = pdfium.PdfDocument(self.data)
        except pdfium.PdfiumError as exc:
            raise PreflightError(f"cannot read the PDF: {exc}", self.pdf) from None
        for index in range(len(document)):
            try:
                self._pages[index + 1] = document[index]
            except pdfium.PdfiumError:  # page() meets it again, for the check that asks
                break
        return document

    def page(self, number: int) -> pdfium.PdfPage:
        """PDFium's page ``number`` (1-based), loaded once."""
        document = self.pdfium  # the loader is done with the pages
        if number not in self._pages:
            self._pages[number] = document[number - 1]
        return self._pages[number]

    @property
    def numbers(self) -> range:
        """Every page number, 1-based."""
        return range(1, self.page_count + 1)

    @cached_property
    def page_count(self) -> int:
        return len(self.pdfium)

    @cached_property
    def destinations(self) -> dict[str, int | None]:
        """Every named destination (an HTML id) → its 1-based page (None if it has none)."""
        return structure.named_destinations(self.pdfium)

    @cached_property
    def anchor_pages(self) -> dict[str, int]:
        """The named destinations that land on a page."""
        return {name: number for name, number in self.destinations.items() if number}

    @cached_property
    def starts(self) -> list[tuple[int, str]]:
        """(first page, anchor) of the cover, contents, chapters and back page, in page order."""
        anchors = list(PART_ANCHORS) + [chapter.anchor for chapter in self.chapters]
        return sorted((self.anchor_pages[a], a) for a in anchors if a in self.anchor_pages)

    def part_at(self, number: int) -> str | None:
        """The anchor of the part (cover, contents, a chapter, back) that page ``number`` is in."""
        found = None
        for first, anchor in self.starts:
            if first <= number:
                found = anchor
        return found

    @cached_property
    def links(self) -> list[Link]:
        return [link for number in self.numbers for link in self._page_links(number)]

    def _page_links(self, number: int) -> list[Link]:
        return [structure.read_link(self.pdfium, annotation, number)
                or self._pypdf_link(number, index)
                for index, annotation in structure.link_annotations(self.page(number))]

    @cached_property
    def fonts(self) -> dict[int, set[Font]]:
        """Page number → the fonts its text is set in."""
        return {number: structure.drawn_fonts(self.drawn(number)) for number in self.numbers}

    def drawn(self, number: int) -> list[Drawn]:
        """Page ``number``'s text and image objects (forms' too), walked once."""
        if number not in self._drawn:
            self._drawn[number] = structure.drawn_objects(self.page(number))
        return self._drawn[number]

    @cached_property
    def metadata(self) -> dict[str, str]:
        """The title and author (the Info dictionary) and the language (the catalog's /Lang)."""
        return {"title": self.pdfium.get_metadata_value("Title"),
                "author": self.pdfium.get_metadata_value("Author"),
                "language": structure.language(self.pdfium)}

    @cached_property
    def marked(self) -> bool:
        """The catalog's MarkInfo says /Marked true."""
        return structure.marked(self.pdfium)

    @cached_property
    def structured(self) -> bool:
        """The PDF has a structure tree. PDFium reads it only when the PDF is marked; for an
        unmarked one (already a failure) pypdf looks for the catalog's StructTreeRoot."""
        if not self.marked:
            return "/StructTreeRoot" in self.reader.trailer["/Root"]
        return any(structure.structured(self.page(number)) for number in self.numbers)

    def textpage(self, number: int) -> pdfium.PdfTextPage:
        """PDFium's text layer of page ``number`` (1-based), loaded once."""
        if number not in self._textpages:
            self._textpages[number] = self.page(number).get_textpage()
        return self._textpages[number]

    def text(self, number: int) -> str:
        return self.textpage(number).get_text_range()

    def text_in(self, number: int, rect: Rect) -> str:
        left, bottom, right, top = rect
        return self.textpage(number).get_text_bounded(left, bottom, right, top)

    def close(self) -> None:
        if "pdfium" in self.__dict__:  # opened
            self.pdfium.close()

    # ---- the PDF as pypdf reads it: the outline, form fields and resources (full checks only;
    # its first look at the catalog parses WeasyPrint's whole object stream)
    @cached_property
    def reader(self) -> PdfReader:
        from pypdf import PdfReader
        try:
            reader = PdfReader(io.BytesIO(self.data))
            len(reader.pages)
        except Exception as exc:  # pypdf raises many kinds for a damaged file
            raise PreflightError(f"cannot read the PDF: {exc}", self.pdf) from None
        return reader

    @cached_property
    def page_numbers(self) -> dict[int, int]:
        """Page object number → 1-based page number."""
        return {page.indirect_reference.idnum: number
                for number, page in enumerate(self.reader.pages, start=1)
                if page.indirect_reference is not None}

    def page_of(self, reference: object) -> int | None:
        idnum = getattr(reference, "idnum", None)
        return self.page_numbers.get(idnum) if idnum is not None else None

    def _pypdf_link(self, number: int, index: int) -> Link:
        """A link that runs an action other than URI: PDFium follows it but cannot tell its kind
        or, for a GoTo, the name of its destination (WeasyPrint writes no such link)."""
        from pypdf.generic import ArrayObject
        annotation = self.reader.pages[number - 1]["/Annots"].get_object()[index].get_object()
        x1, y1, x2, y2 = (float(v) for v in annotation.get("/Rect", [0, 0, 0, 0]))
        rect = (min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2))
        action = annotation["/A"].get_object()
        if action.get("/S") != "/GoTo":
            return Link(number, rect, action=str(action.get("/S")))
        dest = action.get("/D")
        dest = dest.get_object() if dest is not None else None
        if isinstance(dest, ArrayObject):
            return Link(number, rect, target=self.page_of(dest[0]) if dest else None)
        name = str(dest).lstrip("/") if dest is not None else None
        return Link(number, rect, dest=name, target=self.destinations.get(name or ""))

    # ---- the HTML it came from
    @cached_property
    def html(self) -> list[Node]:
        """Every element of the re-assembled guide, in document order."""
        guide = assemble(self.config, self.chapters, load_data(self.config))
        root = tinyhtml5.parse(guide.html, namespace_html_elements=False)
        return _nodes(root, {chapter.anchor: chapter for chapter in self.chapters})

    def elements(self, *tags: str) -> list[Node]:
        return [node for node in self.html if node.tag in tags]

    def locate(self, chapter: Chapter | None, *needles: str) -> str:
        """``path:line`` of the first needle found in the chapter's source (or guide.yaml)."""
        text, first_line = (chapter.body, chapter.body_line) if chapter else (self.config_text, 1)
        for needle in needles:
            for variant in dict.fromkeys((needle, needle.translate(_TYPOGRAPHY))):
                index = text.find(variant) if variant else -1
                if index >= 0:
                    line = first_line + text.count("\n", 0, index)
                    return f"{self.source_name(chapter)}:{line}"
        return self.source_name(chapter)

    def source_name(self, chapter: Chapter | None) -> str:
        if chapter:
            return str(chapter.path)
        try:
            return str(self.config.config_path.relative_to(Path.cwd()))
        except ValueError:
            return str(self.config.config_path)


def _nodes(root: Element, chapters: dict[str, Chapter]) -> list[Node]:
    nodes: list[Node] = []
    has_heading: set[int] = set()  # elements (by id()) that already contain a heading

    def visit(element: Element, parents: tuple[Element, ...], chapter: Chapter | None) -> None:
        if not isinstance(element.tag, str):  # a comment
            return
        chapter = chapters.get(element.get("id", ""), chapter)
        anchor = element.get("id")
        if element.tag in HEADINGS:
            anchor = anchor or _first_heading_anchor(parents, has_heading)
            has_heading.update(id(parent) for parent in parents)
        nodes.append(Node(element, parents, chapter, anchor))
        for child in element:
            visit(child, parents + (element,), chapter)

    visit(root, (), None)
    return nodes


def _first_heading_anchor(parents: tuple[Element, ...], has_heading: set[int]) -> str | None:
    """The id of the nearest ancestor with one, if this is the first heading inside it."""
    for parent in reversed(parents):
        if parent.get("id"):
            return None if id(parent) in has_heading else parent.get("id")
    return None

