"""Tracker fields that fill in any viewer: every widget has its appearance, text is sized to
its box, checkboxes show their tick, values survive a save; filled with pypdf and rendered
with Poppler (pdftoppm) and PDFium."""
from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import pikepdf
import pypdfium2 as pdfium
import pytest
from PIL import Image, ImageChops
from pypdf import PdfReader, PdfWriter

DPI = 100
INK = 60  # a grey-level change that is drawn ink, not anti-aliasing noise


def typical_entry(width: float) -> str:
    """The longest entry a field of this width (points) is there for: a set's load and
    reps in a log column, a range in a target column, a number in a narrow one."""
    return "2–3 × 10–15" if width >= 60 else "27.5 × 12" if width >= 30 else "38.25"


def _rect(widget) -> tuple[float, float, float, float]:
    """(left, bottom, right, top) of a widget read with pikepdf or pypdf."""
    rect = [float(v) for v in widget["/Rect"]]
    xs, ys = sorted(rect[0::2]), sorted(rect[1::2])
    return xs[0], ys[0], xs[1], ys[1]


@pytest.fixture(scope="module")
def filled(built_default, tmp_path_factory) -> tuple[Path, Path, dict[str, str]]:
    """The default guide with every field filled by pypdf, saved; and the values."""
    source = built_default.output
    writer = PdfWriter(clone_from=source)
    values: dict[str, str] = {}
    for page in writer.pages:
        fields = {}
        for annotation in page.get("/Annots", []):
            widget = annotation.get_object()
            if widget.get("/FT") == "/Tx":
                left, _, right, _ = _rect(widget)
                fields[widget["/T"]] = typical_entry(right - left)
            elif widget.get("/FT") == "/Btn":
                fields[widget["/T"]] = "/on"
        if fields:
            writer.update_page_form_field_values(page, fields, auto_regenerate=False)
            values.update(fields)
    out = tmp_path_factory.mktemp("filled") / "filled.pdf"
    writer.write(out)
    return source, out, values


def test_every_widget_has_its_appearances_and_no_viewer_is_asked_to_make_them(built_default):
    # Before: 271 text fields without an appearance stream, /NeedAppearances true, checkboxes
    # without an Off appearance, a fixed 8 pt font, links without flags.
    with pikepdf.open(built_default.output) as pdf:
        assert "/NeedAppearances" not in pdf.Root.AcroForm
        widgets = [a for page in pdf.pages for a in page.obj.get("/Annots", [])
                   if a.get("/Subtype") == "/Widget"]
        # One widget per field, every field of the trackers (the third edition: 419).
        assert len(widgets) == len(pdf.Root.AcroForm.Fields) > 400
        for widget in widgets:
            normal = widget.AP.N
            if widget.FT == "/Tx":
                assert isinstance(normal, pikepdf.Stream) and str(widget.DA).endswith(" 0 Tf")
            else:
                assert set(normal.keys()) == {"/on", "/Off"} and widget.AS == "/Off"
        for page in pdf.pages:
            annotations = page.obj.get("/Annots", [])
            assert all(int(a.F) & 4 for a in annotations)
            assert not annotations or page.obj.Tabs == "/S"


def _poppler(path: Path, index: int) -> Image.Image:
    with tempfile.TemporaryDirectory() as folder:
        subprocess.run(["pdftoppm", "-r", str(DPI), "-gray", "-png", "-f", str(index + 1),
                        "-l", str(index + 1), str(path), f"{folder}/page"], check=True)
        return Image.open(next(Path(folder).glob("*.png"))).convert("L")


def _pdfium(path: Path, index: int) -> Image.Image:
    document = pdfium.PdfDocument(path)
    try:
        document.init_forms()
        return document[index].render(scale=DPI / 72, may_draw_forms=True).to_pil().convert("L")
    finally:
        document.close()


@pytest.mark.parametrize("render", [_poppler, _pdfium], ids=["poppler", "pdfium"])
def test_every_filled_value_is_drawn_whole(filled, render):
    """Each field's ink (the filled render minus the empty one) is there, and stops short of
    the field's edges: a clipped value runs into them."""
    empty, full, values = filled
    blank, clipped = [], []
    with pikepdf.open(full) as pdf:
        for index, page in enumerate(pdf.pages):
            widgets = [a for a in page.obj.get("/Annots", []) if a.get("/Subtype") == "/Widget"]
            if not widgets:
                continue
            height = float(page.mediabox[3])
            before, after = render(empty, index), render(full, index)
            for widget in widgets:
                left, bottom, right, top = _rect(widget)
                box = tuple(round(v * DPI / 72) for v in (left, height - top, right,
                                                          height - bottom))
                ink = ImageChops.difference(after.crop(box), before.crop(box)).point(
                    lambda v: 255 if v > INK else 0).getbbox()
                if ink is None:
                    blank.append(str(widget.T))
                elif widget.FT == "/Tx" and (ink[0] <= 0 or ink[2] >= box[2] - box[0] - 1):
                    clipped.append((str(widget.T), values[str(widget.T)]))
    assert not blank and not clipped, (blank[:5], clipped[:5])


def test_the_values_survive_a_save_and_reopen(filled):
    _, full, values = filled
    with pikepdf.open(full) as pdf:
        again = {str(a.T): str(a.V) for page in pdf.pages for a in page.obj.get("/Annots", [])
                 if a.get("/Subtype") == "/Widget"}
    assert again == values
    fields = PdfReader(full).get_fields()
    assert {name: str(field.get("/V")) for name, field in fields.items()
            if name in values} == values
