"""Every file a build reads passes one guard: inside the guide, a regular file, a sane size."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from leadguide.build import build
from leadguide.errors import GuideError
from leadguide.guide.guard import MAX_TEXT_BYTES, RefusedFile, read_bytes, read_text

SECRET = "CANARY-OUTSIDE-5d1e"


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    secret = tmp_path / "outside.txt"
    secret.write_text(f"---\ntitle: {SECRET}\n---\n{SECRET}\n")
    return secret


def _build_fails(guide: Path) -> GuideError:
    with pytest.raises(GuideError) as error:
        build(guide, out=guide / "out.pdf")
    assert not (guide / "out.pdf").exists()
    assert SECRET not in str(error.value)
    return error.value


def _messages(error: GuideError) -> str:
    return "\n".join(str(e) for e in getattr(error, "errors", [error]))


def test_a_chapter_symlinked_out_of_the_guide_is_refused(sample_guide, outside):
    chapter = sample_guide / "chapters" / "02-training.md"
    chapter.unlink()
    chapter.symlink_to(outside)
    error = _build_fails(sample_guide)
    assert "chapters/02-training.md: leads outside the guide folder" in _messages(error)


def test_a_data_file_symlinked_out_is_refused(sample_guide, outside):
    (sample_guide / "data" / "extra.yaml").symlink_to(outside)
    assert "data/extra.yaml: leads outside the guide folder" in _messages(
        _build_fails(sample_guide))


def test_guide_yaml_symlinked_out_is_refused(sample_guide, tmp_path):
    real = tmp_path / "elsewhere.yaml"
    (sample_guide / "guide.yaml").rename(real)
    (sample_guide / "guide.yaml").symlink_to(real)
    assert "guide.yaml: leads outside the guide folder" in _messages(_build_fails(sample_guide))


def test_an_included_template_symlinked_out_is_refused(sample_guide, outside):
    templates = sample_guide / "templates"
    templates.mkdir()
    (templates / "cover.html").symlink_to(outside)
    assert "templates/cover.html: leads outside the guide folder" in _messages(
        _build_fails(sample_guide))


def test_a_stylesheet_symlinked_out_is_refused(sample_guide, outside):
    styles = sample_guide / "styles"
    styles.mkdir()
    (styles / "print.css").symlink_to(outside)
    assert "styles/print.css: leads outside the guide folder" in _messages(
        _build_fails(sample_guide))


def test_an_image_symlinked_out_is_refused(sample_guide, tmp_path):
    secret = tmp_path / "secret.svg"
    secret.write_text('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>')
    (sample_guide / "images" / "mark.svg").unlink()
    (sample_guide / "images" / "mark.svg").symlink_to(secret)
    assert "leads outside the guide folder" in _messages(_build_fails(sample_guide))


def test_a_symlink_inside_the_guide_is_fine(tmp_path):
    (tmp_path / "a.txt").write_text("hello")
    (tmp_path / "b.txt").symlink_to(tmp_path / "a.txt")
    assert read_text(tmp_path / "b.txt", (tmp_path,)) == "hello"


def test_a_dangling_symlink_named_like_a_data_file(sample_guide):
    (sample_guide / "data" / "gone.yaml").symlink_to(sample_guide / "nowhere.yaml")
    assert "data/gone.yaml: a symlink that leads nowhere" in _messages(
        _build_fails(sample_guide))


def test_a_folder_named_like_a_data_file(sample_guide):
    (sample_guide / "data" / "folder.yaml").mkdir()
    assert "data/folder.yaml: is a folder, not a file" in _messages(_build_fails(sample_guide))


def test_a_fifo_named_like_a_chapter_does_not_hang_the_build(sample_guide):
    chapter = sample_guide / "chapters" / "02-training.md"
    chapter.unlink()
    os.mkfifo(chapter)
    assert "02-training.md: not a regular file" in _messages(_build_fails(sample_guide))


def test_a_huge_chapter_is_refused(sample_guide):
    chapter = sample_guide / "chapters" / "03-food.md"
    with chapter.open("a") as stream:
        stream.truncate(MAX_TEXT_BYTES + 10)
    assert "03-food.md: too big" in _messages(_build_fails(sample_guide))


def test_a_symlink_loop(tmp_path):
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    with pytest.raises(RefusedFile):
        read_bytes(tmp_path / "a", (tmp_path,))


def test_a_device_is_not_read(tmp_path):
    with pytest.raises(RefusedFile, match="not a regular file"):
        read_bytes(Path("/dev/zero"), (Path("/dev"),))
