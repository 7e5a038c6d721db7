"""A Word ``.docx`` as an article: mammoth keeps its headings, lists, tables, links and
images (with their alt text) and drops its styling. The file is checked as a zip first, so a
corrupt file or a zip bomb is refused before anything is unpacked."""
from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Callable

import defusedxml.ElementTree as SafeXml
import mammoth
from defusedxml import DefusedXmlException

from .article import Article

_MAX_ENTRIES = 5000
_MAX_RATIO = 200  # a part that unpacks to 200 times its size is a bomb, not a document
_CORE = {"dc": "http://purl.org/dc/elements/1.1/",
         "cp": "http://schemas.openxmlformats.org/package/2006/metadata/core-properties",
         "dcterms": "http://purl.org/dc/terms/"}

# (image bytes, its content type, its alt text) -> the address the HTML uses for it
ImageHandler = Callable[[bytes, str, str], str]


class WordProblem(ValueError):
    """Not a .docx leadguide can read."""


def article_from_docx(data: bytes, path: Path, unpacked_limit: int,
                      image: ImageHandler) -> Article:
    archive = _checked_zip(data, unpacked_limit)
    title, author, date = _core_properties(archive)

    def convert(element) -> dict[str, str]:  # type: ignore[no-untyped-def]
        with element.open() as stream:
            body = stream.read()
        return {"src": image(body, element.content_type or "", element.alt_text or ""),
                "alt": element.alt_text or ""}

    try:
        result = mammoth.convert_to_html(io.BytesIO(data), external_file_access=False,
                                         convert_image=mammoth.images.img_element(convert))
    except (KeyError, ValueError, zipfile.BadZipFile, SafeXml.ParseError,
            DefusedXmlException) as error:
        raise WordProblem(f"not a Word document leadguide can read ({error})") from None
    return Article(title=title, html=result.value, source=path.name, author=author, date=date)


def _checked_zip(data: bytes, unpacked_limit: int) -> zipfile.ZipFile:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise WordProblem(f"not a Word document (.docx is a zip file: {error})") from None
    if "word/document.xml" not in archive.namelist():
        raise WordProblem("not a Word document (no word/document.xml inside)")
    total = sum(entry.file_size for entry in entries)
    if len(entries) > _MAX_ENTRIES or total > unpacked_limit or any(
            entry.file_size > _MAX_RATIO * max(entry.compress_size, 1024) for entry in entries):
        raise WordProblem(f"refused: it would unpack to {total // 1024 // 1024} MB in "
                          f"{len(entries)} parts (a zip bomb, or far more than a document)")
    return archive


def _core_properties(archive: zipfile.ZipFile) -> tuple[str, str, str]:
    """Title, author and date from docProps/core.xml, when the document has them."""
    try:
        root = SafeXml.fromstring(archive.read("docProps/core.xml"))
    except (KeyError, SafeXml.ParseError, DefusedXmlException, ValueError):
        return "", "", ""
    def field(path: str) -> str:
        found = root.find(path, _CORE)
        return (found.text or "").strip() if found is not None else ""
    date = field("dcterms:created")[:10]
    return field("dc:title"), field("dc:creator"), date
