"""How full each laid-out page is, what ends it, and its widows, orphans, headings left at the
foot and one-word last lines: read from WeasyPrint's page boxes, the layout the PDF is drawn
from. (Its tag tree cannot tell these: a paragraph split over two pages becomes two /P
elements there.)"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Iterator

FORCED_BREAKS = {"page", "left", "right", "recto", "verso"}

# What ends a page
PART_END = "chapter end"        # the next page starts a chapter (or the cover, contents, back)
FORCED = "forced break"        # a page break the styles ask for
CONTINUES = "continues"        # running text flows on: the page is as full as it gets
MOVED_ON = "moved on"          # the next block did not fit in what was left and moved on
LAST = "last page"


HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}


@dataclass(frozen=True)
class PageFill:
    """``fill`` is the share of the page's content area, top to bottom, that holds something
    visible; ``moved`` names the block that moved on to the next page, when one did.
    ``orphan``/``widow``: the first words of a paragraph's single line left at the foot of
    this page, or carried alone to its top; ``heading_at_foot``: a heading that ends the page
    while its text is on the next; ``one_word_lines``: paragraphs that end here on a line of
    one word."""

    page: int
    fill: float
    ends: str
    moved: str = ""
    orphan: str = ""
    widow: str = ""
    heading_at_foot: str = ""
    one_word_lines: tuple[str, ...] = ()
    # the cover's parts as (class, x0, y0, x1, y1) border boxes in CSS px, for the cover check
    boxes: tuple[tuple[str, float, float, float, float], ...] = ()


def page_fills(pages: list, part_starts: set[int]) -> list[PageFill]:
    """Fill and ending of each page of a rendered WeasyPrint document (``document.pages``).

    ``part_starts`` holds the numbers of the pages that begin a chapter or other part.
    """
    fills: list[PageFill] = []
    previous_elements: set[int] = set()
    boxes_per_page = [list(_content_boxes(page._page_box)) for page in pages]
    lines_per_page = [_lines_by_element(boxes) for boxes in boxes_per_page]
    for index, boxes in enumerate(boxes_per_page):
        number = index + 1
        fill = _fill(pages[index]._page_box, boxes)
        quality = {**_quality(lines_per_page, index, number + 1 in part_starts),
                   "boxes": labelled_boxes(boxes)}
        if number == len(pages):
            fills.append(PageFill(number, fill, LAST, **quality))
        elif number + 1 in part_starts:
            fills.append(PageFill(number, fill, PART_END, **quality))
        else:
            seen = previous_elements | {id(b.element) for b in boxes if b.element is not None}
            ends, moved = _ending(boxes, boxes_per_page[index + 1], seen)
            if ends == FORCED:  # the author's own break: a heading before it stays
                quality["heading_at_foot"] = ""
            fills.append(PageFill(number, fill, ends, moved, **quality))
        previous_elements = {id(b.element) for b in boxes if b.element is not None}
    return fills


@dataclass
class _Lines:
    """The lines one element has on one page."""

    tag: str
    texts: list[str]


def _lines_by_element(boxes: list[Any]) -> dict[int, _Lines]:
    """Each element's own lines on the page, keyed by the element, in document order."""
    from weasyprint.formatting_structure.boxes import LineBox, TextBox

    found: dict[int, _Lines] = {}
    for box in boxes:
        if box.element is None or not isinstance(box.element.tag, str):
            continue
        for child in getattr(box, "children", ()):
            if isinstance(child, LineBox):
                text = " ".join("".join(b.text for b in _descendants(child)
                                        if isinstance(b, TextBox)).split())
                if text:
                    found.setdefault(id(box.element), _Lines(box.element.tag, [])).texts.append(text)
    return found


def _quality(lines_per_page: list[dict[int, _Lines]], index: int,
             chapter_ends: bool) -> dict[str, Any]:
    here = lines_per_page[index]
    before = lines_per_page[index - 1] if index > 0 else {}
    after = lines_per_page[index + 1] if index + 1 < len(lines_per_page) else {}
    paragraphs = {key: lines for key, lines in here.items() if lines.tag not in HEADINGS}
    orphan = next((lines.texts[0] for key, lines in paragraphs.items()
                   if key in after and len(lines.texts) == 1), "")
    widow = next((lines.texts[0] for key, lines in paragraphs.items()
                  if key in before and len(lines.texts) == 1 and key not in after), "")
    runts = tuple(lines.texts[-1] for key, lines in paragraphs.items()
                  if lines.tag == "p" and key not in after and _one_word(lines.texts[-1])
                  and len(lines.texts) + len(before.get(key, _Lines("", [])).texts) >= 2)
    last = list(here.items())[-1] if here else None
    heading = (last[1].texts[-1] if last and last[1].tag in HEADINGS and after and
               not chapter_ends and last[0] not in after else "")
    return {"orphan": orphan, "widow": widow, "heading_at_foot": heading,
            "one_word_lines": runts}


LABELLED = ("cover-top", "cover-eyebrow", "cover-title", "cover-subtitle", "cover-byline",
            "cover-art", "cover-footer")


def labelled_boxes(boxes: list[Any]) -> tuple[tuple[str, float, float, float, float], ...]:
    """The border box of each element of a LABELLED class on the page (its boxes joined)."""
    found: dict[str, list[float]] = {}
    for box in boxes:
        element = box.element
        if element is None or box.element_tag != element.tag:
            continue
        label = next((c for c in (element.get("class") or "").split() if c in LABELLED), None)
        if label is None or not hasattr(box, "border_box_x"):
            continue
        x0, y0 = box.border_box_x(), box.border_box_y()
        x1, y1 = x0 + box.border_width(), y0 + box.border_height()
        seen = found.setdefault(label, [x0, y0, x1, y1])
        found[label] = [min(seen[0], x0), min(seen[1], y0), max(seen[2], x1), max(seen[3], y1)]
    return tuple((label, *(round(v, 2) for v in box)) for label, box in found.items())


def _one_word(text: str) -> bool:
    return sum(1 for word in text.split() if any(c.isalnum() for c in word)) == 1


def _content_boxes(page_box: Any) -> Iterator[Any]:
    """Every box of the page's flow, in document order, leaving out the margin boxes."""
    from weasyprint.formatting_structure.boxes import MarginBox

    for child in page_box.children:
        if not isinstance(child, MarginBox):
            yield from _descendants(child)


def _descendants(box: Any) -> Iterator[Any]:
    yield box
    for child in getattr(box, "children", ()):
        yield from _descendants(child)


def _fill(page_box: Any, boxes: Iterable[Any]) -> float:
    top, height = page_box.content_box_y(), page_box.height
    bottom = max((_border_bottom(b) for b in boxes if _visible(b)), default=top)
    return round(min(max((bottom - top) / height, 0.0), 1.0), 3) if height else 0.0


def _border_bottom(box: Any) -> float:
    return box.position_y + box.margin_height() - box.margin_bottom


def _visible(box: Any) -> bool:
    """Lines, images and boxes that draw a background or a rule (not empty fixed heights)."""
    from weasyprint.formatting_structure.boxes import LineBox, ReplacedBox

    if isinstance(box, (LineBox, ReplacedBox)):
        return True
    if box.element_tag in ("html", "body"):
        return False
    style = box.style
    if style["background_color"].alpha > 0 or style["background_image"][0][0] != "none":
        return True
    return any(style[f"border_{side}_width"] and style[f"border_{side}_style"] not in
               ("none", "hidden") for side in ("top", "bottom"))


def _ending(boxes: list[Any], next_boxes: list[Any], seen: set[int]) -> tuple[str, str]:
    """Why the page ended where it did, judged from the first fresh box on the next page."""
    from weasyprint.formatting_structure.boxes import LineBox

    if any(_forced(box.style["break_after"]) for box in _last_path(boxes)):
        return FORCED, ""
    for box in next_boxes:
        if isinstance(box, LineBox):
            return CONTINUES, ""
        if box.element is None or id(box.element) in seen:
            continue
        if any(_forced(first.style["break_before"]) for first in _first_path(box)):
            return FORCED, ""
        return MOVED_ON, describe(box)
    return CONTINUES, ""


def _last_path(boxes: list[Any]) -> list[Any]:
    """The boxes that end the page: the last child at each level from the root down."""
    if not boxes:
        return []
    path, box = [], boxes[0]
    while children := [c for c in getattr(box, "children", ()) if c.element is not None]:
        box = children[-1]
        path.append(box)
    return path


def _first_path(box: Any) -> Iterator[Any]:
    """The box and its first children down the tree: a forced break on a first child is the
    parent's break too."""
    while box is not None:
        yield box
        children = getattr(box, "children", ())
        box = children[0] if children else None


def _forced(value: str) -> bool:
    return value in FORCED_BREAKS


def describe(box: Any) -> str:
    """``h2 "Protein first"`` or ``table.program``: a block as an author would find it."""
    element = box.element
    classes = (element.get("class") or "").split()
    name = element.tag + "".join(f".{c}" for c in classes[:2])
    words = " ".join("".join(element.itertext()).split())
    return f'{name} "{words[:40]}"' if words else name
