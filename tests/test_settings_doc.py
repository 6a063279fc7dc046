"""`.env.example` lists every setting (a newcomer reads it to configure the service)."""

from __future__ import annotations

import re
from pathlib import Path

from shared.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def test_env_example_lists_every_setting() -> None:
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    listed = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", text, flags=re.MULTILINE))
    wanted = {name.upper() for name in Settings.model_fields}
    assert wanted - listed == set(), "add these to .env.example"
