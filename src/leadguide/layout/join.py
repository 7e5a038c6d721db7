"""Part PDFs joined into the guide's PDF, as a whole-document WeasyPrint build writes it.

pikepdf (qpdf) copies the parts' own pages, then the document-wide structures are rebuilt the
way WeasyPrint builds them for one document: the tag tree (one Document element, the parent
tree renumbered page by page then annotation by annotation), named destinations (sorted),
bookmarks (WeasyPrint's own tree-making over the parts' bookmarks), form fields, and each font
embedded once, cut to the glyphs every part uses (fontsubset.py).
"""
from __future__ import annotations

import io
import re
import zlib
from dataclasses import dataclass
from typing import Callable

import pikepdf
from pikepdf import Array, Dictionary, Name

from .fontsubset import subset_font

PDF_SCALE = 0.75  # PDF points per CSS pixel, as WeasyPrint draws


@dataclass(frozen=True)
class JoinPart:
    pdf: bytes
    primers: int
    pages: int
    bookmarks: list[tuple[float, list]]
    # PDF font name -> (font file sha256, used in forms, left uncut for the join to cut)
    fonts: dict[str, tuple[str, bool, bool]]
    foreign_names: frozenset[str]  # names this part's PDF holds for anchors of other parts


class _Joiner:
    def __init__(self, font_file: Callable[[str], bytes]):
        self.out = pikepdf.new()
        self.font_file = font_file
        self.document = self.out.make_indirect(Dictionary(Type=Name.StructElem, S=Name.Document,
                                                          K=Array()))
        self.parent_nums: list = []
        self.annotations: list = []  # (annotation, its struct element), in the guide's order
        self.dests: list[tuple[str, Array]] = []
        self.bookmark_pages: list[tuple[float, list]] = []
        self.fields = Array()
        self.form: Dictionary | None = None
        self.fonts: dict[str, list[tuple[int, pikepdf.Object]]] = {}
        self.resources: list[pikepdf.Object] = []

    def add(self, index: int, part: JoinPart, source: pikepdf.Pdf) -> None:
        own = list(source.pages)[part.primers: part.primers + part.pages]
        page_for: dict[tuple[int, int], pikepdf.Page] = {}
        for page in own:
            self.out.pages.append(page)
            copied = self.out.pages[-1]
            page_for[page.obj.objgen] = copied
            copied.obj.StructParents = len(self.out.pages) - 1
        self.bookmark_pages += part.bookmarks
        self._add_tags(source, own, page_for)
        self._add_dests(source, part, page_for)
        self._add_form(source, page_for)
        self._collect_fonts(index, page_for.values())

    def _add_tags(self, source, own, page_for) -> None:
        tree = source.Root.get("/StructTreeRoot")
        if tree is None:
            return
        kept = {page.obj.objgen for page in own}
        nums = list(tree.ParentTree.Nums)
        by_key = {int(nums[i]): nums[i + 1] for i in range(0, len(nums), 2)}
        for element in tree.K[0].K:
            page = element.get("/Pg")
            if page is not None and page.objgen in kept:
                del element["/P"]  # copy downwards only, then hang it on the guide's Document
                copied = self.out.copy_foreign(element)
                copied.P = self.document
                self.document.K.append(copied)
        for number, page in enumerate(list(source.pages)):
            if page.obj.objgen in kept:
                copied_page = page_for[page.obj.objgen]
                self.parent_nums.append((int(copied_page.obj.StructParents),
                                         self._copy(by_key[number])))
                tagged = [a for a in copied_page.obj.get("/Annots", []) if "/StructParent" in a]
                # In the part's key order (the document's, as a whole build numbers them), not
                # /Annots' order, which lists a page's links before its fields.
                for annotation in sorted(tagged, key=lambda a: int(a.StructParent)):
                    key = int(annotation.StructParent)
                    self.annotations.append((annotation, self._copy(by_key[key])))

    def _copy(self, value):
        """A foreign object into the guide; direct arrays and dictionaries item by item."""
        if not isinstance(value, pikepdf.Object):
            return value
        if value.is_indirect:
            return self.out.copy_foreign(value)
        if isinstance(value, Array):
            return Array([self._copy(item) for item in value])
        if isinstance(value, Dictionary):
            return Dictionary({key: self._copy(item) for key, item in value.items()})
        return value

    def _add_dests(self, source, part: JoinPart, page_for) -> None:
        names = source.Root.get("/Names")
        if names is None or "/Dests" not in names:
            return
        flat = list(names.Dests.Names)
        for name, dest in zip(flat[0::2], flat[1::2]):
            page = page_for.get(dest[0].objgen)
            if page is not None and str(name) not in part.foreign_names:
                self.dests.append((str(name), Array([page.obj, *list(dest)[1:]])))

    def _add_form(self, source, page_for) -> None:
        form = source.Root.get("/AcroForm")
        if form is None:
            return
        widgets = {a.objgen for page in page_for.values() for a in page.obj.get("/Annots", [])}
        for field in form.Fields:
            copied = self.out.copy_foreign(field)
            if copied.objgen in widgets:
                self.fields.append(copied)
        if self.form is None:
            self.form = self._copy(form)
        elif "/DR" in form and "/Font" in form.DR:
            fonts = self.form.DR.Font
            for key, font in form.DR.Font.items():
                if key not in fonts:
                    fonts[key] = self._copy(font)

    def _collect_fonts(self, index: int, pages) -> None:
        for page in pages:
            resources = page.obj.Resources
            if any(resources.objgen == r.objgen for r in self.resources):
                continue
            self.resources.append(resources)
            for font in resources.get("/Font", Dictionary()).values():
                self.fonts.setdefault(str(font.BaseFont)[1:], []).append((index, font))

    def finish(self, first: pikepdf.Pdf, parts: list[JoinPart]) -> bytes:
        out = self.out
        out.trailer.Info = self._copy(first.trailer.Info)
        for key in ("/Lang", "/MarkInfo", "/ViewerPreferences", "/Metadata"):
            if key in first.Root:
                out.Root[key] = self._copy(first.Root[key])
        self._finish_tags()
        if self.dests:
            out.Root.Names = Dictionary(Dests=Dictionary(Names=Array(
                [item for name, dest in sorted(self.dests, key=lambda d: d[0])
                 for item in (pikepdf.String(name), dest)])))
        self._finish_outline()
        if self.form is not None:
            self.form.Fields = self.fields
            out.Root.AcroForm = self.form
        self._merge_fonts(parts)
        buffer = io.BytesIO()
        out.save(buffer, min_version=first.pdf_version,
                 object_stream_mode=pikepdf.ObjectStreamMode.generate,
                 stream_decode_level=pikepdf.StreamDecodeLevel.none)
        return buffer.getvalue()

    def _finish_tags(self) -> None:
        if not self.document.K:
            return
        # Gathered in a Python list: extending a pikepdf Array item by item is quadratic.
        nums: list = []
        for key, value in self.parent_nums:
            nums += [key, value]
        for key, (annotation, element) in enumerate(self.annotations, start=len(self.out.pages)):
            annotation.StructParent = key
            nums += [key, element]
        parent_tree = self.out.make_indirect(Dictionary(Nums=Array(nums)))
        root = self.out.make_indirect(Dictionary(Type=Name.StructTreeRoot, ParentTree=parent_tree,
                                                 K=Array([self.document])))
        self.document.P = root
        self.out.Root.StructTreeRoot = root

    def _finish_outline(self) -> None:
        from weasyprint.anchors import make_page_bookmark_tree
        from weasyprint.matrix import Matrix

        tree: list = []
        skipped: list = []
        last_by_depth = [tree]
        previous = 0
        for number, (height, bookmarks) in enumerate(self.bookmark_pages):
            page = _BookmarkPage(bookmarks)
            matrix = Matrix(a=PDF_SCALE, d=-PDF_SCALE, f=height * PDF_SCALE)
            previous = make_page_bookmark_tree(page, skipped, last_by_depth, previous, number,
                                               matrix)
        if tree:
            top = self.out.make_indirect(Dictionary(Type=Name.Outlines))
            first, last, count = self._outline_items(tree, top)
            top.First, top.Last, top.Count = first, last, count
            self.out.Root.Outlines = top

    def _outline_items(self, bookmarks: list, parent) -> tuple:
        """As weasyprint.pdf.anchors.add_outlines writes them."""
        items, count = [], len(bookmarks)
        for title, (page, x, y), children, state in bookmarks:
            item = self.out.make_indirect(Dictionary(
                Title=pikepdf.String(title), Parent=parent,
                Dest=Array([self.out.pages[page].obj, Name.XYZ, x, y, 0])))
            child_count = 0
            if children:
                item.First, item.Last, child_count = self._outline_items(children, item)
            item.Count = -child_count if state == "closed" else child_count
            if state != "closed":
                count += child_count
            if items:
                item.Prev, items[-1].Next = items[-1], item
            items.append(item)
        return items[0], items[-1], count

    def _merge_fonts(self, parts: list[JoinPart]) -> None:
        """Each font once, holding the glyphs of every part, for every reference to it."""
        replaced: dict[tuple[int, int], pikepdf.Object] = {}
        for name, members in self.fonts.items():
            replaced.update(_merged_fonts(name, members, parts, self.font_file))
        for resources in self._all_resources():
            fonts = resources.get("/Font")
            for key, font in list(fonts.items()) if fonts is not None else []:
                if font.objgen in replaced:
                    fonts[key] = replaced[font.objgen]

    def _all_resources(self):
        yield from self.resources
        if self.form is not None and "/DR" in self.form:
            yield self.form.DR
        for page in self.out.pages:
            for annotation in page.obj.get("/Annots", []):
                for appearance in annotation.get("/AP", Dictionary()).values():
                    streams = appearance.values() if isinstance(appearance, Dictionary) else [appearance]
                    for stream in streams:
                        if isinstance(stream, pikepdf.Stream) and "/Resources" in stream:
                            yield stream.Resources


class _BookmarkPage:
    def __init__(self, bookmarks: list):
        self.bookmarks = bookmarks


def _merged_fonts(name: str, members, parts: list[JoinPart],
                  font_file: Callable[[str], bytes]) -> dict[tuple[int, int], pikepdf.Object]:
    """The font dictionaries of ``name`` to replace (by object id), with what replaces them:
    one per font file, as a whole build writes it.

    Like WeasyPrint for one document: a font in form fields embedded whole for all its uses,
    else the glyphs of all parts in one cut (parts leave such fonts uncut, part.py), each
    glyph's width as first met. A font WeasyPrint changed beyond cutting stays as it is."""
    by_file: dict[str, list[tuple[pikepdf.Object, bool, bool]]] = {}
    for index, font in members:
        use = parts[index].fonts.get(name)
        if use is not None:
            sha, in_forms, to_join = use
            by_file.setdefault(sha, []).append((font, in_forms, to_join))
    replaced: dict[tuple[int, int], pikepdf.Object] = {}
    for sha, uses in by_file.items():
        whole = [font for font, in_forms, _ in uses if in_forms]
        to_cut = [font for font, in_forms, to_join in uses if to_join and not in_forms]
        if whole:  # embedded whole with every glyph's width (form fields): any copy will do
            merged, others = whole[0], [font for font, in_forms, to_join in uses
                                        if in_forms or to_join]
        elif to_cut:
            merged, others = _cut_font(to_cut, font_file(sha)), to_cut
        else:
            continue
        replaced.update((font.objgen, merged) for font in others if font.is_indirect)
    return replaced


def _cut_font(fonts: list[pikepdf.Object], data: bytes) -> pikepdf.Object:
    """The first of ``fonts`` holding the font file ``data`` cut to the glyphs of all."""
    widths: dict[int, object] = {}
    text: dict[int, str] = {}
    for font in fonts:
        for glyph, width in _widths(font.DescendantFonts[0].W).items():
            widths.setdefault(glyph, width)
        for glyph, unicode in _to_unicode(font.ToUnicode).items():
            text.setdefault(glyph, unicode)
    cut = subset_font(data, set(text) | set(widths))
    merged = fonts[0]
    descendant = merged.DescendantFonts[0]
    descriptor = descendant.FontDescriptor
    stream = descriptor["/FontFile3" if "/FontFile3" in descriptor else "/FontFile2"]
    stream.write(zlib.compress(cut), filter=Name.FlateDecode)
    if "/Length1" in stream:
        stream.Length1 = len(cut)
    descendant.W = _width_array(widths)
    box = list(descriptor.FontBBox)
    box[2] = max((float(w) for w in widths.values()), default=0)
    descriptor.FontBBox = Array(box)
    merged.ToUnicode.write(_to_unicode_stream(text), filter=Name.FlateDecode)
    return merged


def _widths(array) -> dict[int, object]:
    items, widths, index = array.as_list(), {}, 0
    while index < len(items):
        start, values = int(items[index]), items[index + 1]
        if isinstance(values, Array):
            widths.update({start + i: value for i, value in enumerate(values.as_list())})
            index += 2
        else:  # c_first c_last w
            for glyph in range(start, int(values) + 1):
                widths[glyph] = items[index + 2]
            index += 3
    return widths


def _width_array(widths: dict[int, object]) -> Array:
    """As WeasyPrint writes /W: runs of consecutive glyphs (built as Python lists: growing a
    pikepdf Array item by item is slow)."""
    runs: list[tuple[int, list]] = []
    for glyph in sorted(widths):
        if not runs or glyph - 1 not in widths:
            runs.append((glyph, []))
        runs[-1][1].append(widths[glyph])
    return Array([item for glyph, run in runs for item in (glyph, Array(run))])


_BFCHAR = re.compile(rb"<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]*)>")


def _to_unicode(stream) -> dict[int, str]:
    data = stream.read_bytes()
    return {int(glyph, 16): bytes.fromhex(text.decode()).decode("utf-16-be", "replace")
            for glyph, text in _BFCHAR.findall(data)}


def _to_unicode_stream(text: dict[int, str]) -> bytes:
    """The ToUnicode CMap as WeasyPrint writes it."""
    lines = [b"/CIDInit /ProcSet findresource begin", b"12 dict begin", b"begincmap",
             b"/CIDSystemInfo", b"<< /Registry (Adobe)", b"/Ordering (UCS)", b"/Supplement 0",
             b">> def", b"/CMapName /Adobe-Identity-UCS def", b"/CMapType 2 def",
             b"1 begincodespacerange", b"<0000> <ffff>", b"endcodespacerange"]
    items = list(text.items())
    for start in range(0, len(items), 100):
        batch = items[start: start + 100]
        lines.append(f"{len(batch)} beginbfchar".encode())
        lines += [f"<{glyph:04x}> <{value.encode('utf-16-be').hex()}>".encode()
                  for glyph, value in batch]
        lines.append(b"endbfchar")
    lines += [b"endcmap", b"CMapName currentdict /CMap defineresource pop", b"end", b"end"]
    return zlib.compress(b"\n".join(lines))


def join_parts(parts: list[JoinPart], font_file: Callable[[str], bytes]) -> bytes:
    """The guide's PDF from its parts' PDFs, in order. ``font_file`` gives a font by sha256."""
    joiner = _Joiner(font_file)
    sources = [pikepdf.open(io.BytesIO(part.pdf)) for part in parts]
    try:
        for index, (part, source) in enumerate(zip(parts, sources)):
            joiner.add(index, part, source)
        return joiner.finish(sources[0], parts)
    finally:
        for source in sources:
            source.close()
