"""Benchmark: what each chapter and each styled component costs WeasyPrint to lay out.

Per part: each part of the guide (cover, contents, chapters, back) laid out alone, as the
build lays it out (parts.py), with its CPU time and pages. Per component: the whole guide laid
out with one component's layout swapped for plain blocks (``.card, .card * { display: block;
float: none }``), and the CPU time that saves. A component is a class whose rules ask for flex,
grid, table, inline-block or float layout. One run, one process, CPU seconds (the machine is
shared: compare the rows, not the seconds).
Usage: .venv/bin/python bench/layout_cost.py [GUIDE_DIR] [--top N] [--json]
"""
from __future__ import annotations

import argparse
import json
import re
import tempfile
import time
from pathlib import Path

from leadguide.build import read_sources
from leadguide.guide.assets import allowed_roots, asset_fallbacks
from leadguide.guide.config import load_config
from leadguide.guide.fetcher import SafeFetcher
from leadguide.html.assemble import GuideHtml, assemble
from leadguide.layout.parts import part_document, primer_pages, split_guide
from leadguide.layout.render import lay_out

_RULE = re.compile(r"([^{}]+)\{([^{}]*)\}")
_COSTLY = re.compile(r"display\s*:\s*(?:inline-)?(?:flex|grid|table)\b|display\s*:\s*inline-block"
                     r"|float\s*:\s*(?:left|right)")
_CLASS = re.compile(r"\.([A-Za-z_][\w-]*)")


def cpu_layout(guide: GuideHtml, roots, fallbacks) -> tuple[float, int]:
    """CPU seconds to lay ``guide`` out, and its pages."""
    started = time.process_time()
    document, _, _ = lay_out(guide, SafeFetcher(roots, fallbacks), lambda _url: (None, None))
    return time.process_time() - started, len(document.pages)


def components(stylesheets: tuple[Path, ...], html: str) -> list[str]:
    """Classes the guide uses whose rules ask for flex, grid, table, inline-block or floats."""
    used = set(re.findall(r'class="([^"]*)"', html))
    used_classes = {name for value in used for name in value.split()}
    found: dict[str, None] = {}
    for sheet in stylesheets:
        text = re.sub(r"/\*.*?\*/", "", sheet.read_text(encoding="utf-8"), flags=re.S)
        for selectors, body in _RULE.findall(text):
            if _COSTLY.search(body):
                for name in _CLASS.findall(selectors.split(",")[0]):
                    if name in used_classes:
                        found.setdefault(name)
                        break
    return list(found)


def per_part(guide: GuideHtml, roots, fallbacks, starts: list[int]) -> list[dict]:
    split = split_guide(guide.html, [p.read_text(encoding="utf-8") for p in guide.stylesheets])
    if split is None:
        return []
    rows = []
    for index, part in enumerate(split.parts):
        start = starts[index] if index < len(starts) else 1
        html = part_document(split, index, start, {})
        seconds, pages = cpu_layout(GuideHtml(html, guide.base_url, guide.stylesheets, ()),
                                    roots, fallbacks)
        name = next((i for i in sorted(part.ids) if i.startswith("ch-") or i in
                     ("cover", "contents", "back")), f"part {index + 1}")
        rows.append({"part": name, "cpu_s": round(seconds, 2),
                     "pages": pages - primer_pages(index, start)})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("guide", nargs="?", default="guide", type=Path)
    parser.add_argument("--top", type=int, default=8, help="components to try (default 8)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    config = load_config(args.guide)
    chapters, data = read_sources(config)
    guide = assemble(config, chapters, data)
    roots, fallbacks = allowed_roots(config.root), asset_fallbacks(config.root)
    whole, pages = cpu_layout(guide, roots, fallbacks)
    first_pages = _part_starts(guide, roots, fallbacks)
    parts = per_part(guide, roots, fallbacks, first_pages)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for name in components(guide.stylesheets, guide.html)[: args.top]:
            plain = Path(folder) / f"plain-{name}.css"
            plain.write_text(f".{name}, .{name} * {{ display: block !important; "
                             "float: none !important; }", encoding="utf-8")
            swapped = GuideHtml(guide.html, guide.base_url, (*guide.stylesheets, plain), ())
            seconds, swapped_pages = cpu_layout(swapped, (*roots, Path(folder)), fallbacks)
            rows.append({"component": f".{name}", "cpu_s": round(seconds, 2),
                         "saves_s": round(whole - seconds, 2), "pages": swapped_pages})
    report({"whole_cpu_s": round(whole, 2), "pages": pages, "parts": parts,
            "components": sorted(rows, key=lambda r: -r["saves_s"])}, args.json)


def _part_starts(guide: GuideHtml, roots, fallbacks) -> list[int]:
    """Each part's first page in the whole guide, from its anchors (1 when unknown)."""
    split = split_guide(guide.html, [p.read_text(encoding="utf-8") for p in guide.stylesheets])
    if split is None:
        return []
    from leadguide.layout.render import first_pages, render

    rendered = render(guide, SafeFetcher(roots, fallbacks), lambda _url: (None, None))
    anchors = first_pages(rendered.document)
    return [min((anchors[i] for i in part.ids if i in anchors), default=1) for part in split.parts]


def report(figures: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps(figures, indent=2))
        return
    print(f"whole guide: {figures['whole_cpu_s']:.2f} s CPU, {figures['pages']} pages (one run)")
    print(f"\n{'part, laid out alone':36}{'cpu s':>8}{'pages':>7}{'s/page':>8}")
    for row in figures["parts"]:
        print(f"{row['part'][:36]:36}{row['cpu_s']:8.2f}{row['pages']:7}"
              f"{row['cpu_s'] / max(row['pages'], 1):8.2f}")
    print(f"\n{'component as plain blocks':36}{'cpu s':>8}{'saves':>8}{'pages':>7}")
    for row in figures["components"]:
        print(f"{row['component'][:36]:36}{row['cpu_s']:8.2f}{row['saves_s']:8.2f}{row['pages']:7}")


if __name__ == "__main__":
    main()
