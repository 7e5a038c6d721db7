"""Which anchors a layout's ``target-counter()`` (and ``target-counters()``) looked up.

A part's layout depends on another part only through the pages of the anchors it reads this
way (parts.py). Its links alone read nothing: a chapter that every other chapter links to
moves no other part's pages when its anchors move, unless that part prints one of their page
numbers. WeasyPrint has no hook for this, so the layout's ``TargetCollector`` is swapped for
one that notes every name it is asked for (``lookup_target``, the one door every
``target-*()`` goes through), found or not.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


class _Reading(dict):
    """The collector's anchors while it looks one up: notes every name asked for."""

    def __init__(self, items: dict, reads: set[str]):
        super().__init__()
        self.known, self.reads = items, reads

    def get(self, key, default=None):
        if isinstance(key, str):
            self.reads.add(key)
        return self.known.get(key, default)


@contextmanager
def target_reads() -> Iterator[set[str]]:
    """The names every ``target-*()`` of the layouts made inside the block looked up."""
    from weasyprint import document

    reads: set[str] = set()
    original = document.TargetCollector

    class RecordingCollector(original):
        def lookup_target(self, anchor_token, source_box, css_token, parse_again):
            items = self.target_lookup_items
            self.target_lookup_items = _Reading(items, reads)
            try:
                return super().lookup_target(anchor_token, source_box, css_token, parse_again)
            finally:
                self.target_lookup_items = items

    document.TargetCollector = RecordingCollector
    try:
        yield reads
    finally:
        document.TargetCollector = original
