"""Checks on the tag tree (pikepdf): what a screen reader reads is what the page shows."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pikepdf

from ..pdf.structtree import Tree
from ..pdf.tables import misnamed_cells
from .facts import Facts
from .model import PASS, WARN, CheckResult, pages, plural
from .tagtree import TagTree, described, read_tag_tree, stale_parent_entries


@lru_cache(maxsize=4)
def _tree(path: Path, stamp: tuple[int, int]) -> TagTree:
    return read_tag_tree(path)


def tag_tree(facts: Facts) -> TagTree:
    stat = facts.pdf.stat()
    return _tree(facts.pdf.resolve(), (stat.st_mtime_ns, stat.st_size))


def check_reachable_text(facts: Facts) -> list[CheckResult]:
    unreachable = tag_tree(facts).unreachable()
    if not unreachable:
        return [CheckResult("tagged-text", PASS,
                            "every text run is in the tag tree or marked as an artifact")]
    runs = sum(unreachable.values())
    return [CheckResult("tagged-text", WARN,
                        f"{plural(runs, 'text run')} in no structure element and not an "
                        "artifact (running heads, text drawn with CSS opacity): a screen "
                        "reader skips it", pages(list(unreachable)),
                        {"pages": unreachable})]


def check_parent_tree(facts: Facts) -> list[CheckResult]:
    with pikepdf.open(facts.pdf) as pdf:
        stale = stale_parent_entries(pdf)
    if not stale:
        return [CheckResult("parent-tree", PASS, "every marked text's parent-tree entry is "
                            "the element that holds it")]
    runs = sum(stale.values())
    return [CheckResult("parent-tree", WARN, f"{plural(runs, 'text run')} whose parent-tree "
                        "entry names an element that does not hold it (a link joined over "
                        "lines left a stale one): going from the text to its tag finds none",
                        pages(list(stale)), {"pages": stale})]


def check_link_tags(facts: Facts) -> list[CheckResult]:
    tree = tag_tree(facts)
    links = tree.links
    untagged = [link.page for link in links if link.tag != "Link"]
    wordless = [link.page for link in links if not described(link.contents)]
    results = []
    if tree.nested_links:
        results.append(CheckResult("link-tags", WARN, f"{plural(len(tree.nested_links), 'Link')}"
                                   " nested inside another link", pages(tree.nested_links)))
    if untagged:
        results.append(CheckResult("link-tags", WARN, f"{plural(len(untagged), 'link')} not "
                                   "tagged as a Link element", pages(untagged)))
    if wordless:
        results.append(CheckResult("link-tags", WARN, f"{plural(len(wordless), 'link')} "
                                   "described by an id or a raw URL (/Contents), not words",
                                   pages(wordless)))
    return results or [CheckResult("link-tags", PASS,
                                   f"{plural(len(links), 'link')}, each a Link element with words")]


def check_empty_headers(facts: Facts) -> list[CheckResult]:
    empty = tag_tree(facts).empty_headers
    if not empty:
        return [CheckResult("table-headers", PASS, "no empty table header cell (TH)")]
    return [CheckResult("table-headers", WARN, f"{plural(len(empty), 'empty table header cell')}"
                        " (TH): a screen reader announces nothing for its column",
                        pages(empty))]


def check_header_map(facts: Facts) -> list[CheckResult]:
    with pikepdf.open(facts.pdf) as pdf:
        root = pdf.Root.get("/StructTreeRoot")
        if root is None:
            return [CheckResult("table-header-map", PASS, "no tag tree, no table to read")]
        tree = Tree(root, {page.objgen: index for index, page in enumerate(pdf.pages)})
        unscoped, misnamed = misnamed_cells(tree)
    results = []
    if unscoped:
        cells = plural(len(unscoped), "header cell")
        results.append(CheckResult("table-header-map", WARN, f"{cells} (TH) without /Scope",
                                   pages([n + 1 for n in unscoped])))
    if misnamed:
        cells = plural(len(misnamed), "data cell")
        results.append(CheckResult("table-header-map", WARN, f"{cells} (TD) whose /Headers "
                                   "are not the headers above it "
                                   "and left of it in the grid: a screen reader announces the "
                                   "wrong column or row", pages([n + 1 for n in misnamed])))
    return results or [CheckResult("table-header-map", PASS, "every header cell has /Scope; "
                                   "every data cell names its row and column headers")]


def check_contents_tags(facts: Facts) -> list[CheckResult]:
    tree = tag_tree(facts)
    if tree.untagged_contents:
        return [CheckResult("contents-tags", WARN, f"{plural(len(tree.untagged_contents), 'list')}"
                            " of links into the guide tagged as a plain list (L), not a table"
                            " of contents (TOC/TOCI)", pages(tree.untagged_contents))]
    if any(chapter.toc for chapter in facts.chapters) and not tree.contents_lists:
        return [CheckResult("contents-tags", WARN, "the contents is not tagged as a table of "
                            "contents (TOC/TOCI)")]
    return [CheckResult("contents-tags", PASS, f"{plural(tree.contents_lists, 'contents list')}"
                        " tagged TOC/TOCI")]


def check_xmp_language(facts: Facts) -> list[CheckResult]:
    language = tag_tree(facts).xmp_language
    if not language:
        return [CheckResult("xmp-language", WARN, "no dc:language in the XMP metadata: "
                            "PDF/UA asks for the document's language there too")]
    return [CheckResult("xmp-language", PASS, f"dc:language {language} in the XMP metadata")]
