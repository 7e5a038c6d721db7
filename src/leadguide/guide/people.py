"""guide.yaml's people: the ``clinic:`` section (a named clinician, the city, up to three client
quotes) and ``partners:`` (how the trackers and sample tables name the two readers).

Everything here is optional: a guide that leaves it out shows no empty box or label. Nothing is
made up when it is missing.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .yamlsource import FieldReader, LocatedDict, LocatedList

PEOPLE_KEYS: dict[str, set[str]] = {
    "clinic": {"city", "clinician", "quotes"},
    "clinic.clinician": {"name", "credential", "photo", "line"},
    "clinic.quotes": {"text", "who"},
}
MAX_QUOTES = 3
DEFAULT_PARTNERS = ("Her", "Him")  # reads best beside a sample couple of a woman and a man
_LABEL_LENGTH = 16                 # a tracker column's header, printed in small capitals


@dataclass(frozen=True)
class Clinician:
    name: str
    credential: str = ""
    photo: str | None = None  # a path inside the guide
    line: str = ""           # one line about them


@dataclass(frozen=True)
class Quote:
    text: str
    who: str


@dataclass(frozen=True)
class Clinic:
    """Who stands behind the guide, as the clinic wrote it; empty unless set."""

    city: str = ""
    clinician: Clinician | None = None
    quotes: tuple[Quote, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.city or self.clinician or self.quotes)


def read_clinic(raw: LocatedDict, reader: FieldReader, root: Path) -> Clinic:
    section = reader.mapping(reader.get(raw, "clinic", dict, LocatedDict()), "clinic",
                             raw.line_of("clinic"))
    reader.unknown_keys(section, PEOPLE_KEYS["clinic"], "clinic")
    return Clinic(city=(reader.get(section, "city", str, "", "clinic") or "").strip(),
                  clinician=_clinician(section, reader, root),
                  quotes=_quotes(section, reader))


def _clinician(section: LocatedDict, reader: FieldReader, root: Path) -> Clinician | None:
    if "clinician" not in section:
        return None
    person = reader.mapping(section["clinician"], "clinic.clinician",
                            section.line_of("clinician"))
    reader.unknown_keys(person, PEOPLE_KEYS["clinic.clinician"], "clinic.clinician")
    values = {key: (reader.get(person, key, str, "", "clinic.clinician") or "").strip()
              for key in PEOPLE_KEYS["clinic.clinician"]}
    if not values["name"]:
        reader.fail("'clinic.clinician.name' is needed when a clinician is given (or leave "
                    "clinic.clinician out)", person.line_of("name") or section.line_of("clinician"))
        return None
    photo = values.pop("photo") or None
    if photo and (photo.startswith(("/", "~")) or ".." in photo.replace("\\", "/").split("/")
                  or not os.path.isfile(root / photo)):
        reader.fail(f"'clinic.clinician.photo' must be an image file inside the guide folder, "
                    f"not '{photo}'", person.line_of("photo"))
        photo = None
    return Clinician(photo=photo, **values)


def _quotes(section: LocatedDict, reader: FieldReader) -> tuple[Quote, ...]:
    items = reader.get(section, "quotes", list, [], "clinic")
    if len(items) > MAX_QUOTES:
        reader.fail(f"'clinic.quotes' holds at most {MAX_QUOTES} quotes, not {len(items)}",
                    section.line_of("quotes"))
    quotes = []
    for index, item in enumerate(items[:MAX_QUOTES]):
        line = items.line_of(index) if isinstance(items, LocatedList) else section.line
        quote = reader.mapping(item, f"'clinic.quotes' item {index + 1}", line)
        reader.unknown_keys(quote, PEOPLE_KEYS["clinic.quotes"], f"clinic.quotes[{index + 1}]")
        text = (reader.get(quote, "text", str, "", "clinic.quotes") or "").strip()
        who = (reader.get(quote, "who", str, "", "clinic.quotes") or "").strip()
        if not text or not who:
            reader.fail("each of 'clinic.quotes' needs its words ('text') and who said them "
                        "('who')", line)
            continue
        quotes.append(Quote(text, who))
    return tuple(quotes)


def read_partners(raw: LocatedDict, reader: FieldReader) -> tuple[str, str]:
    """Two short labels for the two readers; Her and Him when left out."""
    if "partners" not in raw:
        return DEFAULT_PARTNERS
    labels = reader.get(raw, "partners", list, [])
    names = [str(label).strip() for label in labels if isinstance(label, (str, int))]
    if len(labels) != 2 or len(names) != 2 or not all(names):
        reader.fail("'partners' must name the two readers, like [Her, Him], "
                    "[Partner 1, Partner 2] or [Sam, Alex]", raw.line_of("partners"))
        return DEFAULT_PARTNERS
    for name in names:
        if len(name) > _LABEL_LENGTH:
            reader.fail(f"each of 'partners' fits a tracker column: {_LABEL_LENGTH} "
                        f"characters at most, not '{name}'", raw.line_of("partners"))
            return DEFAULT_PARTNERS
    return names[0], names[1]
