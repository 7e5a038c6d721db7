"""Who gets the welcome email: address checks, header-safe names, and the subscribers CSV."""
from __future__ import annotations

import codecs
import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from .display import display_text
from .errors import RecipientError

_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LOCAL = re.compile(rf"^{_ATOM}(?:\.{_ATOM})*$")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_DOMAIN = re.compile(rf"^(?:{_LABEL}\.)+(?:[A-Za-z]{{2,63}}|xn--[A-Za-z0-9-]{{1,59}})$")


@dataclass(frozen=True)
class Recipient:
    address: str
    name: str = ""
    line: int | None = None

    @property
    def key(self) -> str:
        """The send log's identity for this person (addresses compare case-insensitively)."""
        return self.address.lower()


def check_address(address: str, what: str = "address") -> str:
    """Return the address (domain lower-cased, IDN as punycode) or raise RecipientError."""
    address = display_text(address, what, limit=320)
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain:
        raise RecipientError(f"{what}: '{address}' is not an email address (expected name@domain)")
    if not local.isascii():
        raise RecipientError(f"{what}: '{address}': non-ASCII before the @ is not supported")
    domain = _ascii_domain(domain, address, what)
    if not _LOCAL.match(local) or len(local) > 64:
        raise RecipientError(f"{what}: '{address}': the part before the @ is not valid")
    if not _DOMAIN.match(domain) or len(domain) > 253:
        raise RecipientError(f"{what}: '{address}': '{domain}' is not a valid mail domain")
    if len(local) + 1 + len(domain) > 254:
        raise RecipientError(f"{what}: '{address}' is longer than 254 characters")
    return f"{local}@{domain.lower()}"


def _ascii_domain(domain: str, address: str, what: str) -> str:
    if domain.isascii():
        return domain
    try:
        return domain.encode("idna").decode("ascii")
    except UnicodeError:
        raise RecipientError(
            f"{what}: '{address}': '{domain}' is not a valid mail domain") from None


def recipient(address: str, name: str = "", line: int | None = None) -> Recipient:
    """One checked recipient; the name may be empty."""
    return Recipient(check_address(address), display_text(name or "", "name"), line)


@dataclass
class RecipientList:
    """A subscribers file read in full: who to send to, and the rows that were skipped."""

    recipients: list[Recipient] = field(default_factory=list)
    problems: list[RecipientError] = field(default_factory=list)
    duplicates: list[RecipientError] = field(default_factory=list)


def read_list(path: Path) -> RecipientList:
    """Read ``email,name`` rows; a bad row is recorded with its line number and skipped."""
    # Only CR and LF end a row: U+2028 and friends inside a name must not split it.
    rows = csv.reader(io.StringIO(_read_text(path), newline=""), strict=True)
    columns = _header(rows, path)
    result, seen = RecipientList(), {}
    for line, row in _numbered(rows, path, result):
        _add_row(result, seen, columns, row, line, path)
    return result


_SAVE_AS = ("save it as UTF-8 (in Excel: Save As → 'CSV UTF-8'; in Numbers or Google Sheets, "
            "CSV export is UTF-8 already)")


def _read_text(path: Path) -> str:
    """The file as text: UTF-8, with or without a byte-order mark, and nothing else."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise RecipientError("subscriber list not found", path) from None
    except OSError as exc:
        raise RecipientError(f"cannot read the subscriber list: {exc.strerror or exc}",
                             path) from None
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or _looks_utf16(data):
        raise RecipientError(f"the subscriber list is saved as UTF-16: {_SAVE_AS}", path)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise RecipientError(f"the subscriber list is not UTF-8 (byte 0x{data[exc.start]:02x} "
                             f"here; probably Latin-1 or Windows-1252): {_SAVE_AS}",
                             path, line) from None


def _looks_utf16(data: bytes) -> bool:
    """UTF-16 without a byte-order mark: text with a zero byte in every other place."""
    head = data[:200]
    return len(head) >= 4 and (head[1::2].count(0) > len(head) // 4
                               or head[0::2].count(0) > len(head) // 4)


@dataclass(frozen=True)
class _Columns:
    email: int
    name: int | None
    width: int


def _header(rows, path: Path) -> _Columns:
    try:
        header = [cell.strip().lower() for cell in next(rows)]
    except StopIteration:
        raise RecipientError("the subscriber list is empty (expected a header row: email,name)",
                             path, 1) from None
    except csv.Error as exc:
        raise RecipientError(f"the header row is not valid CSV: {exc}", path, 1) from None
    if "email" not in header:
        hint = " (the first row looks like an address: add a header row)" if any(
            "@" in cell for cell in header) else ""
        raise RecipientError(f"the header row must name an 'email' column, e.g. email,name{hint}",
                             path, 1)
    name = header.index("name") if "name" in header else None
    return _Columns(header.index("email"), name, len(header))


def _numbered(rows, path: Path, result: RecipientList):
    """Yield (first line of the row, row); a row the csv module rejects becomes a problem."""
    line = rows.line_num + 1
    while True:
        try:
            row = next(rows)
        except StopIteration:
            return
        except csv.Error as exc:
            result.problems.append(RecipientError(f"malformed CSV row: {exc}", path, line))
            line = rows.line_num + 1
            continue
        yield line, row
        line = rows.line_num + 1


def _add_row(result: RecipientList, seen: dict[str, int], columns: _Columns,
             row: list[str], line: int, path: Path) -> None:
    if not any(cell.strip() for cell in row):
        return
    if len(row) != columns.width:
        result.problems.append(RecipientError(
            f"expected {columns.width} columns, found {len(row)} (quote a name that "
            "contains a comma)", path, line))
        return
    name = row[columns.name] if columns.name is not None else ""
    try:
        person = recipient(row[columns.email], name, line)
    except RecipientError as error:
        result.problems.append(RecipientError(error.message, path, line))
        return
    if person.key in seen:
        result.duplicates.append(RecipientError(
            f"{person.address} is listed again (first on line {seen[person.key]}); skipped",
            path, line))
        return
    seen[person.key] = line
    result.recipients.append(person)
