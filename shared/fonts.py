"""The CJK font the written notices are typeset in (Noto Sans SC, SIL Open Font License),
installed by the project itself from a registry package and never taken from the machine: a PDF
that embeds it prints the same on any office's computer.

`ensure_font()` gives its path, fetching it once with the machine's npm (whose own configuration
chooses the registry) into the font directory and checking its SHA-256; `python -m shared.fonts`
(`make fonts`) does it ahead of time.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import subprocess
import tarfile
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FontPackage:
    """A font file inside a registry package, pinned by version and by the file's hash."""

    package: str
    version: str
    member: str
    sha256: str

    @property
    def file_name(self) -> str:
        """The name the font is cached under."""
        return Path(self.member).name


NOTO_SANS_SC = FontPackage(
    package="@expo-google-fonts/noto-sans-sc",
    version="0.4.3",
    member="package/400Regular/NotoSansSC_400Regular.ttf",
    sha256="d45f67f0a7c0ca3f256950777ce6a61cc7ce5f9696d02900cbbaac25f8aa7d16",
)

ROOT = Path(__file__).resolve().parent.parent
_lock = threading.Lock()
# Files checked by their hash in this process: a render does not hash 10 MB each time.
_checked: set[Path] = set()


class FontUnavailable(RuntimeError):
    """The font could not be installed (no npm, no registry, or a file that is not the one
    pinned)."""


def font_dir(configured: str) -> Path:
    """Where fonts are cached: the setting `FONT_DIR` (relative to the project), by default
    `.data/fonts`."""
    path = Path(configured)
    return path if path.is_absolute() else ROOT / path


def _digest(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()


def _fetch(font: FontPackage, target: Path) -> None:
    npm = shutil.which("npm")
    if npm is None:
        raise FontUnavailable(f"npm is needed to install {font.package}@{font.version}.")
    with tempfile.TemporaryDirectory() as tmp:
        spec = f"{font.package}@{font.version}"
        log.info("fetching the font %s with npm", spec)
        run = subprocess.run(
            [npm, "pack", spec, "--silent", "--pack-destination", tmp],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        tarballs = list(Path(tmp).glob("*.tgz"))
        if run.returncode != 0 or len(tarballs) != 1:
            raise FontUnavailable(f"npm pack {spec} failed: {run.stderr.strip()[-500:]}")
        with tarfile.open(tarballs[0]) as archive:
            source = archive.extractfile(archive.getmember(font.member))
            if source is None:
                raise FontUnavailable(f"{font.member} is not a file in {spec}.")
            partial = target.with_suffix(".partial")
            with source, partial.open("wb") as out:
                shutil.copyfileobj(source, out)
        if _digest(partial) != font.sha256:
            partial.unlink()
            raise FontUnavailable(f"{font.member} of {spec} is not the file pinned by its hash.")
        partial.replace(target)


def ensure_font(directory: Path, font: FontPackage = NOTO_SANS_SC) -> Path:
    """The path of `font`'s file in `directory`, installed and checked by its SHA-256 on the
    first call (a cached file that fails the check is fetched again)."""
    target = directory / font.file_name
    with _lock:
        if target in _checked:
            return target
        if not (target.is_file() and _digest(target) == font.sha256):
            directory.mkdir(parents=True, exist_ok=True)
            _fetch(font, target)
        _checked.add(target)
        return target


if __name__ == "__main__":
    from shared.settings import get_settings

    print(ensure_font(font_dir(get_settings().font_dir)))
