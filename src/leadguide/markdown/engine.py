"""The Markdown engine: Python-Markdown set up to read what GitHub, MkDocs and Pandoc authors write.

Each extension and why it is here is in docs/DEVELOPING.md ("Markdown").
"""
from __future__ import annotations

import re
from typing import Callable

import markdown
from markdown.extensions.toc import slugify
from markdown.postprocessors import Postprocessor
from markdown.treeprocessors import Treeprocessor

from .labels import ReferenceLabelsExtension
from .lists import CommonMarkListsExtension
from .sideheads import SideHeads

EXTENSIONS = [
    "tables", "attr_list", "footnotes", "def_list", "admonition", "smarty", "md_in_html",
    "sane_lists", "toc",
    "pymdownx.superfences",   # fenced code anywhere, inside lists and callouts too
    "pymdownx.highlight",     # Pygments classes, coloured by styles/print.css
    "pymdownx.tilde",         # ~~strikethrough~~
    "pymdownx.tasklist",      # - [ ] and - [x]
    "pymdownx.quotes",        # > [!NOTE] alerts, as admonitions
    "pymdownx.details",       # ??? collapsible notes (MkDocs), printed open
    "pymdownx.magiclink",     # bare https:// addresses become links, as on GitHub
    "pymdownx.saneheaders",   # "#hashtag" is text, "# Title" a heading (CommonMark)
]
_CONFIGS = {
    "footnotes": {"UNIQUE_IDS": True},
    "smarty": {"smart_angled_quotes": False},
    "pymdownx.highlight": {"use_pygments": True, "guess_lang": False, "css_class": "highlight",
                           "pygments_lang_class": True},
    "pymdownx.tilde": {"subscript": False},
    "pymdownx.tasklist": {"custom_checkbox": False, "clickable_checkbox": False},
    "pymdownx.quotes": {"callouts": True},
    "pymdownx.magiclink": {"hide_protocol": False, "repo_url_shortener": False},
}
# GitHub alerts and MkDocs admonition types → the guide's three callout looks (print.css)
CALLOUTS = {
    "tip": ("note", "info", "abstract", "summary", "tldr", "todo", "question", "help", "faq",
            "example", "quote", "cite", "seealso"),
    "quickwin": ("important", "success", "check", "done", "hint"),
    "caution": ("warning", "attention", "danger", "error", "failure", "fail", "missing", "bug"),
}
_LOOK = {kind: look for look, kinds in CALLOUTS.items() for kind in kinds}
_CODE_BLOCK = re.compile(r'(<div class="[^"]*\bhighlight\b[^"]*">(?:<span class="filename">.*?</span>)?<pre>'
                         r'(?:<span></span>)?<code[^>]*>)(.*?)(</code></pre>)', re.DOTALL)


def converter(slug: str) -> markdown.Markdown:
    """A fresh converter for one chapter: its heading ids start with ``slug-``."""
    configs = {**_CONFIGS, "toc": {"toc_depth": "2-3", "slugify": _prefixed_slugify(slug)}}
    md = markdown.Markdown(extensions=[*EXTENSIONS, CommonMarkListsExtension(),
                                       ReferenceLabelsExtension()],
                           extension_configs=configs)
    md.postprocessors.register(CodeLines(md), "code_lines", 5)  # after raw HTML is back (30)
    md.treeprocessors.register(CalloutLooks(md), "callout_looks", 19)  # after quotes (19.99)
    md.treeprocessors.register(SideHeads(md), "side_heads", 7)  # after attr_list's classes (8)
    return md


def _prefixed_slugify(prefix: str) -> Callable[[str, str], str]:
    return lambda value, separator: f"{prefix}-{slugify(value, separator)}"


class CalloutLooks(Treeprocessor):
    """``> [!WARNING]``, ``!!! note`` and ``??? tip`` print as the guide's callouts: each type
    gets the class of the look it maps to, and a collapsible one prints open, as a callout."""

    def run(self, root):  # type: ignore[no-untyped-def]
        for element in root.iter():
            if element.tag == "details":
                _open_details(element)
            classes = (element.get("class") or "").split()
            if element.tag == "div" and "admonition" in classes:
                look = next((_LOOK[c] for c in classes if c in _LOOK), None)
                if look and look not in classes:
                    element.set("class", " ".join([*classes, look]))
        return root


def _open_details(element) -> None:  # type: ignore[no-untyped-def]
    element.tag = "div"
    element.set("class", " ".join(["admonition", *(element.get("class") or "").split()]))
    element.attrib.pop("open", None)
    summary = element.find("summary")
    if summary is not None:
        summary.tag = "p"
        summary.set("class", "admonition-title")


class CodeLines(Postprocessor):
    """Each line of a code block in its own ``<span class="line">``, so a line that wraps can
    show a continuation mark (styles/print.css). Pygments closes its spans at every line end."""

    def run(self, text: str) -> str:
        return _CODE_BLOCK.sub(lambda m: m.group(1) + split_lines(m.group(2)) + m.group(3), text)


def split_lines(code: str) -> str:
    lines = code.split("\n")
    if lines and not lines[-1]:
        lines.pop()
    return "".join(f'<span class="line">{line}</span>' for line in lines)
