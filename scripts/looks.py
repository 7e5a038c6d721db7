"""Build every starter in every look and page size and draw one contact sheet of them all.

scripts/looks.py docs/looks.png [--sizes Letter,A4,A5]

Each row is one combination (kind, look, page size), its pages left to right, each built
strictly from the starter as `leadguide new --page-size` writes it for that paper.
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from thumbnails import grid, labelled, page_images

from leadguide.build import build
from leadguide.fit.starter import new_sized_guide
from leadguide.guide.assets import LOOKS
from leadguide.starters.scaffold import KINDS


def build_all(root: Path, sizes: list[str]) -> list[tuple[str, Path]]:
    built = []
    for size in sizes:
        for kind in KINDS:
            for look in LOOKS:
                # the starter's text sized for the paper, as `leadguide new --page-size` writes it
                guide = new_sized_guide(root / f"{kind}-{look}-{size}", kind, look, size)
                pdf = build(guide, out=root / f"{kind}-{look}-{size}.pdf").output
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
