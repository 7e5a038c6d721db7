"""Personal copies: a subscriber's first name on the cover and their own links, stamped into
the finished PDF without laying it out again.

``plan_copies`` (``pdf.copyplan``) reads the base PDF once; ``stamp(plan, name, links)`` then
writes each copy as an incremental update of the base bytes (``pdf.increment``): the name as
a ``P`` in the tag tree (its MCID in the cover's parent tree entry, placed before the footer
in reading order, ``/ActualText`` on a right-to-left name), set in the guide's font or a
wide fallback (``pdf.namefont``), the link annotations' URIs replaced and a new QR code drawn
(an artifact: the figure's alt text still says where it leads) over the old one. The base
bytes are never changed; a name no font covers, or that mixes writing directions, is left
off.
"""
from __future__ import annotations

from dataclasses import dataclass

import segno

from .copyplan import DEFAULT_LABEL, Plan, QrSpot, plan_copies
from .increment import Update
from .namefont import SetText, font_objects, set_text, stream
from .names import clean_name, direction

__all__ = ["DEFAULT_LABEL", "Plan", "Stamped", "plan_copies", "stamp"]
QR_MASK = 0  # one fixed mask (see _qr_content)


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
