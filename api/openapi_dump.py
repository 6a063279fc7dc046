"""Write the app's OpenAPI document to `openapi.yaml` (`make openapi`)."""

from __future__ import annotations

import sys
from pathlib import Path

import yaml
from fastapi import FastAPI


def render(app: FastAPI) -> str:
    """The OpenAPI document as YAML, keys in the app's order."""
    return yaml.safe_dump(app.openapi(), sort_keys=False, allow_unicode=True, width=100)


def main() -> None:
    """Regenerate the committed contract."""
    from api.app import create_app

    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("openapi.yaml")
    target.write_text(render(create_app()), encoding="utf-8")
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
