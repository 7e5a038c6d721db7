"""A font file cut down to the glyphs a PDF uses, with HarfBuzz, as WeasyPrint does it.

The joined guide embeds each font once, cut to the glyphs of all its parts. Glyph ids are kept
(WeasyPrint's subsets keep them too), so the parts' text still points at the right glyphs.
"""
from __future__ import annotations

from functools import lru_cache

import cffi

_CDEF = """
typedef struct hb_blob_t hb_blob_t; typedef struct hb_face_t hb_face_t;
typedef struct hb_set_t hb_set_t; typedef struct hb_subset_input_t hb_subset_input_t;
typedef uint32_t hb_codepoint_t; typedef uint32_t hb_tag_t;
hb_blob_t *hb_blob_create(const char *data, unsigned int length, int mode, void *user_data,
                          void *destroy);
void hb_blob_destroy(hb_blob_t *blob);
const char *hb_blob_get_data(hb_blob_t *blob, unsigned int *length);
hb_face_t *hb_face_create(hb_blob_t *blob, unsigned int index);
hb_blob_t *hb_face_reference_blob(hb_face_t *face);
void hb_face_destroy(hb_face_t *face);
hb_tag_t hb_tag_from_string(const char *str, int len);
void hb_set_add(hb_set_t *set, hb_codepoint_t codepoint);
hb_subset_input_t *hb_subset_input_create_or_fail(void);
void hb_subset_input_destroy(hb_subset_input_t *input);
hb_set_t *hb_subset_input_glyph_set(hb_subset_input_t *input);
hb_set_t *hb_subset_input_set(hb_subset_input_t *input, int set_type);
void hb_subset_input_set_flags(hb_subset_input_t *input, unsigned value);
hb_face_t *hb_subset_or_fail(hb_face_t *source, const hb_subset_input_t *input);
"""
_RETAIN_GIDS, _DESUBROUTINIZE, _PASSTHROUGH, _NOTDEF_OUTLINE, _NO_HINTING = 2, 4, 0x20, 0x40, 1
_DROP_TABLE_TAG = 3
# The tables WeasyPrint 70 drops from its subsets (weasyprint/pdf/fonts.py).
_DROPPED = (b"BASE", b"DSIG", b"EBDT", b"EBLC", b"EBSC", b"GPOS", b"GSUB", b"JSTF", b"LTSH",
            b"PCLT", b"SVG ")


@lru_cache(maxsize=1)
def _harfbuzz():
    ffi = cffi.FFI()
    ffi.cdef(_CDEF)
    return ffi, ffi.dlopen("libharfbuzz.so.0"), ffi.dlopen("libharfbuzz-subset.so.0")


def subset_font(data: bytes, glyphs: set[int], notdef_outline: bool = False) -> bytes:
    """``data`` keeping only ``glyphs`` at their ids, as WeasyPrint 70 subsets (no hinting)."""
    ffi, hb, sub = _harfbuzz()
    keep = ffi.new("char[]", data)  # HarfBuzz reads the bytes in place: keep them alive
    blob = hb.hb_blob_create(keep, len(data), 1, ffi.NULL, ffi.NULL)  # 1: read-only
    face = hb.hb_face_create(blob, 0)
    extra = _NOTDEF_OUTLINE if notdef_outline else 0
    try:
        first = _subset(face, sorted(glyphs), _RETAIN_GIDS | _PASSTHROUGH | _DESUBROUTINIZE | extra,
                        drop=True)
        # Then drop the empty glyphs after the last one used, as WeasyPrint does.
        second = _subset(first, range(max(glyphs, default=0) + 1),
                         _PASSTHROUGH | _DESUBROUTINIZE | _NO_HINTING | extra, drop=False)
        hb.hb_face_destroy(first)
        out_blob = hb.hb_face_reference_blob(second)
        length = ffi.new("unsigned int *")
        pointer = hb.hb_blob_get_data(out_blob, length)
        result = bytes(ffi.buffer(pointer, length[0]))
        hb.hb_blob_destroy(out_blob)
        hb.hb_face_destroy(second)
    finally:
        hb.hb_face_destroy(face)
        hb.hb_blob_destroy(blob)
    if not result:
        raise ValueError("HarfBuzz could not subset the font")
    return result


def _subset(face, glyphs, flags: int, drop: bool):
    ffi, hb, sub = _harfbuzz()
    subset_input = sub.hb_subset_input_create_or_fail()
    try:
        glyph_set = sub.hb_subset_input_glyph_set(subset_input)
        for glyph in glyphs:
            hb.hb_set_add(glyph_set, glyph)
        sub.hb_subset_input_set_flags(subset_input, flags)
        if drop:
            tables = sub.hb_subset_input_set(subset_input, _DROP_TABLE_TAG)
            for tag in _DROPPED:
                hb.hb_set_add(tables, hb.hb_tag_from_string(tag, -1))
        result = sub.hb_subset_or_fail(face, subset_input)
    finally:
        sub.hb_subset_input_destroy(subset_input)
    if result == ffi.NULL:
        raise ValueError("HarfBuzz could not subset the font")
    return result
