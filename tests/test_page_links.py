"""Pasted pages build: links to pages that are not chapters, and a body that repeats its title."""
from __future__ import annotations

from pathlib import Path

from pypdf import PdfReader

from leadguide.cli import main

PASTED = """---
title: Welcome aboard
---

# Welcome aboard

Read [the setup page](setup.md) first, then [reading](../guide/reading.md).

```markdown
See [setup](setup.md).
```

Once more: [setup](setup.md).
"""


def _paste(guide: Path) -> None:
    (guide / "chapters" / "01-intro.md").write_text(PASTED, encoding="utf-8")


def _uris(pdf: Path) -> list[str]:
    return [annotation.get_object()["/A"].get("/URI", "")
            for page in PdfReader(pdf).pages for annotation in page.get("/Annots", [])
            if annotation.get_object().get("/A")]


def test_a_draft_prints_links_to_other_pages_as_text_and_the_title_once(sample_guide, capsys):
    _paste(sample_guide)
    pdf = sample_guide / "out" / "draft.pdf"
    assert main(["build", str(sample_guide), "--draft", "--out", str(pdf)]) == 0
    err = capsys.readouterr().err
    assert err.count("warning: ") == 2 and "01-intro.md:7: link 'setup.md'" in err
    assert "(also on line 13)" in err and "01-intro.md:7: link '../guide/reading.md'" in err
    assert "note: " in err and "01-intro.md:5: the body's first heading 'Welcome aboard'" in err
    reader = PdfReader(pdf)
    start = next(page for page in reader.pages if "Read the setup page first" in
                 page.extract_text())
    assert start.extract_text().count("Welcome aboard") == 1
    assert not any("setup" in uri or "reading" in uri for uri in _uris(pdf))


def test_a_strict_build_names_each_link_once_with_its_fix(sample_guide, capsys):
    _paste(sample_guide)
    assert main(["build", str(sample_guide), "--out", str(sample_guide / "x.pdf")]) == 1
    lines = capsys.readouterr().err.splitlines()
    errors = [line for line in lines if "link '" in line]
    assert len(errors) == 2, lines
    assert errors[0].endswith("or remove the link (also on line 13)")
    assert "01-intro.md:7: link 'setup.md' is not a chapter of this guide" in errors[0]
    assert "set links.base_url in guide.yaml" in errors[0]
    assert not (sample_guide / "x.pdf").exists()


def test_links_base_url_makes_them_web_links_in_the_pdf(sample_guide):
    _paste(sample_guide)
    config = sample_guide / "guide.yaml"
    config.write_text(config.read_text() + "links:\n  base_url: https://docs.example.com/book/\n"
                      "  markdown_pages: html\n")
    pdf = sample_guide / "out" / "web.pdf"
    assert main(["build", str(sample_guide), "--draft", "--out", str(pdf)]) == 0
    uris = _uris(pdf)
    assert "https://docs.example.com/book/setup.html" in uris
    assert "https://docs.example.com/guide/reading.html" in uris


def test_a_broken_image_is_reported_at_its_use_not_at_a_code_sample(sample_guide, capsys):
    (sample_guide / "images" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    (sample_guide / "chapters" / "01-intro.md").write_text(
        "---\ntitle: Welcome aboard\n---\n\nHow to show an image:\n\n```markdown\n"
        "![Chart](../images/broken.png)\n```\n\n![Chart](../images/broken.png)\n",
        encoding="utf-8")
    assert main(["build", str(sample_guide), "--out", str(sample_guide / "x.pdf")]) == 1
    err = capsys.readouterr().err
    assert "01-intro.md:11: " in err and "broken.png" in err, err  # not :8, in the sample
