"""docs/GUIDE-YAML.md documents exactly the keys guide.yaml accepts."""
from __future__ import annotations

import re
from pathlib import Path

from leadguide.email.settings import _KEYS as EMAIL_KEYS, TEXT_KEYS
from leadguide.guide.config import KEYS

REFERENCE = Path(__file__).parents[1] / "docs" / "GUIDE-YAML.md"


def schema_keys() -> set[str]:
    keys = {f"{section}.{key}" if section else key for section, names in KEYS.items()
            for key in names}
    keys |= {f"email.{key}" for key in EMAIL_KEYS} | {f"email.text.{key}" for key in TEXT_KEYS}
    return keys


def documented_keys() -> set[str]:
    return set(re.findall(r"^\| `([^`]+)` \|", REFERENCE.read_text(encoding="utf-8"), re.M))


def test_every_key_is_documented_and_every_documented_key_exists():
    schema, documented = schema_keys(), documented_keys()
    assert schema - documented == set(), "keys missing from docs/GUIDE-YAML.md"
    assert documented - schema == set(), "docs/GUIDE-YAML.md documents keys that do not exist"


def test_every_row_gives_type_default_meaning_and_example_columns():
    rows = re.findall(r"^\| `[^`]+` \|.*$", REFERENCE.read_text(encoding="utf-8"), re.M)
    assert rows and all(row.count(" | ") == 4 for row in rows)
