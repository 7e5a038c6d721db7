"""Personal copies: a subscriber's first name on the cover and their own links, stamped into
the finished PDF without laying it out again.

``plan_copies`` reads the base PDF once (pikepdf for objects and the tag tree, PDFium for where
and how the cover's byline is drawn) and the cover's boxes the build recorded in its manifest
(``layout.pagefill.labelled_boxes``): where the name goes (above the cover's footer, in the
byline's size and colour), which link annotations point at the personal targets (the CTA), and
which QR figures encode them (a ``Figure`` whose alt text is ``QR code for <url>``).
``stamp(plan, name, links)`` then writes a copy as an incremental update of the base bytes
(``pdf.increment``): the name as a ``P`` in the tag tree (its MCID in the cover's parent tree
entry, placed before the footer in reading order, ``/ActualText`` on a right-to-left name), set in the
guide's font or a wide fallback (``pdf.namefont``), the link annotations' URIs replaced and a
new QR code drawn (an artifact: the figure's alt text still says where it leads) over the old
one. The base bytes are never changed; a name no font covers, or that mixes writing
directions, is left off.
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
import segno

from . import namefont
from .increment import Base, Packed, Update, ref
from .namefont import SetText, font_objects, set_text, stream
from .names import clean_name, direction

PX = 0.75  # CSS px → PDF points
DEFAULT_LABEL = "Prepared for {name}"
QR_ALT = "QR code for "
QR_MASK = 0
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


# ---- stamping (once per copy)

@dataclass(frozen=True)
class Stamped:
    """A personal copy's bytes, and what it carries: the name printed ("" when left off)."""

    pdf: bytes
    name: str
    links: int


def stamp(plan: Plan, name: str | None, links: dict[str, str] | None = None) -> Stamped:
    """A copy of the plan's PDF with ``name`` on the cover (cleaned; left off when no font
    covers it) and each personal target's links and QR codes pointing at ``links[target]``."""
    links = {t: u for t, u in (links or {}).items() if u}
    update = Update(plan.base)
    tails: dict[int, list[bytes]] = {}
    printed = _stamp_name(plan, clean_name(name), update, tails)
    count = 0
    for number, (target, body) in plan.links.items():
        if target in links:
            action = b"<< /S /URI /Type /Action /URI <%s> >>" % links[target].encode().hex().encode()
            update.add(number, body[:-2] + b" /A " + action + b" >>")
            count += 1
    for spot in plan.qrs:
        if spot.target in links:
            tails.setdefault(spot.page, []).append(_qr_content(spot, links[spot.target]))
    if not tails and not count:
        return Stamped(plan.data, "", 0)
    if tails:
        update.add(plan.numbers["open"], stream(b"", b"q\n"))
    for index, pieces in tails.items():
        number, body, contents, resources = plan.pages[index]
        tail = plan.numbers[f"tail{index}"]
        if printed and plan.cover and index == plan.cover.slot.page:
            resources = b"%d 0 R" % plan.numbers["resources"]
        update.add(tail, stream(b"", b"Q\n" + b"\n".join(pieces)))
        update.add(number, body[:-2] + b" /Contents [%d 0 R %s %d 0 R] /Resources %s >>"
                   % (plan.numbers["open"], contents, tail, resources))
    return Stamped(update.write(plan.data, plan.highest), printed, count)


def _stamp_name(plan: Plan, name: str, update: Update, tails: dict[int, list[bytes]]) -> str:
    cover = plan.cover
    way = direction(name) if name else None
    if cover is None or not name or way is None:
        return ""
    run = set_text(name, plan.fonts, way)
    if run is None:
        return ""
    slot = cover.slot
    parts = [r for r in (cover.prefix, run, cover.suffix) if r]
    width = sum(part.width(slot.size) for part in parts)
    size = slot.size * min(1.0, slot.width / width) if width else slot.size
    if size < slot.size * 0.5:
        return ""
    numbers = plan.numbers
    for number, body in font_objects(run, (numbers["name-font"], numbers["name-font0"],
                                           numbers["name-font1"], numbers["name-font2"],
                                           numbers["name-font3"])):
        update.add(number, body)
    for number, body in cover.label_font:
        update.add(number, body)
    update.add(numbers["resources"], cover.resources)
    update.add_packed(cover.structure)
    r, g, b = slot.color
    out = [b"/P <</MCID %d>> BDC" % cover.mcid, b"BT %.4f %.4f %.4f rg" % (r, g, b)]
    x = slot.x
    for part in parts:
        font = b"/LgName" if part is run else b"/LgLabel"
        if part is run and run.rtl:  # reading order for right-to-left text; left-to-right
            # text reads right from ToUnicode (PDFium drops astral characters, emoji, from
            # an /ActualText, so it is not used where it is not needed)
            out.append(b"/Span <</ActualText <FEFF%s>>> BDC"
                       % name.encode("utf-16-be").hex().upper().encode())
        out.append(b"%s %.3f Tf" % (font, size))
        out += _glyphs(part, x, slot.baseline, size)
        if part is run and run.rtl:
            out.append(b"EMC")
        x += part.width(size)
    out += [b"ET", b"EMC"]
    tails.setdefault(slot.page, []).append(b"\n".join(out))
    return name


def _glyphs(run: SetText, x: float, y: float, size: float) -> list[bytes]:
    """Each glyph at its place; right-to-left text written in reading order (as extraction
    and assistive technology read the stream), each glyph still drawn where it belongs."""
    scale = size / run.upem
    glyphs = reversed(run.glyphs) if run.rtl else run.glyphs
    return [b"1 0 0 1 %.3f %.3f Tm <%04X> Tj" % (x + gx * scale, y + gy * scale, gid)
            for gid, gx, gy in glyphs]


def _qr_content(spot: QrSpot, url: str) -> bytes:
    """A new QR code for ``url`` drawn over the old one, as an artifact."""
    # One fixed mask: segno scores all eight for the best one (90 % of a copy's time, 9 ms);
    # any mask makes a valid code, and the tests scan the stamped page with zxing
    matrix = segno.make(url, error="m", micro=False, mask=QR_MASK).matrix
    left, bottom, right, top = spot.box
    side = min(right - left, top - bottom)
    modules = len(matrix) + 8
    unit = side / modules
    out = [b"/Artifact BMC q %.4f %.4f %.4f rg %.3f %.3f %.3f %.3f re f" % (*spot.light, left,
                                                                            bottom, side, side),
           b"%.4f %.4f %.4f rg" % spot.dark]
    for row, cells in enumerate(matrix):
        y = top - (row + 5) * unit
        col = 0
        while col < len(cells):
            if cells[col]:
                start = col
                while col < len(cells) and cells[col]:
                    col += 1
                out.append(b"%.3f %.3f %.3f %.3f re" % (left + (start + 4) * unit, y,
                                                        (col - start) * unit, unit))
            col += 1
    out.append(b"f Q EMC")
    return b"\n".join(out)
