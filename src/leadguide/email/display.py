"""Display text bound for a header (names, subjects), and the name a greeting may use.

A name or a subject is plain text as a person wrote it: never an RFC 2047 encoded word, never
decoded from one. The email package encodes it on output. Anything that could end a header line
or hide what a reader sees is refused, checked after Unicode normalisation.
"""
from __future__ import annotations

import re
import unicodedata

from .errors import RecipientError

# Zero-width (non-)joiners are format characters that Persian, Hindi and emoji spell with.
_JOINERS = {"\u200c", "\u200d"}
# Cc: controls (CR, LF, NUL, U+0085 …); Cf: format (bidi overrides, zero-width space …);
# Zl, Zp: U+2028, U+2029; Cs: lone surrogates (from undecodable bytes); Co: private use.
_REFUSED = {"Cc", "Cf", "Zl", "Zp", "Cs", "Co"}
_NAMES = {"\r": "a line break (CR)", "\n": "a line break (LF)", "\x85": "a line break (U+0085)",
          "\u2028": "a line break (U+2028)", "\u2029": "a line break (U+2029)"}
_SPACES = re.compile(r"[ \t\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]+")


def display_text(value: str, what: str, limit: int = 200) -> str:
    """The value, NFC-normalised with runs of spaces made one, or RecipientError."""
    text = unicodedata.normalize("NFC", value)
    folded = unicodedata.normalize("NFKC", text)
    refused = [char for char in text + folded
               if char not in _JOINERS and unicodedata.category(char) in _REFUSED
               and char != "\t"]
    if refused:
        char = next((char for char in refused if char in _NAMES), refused[0])
        raise RecipientError(f"{what} contains {_describe(char)}, which is not allowed "
                             f"in an email header: {_shown(value)}")
    if "=?" in folded:
        raise RecipientError(f"{what} contains '=?', the start of an encoded word: write it as "
                             f"plain text: {_shown(value)}")
    text = _SPACES.sub(" ", text).strip()
    if len(text) > limit:
        raise RecipientError(f"{what} is longer than {limit} characters")
    return text


def _describe(char: str) -> str:
    if char in _NAMES:
        return _NAMES[char]
    code = f"U+{ord(char):04X}"
    try:
        return f"the invisible character {code} {unicodedata.name(char)}"
    except ValueError:
        return f"the control character {code}"


def _shown(value: str) -> str:
    shown = ascii(value)
    return shown if len(shown) <= 120 else shown[:117] + "..."


# A link a mail client would make: a scheme, an address, www., or a word.word domain.
_LINKISH = re.compile(r"@|://|\bwww\.|[\w-][.\u3002\uff61][^\W\d_]{2,}\b|\w:/"
                      r"|\b(?:javascript|data|mailto|tel|sms|https?|ftp|file|www):", re.IGNORECASE)
_HONORIFICS = {
    "mr", "mrs", "ms", "miss", "mx", "dr", "prof", "professor", "sir", "dame", "lady", "lord",
    "rev", "fr", "father", "sister", "brother", "pastor", "rabbi", "imam", "capt", "col", "gen",
    "lt", "sgt", "hon", "herr", "frau", "fräulein", "mme", "mlle", "sr", "sra", "srta", "dott",
    "doctor",
}
_PUNCTUATION = "\"'“”‘’«»:;,"
_CONJUNCTIONS = {"and", "&", "und", "et", "y", "e", "or"}
_SUFFIXES = {"jr", "sr", "ii", "iii", "iv", "md", "phd", "dds", "dvm", "esq", "rn", "cpa",
             "mba", "pt", "dpt"}


def greeting_name(name: str) -> str:
    """The first name to greet with ("Dr. Jane Doe" → "Jane"), or "" to greet neutrally.

    A name that a mail client would turn into a link (a URL, an address, a domain) is never
    repeated back: anyone can type anything into a signup form.
    """
    if not name or _LINKISH.search(unicodedata.normalize("NFKC", name)):
        return ""
    parts = [part.split() for part in name.split(",")]
    parts = [words for words in parts if words and not _only_suffixes(words)]
    if len(parts) == 2:  # "Doe, Jane"
        parts.reverse()
    words = parts[0] if parts else []
    while words and _key(words[0]) in _HONORIFICS:
        words = words[1:]
    first = words[0].strip(_PUNCTUATION) if words else ""
    if len(first) > 40 or first.casefold() in _CONJUNCTIONS or not any(c.isalpha() for c in first):
        return ""
    return first


def _key(word: str) -> str:
    return word.strip(".").casefold()


def _only_suffixes(words: list[str]) -> bool:
    return all(_key(word) in _SUFFIXES for word in words)
