"""Shared fixtures: a fresh copy of the tiny sample guide, and one real build of it."""
from __future__ import annotations

import shutil
from pathlib import Path

import page
import pikepdf
import pytest
from pypdf import PdfReader

from leadguide.build import BuildResult, build

SAMPLE = Path(__file__).parent / "sample_guide"


def copy_sample(target: Path) -> Path:
    guide = target / "guide"
    shutil.copytree(SAMPLE, guide)
    return guide


@pytest.fixture
def sample_guide(tmp_path: Path) -> Path:
    """A writable copy of tests/sample_guide."""
    return copy_sample(tmp_path)


@pytest.fixture(scope="session")
def built_sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[BuildResult, PdfReader]:
    """The sample guide built once, strictly, and opened with pypdf."""
    root = tmp_path_factory.mktemp("built")
    guide = copy_sample(root)
    result = build(guide, out=root / "out" / "sample.pdf")
    return result, PdfReader(result.output)


BAKERY = Path(__file__).parent / "bakery_guide"
DEFAULT = Path(__file__).parents[1] / "guide"


@pytest.fixture(scope="session")
def built_default(tmp_path_factory: pytest.TempPathFactory) -> BuildResult:
    """The shipped default guide built once, strictly."""
    return build(DEFAULT, out=tmp_path_factory.mktemp("default") / "guide.pdf")


@pytest.fixture(scope="session")
def built_bakery(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, BuildResult]:
    """The bakery guide (no kit, A4, its own colours) built once, strictly."""
    root = tmp_path_factory.mktemp("bakery")
    guide = root / "guide"
    shutil.copytree(BAKERY, guide)
    return guide, build(guide, out=root / "out" / "bakery.pdf")


def assert_pdf_ua_1(pdf: Path) -> None:
    """page-validation (independent of leadguide) passes the PDF as PDF/UA-1, and the XMP
    claims it."""
    report = page.validate_pdf(pdf, profile="ua1")
    assert report.is_compliant, [(f.rule_id, f.message) for f in report.failures]
    with pikepdf.open(pdf) as document:
        assert document.open_metadata().get("pdfuaid:part") == "1"
