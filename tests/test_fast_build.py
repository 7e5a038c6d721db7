"""Parts laid out apart, cached and joined give the PDF a whole-document build gives."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pikepdf
import pytest
from conftest import BAKERY
from fontmaker import make_variable_font
from pypdf import PdfReader
from pypdf.generic import IndirectObject

from leadguide.build import build
from leadguide.check import run_checks
from leadguide.layout.incremental import _chain_costs

GUIDE = Path(__file__).parents[1] / "guide"


# ---------- what a reader, a screen reader and a form filler see, read with pypdf ----------

def _outline(reader: PdfReader) -> list:
    def walk(items, depth):
        found = []
        for item in items:
            if isinstance(item, list):
                found += walk(item, depth + 1)
            else:
                found.append((depth, item.title, reader.get_destination_page_number(item),
                              round(float(item.left or 0), 1), round(float(item.top or 0), 1)))
        return found
    return walk(reader.outline, 0)


def _dests(reader: PdfReader) -> dict:
    return {name: (reader.get_destination_page_number(d), round(float(d.left or 0), 1),
                   round(float(d.top or 0), 1)) for name, d in reader.named_destinations.items()}


def _links(reader: PdfReader) -> list:
    found = []
    for number, page in enumerate(reader.pages):
        for annotation in page.get("/Annots", []) or []:
            annotation = annotation.get_object()
            if annotation.get("/Subtype") == "/Link":
                target = annotation.get("/Dest") or annotation["/A"]["/URI"]
                found.append((number, [round(float(x), 1) for x in annotation["/Rect"]],
                              str(target), annotation.get("/StructParent")))
    return found


def _tags(reader: PdfReader) -> list:
    """The tag tree in order: depth, structure type, page (MCIDs and annotation references)."""
    pages = {p.indirect_reference.idnum: i for i, p in enumerate(reader.pages)}
    found = []

    def page_of(element):
        return pages.get(element.raw_get("/Pg").idnum) if "/Pg" in element else None

    def walk(element, depth):
        element = element.get_object()
        if element.get("/Type") == "/OBJR":
            found.append((depth, "OBJR", page_of(element)))
            return
        if "/S" in element:
            found.append((depth, str(element["/S"]), page_of(element)))
        kids = element.get("/K", [])
        for kid in kids if isinstance(kids, list) else [kids]:
            if isinstance(kid, (IndirectObject, dict)):
                walk(kid, depth + 1)
            else:
                found.append((depth + 1, "MCID", int(kid)))
    walk(reader.trailer["/Root"]["/StructTreeRoot"], 0)
    return found


def _parent_tree(reader: PdfReader) -> tuple:
    nums = reader.trailer["/Root"]["/StructTreeRoot"]["/ParentTree"]["/Nums"]
    entries = [(int(key), len(value) if isinstance(value, list) else str(value["/S"]))
               for key, value in zip(nums[0::2], (v.get_object() for v in nums[1::2]))]
    return entries, [page.get("/StructParents") for page in reader.pages]


def _catalog(reader: PdfReader) -> tuple:
    root = reader.trailer["/Root"]
    return (dict(reader.metadata), str(root["/Lang"]), dict(root["/MarkInfo"]),
            dict(root["/ViewerPreferences"]), "/Metadata" in root)


def summary(path: Path) -> dict:
    reader = PdfReader(path)
    return {"pages": len(reader.pages), "text": [p.extract_text() for p in reader.pages],
            "outline": _outline(reader), "dests": _dests(reader), "links": _links(reader),
            "fields": {k: (v.get("/FT"), v.get("/V")) for k, v in (reader.get_fields() or {}).items()},
            "tags": _tags(reader), "parent_tree": _parent_tree(reader),
            "catalog": _catalog(reader)}


# ---------- the default guide, built both ways ----------

@pytest.fixture(scope="module")
def both_builds(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fast")
    parts = build(GUIDE, out=folder / "parts" / "guide.pdf", jobs=2)
    whole = build(GUIDE, out=folder / "whole" / "guide.pdf", whole=True)
    return parts, whole


def test_parts_were_laid_out_apart_and_cached(both_builds):
    parts, whole = both_builds
    # cover, contents, 11 chapters, each laid out once: the contents waited for the chapters
    assert parts.laid_out == (13, 13)
    assert whole.laid_out is None
    assert list((parts.output.parent / ".cache" / "parts").glob("*.pdf"))


@pytest.fixture(scope="module")
def both_summaries(both_builds):
    return tuple(summary(result.output) for result in both_builds)


@pytest.mark.parametrize("aspect", ["pages", "text", "outline", "dests", "links", "fields",
                                    "tags", "parent_tree", "catalog"])
def test_joined_pdf_is_the_whole_build(both_summaries, aspect):
    joined, single = both_summaries
    assert joined[aspect] == single[aspect]
    assert joined["pages"] == 24 and len(joined["links"]) > 20 and len(joined["fields"]) > 200


def _manifest(result) -> dict:
    manifest = json.loads(result.manifest_path().read_text(encoding="utf-8"))
    return {k: v for k, v in manifest.items() if k not in ("pdf", "size", "built_at")}


def test_same_manifest_page_fills_included(both_builds):
    parts, whole = both_builds
    joined, single = _manifest(parts), _manifest(whole)
    assert joined == single
    assert len(joined["page_fill"]) == 24 and joined["page_fill"][-1]["ends"] == "last page"
    assert {f["ends"] for f in joined["page_fill"]} >= {"chapter end", "last page"}


def test_same_spans_and_checks(both_builds):
    parts, whole = both_builds
    assert parts.spans == whole.spans and parts.warnings == whole.warnings == []
    assert parts.fills == whole.fills
    # Every check gives the same verdict and says the same, bar the file size (within 5 %).
    checks = [[(r.name, r.status, r.message if r.name != "file-size" else "")
               for r in run_checks(GUIDE, result.output)] for result in (parts, whole)]
    assert checks[0] == checks[1]


def test_fonts_embedded_once(both_builds):
    parts, whole = both_builds
    assert parts.size <= 1.05 * whole.size
    programs = {str(font.get_object()["/BaseFont"]) for page in PdfReader(parts.output).pages
                for font in page["/Resources"]["/Font"].values()}
    assert len(programs) == 5


# ---------- the cache, on the small sample guide ----------

def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_an_edit_lays_out_its_part_only(sample_guide, tmp_path):
    out = tmp_path / "out" / "sample.pdf"
    cold = build(sample_guide, out=out, jobs=1)
    assert cold.laid_out[0] == cold.laid_out[1]  # each once: the contents waits for the rest
    again = build(sample_guide, out=out)
    assert again.laid_out is None and "unchanged" in again.timings
    _edit(sample_guide / "chapters" / "01-intro.md", "smart\" quotes.", "smart\" quotes. Keep going.")
    edited = build(sample_guide, out=out)
    assert edited.laid_out == (1, cold.laid_out[1])
    text = " ".join("".join(p.extract_text() for p in PdfReader(out).pages).split())
    assert "Keep going." in text  # words joined by a no-break space read as one space here
    fresh = build(sample_guide, out=tmp_path / "whole" / "sample.pdf", whole=True)
    assert summary(out) == summary(fresh.output)
    assert _manifest(edited) == _manifest(fresh)
    checks = [[(r.name, r.status, r.message if r.name != "file-size" else "")
               for r in run_checks(sample_guide, pdf)] for pdf in (out, fresh.output)]
    assert checks[0] == checks[1]


def test_a_damaged_or_stale_cache_entry_is_laid_out_again(sample_guide, tmp_path):
    out = tmp_path / "out" / "sample.pdf"
    cold = build(sample_guide, out=out, jobs=1)
    cache = out.parent / ".cache"
    shutil.rmtree(cache / "builds")
    damaged = sorted((cache / "parts").glob("*.pdf"))[0]
    damaged.write_bytes(damaged.read_bytes()[:100])
    (sorted((cache / "parts").glob("*.json"))[-1]).write_text("{not json", encoding="utf-8")
    rebuilt = build(sample_guide, out=out)
    assert 1 <= rebuilt.laid_out[0] <= 2 and rebuilt.pages == cold.pages
    shutil.rmtree(cache / "builds")
    image = sample_guide / "images" / "mark.svg"  # a file WeasyPrint fetched: checked too
    _edit(image, "</svg>", "<!-- changed --></svg>")
    assert build(sample_guide, out=out).laid_out[0] >= 1


def test_serve_live_pdf_relays_the_saved_chapter_only(sample_guide, tmp_path):
    """serve's PDF worker (build_live_pdf) goes through the parts cache: a save re-lays one part."""
    from leadguide.guide.config import load_config
    from leadguide.preview.background import build_live_pdf

    target = tmp_path / "preview" / "sample.pdf"
    assert build_live_pdf(sample_guide, target) == ""
    parts = load_config(sample_guide).output_dir / ".cache" / "parts"  # the guide's own
    before = {p.name for p in parts.glob("*.pdf")}
    _edit(sample_guide / "chapters" / "01-intro.md", "smart\" quotes.", "smart\" quotes. Saved.")
    assert build_live_pdf(sample_guide, target) == ""
    assert len({p.name for p in parts.glob("*.pdf")} - before) == 1
    text = " ".join("".join(p.extract_text() for p in PdfReader(target).pages).split())
    assert "Saved." in text


def test_the_live_pdf_shares_the_parts_of_the_guides_own_build(sample_guide, tmp_path):
    """A draft live PDF after a strict build (and a build after the live PDF) lays out nothing
    that did not change: both use the guide's build folder's cache."""
    from leadguide.guide.config import load_config
    from leadguide.preview.background import build_live_pdf

    assert build(sample_guide).laid_out == (5, 5)
    parts = load_config(sample_guide).output_dir / ".cache" / "parts"
    before = {p.name for p in parts.glob("*.pdf")}
    assert len(before) == 5
    live = tmp_path / "preview" / "sample.pdf"
    assert build_live_pdf(sample_guide, live) == ""
    assert {p.name for p in parts.glob("*.pdf")} == before  # nothing laid out again
    assert not (live.parent / ".cache").exists()
    _edit(sample_guide / "chapters" / "01-intro.md", "smart\" quotes.", "smart\" quotes. Live.")
    assert build_live_pdf(sample_guide, live) == ""
    assert build(sample_guide).laid_out == (0, 5)  # the live PDF laid the edit out already


def test_a_draft_over_its_page_promise_is_unchanged_when_nothing_changed(sample_guide,
                                                                         tmp_path):
    """The whole-build cache hands back a draft that broke the page promise, its error with
    it (its record could not be read back, so every such draft was laid out again)."""
    _edit(sample_guide / "guide.yaml", "pages: 6", "pages: 5")
    out = tmp_path / "out" / "sample.pdf"
    first = build(sample_guide, out=out, draft=True)
    again = build(sample_guide, out=out, draft=True)
    assert first.page_error is not None and "unchanged" in again.timings
    assert (str(again.page_error), again.page_error.line) == (str(first.page_error),
                                                              first.page_error.line)


def test_the_live_pdf_is_the_draft_to_look_at_and_claims_no_standard(sample_guide, tmp_path):
    """serve's live PDF shows what the build's draft shows (pages, text, the DRAFT mark,
    fillable fields) but skips the tag mending and the validator, so it claims no PDF/UA;
    and a strict build after it is never served the live PDF from the cache."""
    from leadguide.pdf.conformance import claims

    live = build(sample_guide, out=tmp_path / "live" / "sample.pdf", live=True,
                 cache_home=tmp_path / "shared")
    draft = build(sample_guide, out=tmp_path / "draft" / "sample.pdf", draft=True,
                  cache_home=tmp_path / "shared")
    assert (live.laid_out, draft.laid_out) == ((5, 5), (0, 5))  # the same parts
    assert live.pages == draft.pages and claims(live.output.read_bytes()) == {}
    assert claims(draft.output.read_bytes()) == {"pdfuaid:part": "1"}
    live_text, draft_text = PdfReader(live.output), PdfReader(draft.output)
    for mine, theirs in zip(live_text.pages, draft_text.pages):
        assert mine.extract_text().split() == theirs.extract_text().split()
    with pikepdf.open(live.output) as document:
        assert all(b"/Watermark" in page.obj.Contents.read_bytes() if
                   isinstance(page.obj.Contents, pikepdf.Stream) else
                   any(b"/Watermark" in part.read_bytes() for part in page.obj.Contents)
                   for page in document.pages)
        form = document.Root.get("/AcroForm")
        assert form is None or "/NeedAppearances" not in form
        widgets = [a for page in document.pages for a in page.obj.get("/Annots", [])
                   if a.get("/Subtype") == "/Widget"]
        assert widgets and all("/AP" in widget for widget in widgets)
    strict = build(sample_guide, out=live.output, cache_home=tmp_path / "shared")
    assert claims(strict.output.read_bytes()) == {"pdfuaid:part": "1"}


def test_a_forbidden_link_keeps_its_source_line_when_its_part_is_not_parsed_again(
        sample_guide, tmp_path):
    """The whole guide's forbidden links are found part by part, each part's once per
    process while its text stays the same: an edit elsewhere finds it where it was, an
    edit above it moves its line."""
    chapter = sample_guide / "chapters" / "02-training.md"
    _edit(chapter, "## The move", '<a href="https://example.com/x" rel="attachment">x</a>\n\n'
          "## The move")
    out = tmp_path / "out" / "sample.pdf"

    def where() -> list[tuple[str, int | None]]:
        result = build(sample_guide, out=out, draft=True)
        return [(Path(w.path).name, w.line) for w in result.warnings if "attachment" in w.message]

    line = chapter.read_text().splitlines().index(
        '<a href="https://example.com/x" rel="attachment">x</a>') + 1
    assert where() == [("02-training.md", line)]
    _edit(sample_guide / "chapters" / "01-intro.md", "smart\" quotes.", "smart\" quotes. Moved.")
    assert where() == [("02-training.md", line)]
    _edit(chapter, "## The plan", "## The plan\n\nTwo lines\nabove.")
    assert where() == [("02-training.md", line + 3)]
    with pikepdf.open(out) as document:  # and the PDF embeds nothing
        assert len(document.attachments) == 0


def test_an_edit_renders_its_chapter_only_and_a_template_edit_all(sample_guide, tmp_path,
                                                                  monkeypatch):
    """Rendered chapters are cached (cache/chapters.py) by the chapter and all else but the
    other chapters: data, templates and guide.yaml edits render every chapter again."""
    import leadguide.html.assemble as assemble

    rendered: list[str] = []
    real = assemble.render_chapter
    monkeypatch.setattr(assemble, "render_chapter", lambda chapter, *args: (
        rendered.append(chapter.path.name), real(chapter, *args))[1])
    out = tmp_path / "out" / "sample.pdf"
    cold = build(sample_guide, out=out, jobs=1)
    chapters = sorted(rendered)
    assert len(chapters) == len(cold.spans) >= 2
    rendered.clear()
    _edit(sample_guide / "chapters" / "01-intro.md", "smart\" quotes.", "smart\" quotes. Once more.")
    edited = build(sample_guide, out=out, jobs=1)
    assert rendered == ["01-intro.md"]
    assert "Once more." in " ".join("".join(p.extract_text() for p in PdfReader(out).pages).split())
    rendered.clear()
    template = next(sample_guide.glob("templates/*.html"), None) or next(
        (sample_guide / "data").glob("*.yaml"))
    template.write_text(template.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    build(sample_guide, out=out, jobs=1)
    assert sorted(rendered) == chapters
    fresh = build(sample_guide, out=tmp_path / "whole" / "sample.pdf", whole=True)
    assert summary(out) == summary(fresh.output) and edited.pages == fresh.pages


def test_a_process_parses_the_stylesheets_once_while_they_stay_the_same(sample_guide, tmp_path):
    from leadguide.guide.assets import allowed_roots, asset_fallbacks, stylesheets
    from leadguide.layout.part import parsed_styles

    extra = sample_guide / "styles" / "extra.css"
    extra.parent.mkdir(exist_ok=True)
    extra.write_text("p { color: #222; }\n", encoding="utf-8")
    args = (stylesheets(sample_guide), allowed_roots(sample_guide), asset_fallbacks(sample_guide))
    first = parsed_styles(*args)
    assert parsed_styles(*args) is first
    folder = first.styles.font_config._folder
    extra.write_text("p { color: #333; }\n", encoding="utf-8")
    second = parsed_styles(*args)
    assert second is not first and second.key != first.key
    assert folder is None or not Path(folder).exists()  # the old font folder is removed


# ---------- fonts WeasyPrint changes beyond cutting them ----------

def _font_programs(pdf: Path) -> dict[str, list]:
    """The test's variable font's names -> per use: its program's tables, its glyphs'
    advance (all boxes are as wide; a glyph cut out has none) and its object number."""
    from io import BytesIO

    from fontTools.ttLib import TTFont

    programs: dict[str, list] = {}
    for page in PdfReader(pdf).pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            if "Body-Variable" not in str(font["/BaseFont"]):
                continue
            descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object()
            stream = descriptor.raw_get("/FontFile2")
            program = TTFont(BytesIO(stream.get_object().get_data()))
            advance = max(width for width, _ in program["hmtx"].metrics.values())
            programs.setdefault(str(font["/BaseFont"]), []).append(
                (sorted(program.keys()), advance, stream.idnum))
    return programs


def test_a_variable_font_is_made_static_in_every_part_as_in_a_whole_build(tmp_path,
                                                                           monkeypatch):
    import itertools
    import os

    import fontTools.ttLib.tables._h_e_a_d as head

    # fontTools stamps each font it saves with the time: another in every process and call
    # (forked workers inherit this), as when the workers make the font static seconds apart
    calls = itertools.count()
    monkeypatch.setattr(head, "timestampNow",
                        lambda: 3_000_000_000 + 1000 * os.getpid() + next(calls))
    guide = shutil.copytree(BAKERY, tmp_path / "guide")
    (guide / "fonts").mkdir()
    make_variable_font(guide / "fonts" / "Body-Variable.ttf")
    path = guide / "guide.yaml"
    path.write_text(path.read_text().replace("  logo: images/mark.svg\n", (
        "  logo: images/mark.svg\n  fonts:\n    body:\n      family: Body Variable\n"
        "      files: {regular: fonts/Body-Variable.ttf, bold: fonts/Body-Variable.ttf}\n")))
    parts = build(guide, out=tmp_path / "parts" / "guide.pdf", draft=True, jobs=2)
    whole = build(guide, out=tmp_path / "whole" / "guide.pdf", draft=True, whole=True)
    assert parts.laid_out and parts.laid_out[0] > 1
    joined, single = _font_programs(parts.output), _font_programs(whole.output)
    assert len(single) == 2  # regular and bold, each made static at its weight
    assert {use[1] for uses in single.values() for use in uses} == {500, 620}
    for name in single:
        assert {str(use[:2]) for use in joined[name]} == {str(use[:2]) for use in single[name]}
        assert all("fvar" not in tables for tables, _, _ in joined[name])
        # made static once per weight and embedded once, not once per part
        assert len({number for _, _, number in joined[name]}) == 1
    assert parts.output.stat().st_size <= 1.05 * whole.output.stat().st_size


def test_a_part_waited_for_by_a_long_chain_goes_first():
    # part 0 (the contents) reads 1, 2 and 3; part 2 reads part 1
    costs = _chain_costs([{1, 2, 3}, set(), {1}, set()], [0.5, 1.0, 2.0, 0.1])
    assert costs == [0.5, 3.5, 2.5, 0.6]
    assert sorted(range(4), key=lambda i: -costs[i]) == [1, 2, 3, 0]
    # parts that read each other (links both ways) still get a cost each
    assert all(cost >= own for cost, own in zip(_chain_costs([{1}, {0}], [1.0, 2.0]), [1, 2]))


def test_a_font_file_saved_at_another_time_is_the_same_file_to_the_join(tmp_path):
    from io import BytesIO

    from fontTools.ttLib import TTFont

    from leadguide.layout.part import font_sha

    made = make_variable_font(tmp_path / "font.ttf")  # once: it is stamped with the time made

    def saved(modified: int, advance: int = 500) -> bytes:
        font = TTFont(made, recalcTimestamp=False)
        font["head"].modified = modified
        font["hmtx"].metrics["uni0041"] = (advance, 50)
        out = BytesIO()
        font.save(out)
        return out.getvalue()

    first, later = saved(3_000_000_000), saved(3_000_000_007)
    assert first != later
    assert font_sha(first) == font_sha(later)
    assert font_sha(saved(3_000_000_000, advance=600)) != font_sha(first)
