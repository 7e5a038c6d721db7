"""Personal copies (pdf/personal.py, email/personal.py) and the reading figures
(signup/readcounts.py, signup/readroutes.py): the default guide's real PDF stamped, read back
with PDFium, validated with page-validation; the service's /go/ and beacon routes on disk."""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import page
import pikepdf
import pypdfium2 as pdfium
import pytest
import zxingcpp
from conftest import DEFAULT
from starlette.testclient import TestClient

from leadguide.email.message import Attachment
from leadguide.email.personal import personal_copies
from leadguide.email.recipients import Recipient
from leadguide.guide.config import load_config
from leadguide.pdf.names import clean_name, direction
from leadguide.pdf.personal import plan_copies, stamp
from leadguide.signup.readcounts import GoLinks, Readings, funnel

CTA = load_config(DEFAULT).cta.url
GO = "https://signup.example.com/go/7.abcdefghijkl.0123456789abcdefghijklmnopq"
NAMES = {"Ana": "latin", "Ελένη": "greek", "فاطمة": "arabic", "美咲": "cjk", "Ana 🌸": "emoji"}


@pytest.fixture(scope="module")
def copies(built_default):
    """The default guide's PDF as the base of personal copies (a copy of it and its manifest,
    so the cache folder is the test's)."""
    folder = built_default.output.parent / "personal-test"
    folder.mkdir(exist_ok=True)
    pdf = folder / "guide.pdf"
    shutil.copy(built_default.output, pdf)
    shutil.copy(built_default.manifest_path(), folder / "guide.build.json")
    base = Attachment("guide.pdf", pdf.read_bytes(), pdf, False)
    return personal_copies(load_config(DEFAULT), base)


def _tail_stream(data: bytes) -> bytes:
    """The compressed body of the cover's stamp (the last content stream of page 1)."""
    with pikepdf.open(__import__("io").BytesIO(data)) as document:
        return document.pages[0].obj.Contents[-1].read_raw_bytes()


def cover_text(data: bytes) -> str:
    document = pdfium.PdfDocument(data)
    try:
        text = document[0].get_textpage()
        return text.get_text_range()
    finally:
        document.close()


@pytest.mark.parametrize("name", list(NAMES))
def test_a_name_in_any_script_is_on_the_cover_or_left_off_never_a_box(copies, name):
    copy = stamp(copies.plan(), name, {CTA: GO})
    text = cover_text(copy.pdf)
    assert copy.name == name, f"{NAMES[name]} name left off"
    # PDFium's page text runs left to right by position, so Arabic comes out in visual
    # order; the name's /ActualText (what assistive technology reads) is in reading order
    shown = name[::-1] if direction(name) == "rtl" else name
    assert f"Prepared for {shown}" in text.replace("\r\n", " ")
    if direction(name) == "rtl":
        actual = b"/ActualText <FEFF%s>" % name.encode("utf-16-be").hex().upper().encode()
        assert actual in __import__("zlib").decompress(_tail_stream(copy.pdf))
    assert "?" not in text and "\ufffd" not in text
    report = page.validate_pdf_bytes(copy.pdf, profile="ua1")
    assert report.is_compliant, [(f.rule_id, f.message) for f in report.failures]


def test_the_name_is_a_paragraph_in_the_tag_tree_before_the_footer(copies):
    copy = stamp(copies.plan(), "Ana", {})
    with pikepdf.open(__import__("io").BytesIO(copy.pdf)) as document:
        page_one = document.pages[0].obj
        tree = document.Root.StructTreeRoot.ParentTree.Nums
        marks = next(tree[i + 1] for i in range(0, len(tree), 2)
                     if int(tree[i]) == int(page_one.StructParents))
        element = marks[copies.plan().cover.mcid]
        assert element.S == "/P" and element.Pg.objgen == page_one.objgen
        kids = list(element.P.K)
        at = next(i for i, kid in enumerate(kids)
                  if isinstance(kid, pikepdf.Dictionary) and kid.objgen == element.objgen)
        assert at < len(kids) - 1  # the footer still comes after it


def test_names_no_font_covers_or_that_mix_directions_are_left_off(copies):
    for name in ("Ana محمد", "\U00013000\U00013001", "\u0378"):  # mixed; hieroglyphs; unassigned
        copy = stamp(copies.plan(), name, {})
        assert copy.name == ""
        assert "Prepared for" not in cover_text(copy.pdf)


def test_names_from_the_form_are_cleaned():
    assert clean_name("  Ana\u202e \u2066Maria\u2069\x00\n") == "Ana Maria"
    assert clean_name("A\u0301na") == "\u00c1na"  # NFC
    assert len(clean_name("x" * 500)) == 40
    assert clean_name("👩\u200d👩\u200d👧") == "👩\u200d👩\u200d👧"  # ZWJ kept in emoji
    assert direction("فاطمة") == "rtl" and direction("Ana") == "ltr"
    assert direction("Ana فاطمة") is None


def test_links_and_qr_code_lead_to_the_personal_address(copies):
    copy = stamp(copies.plan(), "Ana", {CTA: GO})
    assert copy.links >= 2
    with pikepdf.open(__import__("io").BytesIO(copy.pdf)) as document:
        uris = [str(a.A.URI) for p in document.pages for a in p.obj.get("/Annots", [])
                if "/A" in a and "/URI" in a.A]
    assert GO in uris and CTA not in uris
    spot = copies.plan().qrs[0]
    document = pdfium.PdfDocument(copy.pdf)
    try:
        image = document[spot.page].render(scale=4).to_pil()
    finally:
        document.close()
    assert GO in [found.text for found in zxingcpp.read_barcodes(image)]


def test_the_base_pdf_is_never_changed_and_a_resend_reads_the_cache(copies, monkeypatch):
    before = hashlib.sha256(copies.base.path.read_bytes()).hexdigest()
    person = Recipient("ana@example.com", "Ana")
    first = copies.attachment(person, GO)
    assert first.path != copies.base.path and first.data.startswith(copies.base.data)
    again = personal_copies(copies.config, copies.base)
    monkeypatch.setattr("leadguide.email.personal.stamp", None)  # a stamp would fail
    second = again.attachment(person, GO)
    assert second.data == first.data and second.path == first.path  # read back
    assert hashlib.sha256(copies.base.path.read_bytes()).hexdigest() == before
    assert len(first.data) <= 1.1 * len(copies.base.data)
    # The cache keeps what the stamp appended, not a whole copy per subscriber.
    assert first.path.stat().st_size == len(first.data) - len(copies.base.data)
    assert first.path.stat().st_size < 0.1 * len(copies.base.data)


def test_personalize_false_gives_everyone_the_base(tmp_path, copies):
    guide = tmp_path / "guide"
    shutil.copytree(DEFAULT, guide, ignore=shutil.ignore_patterns("build"))
    (guide / "guide.yaml").write_text((guide / "guide.yaml").read_text()
                                      + "personalize: false\n")
    assert personal_copies(load_config(guide), copies.base) is None


# ---- the reading figures

class _Service:
    """What the routes use of the service, on a real signup database."""

    def __init__(self, database: Path):
        from leadguide.signup.store import Store
        from leadguide.signup.tokens import Tokens

        self.store = Store(database)
        self.settings = type("S", (), {"database": database, "download_days": 30.0})()
        self.config = load_config(DEFAULT)
        self.base_url, self.guide = "http://testserver", "inside-out-strength-guide"
        self.secrets = type("K", (), {"secret": "s" * 32})()
        self.tokens = Tokens("s" * 32)


@pytest.fixture
def service(tmp_path):
    from leadguide.signup.store import Store  # noqa: F401 (the tables)

    svc = _Service(tmp_path / "signup.db")
    with svc.store.write() as db:
        db.execute("INSERT INTO subscribers (guide, address_id, address, name, status, "
                   "created_at) VALUES (?, ?, 'ana@example.com', 'Ana', 'confirmed', "
                   "'2026-12-07')", (svc.guide, "a" * 32))
    return svc


def _client(service) -> TestClient:
    from starlette.applications import Starlette

    from leadguide.signup.readroutes import reading_routes
    return TestClient(Starlette(routes=reading_routes(service)), follow_redirects=False)


def test_go_redirects_to_the_cta_and_counts_once(service):
    link = GoLinks(service.base_url, service.secrets.secret, service.guide).make(1, CTA)
    client = _client(service)
    for _ in range(2):
        answer = client.get(link.removeprefix(service.base_url))
        assert answer.status_code == 303 and answer.headers["location"] == CTA
        assert "set-cookie" not in answer.headers
    readings = Readings(service.settings.database)
    assert readings.people(service.guide, "click") == 1
    forged = link[:-3] + ("AAA" if not link.endswith("AAA") else "BBB")
    assert client.get(forged.removeprefix(service.base_url)).status_code == 404
    other = GoLinks(service.base_url, service.secrets.secret, service.guide).make(1, "https://evil.example")
    assert client.get(other.removeprefix(service.base_url)).status_code == 404  # not a target


def test_gpc_and_dnt_are_not_counted(service):
    link = GoLinks(service.base_url, service.secrets.secret, service.guide).make(1, CTA)
    read = service.tokens.download("ana@example.com", service.guide)
    client = _client(service)
    for header in ({"Sec-GPC": "1"}, {"DNT": "1"}):
        assert client.get(link.removeprefix(service.base_url), headers=header).status_code == 303
        assert client.post(f"/read/{read}/_seen?chapter=03-program&event=open",
                           headers=header).status_code == 204
    readings = Readings(service.settings.database)
    assert readings.daily(service.guide) == []


def test_beacons_count_once_per_day_and_show_in_the_funnel(service):
    from leadguide.signup.tokens import address_id

    with service.store.write() as db:
        db.execute("UPDATE subscribers SET address_id = ?", (address_id("ana@example.com"),))
    read = service.tokens.download("ana@example.com", service.guide)
    client = _client(service)
    for chapter in ("02-plan", "03-program", "02-plan"):
        assert client.post(f"/read/{read}/_seen?chapter={chapter}&event=open").status_code == 204
    assert client.get(f"/read/{read}/_seen?chapter=02-plan&event=end").status_code == 204
    assert client.get(f"/read/{read}/_seen?chapter=../x&event=open").status_code == 400
    assert client.get(f"/read/{read}x/_seen?chapter=02-plan&event=open").status_code == 404
    script = client.get(f"/read/{read}/_seen.js")
    assert "sendBeacon" in script.text and "globalPrivacyControl" in script.text
    steps = dict(funnel(Readings(service.settings.database), service.guide))
    assert steps["signed up"] == 1 and steps["opened"] == 1
    assert steps["read 02-plan"] == 1 and steps["read 03-program"] == 1
    with __import__("sqlite3").connect(service.settings.database) as db:
        columns = [row[1] for row in db.execute("PRAGMA table_info(reading_counts)")]
        assert columns == ["guide", "day", "subscriber", "chapter", "event"]
        assert db.execute("SELECT COUNT(*) FROM reading_counts").fetchone()[0] == 3


def test_the_manifest_records_the_cover_boxes_the_stamp_needs(built_default):
    manifest = json.loads(built_default.manifest_path().read_text())
    labels = [box[0] for box in manifest["page_fill"][0]["boxes"]]
    assert "cover-footer" in labels and "cover-byline" in labels
    plan = plan_copies(built_default.output.read_bytes(), None, (CTA,))
    assert plan.cover is None and plan.why_no_name  # without the boxes: no name, said why


def test_email_build_attaches_the_named_copy(built_default, tmp_path):
    """``leadguide email build --to … --name …`` (its library call) attaches Ana's copy."""
    import email
    from email import policy

    from leadguide.email.welcome import build_eml

    result = build_eml(DEFAULT, "ana@example.com", "Ana", out=tmp_path / "welcome.eml",
                       pdf=built_default.output)
    message = email.message_from_bytes(result.path.read_bytes(), policy=policy.default)
    pdf = next(p for p in message.iter_attachments()
               if p.get_content_type() == "application/pdf").get_content()
    assert pdf.startswith(built_default.output.read_bytes()) and pdf != built_default.output.read_bytes()
    assert "Prepared for Ana" in cover_text(pdf)


def test_a_new_base_pdf_starts_a_new_cache(copies, tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    shutil.copy(copies.base.path, folder / "guide.pdf")
    shutil.copy(copies.base.path.with_name("guide.build.json"), folder / "guide.build.json")
    person = Recipient("ana@example.com", "Ana")
    old = personal_copies(copies.config, Attachment("g.pdf", copies.base.data,
                                                   folder / "guide.pdf", False))
    first = old.attachment(person)
    rebuilt = copies.base.data + b"\n"  # as if built again: another digest
    (folder / "guide.pdf").write_bytes(rebuilt)
    new = personal_copies(copies.config, Attachment("g.pdf", rebuilt, folder / "guide.pdf",
                                                   False))
    second = new.attachment(person)
    assert second.data.startswith(rebuilt) and second.path.parent != first.path.parent
    assert not first.path.parent.exists()  # the old base's copies are gone


def test_personalize_is_checked_with_its_line(sample_guide):
    from leadguide.errors import GuideError

    config = sample_guide / "guide.yaml"
    config.write_text(config.read_text() + 'personalize: "Hello there"\n')
    with pytest.raises(GuideError) as raised:
        load_config(sample_guide)
    assert "personalize" in str(raised.value) and raised.value.line is not None
    config.write_text(config.read_text().replace('"Hello there"', '"Pour {name}"'))
    assert load_config(sample_guide).personalize == "Pour {name}"
