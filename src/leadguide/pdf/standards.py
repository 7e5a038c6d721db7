"""The standards a guide's PDF may claim (guide.yaml ``pdf_standard``) and what each needs.

- ``ua-1`` (default): PDF/UA-1, as WeasyPrint's ``pdf/ua-1`` writes it and ``tags`` fixes it;
- ``a-3a+ua-1``: PDF/A-3a and PDF/UA-1 together, for an archive that must stay accessible;
- ``a-2b``: PDF/A-2b alone (its look kept for the long term; no accessibility claim).

PDF/A needs what WeasyPrint's ``pdf/ua-1`` does not write: an sRGB output intent (the ICC
profile WeasyPrint ships for its own PDF/A variants), a blending colour space on every page's
transparency group, the ``pdfaid`` identification in the XMP metadata and, beside
``pdfuaid``, the extension schema that declares it; the rest (appearance streams, printable
annotations, no ``NeedAppearances``) comes from ``forms``. ``conformance`` then judges the
result with page-validation's profile for each claim.
"""
from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files
from io import BytesIO

import pikepdf


@dataclass(frozen=True)
class Standard:
    name: str
    profiles: tuple[str, ...]  # page-validation's profiles, one per claim
    ua: bool  # claims PDF/UA-1
    pdfa: tuple[str, str] | None = None  # (part, conformance) of PDF/A

    @property
    def label(self) -> str:
        return {"ua-1": "PDF/UA-1", "a-3a+ua-1": "PDF/A-3a and PDF/UA-1",
                "a-2b": "PDF/A-2b"}[self.name]


STANDARDS = {
    "ua-1": Standard("ua-1", ("ua1",), ua=True),
    "a-3a+ua-1": Standard("a-3a+ua-1", ("3a", "ua1"), ua=True, pdfa=("3", "A")),
    "a-2b": Standard("a-2b", ("2b",), ua=False, pdfa=("2", "B")),
}
DEFAULT = "ua-1"

_UA_SCHEMA = """<rdf:Description rdf:about="" \
xmlns:pdfaExtension="http://www.aiim.org/pdfa/ns/extension/" \
xmlns:pdfaSchema="http://www.aiim.org/pdfa/ns/schema#" \
xmlns:pdfaProperty="http://www.aiim.org/pdfa/ns/property#">\
<pdfaExtension:schemas><rdf:Bag><rdf:li rdf:parseType="Resource">\
<pdfaSchema:schema>PDF/UA Universal Accessibility Schema</pdfaSchema:schema>\
<pdfaSchema:namespaceURI>http://www.aiim.org/pdfua/ns/id/</pdfaSchema:namespaceURI>\
<pdfaSchema:prefix>pdfuaid</pdfaSchema:prefix>\
<pdfaSchema:property><rdf:Seq><rdf:li rdf:parseType="Resource">\
<pdfaProperty:name>part</pdfaProperty:name>\
<pdfaProperty:valueType>Integer</pdfaProperty:valueType>\
<pdfaProperty:category>internal</pdfaProperty:category>\
<pdfaProperty:description>Indicates which part of ISO 14289 is followed</pdfaProperty:description>\
</rdf:li></rdf:Seq></pdfaSchema:property></rdf:li></rdf:Bag></pdfaExtension:schemas>\
</rdf:Description>"""


def apply_standard(pdf: bytes, standard: Standard) -> bytes:
    """The PDF with what ``standard`` needs beyond WeasyPrint's PDF/UA-1 output."""
    if standard.pdfa is None and standard.ua:
        return pdf
    with pikepdf.open(BytesIO(pdf)) as document:
        if standard.pdfa:
            add_output_intent(document)
            give_groups_a_colour_space(document)
        identify(document, standard)
        out = BytesIO()
        document.save(out, object_stream_mode=pikepdf.ObjectStreamMode.generate)
        return out.getvalue()


def add_output_intent(document: pikepdf.Pdf) -> None:
    """An sRGB output intent (PDF/A: device colours need one to mean something)."""
    profile = files("weasyprint.pdf").joinpath("sRGB2014.icc").read_bytes()
    icc = document.make_stream(profile)
    icc.N = 3
    document.Root.OutputIntents = pikepdf.Array([pikepdf.Dictionary(
        Type=pikepdf.Name.OutputIntent, S=pikepdf.Name.GTS_PDFA1,
        OutputConditionIdentifier=pikepdf.String("sRGB IEC61966-2.1"),
        Info=pikepdf.String("sRGB IEC61966-2.1"), DestOutputProfile=icc)])


def give_groups_a_colour_space(document: pikepdf.Pdf) -> None:
    """Every page a transparency group with a blending colour space, and every group that
    lacks one (forms drawn with CSS opacity) ``/DeviceRGB``."""
    for page in document.pages:
        if "/Group" not in page.obj:
            page.obj.Group = pikepdf.Dictionary(Type=pikepdf.Name.Group,
                                                S=pikepdf.Name.Transparency)
    for obj in document.objects:
        group = obj.get("/Group") if isinstance(obj, (pikepdf.Dictionary, pikepdf.Stream)) \
            else None
        if isinstance(group, pikepdf.Dictionary) and group.get("/S") == "/Transparency" \
                and "/CS" not in group:
            group.CS = pikepdf.Name.DeviceRGB


def identify(document: pikepdf.Pdf, standard: Standard) -> None:
    """The XMP identification of each claim (and none of another)."""
    with document.open_metadata(set_pikepdf_as_editor=False, update_docinfo=False) as meta:
        if standard.pdfa:
            meta["pdfaid:part"], meta["pdfaid:conformance"] = standard.pdfa
        if not standard.ua and "pdfuaid:part" in meta:
            del meta["pdfuaid:part"]
    if standard.pdfa and standard.ua:
        xmp = document.Root.Metadata.read_bytes().decode("utf-8")
        if "pdfaExtension:schemas" not in xmp:
            xmp = xmp.replace("</rdf:RDF>", _UA_SCHEMA + "</rdf:RDF>", 1)
            document.Root.Metadata.write(xmp.encode("utf-8"))
