"""Drafts written into a guide: chapter files with front matter, their images, and
guide.yaml's chapter list, all or nothing (written beside their places, checked by reading
them back as the build does, then renamed into place)."""
from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from ..atomic import umask, write_bytes
from ..errors import ConfigError
from ..guide.chapters import read_chapter
from ..guide.config import GuideConfig, load_config
from ..guide.guard import read_text
from ..guide.yamlsource import LocatedDict, LocatedList, load_yaml
from ..markdown.codeguard import protect
from .fetch import DEFAULT_LIMITS, Limits
from .renumber import number_in_order
from .sources import CHAPTER_CLOSE, CHAPTER_OPEN, IMAGE_FOLDER, Draft, read_sources

_SLUG = re.compile(r"[^a-z0-9]+")
_WEB_LINK = re.compile(r"(\]\(\s*<?)(https?://[^)\s>]+)")
_SIBLING = re.compile(f"{CHAPTER_OPEN}([^{CHAPTER_CLOSE}]*){CHAPTER_CLOSE}")


@dataclass
class ImportedChapter:
    path: Path
    title: str
    images: int
    origin: str


@dataclass
class ImportReport:
    chapters: list[ImportedChapter]
    notes: list[str] = field(default_factory=list)  # "chapter: what was left out and why"


def import_sources(sources: list[str], guide_dir: Path | str = "guide", at: int | None = None,
                   posts: list[str] | tuple[str, ...] = (),
                   limits: Limits = DEFAULT_LIMITS) -> ImportReport:
    """One chapter per source (a feed: per post chosen) added to the guide at position ``at``
    (1-based; default: after the last). Every source is read first: one bad source and
    nothing is written."""
    config = load_config(guide_dir)
    drafts = read_sources(list(sources), posts, limits)
    report = write_drafts(config, drafts, at)
    renamed = number_in_order(guide_dir)  # a chapter put in at --at: no number twice
    for chapter in report.chapters:
        chapter.path = chapter.path.with_name(renamed.get(chapter.path.name, chapter.path.name))
    return report


def write_drafts(config: GuideConfig, drafts: list[Draft], at: int | None = None) -> ImportReport:
    position = _position(config, at)
    names = _chapter_names(config, drafts, position)
    folders = _image_folders(config, names)
    siblings = {d.markdown_path: name for d, name in zip(drafts, names) if d.markdown_path}
    addresses = {_page_key(str(d.front.get("source", ""))): name for d, name in zip(drafts, names)
                 if str(d.front.get("source", "")).startswith(("http://", "https://"))}
    files = {config.chapters_dir / name: _chapter_text(draft, folder, siblings, addresses).encode()
             for draft, name, folder in zip(drafts, names, folders)}
    for draft, folder in zip(drafts, folders):
        files.update({config.root / "images" / folder / image.name: image.data
                      for image in draft.images.images})
    order = [*config.chapters[:position], *names, *config.chapters[position:]]
    files[config.config_path] = _with_chapters(config, order).encode()
    _write_all(config, files, names)
    chapters = [ImportedChapter(config.chapters_dir / name, draft.title, len(draft.images.images),
                                draft.origin) for draft, name in zip(drafts, names)]
    notes = [f"{name}: {note}" for draft, name in zip(drafts, names) for note in draft.notes]
    return ImportReport(chapters, notes)


def _position(config: GuideConfig, at: int | None) -> int:
    count = len(config.chapters)
    if at is None:
        return count
    if not 1 <= at <= count + 1:
        raise ConfigError(f"--at {at}: the guide has {count} chapters, so a new one goes at 1 to "
                          f"{count + 1}", config.config_path)
    return at - 1


def _chapter_names(config: GuideConfig, drafts: list[Draft], position: int) -> list[str]:
    taken = {name.lower() for name in config.chapters} | {
        p.name.lower() for p in config.chapters_dir.glob("*")}
    names = []
    for offset, draft in enumerate(drafts):
        stem = f"{position + offset + 1:02d}-{_slug(draft.slug_hint or draft.title)}"
        name, counter = f"{stem}.md", 2
        while name.lower() in taken:
            name, counter = f"{stem}-{counter}.md", counter + 1
        taken.add(name.lower())
        names.append(name)
    return names


def _slug(text: str) -> str:
    return _SLUG.sub("-", text.lower()).strip("-")[:48].strip("-") or "chapter"


def _image_folders(config: GuideConfig, names: list[str]) -> list[str]:
    taken = {p.name for p in (config.root / "images").glob("*")}
    folders = []
    for name in names:
        folder, counter = Path(name).stem, 2
        while folder in taken:
            folder, counter = f"{Path(name).stem}-{counter}", counter + 1
        taken.add(folder)
        folders.append(folder)
    return folders


def _chapter_text(draft: Draft, folder: str, siblings: dict[str, str],
                  addresses: dict[str, str]) -> str:
    body = draft.body.replace(IMAGE_FOLDER, f"../images/{folder}")
    body = _SIBLING.sub(lambda m: siblings.get(m.group(1), m.group(1)), body)
    body = _linked_to_chapters(body, addresses)
    front = yaml.safe_dump({"title": draft.title, **draft.front}, allow_unicode=True,
                           sort_keys=False, width=1000)
    return f"---\n{front}---\n\n{body.strip()}\n"


def _page_key(url: str) -> str:
    """A page's address as two links to it compare: no scheme, query, fragment or final /."""
    parts = urlsplit(url)
    return f"{parts.netloc.lower().removeprefix('www.')}{parts.path.rstrip('/')}"


def _linked_to_chapters(body: str, addresses: dict[str, str]) -> str:
    """Links to another page imported in the same run become links to its chapter."""
    if not addresses:
        return body
    protected, restore = protect(body)

    def relink(match: re.Match[str]) -> str:
        url = match.group(2)
        name = addresses.get(_page_key(url))
        if name is None:
            return match.group(0)
        fragment = urlsplit(url).fragment
        return f"{match.group(1)}{name}{'#' + fragment if fragment else ''}"
    return restore(_WEB_LINK.sub(relink, protected))


# ---- guide.yaml's chapter list, edited in place (its comments and layout kept)

def with_chapters(config: GuideConfig, order: list[str]) -> str:
    """guide.yaml's text with its ``chapters:`` list set to ``order``."""
    return _with_chapters(config, order)


def _with_chapters(config: GuideConfig, order: list[str]) -> str:
    text = read_text(config.config_path, (config.root,), config.config_path, ConfigError)
    raw = load_yaml(text, config.config_path, ConfigError)
    lines = text.splitlines(keepends=True)
    listed = raw.get("chapters") if isinstance(raw, LocatedDict) else None
    if not isinstance(listed, LocatedList) or not listed or _flow(raw, listed):
        return _replace_chapters(lines, raw, order)
    first, last = listed.line_of(0) - 1, listed.line_of(len(listed) - 1) - 1
    indent = re.match(r"\s*-\s*", lines[first]).group(0)  # type: ignore[union-attr]
    items = [f"{indent}{name}\n" for name in order]
    return "".join(lines[:first] + items + lines[last + 1:])


def _flow(raw: LocatedDict, listed: LocatedList) -> bool:
    return listed.line_of(0) == raw.line_of("chapters")


def _replace_chapters(lines: list[str], raw: LocatedDict, order: list[str]) -> str:
    """A flow list (``chapters: [a.md]``), or none (sorted files): one written out."""
    block = ["chapters:\n", *(f"  - {name}\n" for name in order)]
    if isinstance(raw, LocatedDict) and "chapters" in raw:
        line = raw.line_of("chapters") - 1
        return "".join(lines[:line] + block + lines[line + 1:])
    ending = "" if not lines or lines[-1].endswith("\n") else "\n"
    return "".join(lines) + ending + "".join(block)


# ---- all or nothing

def _write_all(config: GuideConfig, files: dict[Path, bytes], names: list[str]) -> None:
    """Every file written beside its place, the chapters read back as a build reads them,
    then all renamed into place; on any failure, nothing of it is left."""
    temps: dict[Path, Path] = {}
    placed: list[Path] = []
    folders = [folder for folder in {path.parent for path in files} if not folder.exists()]
    try:
        for path, data in files.items():
            if path == config.config_path:
                continue
            temps[path] = _temp_copy(path, data)
        for number, name in enumerate(names, start=1):
            read_chapter(temps[config.chapters_dir / name], number, config.root)
        for path, temp in temps.items():
            os.replace(temp, path)
            placed.append(path)
        write_bytes(config.config_path, files[config.config_path])
    except BaseException:
        for path in [*temps.values(), *placed]:
            path.unlink(missing_ok=True)
        for folder in sorted(folders, key=lambda f: len(f.parts), reverse=True):
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
        raise
    load_config(config.root)  # the new list names files that exist


def _temp_copy(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    with os.fdopen(handle, "wb") as stream:
        stream.write(data)
    os.chmod(name, 0o666 & ~umask())
    return Path(name)


