"""Trackers in three styles (grid, checklist, chart) with row height and cell size from
data, built for real and read from the PDF's fields; ordinary row labels are not starter
text."""
from __future__ import annotations

import pytest
from pypdf import PdfReader

from leadguide.build import build
from leadguide.errors import GuideError
from leadguide.guide.config import load_config
from leadguide.guide.data import load_data
from leadguide.starters.scaffold import leftover_lines, new_guide, starter_phrases

TRACKERS = """
brushing:
  title: My brushing chart
  label: Day
  style: chart
  cell_size: 0.7in
  rows: [Mon, Tue, Wed, Thu, Fri, Sat, Sun]
  columns:
    - {label: Morning, type: checkbox}
    - {label: Night, type: checkbox}
    - {label: Sticker, type: text}
visit:
  title: Before the first visit
  style: checklist
  row_height: 30pt
  rows: [Book the appointment, Fill in the health form, Write down your questions]
  columns:
    - {label: Notes, type: text}
    - {label: Done, type: checkbox}
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("trackers")
    guide = new_guide(root / "guide", "workbook")
    with (guide / "data" / "trackers.yaml").open("a", encoding="utf-8") as stream:
        stream.write(TRACKERS)
    with (guide / "chapters" / "03-your-tracker.md").open("a", encoding="utf-8") as stream:
        stream.write('\n{{ tracker("brushing") }}\n\n{{ tracker("visit") }}\n')
    result = build(guide, out=root / "trackers.pdf", draft=True)
    return guide, PdfReader(result.output)


def widgets(reader: PdfReader, prefix: str) -> dict[str, list[float]]:
    found = {}
    for page in reader.pages:
        for annot in page.get("/Annots", []):
            annot = annot.get_object()
            name = str(annot.get("/T", ""))
            if name.startswith(prefix):
                x0, y0, x1, y1 = (float(v) for v in annot["/Rect"])
                found[name] = [min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)]
    return found


def test_a_chart_has_a_large_cell_per_day_and_column(built):
    _, reader = built
    cells = widgets(reader, "brushing-")
    assert len(cells) == 7 * 3  # a field per cell, as the grid has
    sticker = cells["brushing-1-3"]
    assert sticker[2] - sticker[0] > 0.55 * 72 and sticker[3] - sticker[1] > 0.55 * 72
    tick = cells["brushing-1-1"]
    assert tick[2] - tick[0] > 0.25 * 72  # a tick a child can hit, not an 9 pt box


def test_a_checklist_puts_the_tick_box_before_the_item_and_the_notes_after(built):
    _, reader = built
    fields = widgets(reader, "visit-")
    tick, notes = fields["visit-1-2"], fields["visit-1-1"]  # names keep the data's columns
    assert tick[2] < notes[0]
    page = next(p for p in reader.pages if "Book the appointment" in p.extract_text())
    assert "Book the appointment" in page.extract_text()
    second = fields["visit-2-2"]
    assert tick[1] - second[1] >= 29  # row_height: 30pt


def test_tracker_styles_and_sizes_are_checked_with_their_lines(tmp_path):
    guide = new_guide(tmp_path / "guide", "workbook")
    (guide / "data" / "trackers.yaml").write_text(
        "chart:\n  style: poster\n  cell_size: big\n  columns: [A]\n", encoding="utf-8")
    with pytest.raises(GuideError) as caught:
        load_data(load_config(guide))
    text = str(caught.value)
    assert "trackers.yaml:2: 'chart.style' must be one of grid, checklist, chart" in text
    assert "trackers.yaml:3: 'chart.cell_size' must be a length" in text


def test_ordinary_row_labels_are_not_starter_text():
    own = "habits:\n  rows: [Mon, Tue, Wed, Thu, Fri, Sat, Sun]\n  columns: [Week, Date, Score]\n"
    assert leftover_lines(own, starter_phrases()) == []
    # the starter's sentences are still found
    assert leftover_lines("- Replace this with the first thing to do\n", starter_phrases()) == [1]


def test_tracker_rows_follow_the_chapter_s_fitted_line_height(built, tmp_path):
    """fit.yaml's leading for the chapter (the knob `leadguide fit` moves) shortens its rows."""
    guide, reader = built
    before = widgets(reader, "visit-")
    (guide / "fit.yaml").write_text("chapters:\n  03-your-tracker.md:\n    leading: 1.3\n",
                                    encoding="utf-8")
    try:
        tighter = widgets(PdfReader(build(guide, out=tmp_path / "fit.pdf", draft=True).output),
                          "visit-")
    finally:
        (guide / "fit.yaml").unlink()
    step = lambda fields: fields["visit-1-2"][1] - fields["visit-2-2"][1]  # noqa: E731
    assert step(tighter) < step(before) - 2  # 30pt rows at 1.45 are about 27pt at 1.3
