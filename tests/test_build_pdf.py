"""A real build of the sample guide, inspected with pypdf."""
from __future__ import annotations

import re

from pypdf import PdfReader


def _start_pages(reader: PdfReader) -> dict[str, int]:
    """Each named destination (HTML id) mapped to its 1-based page number."""
    return {name.lstrip("/"): reader.get_destination_page_number(dest) + 1
            for name, dest in reader.named_destinations.items()}


def test_page_count_matches_promise(built_sample):
    result, reader = built_sample
    assert len(reader.pages) == 6 == result.pages
    assert result.page_error is None


def test_toc_numbers_are_the_pages_where_chapters_start(built_sample):
    _, reader = built_sample
    starts = _start_pages(reader)
    toc_text = reader.pages[2].extract_text()
    assert "Contents" in toc_text
    listed = {title: int(page) for title, page in
              re.findall(r"\d\d\s+([A-Z][\w ]+?)[\s.]*?(\d+)\s*$", toc_text, re.M)}
    assert listed == {"Welcome aboard": starts["ch-01-intro"],
                      "Training plan": starts["ch-02-training"],
                      "Food basics": starts["ch-03-food"]}
    assert listed == {"Welcome aboard": 2, "Training plan": 4, "Food basics": 5}


def test_toc_links_jump_to_chapter_pages(built_sample):
    _, reader = built_sample
    starts = _start_pages(reader)
    targets = []
    for annot in reader.pages[2].get("/Annots", []):
        annot = annot.get_object()
        if annot.get("/Subtype") == "/Link" and "/Dest" in annot:
            targets.append(starts[str(annot["/Dest"]).lstrip("/")])
    assert sorted(set(targets)) == [2, 4, 5]


def test_bookmarks_are_chapters_and_sections_only(built_sample):
    _, reader = built_sample
    top = [item for item in reader.outline if not isinstance(item, list)]
    assert [b.title for b in top] == ["Welcome aboard", "Training plan", "Food basics"]
    assert [reader.get_destination_page_number(b) + 1 for b in top] == [2, 4, 5]
    nested = [item for item in reader.outline if isinstance(item, list)]
    assert [b.title for b in nested[0]] == ["The plan", "The move", "Wall sit"]
    titles = [b.title for b in top] + [b.title for group in nested for b in group]
    assert "Contents" not in titles and "The Sample Guide" not in titles


def test_metadata_and_language(built_sample):
    _, reader = built_sample
    meta = reader.metadata
    assert meta.title == "The Sample Guide"
    assert meta.author == "Test Clinic"
    assert meta.subject == "A sample guide for tests"
    assert meta["/Keywords"] == "testing, guide"
    assert reader.trailer["/Root"]["/Lang"] == "en-US"


def test_pdf_is_tagged(built_sample):
    _, reader = built_sample
    root = reader.trailer["/Root"]
    assert root["/MarkInfo"]["/Marked"] is True or root["/MarkInfo"]["/Marked"] == True  # noqa: E712
    assert "/StructTreeRoot" in root


def _fonts(reader: PdfReader):
    for page in reader.pages:
        fonts = page["/Resources"].get("/Font", {})
        for font in fonts.values():
            font = font.get_object()
            descendants = font.get("/DescendantFonts")
            yield descendants[0].get_object() if descendants else font


def test_fonts_are_bundled_and_embedded(built_sample):
    _, reader = built_sample
    fonts = list(_fonts(reader))
    names = {str(f["/BaseFont"]).split("+")[-1] for f in fonts}
    assert {"Inter", "Inter-Bold", "League-Spartan-Bold"} <= names
    for font in fonts:
        descriptor = font["/FontDescriptor"]
        assert any(key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3")), font


def test_text_and_computed_numbers_are_present(built_sample):
    _, reader = built_sample
    text = "\n".join(page.extract_text() for page in reader.pages).replace("\xa0", " ")  # typeset joins
    assert "Wall sit" in text and "Incline push-up on a counter" in text
    # Mifflin-St Jeor x 1.55 minus the deficit, from data/nutrition.yaml
    assert "2,085 kcal" in text and "1,700 kcal" in text and "2,450 kcal" in text
    assert "\u201csmart\u201d" in text  # smart quotes from Markdown
    assert "Footnotes work too." in text


def test_trackers_are_fillable_fields(built_sample):
    _, reader = built_sample
    fields = reader.get_fields()
    checkboxes = [name for name, field in fields.items() if field.get("/FT") == "/Btn"]
    assert len(checkboxes) == 7 * 7 * 2  # habits x days x partners
    assert "habit-week" in fields


def test_cover_has_no_running_head_or_folio(built_sample):
    _, reader = built_sample
    cover_text = reader.pages[0].extract_text()
    assert "The Sample Guide" in cover_text
    assert "WELCOME" not in cover_text.upper().replace("WELCOME ABOARD", "") and not re.search(
        r"^\s*1\s*$", cover_text, re.M)
    assert re.search(r"^\s*4\s*$", reader.pages[3].extract_text(), re.M)  # folio on page 4


def test_manifest_records_chapter_spans(built_sample):
    import json
    result, _ = built_sample
    manifest = json.loads(result.manifest_path().read_text())
    spans = [(c["title"], c["first"], c["last"], c["budget"]) for c in manifest["chapters"]]
    assert spans == [("Welcome aboard", 2, 2, 1), ("Training plan", 4, 4, 1),
                     ("Food basics", 5, 6, 2)]
    assert manifest["pages"] == manifest["promised"] == 6
