"""Chapter files: split YAML front matter from the Markdown body, validate it."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from markupsafe import Markup, escape

from ..errors import ContentError, GuideError, raise_all
from .config import GuideConfig
from .guard import read_text
from .yamlsource import FieldReader, load_yaml

_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)^---[ \t]*\r?$\n?", re.DOTALL | re.MULTILINE)
_CODE_SPAN = re.compile(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)")
_KNOWN = {"title", "summary", "pages", "template", "opener", "toc", "templating"}


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
    chapter = Chapter(
        slug=chapter_slug(path.name, number),
        number=number, path=shown,
        title_markdown=reader.get(meta, "title", str) or "",
        summary=reader.get(meta, "summary", str, ""),
        pages=pages, template=template,
        opener=reader.get(meta, "opener", bool, True),
        toc=reader.get(meta, "toc", bool, True),
        body=body, body_line=body_line,
        templating=reader.get(meta, "templating", bool, True))
    if meta and not chapter.title.strip() and not reader.errors:
        reader.fail("'title' must not be empty", meta.line_of("title"))
    raise_all(reader.errors)
    return chapter

