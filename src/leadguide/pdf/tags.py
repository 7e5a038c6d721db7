"""The finished PDF's tags made to say what the page says (pikepdf): ``fix_tags(pdf, language)``.

WeasyPrint 70's PDF/UA output leaves gaps a screen reader falls into; each step closes one:

- running heads and page numbers (margin boxes) are marked content no structure element
  reaches: they become artifacts;
- text drawn in a form XObject (CSS ``opacity`` makes a transparency group) is referred to by
  page MCIDs the page's own stream does not hold: it gets MCRs naming the form (``/Stm``);
- one HTML link makes several link elements and annotations (its inline children, ``::after``,
  leaders), nested in each other or hanging off a ``Span``: they become one ``Link`` holding
  every annotation, whose ``/Contents`` is the link's text in words plus where it goes;
- a list whose every item links into the document is the contents: ``TOC``/``TOCI``;
- a table header cell with nothing in it is a plain cell;
- the XMP metadata gets ``dc:language``.

A pure function of the PDF's bytes and the guide's language, so a build that joins part PDFs
applies it to the joined file the same way.
"""
from __future__ import annotations

import ctypes
import re
from concurrent.futures import ThreadPoolExecutor
from io import BytesIO
from typing import Iterator
from urllib.parse import unquote, urlsplit

import pikepdf
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from .structtree import Element, Tree
from .text import text_objects

Texts = dict[int, dict[int, str]]  # page index → MCID → the text drawn in it
_CONTENT_ITEMS = ("/MCR", "/OBJR")


def fix_tags(pdf: bytes, language: str) -> bytes:
    """The PDF with its tag tree fixed (see the module docstring); an untagged PDF is returned
    as it is."""
    with pikepdf.open(BytesIO(pdf)) as document:
        root = document.Root.get("/StructTreeRoot")
        if root is None or "/ParentTree" not in root:
            return pdf
        parents = pikepdf.NumberTree(root.ParentTree)
        tree, texts = _tree_and_texts(document, root, pdf)
        artifacts = orphans(document, tree, parents)
        for index, found in leaders(tree, texts).items():
            artifacts.setdefault(index, set()).update(found)
        make_artifacts(document, artifacts, parents)
        join_links(document, tree, parents, texts)
        map_form_content(document, parents, tree)
        tag_contents_lists(document, tree)
        demote_empty_headers(tree)
        set_language(document, language)
        out = BytesIO()
        document.save(out)
        return out.getvalue()


# --- reading --------------------------------------------------------------------------------

def _tree_and_texts(document: pikepdf.Pdf, root, pdf: bytes) -> tuple[Tree, Texts]:
    """The tag tree (pikepdf) and the texts of the pages with links (PDFium). PDFium loads
    those pages on another thread while the tree is read here: its page loads are long calls
    that let go of the GIL (ctypes), and nothing else calls PDFium meanwhile."""
    pages = {page.objgen: index for index, page in enumerate(document.pages)}
    linking = [index for index, page in enumerate(document.pages)
               if any(a.get("/Subtype") == "/Link" for a in page.obj.get("/Annots", []))]
    with ThreadPoolExecutor(1) as pool:
        loading = pool.submit(_TextPages, pdf, linking)
        try:
            tree = Tree(root, pages)
        except BaseException:
            loading.result().close()
            raise
        return tree, loading.result().texts()


def mcid_texts(pdf: bytes, numbers: list[int]) -> Texts:
    """What each marked-content sequence draws on the pages asked for (PDFium; forms included)."""
    return _TextPages(pdf, numbers).texts()


class _TextPages:
    """Pages of a PDF loaded with PDFium, each with its text page, until ``texts`` or
    ``close``."""

    def __init__(self, pdf: bytes, numbers: list[int]):
        self.document = pdfium.PdfDocument(pdf)
        self.loaded: list[tuple[int, pdfium.PdfPage, pdfium.PdfTextPage]] = []
        try:
            for index in numbers:
                page = self.document[index]
                self.loaded.append((index, page, page.get_textpage()))
        except BaseException:
            self.close()
            raise

    def texts(self) -> Texts:
        try:
            return {index: _page_texts(page, textpage) for index, page, textpage in self.loaded}
        finally:
            self.close()

    def close(self) -> None:
        for _, page, textpage in self.loaded:
            textpage.close()
            page.close()
        self.document.close()


def _page_texts(page: pdfium.PdfPage, textpage: pdfium.PdfTextPage) -> dict[int, str]:
    found: dict[int, str] = {}
    baseline = None
    for obj in text_objects(page.raw):
        mcid = pdfium_c.FPDFPageObj_GetMarkedContentID(obj)
        if mcid < 0:
            continue
        here = _baseline(obj)
        # a run that starts a new line: the space the line broke at is not drawn
        new_line = baseline is not None and abs(here - baseline) > 2
        text = ("\n" if new_line else "") + _object_text(textpage, obj)
        found[mcid] = found.get(mcid, "") + text
        baseline = here
    return found


def _baseline(obj) -> float:
    matrix = pdfium_c.FS_MATRIX()
    pdfium_c.FPDFPageObj_GetMatrix(obj, ctypes.byref(matrix))
    return matrix.f


_TEXT_BYTES = 1024  # a run's text fits, so PDFium (which scans the page for it) is asked once


def _object_text(textpage, obj) -> str:
    size = _TEXT_BYTES
    while True:
        buffer = ctypes.create_string_buffer(size)
        pointer = ctypes.cast(buffer, ctypes.POINTER(ctypes.c_ushort))
        needed = pdfium_c.FPDFTextObj_GetText(obj, textpage, pointer, size)
        if needed <= size:  # copied (PDFium copies only into a buffer large enough)
            break
        size = needed
    if needed <= 0:
        return ""
    return buffer.raw[:needed].decode("utf-16-le").rstrip("\x00")


# --- running heads: artifacts ---------------------------------------------------------------

def orphans(document: pikepdf.Pdf, tree: Tree, parents: pikepdf.NumberTree
            ) -> dict[int, set[int]]:
    """Page index → MCIDs whose element the tree never reaches (WeasyPrint builds margin
    boxes' elements, running heads and page numbers, but hangs them nowhere)."""
    reachable = {element.key for element, _ in tree.elements}
    found: dict[int, set[int]] = {}
    for index, page in enumerate(document.pages):
        mapped = _page_parents(page, parents)
        lost = {mcid for mcid, element in enumerate(mapped or [])
                if isinstance(element, pikepdf.Dictionary) and element.objgen not in reachable}
        if lost:
            found[index] = lost
    return found


_LEADER = re.compile(r"[.·…•_\-‧]+")


def leaders(tree: Tree, texts: Texts) -> dict[int, set[int]]:
    """Page index → MCIDs of leader dots (CSS ``leader('. ')``: one run per dot, three or more
    in a row, each the same dot), taken out of the tree: a listener hears no "dot dot dot"."""
    found: dict[int, set[int]] = {}
    for element, _ in tree.elements:
        items = tree.kids(element)
        page = element.page
        runs = [_single_run(item, texts, tree, page) for item in items]
        if not any(run and _LEADER.fullmatch(run[2]) for run in runs):
            continue  # no dot among the kids: they stay as they are
        keep, row = [], []
        for item, run in [*zip(items, runs), (None, None)]:
            if run and (not row or run[2] == row[0][1][2]) and _LEADER.fullmatch(run[2]):
                row.append((item, run))
                continue
            if len(row) >= 3:
                for _, (index, mcid, _) in row:
                    found.setdefault(index, set()).add(mcid)
            else:
                keep += [kid for kid, _ in row]
            row = []
            if run and _LEADER.fullmatch(run[2]):
                row.append((item, run))
            elif item is not None:
                keep.append(item)
        if len(keep) != len(items):
            tree.set_kids(element, keep)
    return found


def _single_run(item, texts: Texts, tree: Tree, page: int | None
                ) -> tuple[int, int, str] | None:
    """(page index, MCID, stripped text) of a marked run: an MCID, or an element holding
    exactly one."""
    if isinstance(item, Element):  # its own page (None if it names none), its one kid
        inner = tree.kids(item)
        page, item = item.page, inner[0] if len(inner) == 1 else None
    if not isinstance(item, int) or page is None:
        return None
    text = texts.get(page, {}).get(int(item))
    return (page, int(item), text.strip()) if text and text.strip() else None


def make_artifacts(document: pikepdf.Pdf, artifacts: dict[int, set[int]],
                   parents: pikepdf.NumberTree) -> None:
    """The runs become ``/Artifact`` marked content and leave the parent tree."""
    for index, mcids in artifacts.items():
        page = document.pages[index]
        _rewrite(page.obj, lambda mcid: "artifact" if mcid in mcids else None, document)
        mapped = _page_parents(page, parents)
        for mcid in mcids:
            if mapped is not None and mcid < len(mapped):
                mapped[mcid] = None


def _page_parents(page, parents: pikepdf.NumberTree):
    key = page.obj.get("/StructParents")
    if key is None or int(key) not in parents:
        return None
    mapped = parents[int(key)]
    return mapped if isinstance(mapped, pikepdf.Array) else None


# An opener of marked content with an MCID, as WeasyPrint writes it: ``/Span <</MCID 7>> BDC``.
# Text is shown with hex strings, so the pattern cannot match inside a text string.
_OPENER = re.compile(rb"/([^\s/<>\[\]()]+)\s*<<\s*/MCID\s+(\d+)\s*>>\s*BDC")
_DRAW_FORM = re.compile(rb"/([^\s/<>\[\]()]+)\s+Do\b")


def _rewrite(stream_owner, change, document: pikepdf.Pdf) -> None:
    """Rewrite the marked-content openers of a page or form: ``change(mcid)`` returns
    ``"artifact"``, a new MCID, or None to keep it."""
    stream = stream_owner if isinstance(stream_owner, pikepdf.Stream) else None
    data = stream.read_bytes() if stream is not None else _page_bytes(stream_owner)

    def replaced(match: re.Match) -> bytes:
        verdict = change(int(match.group(2)))
        if verdict == "artifact":
            return b"/Artifact BMC"
        if isinstance(verdict, int):
            return b"/%s <</MCID %d>> BDC" % (match.group(1), verdict)
        return match.group(0)

    new = _OPENER.sub(replaced, data)
    if new == data:
        return
    if stream is not None:
        stream.write(new)
    else:
        stream_owner.Contents = document.make_stream(new)


def _page_bytes(page) -> bytes:
    contents = page.get("/Contents")
    if isinstance(contents, pikepdf.Array):
        return b"\n".join(part.read_bytes() for part in contents)
    return contents.read_bytes() if contents is not None else b""


def _mcids(data: bytes) -> list[int]:
    return [int(match.group(2)) for match in _OPENER.finditer(data)]


def _mcid(operands) -> int | None:
    if len(operands) > 1 and isinstance(operands[1], pikepdf.Dictionary) and "/MCID" in operands[1]:
        return int(operands[1].MCID)
    return None


# --- links ----------------------------------------------------------------------------------

def join_links(document: pikepdf.Pdf, tree: Tree, parents: pikepdf.NumberTree,
               texts: Texts) -> None:
    """One ``Link`` per link: inner link elements become spans, annotations under a span move
    to the link around it, and every annotation of a link is described in words."""
    outer_links: dict[Element, None] = {}  # in the order first met
    is_link = {element: element.tag == "/Link" for element, _ in tree.elements}
    moves = []
    for element, ancestors in tree.elements:
        outer = next((a for a in ancestors if is_link[a]), None)
        if is_link[element] and outer is not None:
            tree.set_tag(element, pikepdf.Name.Span)
        objrs = [item for item in tree.kids(element) if _is_objr(item) and _is_link(item)]
        if outer is None and (objrs or is_link[element]):
            tree.set_tag(element, pikepdf.Name.Link)
            is_link[element] = True
            outer_links[element] = None
        elif objrs:
            outer_links[outer] = None
            moves.append((element, outer, objrs))
    for element, outer, objrs in moves:
        tree.set_kids(element, [item for item in tree.kids(element) if not _is_objr(item)])
        tree.set_kids(outer, tree.kids(outer) + objrs)
    for merged in _join_fragments(outer_links, tree):
        del outer_links[merged]
    for link in outer_links:
        annotations = [item.Obj for item in tree.kids(link) if _is_objr(item)]
        words = describe(link, annotations, texts, tree, document)
        for annotation in annotations:
            if words:
                annotation.Contents = pikepdf.String(words)
            if "/StructParent" in annotation:
                parents[int(annotation.StructParent)] = link.obj


def _join_fragments(links: dict, tree: Tree) -> list:
    """A link broken over lines is one link element per line, side by side in one parent:
    each run of them with the same target becomes one. Returns the elements merged away."""
    merged = []
    parents = {link.obj.P.objgen: link.obj.P for link in links if "/P" in link.obj}
    for parent in map(tree.element, parents.values()):
        items, last = [], None
        for item in tree.kids(parent):
            target = (_target(item, tree) if isinstance(item, Element) and item in links
                      else None)
            if target is not None and last is not None and target == _target(last, tree):
                for kid in tree.kids(item):
                    if isinstance(kid, Element):
                        kid.obj.P = last.obj
                tree.set_kids(last, tree.kids(last) + tree.kids(item))
                merged.append(item)
                continue
            items.append(item)
            last = item if target is not None else None
        if merged:
            tree.set_kids(parent, items)
    return merged


def _target(link, tree: Tree) -> str | None:
    for item in tree.kids(link):
        if _is_objr(item) and _is_link(item):
            annotation = item.Obj
            action = annotation.get("/A")
            if isinstance(action, pikepdf.Dictionary) and "/URI" in action:
                return "uri:" + str(action.URI)
            return "dest:" + str(annotation.get("/Dest", ""))
    return None


def _is_objr(item) -> bool:
    return isinstance(item, pikepdf.Dictionary) and item.get("/Type") == "/OBJR"


def _is_link(objr) -> bool:
    target = objr.get("/Obj")
    return isinstance(target, pikepdf.Dictionary) and target.get("/Subtype") == "/Link"


def describe(link, annotations: list, texts: Texts, tree: Tree, document: pikepdf.Pdf) -> str:
    """The link's visible text, then where it goes: "(page 12)", "(opens example.com)"."""
    text = re.sub(r"-\n", "-", visible_text(link, texts, tree).replace("\x02", "-"))
    text = " ".join(text.split())
    where, alone = _where(annotations[0], document) if annotations else ("", "")
    if not text:
        return alone
    if not where or text.endswith(where):
        return text
    if where.startswith("page "):  # a contents entry ends with the page number it names
        number = re.escape(where.removeprefix("page "))
        text = re.sub(rf"\s*(?:\bpp?\.|\bpage)?\s*{number}$", "", text) or text
    return f"{text} ({where})"


def visible_text(element, texts: Texts, tree: Tree, page: int | None = None) -> str:
    """The text of an element's marked content, in order; a figure counts as its /Alt."""
    page = page if element.page is None else element.page
    if element.tag == "/Figure":
        return str(element.obj.get("/Alt", ""))
    found = []
    for item in tree.kids(element):
        if isinstance(item, int):
            found.append(texts.get(page, {}).get(int(item), ""))
        elif isinstance(item, pikepdf.Dictionary) and item.get("/Type") == "/MCR":
            where = tree.pages.get(item.Pg.objgen, page) if "/Pg" in item else page
            found.append(texts.get(where, {}).get(int(item.MCID), ""))
        elif isinstance(item, Element):
            found.append(visible_text(item, texts, tree, page))
    return "".join(found)


def _where(annotation, document: pikepdf.Pdf) -> tuple[str, str]:
    """Where a link goes, said after its text ("page 12", "opens example.com") and said
    alone, for a link with no text ("link to page 12")."""
    action = annotation.get("/A")
    if isinstance(action, pikepdf.Dictionary) and action.get("/S") == "/URI":
        return _uri_words(str(action.URI))
    dest = annotation.get("/Dest")
    if dest is None and isinstance(action, pikepdf.Dictionary) and action.get("/S") == "/GoTo":
        dest = action.get("/D")
    number = _dest_page(dest, document)
    return (f"page {number}", f"link to page {number}") if number else ("", "")


def _uri_words(uri: str) -> tuple[str, str]:
    parts = urlsplit(uri)
    if parts.scheme == "mailto":
        address = unquote(parts.path)
        return f"email {address}", f"email {address}"
    if parts.scheme == "tel":
        number = unquote(parts.path)
        return f"call {number}", f"call {number}"
    host = (parts.hostname or "").removeprefix("www.")
    return (f"opens {host}", f"link to {host}") if host else ("", "")


def _dest_page(dest, document: pikepdf.Pdf) -> str | None:
    if isinstance(dest, (pikepdf.String, pikepdf.Name)):
        names = document.Root.get("/Names", {}).get("/Dests")
        if names is None:
            return None
        tree = pikepdf.NameTree(names)
        name = str(dest).lstrip("/")
        dest = tree.get(name)
        if isinstance(dest, pikepdf.Dictionary):
            dest = dest.get("/D")
    if isinstance(dest, pikepdf.Array) and len(dest) and isinstance(dest[0], pikepdf.Dictionary):
        for index, page in enumerate(document.pages):
            if page.objgen == dest[0].objgen:
                return str(page.label or index + 1)
    return None


# --- form XObjects (CSS opacity) ------------------------------------------------------------

def map_form_content(document: pikepdf.Pdf, parents: pikepdf.NumberTree, tree: Tree) -> None:
    """Marked content a page draws through a form XObject: numbered within the form, the form
    given ``/StructParents``, and the element's kid made an MCR naming the form (``/Stm``)."""
    next_key = max((int(key) for key, _ in parents.items()), default=-1) + 1
    for page in document.pages:
        key = page.obj.get("/StructParents")
        if key is None or int(key) not in parents:
            continue
        mapped = parents[int(key)]
        for form in _forms_with_mcids(page.obj, page.obj.get("/Resources"), set()):
            numbers: dict[int, int] = {}
            _rewrite(form, lambda mcid: numbers.setdefault(mcid, len(numbers)), document)
            elements = []
            for old, new in sorted(numbers.items(), key=lambda pair: pair[1]):
                element = mapped[old] if old < len(mapped) else None
                elements.append(element if isinstance(element, pikepdf.Dictionary)
                                else None)
                if isinstance(element, pikepdf.Dictionary):
                    _point_at_form(tree.element(element), old, new, page.obj, form, tree)
                    mapped[old] = None
            form.StructParents = next_key
            parents[next_key] = document.make_indirect(pikepdf.Array(elements))
            next_key += 1


def _forms_with_mcids(owner, resources, seen: set) -> Iterator[pikepdf.Stream]:
    if resources is None:
        return
    xobjects = resources.get("/XObject", {})
    data = owner.read_bytes() if isinstance(owner, pikepdf.Stream) else _page_bytes(owner)
    for match in _DRAW_FORM.finditer(data):
        form = xobjects.get("/" + match.group(1).decode("latin-1"))
        if (not isinstance(form, pikepdf.Stream) or form.get("/Subtype") != "/Form"
                or form.objgen in seen or "/StructParents" in form):
            continue
        seen.add(form.objgen)
        yield from _forms_with_mcids(form, form.get("/Resources", resources), seen)
        if _mcids(form.read_bytes()):
            yield form


def _point_at_form(element: Element, old: int, new: int, page, form, tree: Tree) -> None:
    reference = pikepdf.Dictionary(Type=pikepdf.Name.MCR, Pg=page, MCID=new, Stm=form)
    items = list(tree.kids(element))
    for position, item in enumerate(items):
        if isinstance(item, int) and int(item) == old:
            items[position] = reference
        elif (isinstance(item, pikepdf.Dictionary) and item.get("/Type") == "/MCR"
              and int(item.MCID) == old and "/Stm" not in item):
            items[position] = reference
    tree.set_kids(element, items)


# --- contents lists, header cells, language -------------------------------------------------

def tag_contents_lists(document: pikepdf.Pdf, tree: Tree) -> None:
    """A list whose every item links into the document is a table of contents."""
    linking = set()
    for element, ancestors in tree.elements:
        if any(_is_objr(kid) and is_internal_link(kid.Obj) for kid in tree.kids(element)):
            linking.update((*ancestors, element))
    for element, _ in tree.elements:
        if element.tag != "/L":
            continue
        items = [item for item in tree.kids(element)
                 if isinstance(item, Element) and item.tag == "/LI"]
        if items and all(item in linking for item in items):
            tree.set_tag(element, pikepdf.Name.TOC)
            for item in items:
                _to_toc_item(document, item, tree)


def is_internal_link(annotation) -> bool:
    if not isinstance(annotation, pikepdf.Dictionary) or annotation.get("/Subtype") != "/Link":
        return False
    action = annotation.get("/A")
    return "/Dest" in annotation or (isinstance(action, pikepdf.Dictionary)
                                     and action.get("/S") == "/GoTo")


def _to_toc_item(document: pikepdf.Pdf, item: Element, tree: Tree) -> None:
    """``LI > LBody > Link`` becomes ``TOCI > Reference > Link`` (LBody has no place in TOCI)."""
    tree.set_tag(item, pikepdf.Name.TOCI)
    found = []
    for kid in tree.kids(item):
        lbody = isinstance(kid, Element) and kid.tag == "/LBody"
        for part in tree.kids(kid) if lbody else [kid]:
            if isinstance(part, Element) and part.tag == "/Link":
                link = part
                part = tree.new_element(document, pikepdf.Name.Reference, item, [link])
                link.obj.P = part.obj
            elif isinstance(part, Element):
                part.obj.P = item.obj
            found.append(part)
    tree.set_kids(item, found)


def demote_empty_headers(tree: Tree) -> None:
    """A ``TH`` holding no content becomes a ``TD``, and no cell names it as its header."""
    dropped = []
    cells = []
    for element, _ in tree.elements:
        if element.tag == "/TH" and not _has_content(element, tree):
            tree.set_tag(element, pikepdf.Name.TD)
            if "/ID" in element.obj:
                dropped.append(bytes(element.obj.ID))
                del element.obj["/ID"]
        if element.tag in ("/TD", "/TH"):
            cells.append(element)
    if not dropped:
        return
    for cell in cells:
        attributes = cell.obj.get("/A")
        headers = attributes.get("/Headers") if isinstance(attributes, pikepdf.Dictionary) else None
        if isinstance(headers, pikepdf.Array):
            cell.obj.A.Headers = pikepdf.Array([h for h in headers if bytes(h) not in dropped])


def _has_content(element, tree: Tree) -> bool:
    for item in tree.kids(element):
        if isinstance(item, int) or (isinstance(item, pikepdf.Dictionary)
                                     and item.get("/Type") in _CONTENT_ITEMS):
            return True
        if isinstance(item, Element) and _has_content(item, tree):
            return True
    return False


def set_language(document: pikepdf.Pdf, language: str) -> None:
    """``/Lang`` in the catalog (if missing) and ``dc:language`` in the XMP metadata."""
    if not re.fullmatch(r"[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*", language or ""):
        return
    if not str(document.Root.get("/Lang", "")):
        document.Root.Lang = pikepdf.String(language)
    with document.open_metadata(set_pikepdf_as_editor=False, update_docinfo=False) as meta:
        meta["dc:language"] = [str(document.Root.Lang)]
