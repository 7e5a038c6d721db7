"""An incremental update: new and changed objects appended to a PDF's bytes, never a rewrite.

A personal copy must cost milliseconds, and qpdf saving a whole 24-page guide takes 50-80 ms.
PDF lets a file be changed by appending: the changed objects, then a cross-reference stream
naming where they are and ``/Prev`` pointing at the base's, so readers take the newest version
of each object. ``Base`` reads once what the update needs from the original (its size,
trailer entries, last cross-reference offset); ``Update`` collects objects (written out, or
packed into one compressed object stream made once and reused) and ``write`` returns the base
bytes followed by the update.
"""
from __future__ import annotations

import hashlib
import re
import struct
import zlib
from dataclasses import dataclass, field

import pikepdf

_STARTXREF = re.compile(rb"startxref\s+(\d+)\s+%%EOF\s*$")


@dataclass(frozen=True)
class Base:
    """What an update of ``pdf`` repeats from its trailer."""

    size: int
    root: bytes
    info: bytes
    first_id: bytes
    prev: int

    @classmethod
    def read(cls, data: bytes, document: pikepdf.Pdf) -> "Base":
        found = _STARTXREF.search(data[-1024:])
        if not found:
            raise ValueError("no startxref at the end of the PDF")
        trailer = document.trailer
        ids = trailer.get("/ID")
        first = bytes(ids[0]) if ids is not None else hashlib.md5(data[:4096]).digest()
        info = trailer.get("/Info")
        return cls(int(trailer.Size), ref(trailer.Root), b"" if info is None else ref(info),
                   first, int(found.group(1)))


def ref(obj: pikepdf.Object) -> bytes:
    """An indirect object as a reference: ``12 0 R``."""
    number, generation = obj.objgen
    return b"%d %d R" % (number, generation)


@dataclass(frozen=True)
class Packed:
    """Objects packed once into a compressed object stream: its number, its whole object
    text (``N 0 obj … endobj``) and the numbers it holds, in order."""

    number: int
    body: bytes
    members: tuple[int, ...]

    @classmethod
    def pack(cls, number: int, objects: list[tuple[int, bytes]]) -> "Packed":
        offsets, parts, at = [], [], 0
        for num, body in objects:
            offsets.append(b"%d %d" % (num, at))
            parts.append(body + b"\n")
            at += len(body) + 1
        header = b" ".join(offsets) + b"\n"
        packed = zlib.compress(header + b"".join(parts), 6)
        body = (b"<< /Type /ObjStm /N %d /First %d /Length %d /Filter /FlateDecode >>\nstream\n"
                % (len(objects), len(header), len(packed)) + packed + b"\nendstream")
        return cls(number, body, tuple(num for num, _ in objects))


@dataclass
class Update:
    """Objects to append to ``base``: ``add`` writes one out, ``add_packed`` a packed stream."""

    base: Base
    objects: list[tuple[int, bytes]] = field(default_factory=list)
    packed: list[Packed] = field(default_factory=list)

    def add(self, number: int, body: bytes) -> None:
        self.objects.append((number, body))

    def add_packed(self, packed: Packed) -> None:
        self.packed.append(packed)

    def write(self, data: bytes, highest: int) -> bytes:
        """``data`` (the base's bytes) with the update appended; ``highest`` is the largest
        object number the update may use."""
        chunks, entries, at = [data, b"\n"], {}, len(data) + 1
        for number, body in self.objects + [(p.number, p.body) for p in self.packed]:
            text = b"%d 0 obj\n%s\nendobj\n" % (number, body)
            entries[number] = (1, at, 0)
            chunks.append(text)
            at += len(text)
        for stream in self.packed:
            for index, member in enumerate(stream.members):
                entries[member] = (2, stream.number, index)
        xref_number = highest + 1
        entries[xref_number] = (1, at, 0)
        chunks.append(self._xref(xref_number, entries, data))
        chunks.append(b"startxref\n%d\n%%%%EOF\n" % at)
        return b"".join(chunks)

    def _xref(self, number: int, entries: dict[int, tuple[int, int, int]], data: bytes) -> bytes:
        numbers = sorted(entries)
        index = []
        for num in numbers:
            if index and index[-1][0] + index[-1][1] == num:
                index[-1][1] += 1
            else:
                index.append([num, 1])
        rows = b"".join(struct.pack(">BIH", *entries[num]) for num in numbers)
        second_id = hashlib.md5(data[-64:] + rows).digest()
        info = b" /Info " + self.base.info if self.base.info else b""
        header = (b"<< /Type /XRef /Size %d /W [1 4 2] /Index [%s] /Prev %d /Root %s%s "
                  b"/ID [<%s> <%s>] /Length %d >>"
                  % (number + 1, b" ".join(b"%d %d" % (a, n) for a, n in index), self.base.prev,
                     self.base.root, info, self.base.first_id.hex().encode(),
                     second_id.hex().encode(), len(rows)))
        return b"%d 0 obj\n%s\nstream\n%s\nendstream\nendobj\n" % (number, header, rows)
