"""``leadguide signup suppress --import FILE``: a sending service's bounce or complaint export.

Reads the CSV exports of Amazon SES (suppression list: EmailAddress, Reason), Postmark
(suppressions/bounces: Email or EmailAddress, SuppressionReason or Type) and Mailgun (bounces,
complaints, unsubscribes: address, code/error): the address column is found by its header, the
reason from a reason/type column, or from ``--reason``, or from the file name.
"""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

from email_validator import EmailNotValidError, validate_email

from .errors import ImportProblem, SignupError
from .store import BOUNCED, COMPLAINED, UNSUBSCRIBED

_ADDRESS_HEADERS = ("emailaddress", "email", "address", "recipient", "emailaddr")
_REASON_HEADERS = ("reason", "suppressionreason", "type", "bouncetype", "event", "recordtype",
                   "error")


@dataclass
class Imported:
    addresses: list[tuple[str, str]] = field(default_factory=list)  # (address, reason)
    problems: list[ImportProblem] = field(default_factory=list)


def _norm(header: str) -> str:
    return re.sub(r"[^a-z]", "", header.lower())


def classify(text: str, default: str) -> str:
    text = text.lower()
    if re.search(r"complain|spam|abuse", text):
        return COMPLAINED
    if re.search(r"unsub|manual", text):
        return UNSUBSCRIBED
    if re.search(r"bounce|hard|undeliver|invalid|5\d\d|suppress", text):
        return BOUNCED
    return default


def read_export(path: Path, reason: str | None = None) -> Imported:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise SignupError(f"cannot read the export: {exc}", path) from None
    rows = csv.reader(text.splitlines())
    header = [_norm(cell) for cell in next(rows, [])]
    column = next((header.index(h) for h in _ADDRESS_HEADERS if h in header), None)
    if column is None:
        raise SignupError("no address column in the header row (expected one of: Email, "
                          "EmailAddress, address, recipient)", path, 1)
    why = next((header.index(h) for h in _REASON_HEADERS if h in header), None)
    default = reason or classify(path.stem, BOUNCED)
    result = Imported()
    for line, row in enumerate(rows, start=2):
        if not any(cell.strip() for cell in row):
            continue
        cell = row[column].strip() if column < len(row) else ""
        try:
            address = validate_email(cell, check_deliverability=False).normalized
        except EmailNotValidError:
            result.problems.append(ImportProblem(f"not an email address: {cell!r}", path, line))
            continue
        found = reason or (classify(row[why], default) if why is not None and why < len(row)
                           else default)
        result.addresses.append((address, found))
    return result
