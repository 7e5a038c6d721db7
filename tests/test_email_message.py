"""The welcome email as built: MIME structure, headers, both parts, the PDF, the .eml command."""
from __future__ import annotations

import dataclasses
import email
import os
import re
import shutil
import unicodedata
from email.header import decode_header, make_header
from email.policy import SMTP, compat32, default
from email.utils import unquote
from pathlib import Path

import pytest
from hypothesis import given, settings as hypothesis_settings, strategies as st

from leadguide.build import build
from leadguide.cli import main
from leadguide.email.errors import EmailError
from leadguide.email.message import PersonalLinks, build_message, guide_key, prepare_attachment
from leadguide.email.recipients import recipient
from leadguide.email.settings import load_email_settings
from leadguide.email.unsubscribe import read_unsubscribe_token, unsubscribe_token
from leadguide.guide.config import load_config
from leadguide.limits import SizeBudget

SAMPLE = Path(__file__).parent / "sample_guide"
EMAIL = """\
email:
  from: Test Clinic <coach@example.com>
  reply_to: Front Desk <desk@example.com>
  subject: "Your free guide: the sample"
  unsubscribe_mailto: unsubscribe@example.com
  unsubscribe_url: https://example.com/unsubscribe/{token}
  postal_address: "Test Clinic · 1 Test Street · Testville"
  attachment_name: The Sample Guide.pdf
  text:
    next_step: "Turn to page 2 and start with the day-1 quick-win checklist."
"""


SECRET = "a-test-secret-that-is-long-enough-to-sign"


@pytest.fixture(autouse=True)
def secret(monkeypatch):
    """email build and send sign each unsubscribe token with the service's secret."""
    monkeypatch.setenv("LEADGUIDE_SECRET", SECRET)


def unsubscribe_url(config, address: str) -> str:
    return "https://example.com/unsubscribe/" + unsubscribe_token(SECRET, address,
                                                                  guide_key(config))


def signed(config, settings, person, attachment=None, **options):
    """build_message with the recipient's signed unsubscribe link, as email build/send make it."""
    links = PersonalLinks(settings.unsubscribe_link(unsubscribe_url(config, person.address)
                                                    .rsplit("/", 1)[1]))
    return build_message(config, settings, person, attachment, links=links, **options)


def copy_guide(target: Path, extra: str = EMAIL) -> Path:
    shutil.copytree(SAMPLE, target)
    config = target / "guide.yaml"
    config.write_text(config.read_text(encoding="utf-8") + extra, encoding="utf-8")
    return target


@pytest.fixture(scope="module")
def guide(tmp_path_factory):
    """The sample guide with an email section, and its PDF built once."""
    base = tmp_path_factory.mktemp("email-message")
    root = copy_guide(base / "guide")
    pdf = root / "build" / "sample.pdf"  # where every command looks for it: beside the guide
    build(root, out=pdf)
    config = load_config(root)
    return config, load_email_settings(config), pdf


@pytest.fixture(scope="module")
def message(guide):
    config, settings, pdf = guide
    attachment = prepare_attachment(config, settings, pdf)
    return signed(config, settings, recipient("jane@example.com", "Jane Doe"), attachment)


def parsed(message) -> email.message.EmailMessage:
    return email.message_from_bytes(message.as_bytes(policy=SMTP), policy=default)


def test_the_parts_nest_as_mail_clients_expect(message, guide):
    received = parsed(message)
    assert received.get_content_type() == "multipart/mixed"
    alternative, pdf_part = received.get_payload()
    assert alternative.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in alternative.get_payload()] == ["text/plain", "text/html"]
    assert pdf_part.get_content_type() == "application/pdf"
    assert pdf_part.get_content_disposition() == "attachment"
    assert pdf_part.get_filename() == "The Sample Guide.pdf"
    assert pdf_part.get_content().startswith(guide[2].read_bytes())  # personal: base + stamp
    assert [p for p in received.walk() if p is not received and "MIME-Version" in p] == []


def test_the_headers(message):
    received = parsed(message)
    assert received["From"] == "Test Clinic <coach@example.com>"
    assert received["To"].addresses[0].display_name == "Jane Doe"
    assert received["To"].addresses[0].addr_spec == "jane@example.com"
    assert received["Subject"] == "Your free guide: the sample"
    assert received["Reply-To"] == "Front Desk <desk@example.com>"
    assert received["Date"].datetime.tzinfo is not None
    assert re.fullmatch(r"<welcome\.[0-9a-f]{32}@example\.com>", received["Message-ID"])
    link = received["List-Unsubscribe"].split(",")[0].strip("<>")
    assert received["List-Unsubscribe"] == (f"<{link}>, "
                                            "<mailto:unsubscribe@example.com?subject=unsubscribe>")
    # A signed token for this guide and address, never the address itself.
    assert "jane" not in link and link.startswith("https://example.com/unsubscribe/")
    from leadguide.email.unsubscribe import address_id
    assert read_unsubscribe_token(SECRET, link.rsplit("/", 1)[1], "sample") == \
        address_id("Jane@Example.com")
    assert received["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_with_only_a_mailto_there_is_no_one_click_header(guide):
    config, settings, _ = guide
    mailto_only = dataclasses.replace(settings, unsubscribe_url=None,
                                      postal_address="Test Clinic\n1 Test Street")
    message = build_message(config, mailto_only, recipient("jane@example.com"), None)
    assert message["List-Unsubscribe"] == "<mailto:unsubscribe@example.com?subject=unsubscribe>"
    assert "List-Unsubscribe-Post" not in message
    text, html = parts(message)
    assert "Unsubscribe: mailto:unsubscribe@example.com?subject=unsubscribe" in text
    assert "Test Clinic\r\n1 Test Street" in text and "Test Clinic<br>1 Test Street" in html


def test_the_message_id_is_stable_per_recipient_and_guide(guide, message):
    config, settings, _ = guide
    again = signed(config, settings, recipient("JANE@example.com", "J"), None)
    other = signed(config, settings, recipient("john@example.com"), None)
    renamed = signed(dataclasses.replace(config, output="other.pdf"), settings,
                            recipient("jane@example.com"), None)
    assert again["Message-ID"] == message["Message-ID"]
    assert len({message["Message-ID"], other["Message-ID"], renamed["Message-ID"]}) == 3


def display_name(raw: str) -> str:
    """The To header's display name as a mail client shows it (RFC 2047 decoded, unquoted).

    (Python's own header parser puts a space between folded encoded-words, so decode here.)
    """
    phrase = raw[:raw.rindex("<")].strip()
    decoded = str(make_header(decode_header(phrase)))
    return unquote(decoded) if decoded.startswith('"') else decoded


@hypothesis_settings(max_examples=40, deadline=None)
@given(st.text(st.characters(blacklist_categories=("Cc", "Cf", "Co", "Cs", "Zl", "Zp")),
               max_size=40).filter(lambda name: "=?" not in unicodedata.normalize("NFKC", name)))
def test_any_name_survives_the_to_header(guide, name):
    config, settings, _ = guide
    person = recipient("jane@example.com", name)
    data = signed(config, settings, person, None).as_bytes(policy=SMTP)
    received = email.message_from_bytes(data, policy=compat32)
    assert received.get_all("To") and len(received.get_all("To")) == 1
    raw = received["To"].replace("\r\n", "")
    if not person.name:
        assert raw == "jane@example.com"
    else:
        assert raw.endswith("<jane@example.com>") and display_name(raw) == person.name


def parts(message) -> tuple[str, str]:
    received = parsed(message)
    return (received.get_body(("plain",)).get_content(),
            received.get_body(("html",)).get_content())


def test_the_html_has_its_css_inlined_and_needs_no_images(message):
    _, html = parts(message)
    styles = re.findall(r"<style[^>]*>(.*?)</style>", html, re.S)
    assert all(block.strip().startswith("@media") for block in styles)
    assert re.search(r'<h1 style="[^"]*font-size: 26px', html)
    assert re.search(r'<td class="button"[^>]*style="[^"]*background:', html)
    assert "<img" not in html and "url(" not in html


def test_both_parts_say_the_same(message, guide):
    config = guide[0]
    text, html = parts(message)
    plain_html = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("&rarr;", "")
    for words in ("Hi Jane,", "6 pages", "page 2", "day-1 quick-win checklist",
                  config.cta.heading, config.cta.text, "Test Clinic · 1 Test Street · Testville",
                  "The Sample Guide.pdf", "Unsubscribe"):
        assert words.lower() in text.lower(), words
        assert words.lower() in plain_html.lower(), words
    html_links = set(re.findall(r'href="([^"]+)"', html))
    text_links = set(re.findall(r"(?:https|mailto):\S+", text))
    assert html_links == text_links == {config.cta.url,
                                        unsubscribe_url(config, "jane@example.com")}


def test_a_name_is_escaped_in_html(guide):
    config, settings, _ = guide
    _, html = parts(signed(config, settings, recipient("a@example.com", "<b>Bo</b>"), None))
    assert "Hi &lt;b&gt;Bo&lt;/b&gt;," in html


def test_linking_instead_of_attaching(guide, tmp_path):
    config, settings, _ = guide
    linked = dataclasses.replace(settings, attach=False,
                                 download_url="https://example.com/files/guide.pdf")
    assert prepare_attachment(config, linked, tmp_path / "missing.pdf") is None
    message = signed(config, linked, recipient("jane@example.com"), None)
    received = parsed(message)
    assert received.get_content_type() == "multipart/alternative"
    text, html = parts(message)
    assert "https://example.com/files/guide.pdf" in text
    assert 'href="https://example.com/files/guide.pdf"' in html
    assert "attached" not in text.lower()


def test_over_the_size_limit_the_email_is_refused(guide):
    config, settings, pdf = guide
    small = dataclasses.replace(settings, budget=SizeBudget(50_000, 100_000))
    with pytest.raises(EmailError, match=r"over the 0\.1 MB limit.*email.download_url"):
        prepare_attachment(config, small, pdf)


def test_over_the_warning_size_it_warns(guide):
    config, settings, pdf = guide
    roomy = dataclasses.replace(settings, budget=SizeBudget(100_000, 10_000_000))
    attachment = prepare_attachment(config, roomy, pdf)
    assert attachment.encoded_size > 100_000
    assert "warn_attachment_mb" in attachment.warning
    assert prepare_attachment(config, settings, pdf).warning is None


def test_a_guide_can_override_the_templates(guide, tmp_path):
    root = copy_guide(tmp_path / "guide")
    own = root / "templates" / "email"
    own.mkdir(parents=True)
    (own / "welcome.txt").write_text("Howdy {{ first_name }}! {{ unsubscribe_link }}\n")
    config = load_config(root)
    text, html = parts(signed(config, load_email_settings(config),
                                     recipient("jane@example.com", "Jane Doe"), None))
    assert text.splitlines() == [f"Howdy Jane! {unsubscribe_url(config, 'jane@example.com')}"]
    assert "Hi Jane," in html


# The `leadguide email build` command

def test_email_build_builds_the_missing_pdf_and_writes_an_eml(tmp_path, monkeypatch, capsys):
    root = copy_guide(tmp_path / "guide")
    monkeypatch.chdir(tmp_path)
    assert main(["email", "build", str(root), "--to", "jane@example.com", "--name", "Jane"]) == 0
    out = capsys.readouterr()
    assert "Building the PDF first" in out.err
    eml = root / "build" / "welcome.eml"  # beside the guide, not in the current folder
    assert out.out.startswith(str(eml))
    data = eml.read_bytes()
    assert b"\n" not in data.replace(b"\r\n", b"")
    received = email.message_from_bytes(data, policy=default)
    pdf = next(p for p in received.walk() if p.get_content_type() == "application/pdf")
    assert pdf.get_content().startswith((root / "build" / "sample.pdf").read_bytes())


def test_email_build_shows_a_failed_strict_build_and_writes_nothing(tmp_path, monkeypatch, capsys):
    root = copy_guide(tmp_path / "guide")
    config = root / "guide.yaml"
    config.write_text(config.read_text().replace("pages: 6", "pages: 9"))
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out.eml"
    assert main(["email", "build", str(root), "--to", "jane@example.com", "--out", str(out)]) == 1
    assert "9 pages" in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize("args, error", [
    (["--to", "jane@example"], "'jane@example'"),
    (["--to", "jane@example.com", "--name", "Jane\r\nBcc: all@example.com"], "line break"),
])
def test_email_build_refuses_bad_input_before_building(tmp_path, monkeypatch, capsys, args, error):
    root = copy_guide(tmp_path / "guide")
    monkeypatch.chdir(tmp_path)
    assert main(["email", "build", str(root), *args]) == 1
    assert error in capsys.readouterr().err
    assert not os.path.exists(root / "build") and not os.path.exists(tmp_path / "build")


@pytest.mark.parametrize("command", ["build", "send"])
def test_each_email_command_has_help_with_an_example(command, capsys):
    assert main(["email", command, "--help"]) == 0
    assert f"leadguide email {command} guide --" in capsys.readouterr().out


@pytest.mark.parametrize("expression", [
    'cycler.__init__.__globals__.os.popen("echo pwned").read()',
    'lipsum.__globals__["os"].environ', "range(10**9) | list | length"])
def test_a_guides_email_template_runs_in_the_sandbox(guide, tmp_path, monkeypatch, capsys,
                                                      expression):
    root = copy_guide(tmp_path / "guide")
    own = root / "templates" / "email"
    own.mkdir(parents=True)
    (own / "welcome.txt").write_text(f"Hi\n{{{{ {expression} }}}}\n")
    monkeypatch.setenv("LEADGUIDE_SMTP_PASSWORD", "s3cret-in-env")
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "x.eml"
    code = main(["email", "build", str(root), "--to", "a@example.com", "--out", str(out)])
    err = capsys.readouterr().err
    assert (code, out.exists()) == (1, False), err
    assert "welcome.txt:2:" in err and "Traceback" not in err and "pwned" not in err


@pytest.mark.parametrize("name", ["Jane Doe", "Zoë Ünïcode-Ωmega", ""])
def test_the_pdf_spliced_in_gives_the_email_packages_bytes(guide, name):
    """compose() encodes the PDF once and splices it in; the message is the same, byte for
    byte, as the email package's own serialisation (the same boundaries drawn)."""
    import random
    from datetime import datetime, timezone

    from leadguide.email.message import PersonalLinks, compose
    config, settings, pdf = guide
    attachment = prepare_attachment(config, settings, pdf)
    person = recipient("zoe@example.com", name)
    links = PersonalLinks("https://guide.example.com/unsubscribe/t0ken",
                          "https://guide.example.com/download/d0wn")
    now = datetime(2026, 3, 1, 9, 30, tzinfo=timezone.utc)
    compose(config, settings, person, attachment, now, links)  # templates compiled first
    random.seed(7)
    whole = build_message(config, settings, person, attachment, now, links).as_bytes(policy=SMTP)
    random.seed(7)
    assert compose(config, settings, person, attachment, now, links).data == whole
    random.seed(8)
    linked = compose(config, settings, person, None, now, links).data
    random.seed(8)
    assert linked == build_message(config, settings, person, None, now, links).as_bytes(
        policy=SMTP)
