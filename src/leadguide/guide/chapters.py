"""Chapter files: split YAML front matter from the Markdown body, validate it."""
from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from pathlib import Path

from markupsafe import Markup, escape

from ..errors import ContentError, GuideError, Notice, raise_all
from .config import GuideConfig
from .guard import read_text
from .yamlsource import FieldReader, LocatedDict, load_yaml

_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)^---[ \t]*\r?$\n?", re.DOTALL | re.MULTILINE)
_CODE_SPAN = re.compile(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)")
_KNOWN = {"title", "summary", "pages", "template", "opener", "toc", "templating", "source",
          "author", "date"}
# A body that opens with its own title: "# Title", or "Title" over a "===" line (setext).
_ATX_TITLE = re.compile(r"\A(\s*\n)*#[ \t]+(?P<title>.+?)(?:[ \t]+#+)?[ \t]*(?:\n|\Z)")
_SETEXT_TITLE = re.compile(r"\A(\s*\n)*(?P<title>[^\n]*\S[^\n]*)\n=+[ \t]*(?:\n|\Z)")
_ATTRIBUTES = re.compile(r"\s*\{:?[^}]*\}\s*$")
_SAME = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"', "–": "-", "—": "-"})


@dataclass(frozen=True)
class Chapter:
    """One chapter file, read but not yet rendered."""

    slug: str
    number: int
    path: Path
    title_markdown: str  # as written: `code` spans allowed
    summary: str
    pages: int | None
    template: str
    opener: bool
    toc: bool
    body: str
    body_line: int
    templating: bool = True  # false: the body is Markdown only, Jinja never sees it
    source: str = ""  # where the text came from (an address or a file name); an http(s)
    #                   address is also what the chapter's relative links resolve against
    author: str = ""
    date: str = ""
    notices: tuple[GuideError, ...] = ()  # what reading the chapter did for the author

    @property
    def anchor(self) -> str:
        return f"ch-{self.slug}"  # as chapter_anchor(name, number)

    @property
    def title(self) -> str:
        """Plain text, for the contents, running heads, bookmarks and metadata."""
        return _CODE_SPAN.sub(lambda m: _span_text(m.group(2)), self.title_markdown)

    @property
    def title_html(self) -> Markup:
        """The title with its code spans as ``<code>``, for the chapter's heading."""
        parts, position = [], 0
        for match in _CODE_SPAN.finditer(self.title_markdown):
            parts += [escape(self.title_markdown[position:match.start()]),
                      Markup("<code>{}</code>").format(_span_text(match.group(2)))]
            position = match.end()
        return Markup("").join([*parts, escape(self.title_markdown[position:])])


def _span_text(code: str) -> str:
    """A code span's text: one space inside each backtick run is padding (CommonMark)."""
    if len(code) > 2 and code.startswith(" ") and code.endswith(" ") and code.strip():
        return code[1:-1]
    return code


def chapter_slug(name: str, number: int) -> str:
    """The chapter's id stem, from its file name: ``05-program.md`` → ``05-program``."""
    return re.sub(r"[^a-z0-9]+", "-", Path(name).stem.lower()).strip("-") or f"chapter-{number}"


def chapter_anchor(name: str, number: int) -> str:
    """The id of the chapter's section in the guide's HTML (and its named destination)."""
    return f"ch-{chapter_slug(name, number)}"


def load_chapters(config: GuideConfig) -> list[Chapter]:
    """Read every chapter listed in the config, collecting all problems before failing."""
    chapters: list[Chapter] = []
    errors: list[GuideError] = []
    for number, name in enumerate(config.chapters, start=1):
        try:
            chapters.append(read_chapter(config.chapters_dir / name, number, config.root))
        except GuideError as error:
            errors.append(error)
    raise_all(errors)
    return chapters


def read_chapter(path: Path, number: int, root: Path) -> Chapter:
    shown = path.relative_to(root.parent) if path.is_relative_to(root.parent) else path
    text = read_text(path, (root,), shown)
    match = _FRONT_MATTER.match(text)
    if not match:
        raise ContentError("front matter missing: start the file with '---', a 'title:' line "
                           "and '---'", shown, 1)
    raw = load_yaml(match.group(1), shown, ContentError, first_line=2)
    body_line = text[: match.end()].count("\n") + 1
    return _chapter(raw, shown, path, number, text[match.end():], body_line)


def _chapter(raw: object, shown: Path, path: Path, number: int, body: str,
             body_line: int) -> Chapter:
    reader = FieldReader(shown, ContentError, "front matter: ")
    meta = reader.mapping(raw, "front matter", 2)
    reader.unknown_keys(meta, _KNOWN)
    pages = reader.get(meta, "pages", int, None)
    if pages is not None and pages < 1:
        reader.fail("'pages' must be at least 1", meta.line_of("pages"))
    template = reader.get(meta, "template", str, "chapter.html")
    if "/" in template or "\\" in template or not template.endswith(".html"):
        reader.fail(f"'template' must be a template file name like chapter.html, not "
                    f"'{template}'", meta.line_of("template"))
    title = reader.get(meta, "title", str) or ""
    body, notices = drop_repeated_title(body, title, shown, body_line)
    chapter = Chapter(
        slug=chapter_slug(path.name, number),
        number=number, path=shown,
        title_markdown=title,
        summary=reader.get(meta, "summary", str, ""),
        pages=pages, template=template,
        opener=reader.get(meta, "opener", bool, True),
        toc=reader.get(meta, "toc", bool, True),
        body=body, body_line=body_line,
        templating=reader.get(meta, "templating", bool, True),
        source=reader.get(meta, "source", str, ""),
        author=reader.get(meta, "author", str, ""),
        date=_date(meta, reader), notices=notices)
    if meta and not chapter.title.strip() and not reader.errors:
        reader.fail("'title' must not be empty", meta.line_of("title"))
    raise_all(reader.errors)
    return chapter


def _date(meta: LocatedDict, reader: FieldReader) -> str:
    """``date: 2023-09-28`` (YAML reads a date) or any text, kept as written."""
    value = meta.get("date")
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    return reader.get(meta, "date", str, "")


def drop_repeated_title(body: str, title: str, shown: Path,
                        body_line: int) -> tuple[str, tuple[GuideError, ...]]:
    """The body without a first ``# Title`` that repeats the front matter's title (pasted
    pages carry one): the chapter opener prints the title, so it would print twice. The
    heading's lines stay as blank lines, so every later line keeps its number."""
    match = _ATX_TITLE.match(body) or _SETEXT_TITLE.match(body)
    if not match or _comparable(match.group("title")) != _comparable(title) or not title:
        return body, ()
    line = body_line + body.count("\n", 0, match.start("title"))
    notice = Notice(f"the body's first heading '{match.group('title').strip()}' repeats the "
                    "title, which the chapter opener prints: it was left out", shown, line)
    kept = "\n" * match.group(0).count("\n")
    return kept + body[match.end():], (notice,)


def _comparable(title: str) -> str:
    """A title as a reader sees it: no emphasis or code marks, quotes and dashes plain."""
    text = re.sub(r"[*_`]", "", _ATTRIBUTES.sub("", title)).translate(_SAME)
    return " ".join(text.split()).casefold()
