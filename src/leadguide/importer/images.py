"""Images an imported chapter uses: checked as images (Pillow decodes them; SVG is parsed and
stripped of scripts), made small enough for print, named safely, kept until the chapter is
written."""
from __future__ import annotations

import io
import re
import warnings
from dataclasses import dataclass, field
from xml.etree import ElementTree

import defusedxml.ElementTree as SafeXml
from defusedxml import DefusedXmlException
from PIL import Image, UnidentifiedImageError

from ..guide.guard import MAX_PIXELS

LONGEST_SIDE = 2400  # pixels: 8 inches at 300 dpi, wider than any printed column
MAX_SOURCE_PIXELS = 4 * MAX_PIXELS  # a bigger original is a pixel bomb, not a photo
_KEPT = {"JPEG": "jpg", "PNG": "png"}
_SVG = "{http://www.w3.org/2000/svg}"
_NAME = re.compile(r"[^a-z0-9]+")


class ImageProblem(ValueError):
    """Bytes that are not an image leadguide can print."""


@dataclass(frozen=True)
class ImportedImage:
    name: str  # a file name in the chapter's image folder
    data: bytes


@dataclass
class ImageSink:
    """The images of one chapter, each once, under a name that is safe on any system."""

    images: list[ImportedImage] = field(default_factory=list)

    def add(self, data: bytes, hint: str) -> str:
        """Keep ``data`` (checked and resized) and return its file name."""
        body, extension = prepared(data)
        for image in self.images:
            if image.data == body:
                return image.name
        stem = (_NAME.sub("-", hint.lower().rsplit(".", 1)[0]).strip("-")[:40]
                or f"image-{len(self.images) + 1}")
        name = f"{stem}.{extension}"
        taken = {image.name for image in self.images}
        counter = 2
        while name in taken:
            name, counter = f"{stem}-{counter}.{extension}", counter + 1
        self.images.append(ImportedImage(name, body))
        return name


def prepared(data: bytes) -> tuple[bytes, str]:
    """The image as it goes into the guide, and its extension: SVG without scripts; JPEG and
    PNG kept when small enough, others (GIF, WebP, BMP, TIFF) and big ones re-encoded."""
    if _looks_like_svg(data):
        return _clean_svg(data), "svg"
    try:
        with warnings.catch_warnings():  # the size is checked here, against our own bound
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
        if image.width * image.height > MAX_SOURCE_PIXELS:
            raise ImageProblem(f"too many pixels ({image.width} x {image.height})")
        image.load()
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError, SyntaxError) as error:
        raise ImageProblem(f"not an image leadguide can read ({error})") from None
    if image.format in _KEPT and max(image.size) <= LONGEST_SIDE:
        return data, _KEPT[image.format]
    return _reencoded(image)


def _reencoded(image: Image.Image) -> tuple[bytes, str]:
    image.thumbnail((LONGEST_SIDE, LONGEST_SIDE))
    out = io.BytesIO()
    if image.mode in ("RGBA", "LA", "P", "PA") or image.format == "PNG":
        image.save(out, "PNG", optimize=True)
        return out.getvalue(), "png"
    image.convert("RGB").save(out, "JPEG", quality=85, optimize=True)
    return out.getvalue(), "jpg"


def _looks_like_svg(data: bytes) -> bool:
    head = data[:1024].lstrip().lower()
    return head.startswith((b"<svg", b"<?xml")) and b"<svg" in data[:4096].lower()


def _clean_svg(data: bytes) -> bytes:
    """The SVG with no script, no event handler, no link out (defusedxml: no entity bombs)."""
    try:
        root = SafeXml.fromstring(data)
    except (SafeXml.ParseError, DefusedXmlException, ValueError) as error:
        raise ImageProblem(f"not an SVG leadguide can read ({error})") from None
    if root.tag != f"{_SVG}svg":
        raise ImageProblem("not an SVG image")
    for parent in root.iter():
        for child in list(parent):
            if child.tag in (f"{_SVG}script", f"{_SVG}foreignObject", "script"):
                parent.remove(child)
        for name in list(parent.attrib):
            value = parent.attrib[name].strip().lower()
            if name.lower().startswith("on") or (name.endswith("href") and
                                                  not value.startswith(("#", "data:image/"))):
                del parent.attrib[name]
    ElementTree.register_namespace("", _SVG.strip("{}"))
    ElementTree.register_namespace("xlink", "http://www.w3.org/1999/xlink")
    return ElementTree.tostring(root, encoding="utf-8")
