"""The one gate every file read of a guide passes: real path inside, regular file, sane size."""
from __future__ import annotations

import errno
import os
import re
import stat
from pathlib import Path
from urllib.parse import unquote, urlsplit

from ..errors import ContentError, GuideError

MAX_TEXT_BYTES = 4 * 1024 * 1024     # a chapter, data file, template or stylesheet
MAX_BINARY_BYTES = 32 * 1024 * 1024  # an image or a font
MAX_PIXELS = 40_000_000  # an image: a 6,000 x 6,000 photo is plenty for print at 300 dpi


class RefusedFile(ContentError):
    """A file the guide may not read: outside the guide, not a regular file, or too big."""


def real_path(path: Path, roots: tuple[Path, ...], shown: Path | None = None) -> Path:
    """The file ``path`` really is, if a build may read it; RefusedFile otherwise.

    Symlinks are followed, and the file they end at must be inside one of ``roots``."""
    shown = shown or path
    try:
        real = Path(os.path.realpath(path, strict=True))
    except FileNotFoundError:
        if os.path.lexists(path):
            raise RefusedFile("a symlink that leads nowhere: point it at a file inside the guide "
                              "or remove it", shown) from None
        raise RefusedFile("file not found", shown) from None
    except OSError as exc:  # a symlink loop, a name too long, no permission
        raise RefusedFile(f"cannot read: {os.strerror(exc.errno or errno.EIO)}", shown) from None
    if not any(real.is_relative_to(root) for root in _real_roots(roots)):
        raise RefusedFile("leads outside the guide folder (a symlink?): only files inside the "
                          "guide can be used", shown)
    _check_kind(os.stat(real), shown)
    return real


def read_bytes(path: Path, roots: tuple[Path, ...], shown: Path | None = None,
               limit: int = MAX_BINARY_BYTES) -> bytes:
    """The bytes of a guide file that passed ``real_path``, read without following a swap."""
    shown = shown or path
    real = real_path(path, roots, shown)
    try:
        # O_NOFOLLOW and O_NONBLOCK: a symlink or FIFO swapped in after the check neither
        # leads out nor hangs the build; fstat then checks what was really opened.
        fd = os.open(real, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:
        raise RefusedFile(f"cannot read: {os.strerror(exc.errno or errno.EIO)}", shown) from None
    with os.fdopen(fd, "rb") as stream:
        info = os.fstat(stream.fileno())
        _check_kind(info, shown)
        if info.st_size > limit:
            raise RefusedFile(f"too big ({info.st_size // 1024 // 1024} MB; at most "
                              f"{limit // 1024 // 1024} MB)", shown)
        data = stream.read(limit + 1)
    if len(data) > limit:
        raise RefusedFile(f"too big (at most {limit // 1024 // 1024} MB)", shown)
    return data


def read_text(path: Path, roots: tuple[Path, ...], shown: Path | None = None,
              error: type[GuideError] = ContentError, limit: int = MAX_TEXT_BYTES) -> str:
    """A guide's text file as UTF-8 (a leading byte-order mark is dropped)."""
    shown = shown or path
    try:
        data = read_bytes(path, roots, shown, limit)
    except RefusedFile as refused:
        raise error(refused.message, refused.path, refused.line) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise error(f"not UTF-8 text (byte {exc.start}): save the file as UTF-8", shown,
                    line) from None
    if control := CONTROL_CHARACTER.search(text):
        line = text.count("\n", 0, control.start()) + 1
        column = control.start() - text.rfind("\n", 0, control.start())
        raise error(f"{describe_control(control.group())} at column {column}: delete it (an "
                    "invisible character, often pasted from a PDF or another program)", shown,
                    line)
    return text


# C0 controls except tab, line feed, form feed and carriage return; DEL; the C1 controls
# (U+0080–U+009F, which include U+0085 NEXT LINE). Text never needs them; they are invisible,
# end XML, or break lines where the writer sees none.
CONTROL_CHARACTER = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")


def file_url_path(url: str, roots: tuple[Path, ...], fallbacks: dict[Path, Path]) -> Path | None:
    """The file a ``file:`` URL names, if the name is inside one of ``roots`` (resolved
    folders); a missing file under a folder of ``fallbacks`` (resolved, own -> built-in) is
    looked for in the built-in one. None for anything else. ``read_bytes`` still checks
    where the file really is."""
    parts = urlsplit(url)
    if parts.scheme.lower() != "file" or parts.netloc not in ("", "localhost"):
        return None
    path = Path(unquote(parts.path))
    if ".." in path.parts or "\0" in str(path) or \
            not any(path.is_relative_to(root) for root in roots):
        return None
    if not os.path.lexists(path):
        own = next((own for own in fallbacks if path.is_relative_to(own)), None)
        return fallbacks[own] / path.relative_to(own) if own is not None else path
    return path


def describe_control(character: str) -> str:
    return f"a control character (U+{ord(character):04X})"


def is_readable(path: Path, roots: tuple[Path, ...]) -> bool:
    try:
        real_path(path, roots)
    except RefusedFile:
        return False
    return True


def _check_kind(info: os.stat_result, shown: Path) -> None:
    if stat.S_ISDIR(info.st_mode):
        raise RefusedFile("is a folder, not a file", shown)
    if not stat.S_ISREG(info.st_mode):
        raise RefusedFile("not a regular file (a pipe, socket or device?): only plain files "
                          "can be used", shown)


def _real_roots(roots: tuple[Path, ...]) -> tuple[Path, ...]:
    return tuple(Path(os.path.realpath(root)) for root in roots)
