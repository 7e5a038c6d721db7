"""Make a contact sheet of a built guide's pages.

scripts/thumbnails.py PDF_OR_BUILD_DIR OUT.png [--before FIRST_EDITION.pdf]

With --before, the sheet shows the earlier edition's pages above this one's, each row labelled.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pypdfium2
from PIL import Image, ImageDraw, ImageFont

FONT = Path(__file__).parents[1] / "styles" / "fonts" / "Inter-SemiBold.otf"
BACKGROUND, INK = "#E9ECEF", "#1F2933"


def page_images(pdf: Path, width: int) -> list[Image.Image]:
    document = pypdfium2.PdfDocument(str(pdf))
    try:
        return [page.render(scale=width / page.get_width()).to_pil() for page in document]
    finally:
        document.close()


def grid(pages: list[Image.Image], columns: int, gap: int) -> Image.Image:
    width, height = pages[0].width, max(p.height for p in pages)
    rows = -(-len(pages) // columns)
    sheet = Image.new("RGB", (columns * (width + gap) + gap, rows * (height + gap) + gap), BACKGROUND)
    for index, page in enumerate(pages):
        sheet.paste(page, (gap + (index % columns) * (width + gap),
                           gap + (index // columns) * (height + gap)))
    return sheet


def labelled(sections: list[tuple[str, Image.Image]], gap: int) -> Image.Image:
    """Stack grids, each under its label."""
    font = ImageFont.truetype(str(FONT), 22)
    band = 40
    width = max(image.width for _, image in sections)
    sheet = Image.new("RGB", (width, sum(image.height + band for _, image in sections)), BACKGROUND)
    draw, y = ImageDraw.Draw(sheet), 0
    for label, image in sections:
        draw.text((gap, y + 12), label, font=font, fill=INK)
        sheet.paste(image, (0, y + band))
        y += image.height + band
    return sheet


def contact_sheet(pdf: Path, out: Path, before: Path | None = None, columns: int = 8,
                  width: int = 200, gap: int = 12) -> None:
    after = grid(page_images(pdf, width), columns, gap)
    sheet = after if before is None else labelled(
        [("First edition", grid(page_images(before, width), columns, gap)),
         ("Second edition", after)], gap)
    out.parent.mkdir(parents=True, exist_ok=True)
    temporary = out.with_name(out.name + ".tmp.png")
    sheet.save(temporary, optimize=True)
    temporary.replace(out)


def main() -> None:
    args = sys.argv[1:]
    before = Path(args.pop(args.index("--before") + 1)) if "--before" in args else None
    source, out = (Path(arg) for arg in args if arg != "--before")
    pdf = max(source.glob("*.pdf"), key=lambda p: p.stat().st_mtime) if source.is_dir() else source
    contact_sheet(pdf, out, before)
    print(f"{out}: {pdf}" + (f" after {before}" if before else ""))


if __name__ == "__main__":
    main()
