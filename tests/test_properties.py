"""Random front matter and YAML always end in a GuideError with a path, never another exception."""
from __future__ import annotations

import shutil
import string
import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings, strategies as st

from leadguide.errors import GuideError
from leadguide.guide.chapters import read_chapter
from leadguide.guide.config import load_config
from leadguide.guide.data import load_data

SAMPLE = Path(__file__).parent / "sample_guide"

scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6),
                    st.floats(allow_nan=False), st.text(max_size=20))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4),
    st.dictionaries(st.text(string.ascii_lowercase + "_", min_size=1, max_size=10), inner,
                    max_size=5)), max_leaves=20)
known_keys = st.sampled_from(["title", "pages", "summary", "template", "opener", "toc",
                              "page_size", "chapters", "theme", "metadata", "cover", "cta",
                              "output", "author", "weeks", "phases", "days", "partners",
                              "exercises", "rest", "sample_days", "grocery_list", "email"])
documents = st.one_of(
    st.dictionaries(st.one_of(known_keys, st.text(max_size=8)), values, max_size=8),
    values)
raw_text = st.text(alphabet=string.printable + "éü—\t", max_size=200)


def _dump(document) -> str:
    return yaml.safe_dump(document, allow_unicode=True)


def _expect_guide_error_or_success(action) -> None:
    try:
        action()
    except GuideError as error:
        assert error.path is not None, error
        assert str(error)


settings_ = settings(max_examples=150, deadline=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture])


@settings_
@given(document=documents)
def test_random_front_matter(document):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "chapters" / "01-x.md"
        path.parent.mkdir()
        path.write_text(f"---\n{_dump(document)}---\nBody\n")
        _expect_guide_error_or_success(lambda: read_chapter(path, 1, Path(folder)))


@settings_
@given(text=raw_text)
def test_random_text_as_front_matter(text):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "chapters" / "01-x.md"
        path.parent.mkdir()
        path.write_text(f"---\n{text}\n---\nBody\n")
        _expect_guide_error_or_success(lambda: read_chapter(path, 1, Path(folder)))


@settings_
@given(document=documents, as_text=st.booleans(), text=raw_text)
def test_random_guide_yaml(document, as_text, text):
    with tempfile.TemporaryDirectory() as folder:
        guide = Path(folder) / "guide"
        shutil.copytree(SAMPLE, guide)
        (guide / "guide.yaml").write_text(text if as_text else _dump(document))
        _expect_guide_error_or_success(lambda: load_config(guide))


@settings_
@given(name=st.sampled_from(["program", "exercises", "nutrition", "extra"]),
       document=documents, as_text=st.booleans(), text=raw_text)
def test_random_data_files(name, document, as_text, text):
    with tempfile.TemporaryDirectory() as folder:
        guide = Path(folder) / "guide"
        shutil.copytree(SAMPLE, guide)
        (guide / "data" / f"{name}.yaml").write_text(text if as_text else _dump(document))
        _expect_guide_error_or_success(lambda: load_data(guide))
