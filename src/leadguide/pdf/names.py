"""A subscriber's name as it may be printed on their copy: text from a public form made safe.

``clean_name`` normalises (NFC), drops control, format (bidi overrides, isolates and marks),
private-use, surrogate and unassigned characters (keeping the zero-width joiner and non-joiner
that emoji sequences and Persian need), collapses white space and cuts to ``MAX_NAME``
characters without leaving half a combining sequence. ``direction`` says which way the name
runs: a name that mixes left-to-right and right-to-left letters is not printed (no bidi
algorithm runs here), so it can never be shown in a misleading order.
"""
from __future__ import annotations

import unicodedata

MAX_NAME = 40  # characters: a first name, with room for a double one
_KEPT_FORMAT = {"\u200c", "\u200d"}  # ZWNJ (Persian), ZWJ (emoji sequences)
_DROPPED = {"Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp"}
_JOINING = {"Mn", "Me", "Mc"}


def clean_name(raw: str | None) -> str:
    """The name to print, or "" when nothing printable is left."""
    text = unicodedata.normalize("NFC", raw or "")
    kept = []
    for char in text:
        kind = unicodedata.category(char)
        if char.isspace() or kind == "Zs":
            kept.append(" ")
        elif kind not in _DROPPED or char in _KEPT_FORMAT:
            kept.append(char)
    name = " ".join("".join(kept).split())
    if len(name) > MAX_NAME:
        name = name[:MAX_NAME]
        while name and (unicodedata.category(name[-1]) in _JOINING or name[-1] in _KEPT_FORMAT
                        or name[-1] in "\ufe0e\ufe0f"):
            name = name[:-1]
        name = name.rstrip()
    return name


def direction(name: str) -> str | None:
    """``ltr`` or ``rtl`` for a name whose strong letters all run one way, else None."""
    ways = set()
    for char in name:
        kind = unicodedata.bidirectional(char)
        if kind == "L":
            ways.add("ltr")
        elif kind in ("R", "AL"):
            ways.add("rtl")
    if len(ways) > 1:
        return None
    return ways.pop() if ways else "ltr"
