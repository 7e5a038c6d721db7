"""PDF/UA-1 as page-validation judges it: the fixes that make WeasyPrint's output pass, the
claim kept only when it does, and `check`'s pdf-ua report."""
from __future__ import annotations

import re
from io import BytesIO
from pathlib import Path

import page
import pikepdf
import pytest
import weasyprint
from conftest import assert_pdf_ua_1
from tagtexts import field_cell_headers as cell_headers

from leadguide.build import build, unconforming
from leadguide.check import run_checks
from leadguide.errors import ConformanceError, GuideError
from leadguide.guide.config import PDF_STANDARDS, load_config
from leadguide.pdf.conformance import Failure, claims, validate
from leadguide.pdf.standards import STANDARDS
from leadguide.pdf.tags import fix_tags
from leadguide.pdf.unicode import read_cmap
from leadguide.pdf.write import Unconforming, write_atomically

LISTS = """<html lang="en"><head><title>Lists</title></head><body>
<ul><li><p>A paragraph</p><div>and a block in one item</div></li><li><p>Two</p></li></ul>
<ul style="list-style: none; padding: 0; columns: 2">
  <li><a href="#end">one</a></li><li><a href="#end">two</a></li>
  <li><a href="#end">three</a></li><li><a href="#end">four</a></li></ul>
<h1 id="end">The end</h1></body></html>"""


def _render(html: str) -> bytes:
    return weasyprint.HTML(string=html).write_pdf(pdf_variant="pdf/ua-1")


def _rules(pdf: bytes) -> set[str]:
    return {failure.rule_id for failure in page.validate_pdf_bytes(pdf, profile="ua1").failures}


def _tags(pdf: bytes) -> list[tuple[str, list[str]]]:
    """Each L, LI and TOC element's tag with its kids' tags."""
    found = []
    with pikepdf.open(BytesIO(pdf)) as document:
        for obj in document.objects:
            if isinstance(obj, pikepdf.Dictionary) and obj.get("/S") in ("/L", "/LI", "/TOC"):
                kids = obj.get("/K")
                kids = list(kids) if isinstance(kids, pikepdf.Array) else [kids]
                found.append((str(obj.S), [str(k.S) for k in kids
                                           if isinstance(k, pikepdf.Dictionary) and "/S" in k]))
    return found


def test_lists_nest_as_pdf_ua_asks_after_fix_tags():
    raw = _render(LISTS)
    assert "PDFUA1-LI-KIDS-001" in _rules(raw)  # WeasyPrint: P and Div straight under LI
    fixed = fix_tags(raw, "en")
    assert _rules(fixed) == set()
    for tag, kids in _tags(fixed):
        allowed = {"/L": {"/LI", "/Caption"}, "/LI": {"/Lbl", "/LBody"},
                   "/TOC": {"/TOCI", "/TOC", "/Caption"}}[tag]
        assert set(kids) <= allowed, (tag, kids)
    # the two-column list of links is one contents list of four items, not L > TOC, TOC
    tocs = [kids for tag, kids in _tags(fixed) if tag == "/TOC" and kids]
    assert tocs == [["/TOCI"] * 4]


def _with_bom_mapping(pdf: bytes) -> bytes:
    """The PDF with a glyph of its first font mapped to U+FEFF, as Inter's whole font is."""
    with pikepdf.open(BytesIO(pdf)) as document:
        font = next(f for f in document.pages[0].Resources.Font.values() if "/ToUnicode" in f)
        cmap = font.ToUnicode.read_bytes()
        count = re.search(rb"(\d+) beginbfchar", cmap)
        cmap = cmap.replace(count.group(0), b"%d beginbfchar" % (int(count.group(1)) + 1), 1)
        font.ToUnicode.write(cmap.replace(b"endbfchar", b"<0ffe> <feff>\nendbfchar", 1))
        out = BytesIO()
        document.save(out)
        return out.getvalue()


def test_no_tounicode_value_is_a_null_or_byte_order_mark():
    broken = _with_bom_mapping(_render("<html lang='en'><title>T</title><p>Hello, world</p>"))
    assert "PDFUA1-FONT-UNICODE-VALUE-001" in _rules(broken)
    fixed = fix_tags(broken, "en")
    assert _rules(fixed) == set()
    with pikepdf.open(BytesIO(fixed)) as document:
        maps = [read_cmap(f.ToUnicode.read_bytes())
                for f in document.pages[0].Resources.Font.values() if "/ToUnicode" in f]
    texts = {text for mapping in maps for text in mapping.values()}
    assert {"H", "e", "l", "o", ","} <= texts and not {"\ufeff", "\ufffe", "\x00"} & texts


def _untitled(pdf: bytes) -> bytes:
    """A PDF/UA failure fix_tags does not mend: no document title."""
    with pikepdf.open(BytesIO(pdf)) as document:
        del document.Root.ViewerPreferences["/DisplayDocTitle"]
        out = BytesIO()
        document.save(out)
        return out.getvalue()


def test_a_pdf_that_fails_loses_its_claim_or_is_refused(tmp_path: Path):
    pdf = _untitled(_render("<html lang='en'><title>T</title><p>Hello</p>"))
    assert claims(pdf) == {"pdfuaid:part": "1"}  # WeasyPrint claims it whatever it holds
    target = tmp_path / "out.pdf"
    with pytest.raises(Unconforming) as refused:
        write_atomically(pdf, target, "en", strict=True)
    assert not target.exists()
    assert refused.value.failures and all(f.rule.startswith("PDFUA1-")
                                          for f in refused.value.failures)
    written = write_atomically(pdf, target, "en")
    assert written.failures == refused.value.failures
    assert claims(target.read_bytes()) == {}
    assert validate(target.read_bytes())  # the file is still not PDF/UA-1, and says nothing


def test_a_build_names_the_chapter_whose_page_breaks_a_rule(built_sample, sample_guide):
    result, _ = built_sample
    span = result.spans[-1]
    errors = unconforming([Failure("PDFUA1-X", "a rule", span.last), Failure("PDFUA1-Y", "b")],
                          result.spans, load_config(sample_guide))
    assert all(isinstance(error, ConformanceError) for error in errors)
    assert errors[0].path.name == span.path.name and f"(p. {span.last})" in str(errors[0])
    assert errors[1].path.name == "guide.yaml"


def test_check_reports_each_failure_with_its_page(sample_guide: Path, tmp_path: Path,
                                                  built_sample):
    result, _ = built_sample
    pdf = tmp_path / "sample.pdf"
    pdf.write_bytes(_untitled(result.output.read_bytes()))
    found = [r for r in run_checks(sample_guide, pdf) if r.name == "pdf-ua"]
    assert found and all(r.status == "fail" for r in found)
    assert any("claims PDF/UA-1" in r.message for r in found)
    passing = [r for r in run_checks(sample_guide, result.output) if r.name == "pdf-ua"]
    assert [r.status for r in passing] == ["pass"]


def test_the_sample_guide_passes_pdf_ua_1(built_sample):
    assert_pdf_ua_1(built_sample[0].output)


SPANNED = """<html lang="en"><head><title>Sales</title></head><body><table>
<thead><tr><th rowspan="2">Region</th><th colspan="2">Q1</th><th colspan="2">Q2</th></tr>
<tr><th>Jan</th><th>Feb</th><th>Apr</th><th>May</th></tr></thead>
<tbody><tr><th colspan="5">Europe</th></tr>
<tr><th rowspan="2">North</th><td>n-jan</td><td rowspan="2">n-feb</td><td>n-apr</td><td>n-may</td></tr>
<tr><td>n2-jan</td><td colspan="2">n2-apr-may</td></tr>
<tr><th>South</th><td>s-jan</td><td>s-feb</td><td>s-apr</td><td>s-may</td></tr></tbody>
<tfoot><tr><th>Total</th><td colspan="4">all</td></tr></tfoot></table></body></html>"""


def test_cells_after_rowspans_and_colspans_name_their_headers(tmp_path: Path):
    pdf = tmp_path / "spanned.pdf"
    pdf.write_bytes(fix_tags(_render(SPANNED), "en"))
    cells, scopes = cell_headers(pdf)
    assert sorted(scopes) == ["/Column"] * 7 + ["/Row"] * 4
    assert cells["n-jan"] == ["Europe", "North", "Q1", "Jan"]
    assert cells["n-feb"] == ["Europe", "North", "Q1", "Feb"]
    assert cells["n2-jan"] == ["Europe", "North", "Q1", "Jan"]  # after North's rowspan
    assert cells["n2-apr-may"] == ["Europe", "North", "Q2", "Apr", "May"]  # after n-feb's
    assert cells["s-apr"] == ["Europe", "South", "Q2", "Apr"]
    assert cells["all"] == ["Total", "Q1", "Q2", "Jan", "Feb", "Apr", "May"]  # row by row
    assert _rules(pdf.read_bytes()) == set()


def test_a_guide_can_claim_pdf_a_3a_with_pdf_ua_1(sample_guide: Path, tmp_path: Path):
    config = sample_guide / "guide.yaml"
    config.write_text(config.read_text(encoding="utf-8") + "pdf_standard: a-3a+ua-1\n",
                      encoding="utf-8")
    result = build(sample_guide, out=tmp_path / "archive.pdf")  # strict: a failure raises
    data = result.output.read_bytes()
    for profile in ("3a", "ua1"):
        report = page.validate_pdf_bytes(data, profile=profile)
        assert report.is_compliant, [(f.rule_id, f.message) for f in report.failures]
    assert claims(data) == {"pdfuaid:part": "1", "pdfaid:part": "3", "pdfaid:conformance": "A"}
    with pikepdf.open(result.output) as pdf:
        [intent] = pdf.Root.OutputIntents
        assert intent.S == "/GTS_PDFA1" and intent.DestOutputProfile.N == 3
        assert "/NeedAppearances" not in pdf.Root.get("/AcroForm", {})
    found = [r for r in run_checks(sample_guide, result.output) if r.name == "pdf-ua"]
    assert [r.status for r in found] == ["pass"] and "PDF/A-3a" in found[0].message


def test_pdf_a_2b_claims_pdf_a_alone(built_sample, tmp_path: Path):
    target = tmp_path / "a2b.pdf"
    written = write_atomically(built_sample[0].output.read_bytes(), target, "en", strict=True,
                               standard="a-2b")
    assert written.failures == []
    assert claims(target.read_bytes()) == {"pdfaid:part": "2", "pdfaid:conformance": "B"}
    assert page.validate_pdf(target, profile="2b").is_compliant


def test_an_unknown_pdf_standard_is_an_error_with_its_line(sample_guide: Path):
    config = sample_guide / "guide.yaml"
    lines = config.read_text(encoding="utf-8").splitlines()
    config.write_text("\n".join([*lines, "pdf_standard: pdf/x-4"]) + "\n", encoding="utf-8")
    with pytest.raises(GuideError) as raised:
        load_config(sample_guide)
    assert raised.value.line == len(lines) + 1 and "a-3a+ua-1" in str(raised.value)


def test_the_standards_guide_yaml_accepts_are_the_ones_the_pdf_knows():
    assert set(PDF_STANDARDS) == set(STANDARDS)
