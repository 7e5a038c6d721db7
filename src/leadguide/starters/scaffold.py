"""`leadguide new`: a starter guide of one kind, and the starter text a guide still carries."""
from __future__ import annotations

import json
import os
import re
import shutil
import string
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import GuideError
from ..guide.assets import LOOKS
from ..guide.theme import PAGE_SIZES, is_length

STARTERS = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Kind:
    """What a starter of one kind promises."""

    title: str
    subtitle: str
    badge: str
    pages: int
    back_page: bool


KINDS = {
    "ebook": Kind("Your Guide Title", "A short promise of what the reader will get",
                  "Free guide", 6, True),
    "checklist": Kind("Your Checklist Title", "Every step, ticked off one by one",
                      "Free checklist", 5, False),
    "workbook": Kind("Your Workbook Title", "A week of small steps, written down",
                     "Free workbook", 8, True),
}


class ScaffoldError(GuideError):
    """The starter cannot be written where asked."""


def new_guide(target: Path | str, kind: str = "ebook", look: str = "classic",
              title: str | None = None, subtitle: str | None = None,
              author: str | None = None, page_size: str = "Letter",
              keep_optional: bool = False) -> Path:
    """Write a starter guide of ``kind`` wearing ``look`` on ``page_size`` paper into the new
    or empty folder ``target`` (its title, subtitle and author, when given, instead of the
    starter's). The starter's text is drawn for Letter and A4; its optional blocks (between
    ``<!-- optional -->`` lines) are kept, unmarked, unless ``keep_optional`` leaves them
    marked for ``fit.starter`` to drop what a smaller page has no room for."""
    target = Path(target)
    if kind not in KINDS:
        raise ScaffoldError(f"unknown kind '{kind}' (kinds: {', '.join(KINDS)})")
    if look not in LOOKS:
        raise ScaffoldError(f"unknown look '{look}' (looks: {', '.join(LOOKS)})")
    if not _is_page_size(page_size):
        raise ScaffoldError(f"unknown page size '{page_size}' (Letter, A4, A5 or a size like "
                            "'6in x 9in', in in, mm, cm or pt)")
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise ScaffoldError("already exists and is not empty: choose a new folder", target)
    target.parent.mkdir(parents=True, exist_ok=True)
    # Written beside the target and renamed into place: never a half-made guide.
    temp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        for folder in (STARTERS / "common", STARTERS / kind):
            shutil.copytree(folder, temp, dirs_exist_ok=True)
        (temp / "guide.yaml").write_text(guide_yaml(target.name, kind, look, title, subtitle,
                                                    author, page_size), encoding="utf-8")
        if not keep_optional:
            for chapter in (temp / "chapters").glob("*.md"):
                chapter.write_text(without_marks(chapter.read_text(encoding="utf-8")),
                                   encoding="utf-8")
        os.chmod(temp, 0o777 & ~_umask())
        if target.exists():
            target.rmdir()
        os.replace(temp, target)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    return target


def _is_page_size(text: str) -> bool:
    sides = re.fullmatch(r"\s*(\S+)\s*[x×]\s*(\S+)\s*", text)
    return text.lower() in PAGE_SIZES or bool(sides and all(map(is_length, sides.groups())))


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def guide_yaml(folder_name: str, kind: str, look: str = "classic", title: str | None = None,
               subtitle: str | None = None, author: str | None = None,
               page_size: str = "Letter") -> str:
    spec = KINDS[kind]
    output = re.sub(r"[^a-z0-9]+", "-", folder_name.lower()).strip("-") or "guide"
    template = string.Template((STARTERS / "guide.yaml").read_text(encoding="utf-8"))
    return template.substitute(
        title=_yaml_text(title or spec.title), subtitle=_yaml_text(
            spec.subtitle if subtitle is None else subtitle),
        author=_yaml_text(author or "Your Business Name"), badge=spec.badge, pages=spec.pages,
        back_page=str(spec.back_page).lower(), page_size=_yaml_text(page_size),
        output=f"{output}.pdf",
        look=look, primary="#1B2A41", accent="#E8603C")


def _yaml_text(text: str) -> str:
    """A one-line YAML scalar: quoted (JSON's quoting is YAML's) unless plain is safe."""
    plain = re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9 ,.'’()&-]*", text) and not text.endswith(" ")
    return text if plain else json.dumps(" ".join(text.split()), ensure_ascii=False)


# ---- the starter's optional blocks: what a page smaller than Letter or A4 may do without

OPTIONAL, END = "<!-- optional -->", "<!-- /optional -->"
_OPTIONAL = re.compile(rf"^{re.escape(OPTIONAL)}\n(.*?)^{re.escape(END)}\n", re.S | re.M)


def optional_blocks(text: str) -> list[re.Match[str]]:
    """The marked optional blocks of a starter chapter, in order."""
    return list(_OPTIONAL.finditer(text))


def without_block(text: str, block: re.Match[str]) -> str:
    """``text`` without one optional block (and the blank line after it), and without a
    heading the removal left with nothing under it."""
    end = block.end() + (1 if text[block.end():block.end() + 1] == "\n" else 0)
    return _without_bare_headings(text[:block.start()] + text[end:])


def _heading_level(line: str) -> int:
    match = re.match(r"(#{1,6}) ", line)
    return len(match.group(1)) if match else 0


def _without_bare_headings(text: str) -> str:
    """Drop a ``##``-or-deeper heading followed by nothing but a heading of its level or
    above (or the end): a section emptied by leaving blocks out."""
    lines = text.split("\n")
    kept = []
    for index, line in enumerate(lines):
        level = _heading_level(line)
        if level >= 2:
            following = next((other for other in lines[index + 1:] if other.strip()
                              and not other.startswith("<!-- ")), "")
            if not following or 0 < _heading_level(following) <= level:
                continue
        kept.append(line)
    return re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).rstrip("\n") + "\n"


def without_marks(text: str) -> str:
    """``text`` with its optional blocks kept and their marks gone."""
    return _OPTIONAL.sub(lambda m: m.group(1), text)


# ---- what a guide still carries from its starter

_WORDS = re.compile(r"[A-Za-z']+")
_ADDRESS = re.compile(r"\S+://\S+|\S+@\S+")
_MIN_WORDS = 5
# A list of short labels ([Mon, Tue, Wed, Thu, Fri, Sat, Sun], [Week, Date, Score]) is how
# anyone names rows and columns, not the starter's words: never a phrase.
_LABELS = re.compile(r"\[[^\[\]\n]*\]|(?:^|(?<=\s))[^\s,:\[\]]+(?:\s+[^\s,:\[\]]+)?"
                     r"(?:\s*,\s*[^\s,:\[\]]+(?:\s+[^\s,:\[\]]+)?){2,}(?=\s*$)", re.M)


def _labels_only(match: re.Match[str]) -> str:
    items = match.group(0).strip("[]").split(",")
    return " " if all(len(item.split()) <= 2 for item in items) else match.group(0)


def _phrases(text: str) -> set[str]:
    """Sentences (and list items) of five words or more, normalised for comparison; lists
    of short labels left out."""
    found = set()
    text = _LABELS.sub(_labels_only, _ADDRESS.sub(" ", text))
    for piece in re.split(r"[.!?:\n]|\{\{|\}\}|\"", text):
        words = _WORDS.findall(piece)
        if len(words) >= _MIN_WORDS:
            found.add(" ".join(words).lower())
    return found


def starter_phrases() -> set[str]:
    """Every phrase the starters' chapters, data and guide.yaml values put in a new guide."""
    phrases: set[str] = set()
    for path in STARTERS.rglob("*"):
        if path.suffix in (".md", ".yaml"):
            text = path.read_text(encoding="utf-8")
            phrases |= _phrases("\n".join(line.split(" #")[0] for line in text.splitlines()
                                          if not line.lstrip().startswith("#")))
    return phrases


def leftover_lines(text: str, phrases: set[str]) -> list[int]:
    """The 1-based lines of ``text`` that still hold a starter phrase."""
    return [number for number, line in enumerate(text.splitlines(), start=1)
            if _phrases(line) & phrases]
