"""Line-breaking care for rendered HTML: ranges and quantities stay on one line ("6–12 sets",
"6 to 30 reps", "1.4 %"), paragraphs end on two words.

Joins are characters, not ``white-space: nowrap`` spans: WeasyPrint 70 lays out a line that
holds a nowrap span badly (it breaks at the first opportunity, leaving "No." alone on a line).
A no-break space (U+00A0) joins words; a word joiner (U+2060) after an en dash removes the
break the dash allows. Both keep the text extractable: copied text reads "6–12 sets" (the
joiner is a default-ignorable character that extractors drop; the no-break space is a space).
"""
from __future__ import annotations

import re

NBSP = "\u00a0"
WORD_JOINER = "\u2060"

_TAG = re.compile(r"(<[^>]*>)")
_RAW = {"pre", "code", "textarea", "script", "style", "kbd", "samp"}
_UNITS = (r"%|lb|kg|g|kcal|cal|calories|min|s|h|cm|in|oz|L|liters|sets|reps|steps|hours|"
          r"minutes|seconds|days|weeks|months|years|times")
_NUMBER = r"\d[\d,]*(?:\.\d+)?"
# "6–12 sets", "2–10 %", "3 × 8–12", "8,000–10,000 steps": a number, an en dash, a number.
_RANGE = re.compile(rf"(?<![\w.,]){_NUMBER}(?:[ {NBSP}]?×[ {NBSP}]?{_NUMBER})?[ {NBSP}]?–"
                    rf"[ {NBSP}]?{_NUMBER}(?:[ {NBSP}]?(?:{_UNITS})(?!\w))?")
# "6 to 30", "1.4 %", "20 lb": a range in words, or a number and its unit.
_WORDY_RANGE = re.compile(rf"(?<![\w.,]){_NUMBER} to {_NUMBER}(?![\w.,]\d)")
_QUANTITY = re.compile(rf"(?<![\w.,])({_NUMBER}) (?=(?:{_UNITS})(?!\w))")
_ENDS = re.compile(r"</(p|li|dd|td|figcaption)>")
# The last word: short, and a word (letters or digits), so "{% if %}" is left alone.
_LAST_SPACE = re.compile(r"(\S) +(\S{0,13}[^\W_]\S{0,13}\s*)$")
_SHORT = 30  # characters: this short fits one line even in a card column, so has no runt


def typeset(html: str) -> str:
    """Keep numeric ranges and quantities unbroken and avoid one-word last lines, outside
    raw-text elements."""
    parts = _TAG.split(html)
    for index in _text_indexes(parts):
        parts[index] = _RANGE.sub(lambda m: _join_range(m.group(0)), parts[index])
        parts[index] = _WORDY_RANGE.sub(lambda m: m.group(0).replace(" ", NBSP), parts[index])
        parts[index] = _QUANTITY.sub(rf"\1{NBSP}", parts[index])
        if (index + 1 < len(parts) and _ENDS.fullmatch(parts[index + 1])
                and len(parts[index]) >= _SHORT):
            parts[index] = _LAST_SPACE.sub(rf"\1{NBSP}\2", parts[index])
    return "".join(parts)


def _join_range(text: str) -> str:
    return text.replace(" ", NBSP).replace("–", "–" + WORD_JOINER)


def _text_indexes(parts: list[str]) -> list[int]:
    """Indexes of the text parts (even ones) that are not inside pre, code, textarea…"""
    found, raw_depth = [], 0
    for index, part in enumerate(parts):
        if index % 2:
            if _tag_name(part) in _RAW and not part.endswith("/>"):
                raw_depth = max(0, raw_depth + (-1 if part.startswith("</") else 1))
        elif raw_depth == 0 and part.strip():
            found.append(index)
    return found


def _tag_name(tag: str) -> str:
    match = re.match(r"</?\s*([a-zA-Z0-9]+)", tag)
    return match.group(1).lower() if match else ""
