"""The dashboard after `make demo`, as a county leader first sees it: every figure in Chinese,
no raw key on the page (no status, channel, level or category code), rates as percentages,
and colours that judge. The screenshot goes to `artifacts/dashboard.png` (and a small copy,
`artifacts/dashboard-small.png`, for the README's `docs/dashboard.png`)."""

from __future__ import annotations

import enum
import importlib
import pkgutil
import re
import uuid
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from PIL import Image

import api.models
from api.categories.vocabulary import DEFAULT_CATEGORIES
from api.demo import plan
from api.demo.loader import load
from api.kit.timeutil import local_today
from shared.settings import Settings
from tests.browser.conftest import Api
from tests.conftest import ADMIN_PASSWORD

if TYPE_CHECKING:
    from playwright.async_api import Browser

pytestmark = [pytest.mark.browser, pytest.mark.timeout(900)]

SMALL_WIDTH = 1200
SMALL_MAX_BYTES = 300_000


def raw_keys() -> set[str]:
    """Every value of every enum of the tables (statuses, channels, levels, roles …) and every
    code of the default category vocabulary, with its free-text spelling (`land_acquisition`)."""
    keys: set[str] = set()
    for info in pkgutil.iter_modules(api.models.__path__):
        module = importlib.import_module(f"api.models.{info.name}")
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, enum.Enum)
                and value.__module__ == module.__name__
            ):
                keys |= {str(member.value) for member in value}
    for category in DEFAULT_CATEGORIES:
        keys |= {category.code, category.code.replace(".", "_")}
        keys |= set(category.code.split("."))
    return keys


def shown_keys(text: str, keys: set[str]) -> set[str]:
    """The raw keys that stand as words of the text (a key inside a longer word is not one)."""
    words = set(re.findall(r"[A-Za-z][A-Za-z0-9_.]*[A-Za-z0-9]|[A-Za-z]", text))
    return words & keys


def test_the_raw_key_list_finds_what_it_should() -> None:
    keys = raw_keys()
    assert {"land.acquisition", "land_acquisition", "forestry.hill_dispute"} <= keys
    assert {"visit", "grid", "closed", "re_review", "county", "national", "missed"} <= keys
    assert shown_keys("信访 visit 3 件，land.acquisition：2", keys) == {"visit", "land.acquisition"}
    assert shown_keys("XF-2026-000123 信访总量 80.0%", keys) == set()


@pytest.fixture(scope="module")
async def demo_county(api: Api, settings: Settings, tmp_path_factory: Any) -> str:
    """The demo loaded into the database the API process serves; the county's id."""
    own = settings.model_copy(
        update={
            "materials_dir": str(tmp_path_factory.mktemp("demo-materials")),
            "arq_queue": f"pd-browser-demo:{uuid.uuid4().hex[:8]}",
        }
    )
    loaded = await load(own, say=lambda _: None)
    assert loaded is not None
    return loaded.county_id


async def test_the_demo_county_on_the_dashboard_shows_no_raw_key(
    demo_county: str, api: Api, browser: Browser, artifacts: Path
) -> None:
    # the demo is loaded first (its clock is frozen meanwhile), then the browser starts
    from playwright.async_api import expect

    page = await browser.new_page(viewport={"width": 1600, "height": 1000}, locale="zh-CN")
    try:
        # the whole year loaded, not only the last 30 days the page starts with
        year = {
            "from": (local_today() - timedelta(days=364)).isoformat(),
            "to": local_today().isoformat(),
        }
        query = f"unit_id={demo_county}&poll=60&from={year['from']}&to={year['to']}"
        await page.goto(f"{api.url}/dashboard?{query}")
        await page.fill("#username", "admin")
        await page.fill("#password", ADMIN_PASSWORD)
        await page.click("#login-submit")
        await expect(page.locator("body")).to_have_attribute("data-state", "live")
        await expect(page.locator("#unit-name")).to_contain_text(plan.COUNTY)
        await expect(page.locator("#kpi-cases")).not_to_have_text("—")
        assert int(await page.locator("#kpi-cases").inner_text()) >= plan.CASES_PER_YEAR * 0.9
        # the towns below the county, each a tile
        await expect(page.locator("#units [data-unit]")).to_have_count(len(plan.TOWNS))

        # rates as percentages, each explained, judged where it can be
        for card in await page.locator("[data-rate]").all():
            rate = await card.locator('[data-part="rate"]').inner_text()
            assert re.fullmatch(r"\d{1,3}\.\d%|—", rate), rate
            assert await card.get_attribute("title")
        judged = await page.locator("[data-rate][data-judged]").evaluate_all(
            "cards => cards.map(c => c.dataset.judged)"
        )
        assert {"good", "bad"} & set(judged), judged
        for target in await page.locator('[data-part="target"]').all_inner_texts():
            assert "0." not in target, target  # a target is a percentage, never a share

        # the counts that should be zero are coloured by whether they are
        overdue = await page.locator("#kpi-open-overdue").inner_text()
        kpi = page.locator(".kpi", has=page.locator("#kpi-open-overdue"))
        await expect(kpi).to_have_attribute("data-judged", "good" if overdue == "0" else "bad")

        # no raw key anywhere in what the page shows
        text = await page.locator("body").inner_text()
        assert not shown_keys(text, raw_keys()), shown_keys(text, raw_keys())

        shot = artifacts / "dashboard.png"
        await page.screenshot(path=str(shot), full_page=True)
        small = artifacts / "dashboard-small.png"
        await page.screenshot(path=str(small), full_page=False)
        with Image.open(small) as image:
            height = round(image.height * SMALL_WIDTH / image.width)
            resized = image.convert("RGB").resize((SMALL_WIDTH, height), Image.Resampling.LANCZOS)
            resized.quantize(colors=128).save(small, optimize=True)
        assert small.stat().st_size < SMALL_MAX_BYTES
        print(f"dashboard screenshots: {shot}, {small}")
    finally:
        await page.close()
