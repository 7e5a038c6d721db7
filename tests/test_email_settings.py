"""The email stage's input checks: guide.yaml's email section, SMTP env settings, recipients."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import given, strategies as st

from leadguide.email.errors import RecipientError, SmtpError
from leadguide.email.recipients import check_address, read_list, recipient
from leadguide.email.settings import load_email_settings, smtp_settings
from leadguide.errors import ConfigError, GuideError
from leadguide.guide.config import load_config

SAMPLE = Path(__file__).parent / "sample_guide"
EMAIL = """\
email:
  from: Test Clinic <coach@example.com>
  reply_to: Front Desk <desk@example.com>
  subject: "Your free guide"
  unsubscribe_mailto: unsubscribe@example.com
  unsubscribe_url: https://example.com/unsubscribe/{token}
  postal_address: "Test Clinic · 1 Test Street · Testville"
  attachment_name: The Sample Guide.pdf
"""


def guide_with(tmp_path: Path, email: str):
    root = tmp_path / "guide"
    shutil.copytree(SAMPLE, root)
    path = root / "guide.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text + email, encoding="utf-8")
    return load_config(root), len(text.splitlines())


def errors_of(error: GuideError) -> list[GuideError]:
    return getattr(error, "errors", [error])


def test_the_full_section_is_read(tmp_path):
    config, _ = guide_with(tmp_path, EMAIL)
    settings = load_email_settings(config)
    assert str(settings.sender) == "Test Clinic <coach@example.com>"
    assert settings.sender.addr_spec == "coach@example.com"
    assert str(settings.reply_to) == "Front Desk <desk@example.com>"
    assert settings.attach is True and settings.download_url is None
    assert settings.attachment_name == "The Sample Guide.pdf"
    assert settings.budget.warn_bytes == 5_000_000 and settings.budget.max_bytes == 10_000_000
    assert settings.unsubscribe_link("T.sig") == "https://example.com/unsubscribe/T.sig"
    with pytest.raises(GuideError, match="LEADGUIDE_SECRET"):
        settings.unsubscribe_link()  # never the URL without its token


def test_an_unsubscribe_url_with_the_plain_address_is_refused_with_the_fix(tmp_path):
    config, before = guide_with(tmp_path, EMAIL.replace("/{token}", "?e={email}"))
    with pytest.raises(ConfigError) as caught:
        load_email_settings(config)
    (error,) = errors_of(caught.value)
    assert error.line == before + 6
    assert "plain address" in error.message and "{token}" in error.message


@pytest.mark.parametrize("extra, mode, attach", [
    ("", "attach", True),
    ("  delivery: both\n  download_url: https://example.com/g.pdf\n", "both", True),
    ("  delivery: link\n  download_url: https://example.com/g.pdf\n", "link", False),
    ("  download_url: https://example.com/g.pdf\n", "link", False),  # as before the key
    ("  attach: true\n  download_url: https://example.com/g.pdf\n", "attach", True),
])
def test_delivery_modes_are_read(tmp_path, extra, mode, attach):
    config, _ = guide_with(tmp_path, EMAIL + extra)
    settings = load_email_settings(config)
    assert (settings.delivery, settings.attach) == (mode, attach)


@pytest.mark.parametrize("extra, message", [
    ("  delivery: post\n", "must be attach, link or both, not 'post'"),
    ("  delivery: link\n", "'delivery: link' needs a 'download_url'"),
    ("  delivery: both\n", "'delivery: both' needs a 'download_url'"),
    ("  delivery: link\n  attach: true\n  download_url: https://example.com/g.pdf\n",
     "contradicts"),
])
def test_bad_delivery_modes_are_refused_with_their_line(tmp_path, extra, message):
    config, before = guide_with(tmp_path, EMAIL + extra)
    with pytest.raises(ConfigError) as caught:
        load_email_settings(config)
    (error,) = errors_of(caught.value)
    assert message in error.message and error.line == before + 9


def test_the_default_guides_email_section_is_valid():
    settings = load_email_settings(load_config(Path(__file__).parents[1] / "guide"))
    assert settings.sender.addr_spec == "coach@insideoutstrength.com"
    assert settings.unsubscribe_url is None and settings.unsubscribe_mailto  # no plain address


def test_a_missing_section_says_what_to_add(tmp_path):
    config, _ = guide_with(tmp_path, "")
    with pytest.raises(ConfigError, match="no 'email:' section") as caught:
        load_email_settings(config)
    assert caught.value.path.name == "guide.yaml"


def test_every_problem_is_reported_with_its_line(tmp_path):
    config, offset = guide_with(tmp_path, """\
email:
  from: not an address
  subject: "Hi\\r\\nBcc: everyone@example.com"
  unsubscribe_url: http://example.com/unsubscribe
  postal_address: "1 Test Street"
  attachment_name: ../guide.doc
  max_attachment_mb: 2
  warn_attachment_mb: 3
  colour: red
""")
    with pytest.raises(GuideError) as caught:
        load_email_settings(config)
    problems = errors_of(caught.value)
    assert all(isinstance(e, ConfigError) and e.path.name == "guide.yaml" for e in problems)
    found = {(e.line - offset, e.message.split(" ")[0]) for e in problems}
    assert {(9, "unknown"), (2, "'email.from':"), (3, "'email.subject'"),
            (4, "'email.unsubscribe_url'"), (6, "'email.attachment_name'"),
            (8, "'email.warn_attachment_mb'")} <= found
    assert "line break" in next(e.message for e in problems if e.line - offset == 3)


def test_an_unsubscribe_route_is_required(tmp_path):
    config, _ = guide_with(tmp_path, """\
email:
  from: coach@example.com
  subject: Hi
  postal_address: "1 Test Street"
""")
    with pytest.raises(ConfigError, match="every email needs a way to unsubscribe"):
        load_email_settings(config)


def test_link_instead_of_attachment(tmp_path):
    config, _ = guide_with(tmp_path, EMAIL + "  download_url: https://example.com/guide.pdf\n")
    assert load_email_settings(config).attach is False
    config, _ = guide_with(tmp_path / "2", EMAIL + "  attach: false\n")
    with pytest.raises(ConfigError, match="needs a 'download_url'"):
        load_email_settings(config)


def test_the_send_log_lives_inside_the_guide_folder(tmp_path):
    config, _ = guide_with(tmp_path, EMAIL + "  send_log: build/send-log.sqlite\n")
    assert load_email_settings(config).send_log == config.root / "build" / "send-log.sqlite"
    outside = tmp_path.parent / f"{tmp_path.name}-outside"
    outside.mkdir()
    for n, (value, reason) in enumerate([("../state/log.sqlite", "leads outside"),
                                         ("state/log.sqlite", "leads outside"),
                                         ("/tmp/log.sqlite", "inside the guide folder"),
                                         ("~/log.sqlite", "inside the guide folder"),
                                         ("build/log.db", "end in .sqlite")]):
        config, _ = guide_with(tmp_path / str(n), EMAIL + f"  send_log: {value}\n")
        if value.startswith("state/"):
            (config.root / "state").symlink_to(outside)
        with pytest.raises(ConfigError, match=reason) as error:
            load_email_settings(config)
        assert error.value.line is not None


# SMTP settings from the environment

def test_smtp_settings_from_the_environment():
    settings = smtp_settings({"LEADGUIDE_SMTP_HOST": "smtp.example.com",
                              "LEADGUIDE_SMTP_USER": "me", "LEADGUIDE_SMTP_PASSWORD": "s3cret-pw"})
    assert (settings.port, settings.security, settings.timeout) == (587, "starttls", 30.0)
    assert "s3cret-pw" not in repr(settings)
    assert smtp_settings({"LEADGUIDE_SMTP_HOST": "h.example.com",
                          "LEADGUIDE_SMTP_SECURITY": "ssl"}).port == 465


@pytest.mark.parametrize("env, message", [
    ({}, "LEADGUIDE_SMTP_HOST is not set"),
    ({"LEADGUIDE_SMTP_HOST": "smtp.example.com", "LEADGUIDE_SMTP_SECURITY": "none"},
     "only allowed for localhost"),
    ({"LEADGUIDE_SMTP_HOST": "localhost", "LEADGUIDE_SMTP_SECURITY": "tls"},
     "must be starttls, ssl or none"),
    ({"LEADGUIDE_SMTP_HOST": "localhost", "LEADGUIDE_SMTP_PORT": "smtp"}, "PORT must be"),
    ({"LEADGUIDE_SMTP_HOST": "localhost", "LEADGUIDE_SMTP_PASSWORD": "pw"}, "set both"),
    ({"LEADGUIDE_SMTP_HOST": "localhost", "LEADGUIDE_SMTP_CA_FILE": "/nope.pem"}, "no such file"),
])
def test_bad_smtp_settings_are_refused(env, message):
    with pytest.raises(SmtpError, match=message):
        smtp_settings(env)


def test_plain_smtp_is_allowed_to_localhost_only():
    for host in ("localhost", "127.0.0.1", "::1"):
        assert smtp_settings({"LEADGUIDE_SMTP_HOST": host,
                              "LEADGUIDE_SMTP_SECURITY": "none"}).port == 25


# Recipients

@pytest.mark.parametrize("address", [
    "jane@example.com", "jane.doe+guide@mail.example.co.uk", "o'brien@example.ie",
    "x@xn--bcher-kva.example"])
def test_good_addresses(address):
    assert check_address(address) == address


def test_an_international_domain_is_sent_as_punycode():
    assert check_address("anna@bücher.example") == "anna@xn--bcher-kva.example"


@pytest.mark.parametrize("address", [
    "", "jane", "jane@", "@example.com", "jane@example", "jane..doe@example.com",
    "jane doe@example.com", "jane@exa_mple.com", "jane@-example.com", "jöse@example.com",
    "jane@example.com\r\nBcc: all@example.com", "a" * 65 + "@example.com"])
def test_bad_addresses_are_refused(address):
    with pytest.raises(RecipientError):
        check_address(address)


@given(st.text(), st.sampled_from(["\r", "\n", "\r\n"]), st.text())
def test_a_line_break_anywhere_in_a_name_is_refused(before, newline, after):
    with pytest.raises(RecipientError, match="line break"):
        recipient("jane@example.com", before + newline + after)


def write_csv(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "subscribers.csv"
    path.write_bytes(text.encode("utf-8"))
    return path


def test_a_subscriber_list_with_bad_rows(tmp_path):
    path = write_csv(tmp_path, (
        "\ufeffEmail,Name\r\n"
        "ann@example.com,Ann\r\n"
        "not-an-address,Bob\r\n"
        "cat@example.com\r\n"
        "\r\n"
        "\"dan@example.com\",\"Dan\r\nBcc: x@example.com\"\r\n"
        "eve@example.com,\"Eve, Jr\"\r\n"
        "ANN@example.com,Ann again\r\n"
        "fay@example.com,Fay\r\n"))
    listed = read_list(path)
    assert [(p.address, p.name, p.line) for p in listed.recipients] == [
        ("ann@example.com", "Ann", 2), ("eve@example.com", "Eve, Jr", 8),
        ("fay@example.com", "Fay", 10)]
    assert [(e.line, e.path) for e in listed.problems] == [(3, path), (4, path), (6, path)]
    assert "not an email address" in listed.problems[0].message
    assert "expected 2 columns, found 1" in listed.problems[1].message
    assert "line break" in listed.problems[2].message
    assert [(e.line, "first on line 2" in e.message) for e in listed.duplicates] == [(9, True)]


def test_a_list_without_a_header_row_is_refused(tmp_path):
    with pytest.raises(RecipientError, match="add a header row") as caught:
        read_list(write_csv(tmp_path, "ann@example.com,Ann\n"))
    assert caught.value.line == 1


def test_a_broken_quote_is_reported_and_the_rest_read(tmp_path):
    text = 'email,name\nann@example.com,"An"n\nbo@example.com,Bo\n'
    listed = read_list(write_csv(tmp_path, text))
    assert [p.address for p in listed.recipients] == ["bo@example.com"]
    assert [e.line for e in listed.problems] == [2]


def test_a_postal_address_may_span_lines(tmp_path):
    config, _ = guide_with(tmp_path, EMAIL.replace(
        '  postal_address: "Test Clinic · 1 Test Street · Testville"\n',
        "  postal_address: |\n    Test Clinic\n    1 Test Street\n"))
    assert load_email_settings(config).postal_address == "Test Clinic\n1 Test Street"


ROWS = "email,name\nann@example.com,Anné Müller\nbob@example.com,Bob “Bobby” Ōta\n"


@pytest.mark.parametrize("encoding, kind", [
    ("utf-16", "UTF-16"), ("utf-16-le", "UTF-16"), ("utf-16-be", "UTF-16"),
    ("latin-1", "not UTF-8"), ("cp1252", "not UTF-8")])
def test_a_list_in_another_encoding_says_save_it_as_utf8(tmp_path, encoding, kind):
    text = ROWS.replace("Ō", "O")
    if encoding == "latin-1":
        text = text.replace("“", '"').replace("”", '"')
    path = tmp_path / "subscribers.csv"
    path.write_bytes(text.encode(encoding))
    with pytest.raises(RecipientError) as caught:
        read_list(path)
    message = str(caught.value)
    assert kind in message and "save it as UTF-8" in message
    assert message.startswith(f"{path}:2: " if kind == "not UTF-8" else f"{path}: ")


def test_a_utf8_list_with_a_byte_order_mark_is_read(tmp_path):
    path = tmp_path / "subscribers.csv"
    path.write_bytes(ROWS.encode("utf-8-sig"))
    assert [p.name for p in read_list(path).recipients] == ["Anné Müller", "Bob “Bobby” Ōta"]


@pytest.mark.parametrize("separator", ["\r", "\n", "\r\n", "\u2028", "\u2029", "\x85", "\x0b"])
def test_a_line_break_inside_a_quoted_name_is_a_bad_row_not_two(tmp_path, separator):
    path = tmp_path / "subscribers.csv"
    path.write_bytes((f'email,name\n"eve@example.com","Eve{separator}Bcc: x@example.net"\n'
                      "fay@example.com,Fay\n").encode())
    listed = read_list(path)
    [problem] = listed.problems
    assert problem.line == 2 and "not allowed in an email header" in problem.message
    line_breaks = separator.count("\n") + (separator == "\r")
    assert [(p.address, p.line) for p in listed.recipients] == [("fay@example.com",
                                                                 3 + line_breaks)]
