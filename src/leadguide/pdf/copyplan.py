"""The plan of personal copies of one PDF: what every copy shares, read once (``plan_copies``).

It reads the base PDF (pikepdf for objects and the tag tree, PDFium for where and how the
cover's byline and footer are drawn) and the cover's boxes the build recorded in its manifest
(``layout.pagefill.labelled_boxes``): where the name goes (above the cover's footer, in the
byline's size and colour), which link annotations point at the personal targets (the CTA),
which QR figures encode them (a ``Figure`` whose alt text is ``QR code for <url>``), and, as
PDF text made once, the objects a copy rewrites: the pages' dictionaries, the cover's
resources, the label's font, and the tag tree's changes packed in one compressed object
stream. ``pdf.personal.stamp`` uses it for each copy.
"""
from __future__ import annotations

import ctypes
import math
import re
from dataclasses import dataclass, field, replace
from io import BytesIO
from pathlib import Path

import pikepdf
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from . import namefont
from .increment import Base, Packed, ref
from .namefont import SetText, font_objects, set_text

PX = 0.75  # CSS px → PDF points
DEFAULT_LABEL = "Prepared for {name}"
QR_ALT = "QR code for "
_HEX_COLOR = re.compile(r"^#([0-9a-fA-F]{6})$")


@dataclass(frozen=True)
class NameSlot:
    """Where the name line goes on the cover: page index, left edge, baseline and width
    (points, PDF space), the byline's size and colour."""

    page: int
    x: float
    baseline: float
    width: float
    size: float
    color: tuple[float, float, float]


@dataclass(frozen=True)
class QrSpot:
    page: int
    target: str
    box: tuple[float, float, float, float]  # left, bottom, right, top (points)
    dark: tuple[float, float, float]
    light: tuple[float, float, float]


@dataclass(frozen=True)
class Cover:
    """The cover's constant part of a stamp: the label's runs and font, the tag tree edits."""

    slot: NameSlot
    prefix: SetText | None
    suffix: SetText | None
    label_font: list[tuple[int, bytes]]
    structure: Packed
    mcid: int
    resources: bytes  # the cover's resources with the two fonts added


@dataclass
class Plan:
    """What every copy of one base PDF shares, read once (``plan_copies``)."""

    data: bytes
    base: Base
    fonts: tuple[Path, ...]
    pages: dict[int, tuple[int, bytes, bytes, bytes]]  # index → number, dict w/o both, contents, resources
    links: dict[int, tuple[str, bytes]]  # annotation number → target, dict without /A
    qrs: list[QrSpot]
    cover: Cover | None
    numbers: dict[str, int] = field(default_factory=dict)
    why_no_name: str = ""

    @property
    def highest(self) -> int:
        return max(self.numbers.values())


# ---- planning (once per base PDF)

def plan_copies(data: bytes, boxes: dict[str, list[float]] | None, targets: tuple[str, ...],
                label: str = DEFAULT_LABEL, fonts: tuple[Path, ...] = (),
                qr_colors: tuple[str, str] = ("#000000", "#FFFFFF"), cover_page: int = 0) -> Plan:
    """The plan for personal copies of ``data``. ``boxes``: the cover's labelled boxes (CSS px,
    from the manifest); ``targets``: the URLs a copy gets personal links for; ``label``: the
    cover line with ``{name}``; ``fonts``: the guide's own font first (the fallbacks follow)."""
    with pikepdf.open(BytesIO(data)) as document:
        base = Base.read(data, document)
        plan = Plan(data, base, tuple(fonts) + namefont.FALLBACK_FONTS, {}, {}, [], None)
        counter = iter(range(base.size, base.size + 10_000))
        for name in ("open", "name-font", "name-font0", "name-font1", "name-font2",
                     "name-font3"):
            plan.numbers[name] = next(counter)
        page_numbers = {page.obj.objgen: index for index, page in enumerate(document.pages)}
        _plan_links(plan, document, set(targets))
        pdf_doc = pdfium.PdfDocument(data)
        try:
            _plan_qrs(plan, document, pdf_doc, page_numbers, targets, qr_colors)
            cover = _cover_slot(pdf_doc, document, boxes, cover_page) if boxes else None
            if cover is None:
                plan.why_no_name = "no layout record of the cover's byline and footer"
            else:
                slot, footer_mcid = cover
                plan.cover = _plan_cover(plan, document, slot, footer_mcid, label, counter)
        finally:
            pdf_doc.close()
        stamped = {spot.page for spot in plan.qrs}
        if plan.cover:
            stamped.add(plan.cover.slot.page)
        for index in sorted(stamped):
            page = document.pages[index].obj
            plan.numbers[f"tail{index}"] = next(counter)
            plan.pages[index] = (page.objgen[0], _dict_without(page, ("/Contents", "/Resources")),
                                 _contents(page), _value(page.get("/Resources")))
        return plan


def _plan_links(plan: Plan, document: pikepdf.Pdf, targets: set[str]) -> None:
    for page in document.pages:
        for annotation in page.obj.get("/Annots", []):
            action = annotation.get("/A")
            if (annotation.get("/Subtype") == "/Link" and annotation.is_indirect
                    and isinstance(action, pikepdf.Dictionary)
                    and str(action.get("/URI", "")) in targets):
                plan.links[annotation.objgen[0]] = (str(action.URI),
                                                    _dict_without(annotation, ("/A",)))


def _plan_qrs(plan, document, pdf_doc, page_numbers, targets, colors) -> None:
    alts = {QR_ALT + target: target for target in targets}
    dark, light = (_rgb(color) for color in colors)
    for obj in document.objects:
        if not isinstance(obj, pikepdf.Dictionary) or obj.get("/S") != "/Figure":
            continue
        target = alts.get(str(obj.get("/Alt", "")))
        page = obj.get("/Pg")
        if target is None or not isinstance(page, pikepdf.Dictionary):
            continue
        index = page_numbers.get(page.objgen)
        mcids = [k for k in _as_list(obj.get("/K")) if isinstance(k, int)]
        box = _mcid_bounds(pdf_doc[index], set(mcids)) if index is not None else None
        if box:
            plan.qrs.append(QrSpot(index, target, box, dark, light))


def _cover_slot(pdf_doc, document, boxes, index) -> tuple[NameSlot, int] | None:
    """The name's line: above the footer, below whatever is above it, in the byline's look."""
    footer, byline = boxes.get("cover-footer"), boxes.get("cover-byline")
    if not footer or not byline or index >= len(document.pages):
        return None
    height = float(document.pages[index].mediabox[3])
    page = pdf_doc[index]
    text = page.get_textpage()
    try:
        size, color, _ = _text_at(text, byline, height)
        _, _, footer_mcid = _text_at(text, footer, height)
    finally:
        text.close()
        page.close()
    above = max(box[3] for label, box in boxes.items() if box[3] <= footer[1] + 0.5) \
        if any(box[3] <= footer[1] + 0.5 for box in boxes.values()) else footer[1] - 100
    room = (footer[1] - above) * PX
    if size is None or footer_mcid is None or room < size * 2.2:
        return None
    baseline = height - footer[1] * PX + size * 1.1
    return NameSlot(index, footer[0] * PX, baseline, (footer[2] - footer[0]) * PX, size,
                    color), footer_mcid


def _text_at(text, box, height) -> tuple[float | None, tuple, int | None]:
    """The font size, fill colour and MCID of the text drawn at the box's left middle."""
    y = height - (box[1] + box[3]) / 2 * PX
    for step in range(0, 40):
        index = pdfium_c.FPDFText_GetCharIndexAtPos(text.raw, box[0] * PX + 2 + step * 4, y, 4, 6)
        if index >= 0:
            break
    else:
        return None, (0, 0, 0), None
    r, g, b, a = (ctypes.c_uint() for _ in range(4))
    pdfium_c.FPDFText_GetFillColor(text.raw, index, *(ctypes.byref(v) for v in (r, g, b, a)))
    obj = pdfium_c.FPDFText_GetTextObject(text.raw, index)
    if not obj:
        return None, (0, 0, 0), None
    size, matrix = ctypes.c_float(), pdfium_c.FS_MATRIX()
    pdfium_c.FPDFTextObj_GetFontSize(obj, ctypes.byref(size))
    pdfium_c.FPDFPageObj_GetMatrix(obj, ctypes.byref(matrix))
    mcid = pdfium_c.FPDFPageObj_GetMarkedContentID(obj)
    return (size.value * math.hypot(matrix.c, matrix.d) or None, (r.value / 255, g.value / 255, b.value / 255),
            mcid if mcid >= 0 else None)


def _mcid_bounds(page, mcids: set[int]) -> tuple[float, float, float, float] | None:
    found = []
    try:
        for obj in page.get_objects(max_depth=4):
            if pdfium_c.FPDFPageObj_GetMarkedContentID(obj.raw) in mcids:
                found.append(obj.get_bounds())
    finally:
        page.close()
    if not found:
        return None
    return (min(b[0] for b in found), min(b[1] for b in found),
            max(b[2] for b in found), max(b[3] for b in found))


def _plan_cover(plan: Plan, document, slot: NameSlot, footer_mcid: int, label: str,
                counter) -> Cover | None:
    page = document.pages[slot.page].obj
    entry = _parent_tree_entry(document, page)
    if entry is None:
        plan.why_no_name = "the cover's content has no entry in the tag tree's parent tree"
        return None
    key, marks, nums = entry
    footer = marks[footer_mcid] if footer_mcid < len(marks) else None
    parent = footer.get("/P") if isinstance(footer, pikepdf.Dictionary) else None
    if not isinstance(parent, pikepdf.Dictionary) or not parent.is_indirect:
        plan.why_no_name = "the cover's footer has no parent element in the tag tree"
        return None
    prefix_text, _, suffix_text = label.partition("{name}")
    both = prefix_text + suffix_text  # one cut of one font for both runs: glyph ids agree
    prefix = set_text(prefix_text, plan.fonts, cut_to=both) if prefix_text.strip() else None
    suffix = set_text(suffix_text, plan.fonts, cut_to=both) if suffix_text.strip() else None
    if (prefix_text.strip() and prefix is None) or (suffix_text.strip() and suffix is None):
        plan.why_no_name = "no font covers the cover line's label"
        return None
    numbers = plan.numbers
    for name in ("label-font", "label-font1", "label-font2", "label-font3", "label-font4",
                 "element", "structure", "resources"):
        numbers[name] = next(counter)
    label_run = prefix or suffix
    label_font = (font_objects(_merged(prefix, suffix), tuple(
        numbers[f"label-font{n}" if n else "label-font"] for n in ("", 1, 2, 3, 4)))
        if label_run else [])
    mcid = len(marks)
    element = (b"<< /Type /StructElem /S /P /P %s /Pg %s /K %d >>"
               % (ref(parent), ref(page), mcid))
    kids = _as_list(parent.get("/K"))
    at = next((i for i, kid in enumerate(kids)
               if isinstance(kid, pikepdf.Dictionary) and kid.objgen == footer.objgen), len(kids))
    new_kids = [_value(k) for k in kids]
    new_kids.insert(at, b"%d 0 R" % numbers["element"])
    parent_body = (_dict_without(parent, ("/K",))[:-2]
                   + b" /K [" + b" ".join(new_kids) + b"] >>")
    tree = _parent_tree_with(nums, key, numbers["element"])
    structure = Packed.pack(numbers["structure"], [
        (numbers["element"], element), (parent.objgen[0], parent_body),
        (document.Root.StructTreeRoot.ParentTree.objgen[0], tree)])
    resources = page.get("/Resources")
    return Cover(slot, prefix, suffix, label_font, structure, mcid,
                 _resources_with_fonts(resources, numbers))


def _merged(prefix: SetText | None, suffix: SetText | None) -> SetText:
    """The label's font: both runs' glyphs (one cut of one font, so the ids agree)."""
    if prefix and suffix:
        if prefix.program != suffix.program:
            raise ValueError("the label's two parts must share one font")
        return replace(prefix, widths={**prefix.widths, **suffix.widths},
                       unicode={**suffix.unicode, **prefix.unicode})
    return prefix or suffix  # type: ignore[return-value]


def _parent_tree_entry(document, page):
    key = page.get("/StructParents")
    tree = document.Root.get("/StructTreeRoot", {}).get("/ParentTree")
    if key is None or not isinstance(tree, pikepdf.Dictionary) or "/Nums" not in tree \
            or not tree.is_indirect:
        return None
    nums = tree.Nums
    for position in range(0, len(nums) - 1, 2):
        if int(nums[position]) == int(key):
            marks = nums[position + 1]
            if isinstance(marks, pikepdf.Array) and not marks.is_indirect:
                return int(key), list(marks), nums
    return None


def _parent_tree_with(nums, key: int, element: int) -> bytes:
    parts = []
    for position in range(0, len(nums) - 1, 2):
        value = nums[position + 1]
        text = _value(value)
        if int(nums[position]) == key:
            text = text.rstrip()[:-1] + b" %d 0 R ]" % element
        parts.append(b"%d %s" % (int(nums[position]), text))
    return b"<< /Nums [" + b" ".join(parts) + b"] >>"


def _resources_with_fonts(resources, numbers) -> bytes:
    fonts = resources.get("/Font") if resources is not None else None
    items = [b"%s %s" % (str(k).encode(), _value(v)) for k, v in (fonts or {}).items()]
    items += [b"/LgName %d 0 R" % numbers["name-font"]]
    if "label-font" in numbers:
        items += [b"/LgLabel %d 0 R" % numbers["label-font"]]
    body = _dict_without(resources, ("/Font",)) if resources is not None else b"<< >>"
    return body[:-2] + b" /Font << " + b" ".join(items) + b" >> >>"


# ---- pikepdf objects as PDF text

def _value(obj) -> bytes:
    """An object as it is written inside another: a reference if indirect, else its text."""
    if isinstance(obj, pikepdf.Object):
        return ref(obj) if obj.is_indirect else obj.unparse()
    if isinstance(obj, bool):
        return b"true" if obj else b"false"
    return str(obj).encode()  # int or Decimal, as pikepdf hands numbers over


def _dict_without(obj, keys: tuple[str, ...]) -> bytes:
    items = [b"%s %s" % (str(k).encode(), _value(v)) for k, v in obj.items() if k not in keys]
    return b"<< " + b" ".join(items) + b" >>"


def _contents(page) -> bytes:
    contents = page.get("/Contents")
    if isinstance(contents, pikepdf.Array):
        return b" ".join(_value(c) for c in contents)
    return _value(contents) if contents is not None else b""


def _as_list(value) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, pikepdf.Array) else [value]


def _rgb(color: str) -> tuple[float, float, float]:
    found = _HEX_COLOR.match(color or "")
    if not found:
        return (0.0, 0.0, 0.0)
    value = int(found.group(1), 16)
    return ((value >> 16) / 255, ((value >> 8) & 255) / 255, (value & 255) / 255)
