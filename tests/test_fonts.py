"""The CJK font of the written notices: installed by the project from its registry package,
pinned by its hash, never the machine's own."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from shared.fonts import NOTO_SANS_SC, FontPackage, FontUnavailable, ensure_font, font_dir
from shared.settings import Settings


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_font_is_the_pinned_file_in_the_configured_directory() -> None:
    directory = font_dir(Settings().font_dir)
    path = ensure_font(directory)
    assert path.parent == directory
    assert _sha(path) == NOTO_SANS_SC.sha256
    assert path.read_bytes()[:4] == b"\x00\x01\x00\x00"  # a TrueType file


def test_a_cached_file_that_is_not_the_pinned_one_is_fetched_again(tmp_path: Path) -> None:
    (tmp_path / NOTO_SANS_SC.file_name).write_bytes(b"not a font")
    path = ensure_font(tmp_path)
    assert _sha(path) == NOTO_SANS_SC.sha256


def test_a_font_not_matching_its_pin_is_never_used(tmp_path: Path) -> None:
    # the cached good copy stands in for the package: no second download needed
    good = ensure_font(font_dir(Settings().font_dir))
    wrong = FontPackage(NOTO_SANS_SC.package, "0.0.0-none", NOTO_SANS_SC.member, "0" * 64)
    shutil.copy(good, tmp_path / wrong.file_name)
    with pytest.raises(FontUnavailable):
        ensure_font(tmp_path, wrong)
    assert not (tmp_path / f"{Path(wrong.file_name).stem}.partial").exists()
