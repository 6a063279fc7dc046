"""The acknowledgement links in SMS point where phones reach the API (issue 23): the API does
not start without `PUBLIC_BASE_URL`, `make run` derives it from `PORT`, and every deploy file
sets it."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from api.app import create_app
from shared.devrun import child_environment
from shared.embedded import Services
from shared.settings import MissingSetting, Settings

ROOT = Path(__file__).resolve().parent.parent


async def test_the_api_does_not_start_without_it(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"public_base_url": ""}))
    with pytest.raises(MissingSetting, match="PUBLIC_BASE_URL"):
        async with app.router.lifespan_context(app):
            pass


def test_it_is_a_url_kept_without_its_trailing_slash() -> None:
    assert Settings(public_base_url="https://xf.example.gov.cn/").public_base_url == (
        "https://xf.example.gov.cn"
    )
    with pytest.raises(ValidationError):
        Settings(public_base_url="xf.example.gov.cn")


def test_make_run_follows_the_port_unless_it_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    services = Services(database_url="postgresql://x/y", redis_url="redis://x:1/0")
    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    env = child_environment(services, {}, 8123)
    assert env["PUBLIC_BASE_URL"] == "http://127.0.0.1:8123"
    assert env["API_URL"] == "http://127.0.0.1:8123"
    monkeypatch.setenv("PUBLIC_BASE_URL", "http://192.168.1.20:8123")
    assert child_environment(services, {}, 8123)["PUBLIC_BASE_URL"] == "http://192.168.1.20:8123"


def test_every_deploy_file_sets_it() -> None:
    deploy = ROOT / "deploy"
    secrets = (deploy / "k8s/overlays/example/setup/secrets.env.example").read_text(
        encoding="utf-8"
    )
    assert any(line.startswith("PUBLIC_BASE_URL=https://") for line in secrets.splitlines())
    compose = (deploy / "compose.yaml").read_text(encoding="utf-8")
    assert "PUBLIC_BASE_URL: ${PUBLIC_BASE_URL:?" in compose
    readme = (deploy / "README.md").read_text(encoding="utf-8")
    required = readme.split("Required in production:", 1)[1].split("\n\n", 1)[0]
    assert "`PUBLIC_BASE_URL`" in required
    assert "PUBLIC_BASE_URL" in (ROOT / ".env.example").read_text(encoding="utf-8")
