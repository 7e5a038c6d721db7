"""Build every starter in every look and page size and draw one contact sheet of them all.

scripts/looks.py docs/looks.png [--sizes Letter,A4,A5]

Each row is one combination (kind, look, page size), its pages left to right. A combination
whose starter words need more pages than promised (A5) is built as a draft (its pages carry
the DRAFT tab), so every combination shows.
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from thumbnails import grid, labelled, page_images

from leadguide.build import build
from leadguide.errors import GuideError
from leadguide.guide.assets import LOOKS
from leadguide.starters.scaffold import KINDS, new_guide


def build_all(root: Path, sizes: list[str]) -> list[tuple[str, Path]]:
    built = []
    for size in sizes:
        for kind in KINDS:
            for look in LOOKS:
                guide = new_guide(root / f"{kind}-{look}-{size}", kind, look)
                config = guide / "guide.yaml"
                config.write_text(config.read_text(encoding="utf-8").replace(
                    "page_size: Letter", f"page_size: {size}"), encoding="utf-8")
                out = root / f"{kind}-{look}-{size}.pdf"
                try:
                    pdf = build(guide, out=out).output
                except GuideError:  # more pages than promised: a draft (it says DRAFT)
                    pdf = build(guide, out=out, draft=True).output
                built.append((f"{kind} · {look} · {size}", pdf))
                print(f"built {kind} {look} {size}", file=sys.stderr)
    return built


def main() -> None:
    args = sys.argv[1:]
    sizes = args.pop(args.index("--sizes") + 1).split(",") if "--sizes" in args else ["Letter", "A5"]
    out = Path(next(arg for arg in args if arg != "--sizes"))
    with tempfile.TemporaryDirectory() as folder:
        rows = [(label, grid(page_images(pdf, 110), 9, 8))
                for label, pdf in build_all(Path(folder), sizes)]
        sheet = labelled(rows, 8)
        out.parent.mkdir(parents=True, exist_ok=True)
        sheet.save(out, optimize=True)
    print(out)


if __name__ == "__main__":
    main()
