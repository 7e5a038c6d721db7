"""Make a contact sheet of a built guide's pages: scripts/thumbnails.py PDF_OR_BUILD_DIR OUT.png"""
from __future__ import annotations

import sys
from pathlib import Path

import pypdfium2
from PIL import Image


def contact_sheet(pdf: Path, out: Path, columns: int = 8, width: int = 200, gap: int = 12) -> None:
    document = pypdfium2.PdfDocument(str(pdf))
    pages = [page.render(scale=width / page.get_width()).to_pil() for page in document]
    height = max(p.height for p in pages)
    rows = -(-len(pages) // columns)
    sheet = Image.new("RGB", (columns * (width + gap) + gap, rows * (height + gap) + gap), "#E9ECEF")
    for index, page in enumerate(pages):
        x = gap + (index % columns) * (width + gap)
        y = gap + (index // columns) * (height + gap)
        sheet.paste(page, (x, y))
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out, optimize=True)


def main() -> None:
    source, out = Path(sys.argv[1]), Path(sys.argv[2])
    pdf = max(source.glob("*.pdf"), key=lambda p: p.stat().st_mtime) if source.is_dir() else source
    contact_sheet(pdf, out)
    print(f"{out}: {pdf}")


if __name__ == "__main__":
    main()
