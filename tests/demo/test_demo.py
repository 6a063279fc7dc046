"""`make demo`: the demo county loaded into a database of its own shows real shapes on the
dashboard, in the bulletin and the scores, and a second load changes nothing."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from api.app import create_app
from api.categories.vocabulary import DEFAULT_CATEGORIES
from api.demo import plan
from api.demo.desk import Loaded
from api.demo.loader import load
from api.kit.timeutil import local_today
from api.models.case import Case, Channel
from api.models.deadline import Deadline, DeadlineKind, DeadlineStatus
from api.models.escalation import Escalation
from shared.embedded import Services, create_fresh_database, drop_database
from shared.settings import Settings
from tests.conftest import ADMIN_PASSWORD, login, migrate

pytestmark = pytest.mark.timeout(900)

CODES = {c.code for c in DEFAULT_CATEGORIES}


@dataclass
class Demo:
    """The loaded database: what the loader said, the second load's answer, and a client of
    the app over that database."""

    loaded: Loaded
    again: Loaded | None
    http: httpx.AsyncClient
    admin: dict[str, str]
    app: Any
    until: date


@pytest.fixture(scope="module")
async def demo(
    services: Services, settings: Settings, tmp_path_factory: Any
) -> AsyncIterator[Demo]:
    """The demo loaded twice into a fresh database (it plays a year of deadlines and sweeps:
    kept away from the other tests' database), and the app over it."""
    url = create_fresh_database(services.database_url, "pd_demo")
    await asyncio.to_thread(migrate, url)  # alembic runs its own event loop
    materials = Path(tmp_path_factory.mktemp("demo-materials"))
    own = settings.model_copy(
        update={
            "database_url": url,
            "materials_dir": str(materials),
            "arq_queue": f"pd-test-demo:{uuid.uuid4().hex[:8]}",
        }
    )
    until = local_today()
    try:
        loaded = await load(own, until=until, say=lambda _: None)
        assert loaded is not None
        again = await load(own, until=until, say=lambda _: None)
        app = create_app(own)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
                admin = await login(http, "admin", ADMIN_PASSWORD)
                yield Demo(loaded, again, http, admin, app, until)
    finally:
        if not os.environ.get("KEEP_TEST_DB"):
            drop_database(url)


async def _get(demo: Demo, path: str, **params: Any) -> Any:
    resp = await demo.http.get(path, params=params, headers=demo.admin)
    assert resp.status_code == 200, resp.text
    return resp.json()


async def _year(demo: Demo) -> dict[str, Any]:
    first = demo.until - timedelta(days=364)
    return dict(
        await _get(
            demo,
            "/v1/stats/summary",
            unit_id=demo.loaded.county_id,
            **{"from": first.isoformat(), "to": demo.until.isoformat()},
        )
    )


async def test_the_year_has_every_channel_and_the_vocabularys_categories(demo: Demo) -> None:
    summary = await _year(demo)
    # the year's petitions, but for those still to come later today
    assert summary["cases"] == demo.loaded.cases >= plan.CASES_PER_YEAR * 0.97
    by_channel = summary["by_channel"]
    assert set(by_channel) == {c.value for c in Channel}
    # every channel carries a real share: none is a token case
    assert min(by_channel.values()) >= summary["cases"] * 0.05, by_channel
    by_category = summary["by_category"]
    assert set(by_category) <= CODES, set(by_category) - CODES
    assert len(by_category) >= 10
    # land acquisition and hill disputes lead, as seed 002 says
    top = sorted(by_category, key=by_category.__getitem__, reverse=True)[:3]
    assert "land.acquisition" in top and "forestry.hill_dispute" in top, by_category
    # the year has seasons: the busiest month has clearly more than the quietest
    months: dict[str, int] = {}
    for day in summary["per_day"]:
        months[day["day"][:7]] = months.get(day["day"][:7], 0) + sum(day["by_channel"].values())
    assert len(months) >= 12
    assert max(months.values()) >= 1.5 * min(months.values()), months
    # towns and villages: the county's figures are its towns' figures
    towns = await _get(demo, "/v1/stats/units", unit_id=demo.loaded.county_id)
    assert len(towns["items"]) == len(plan.TOWNS)
    assert all(item["summary"]["cases"] > 0 for item in towns["items"])


async def test_the_rates_are_neither_nothing_nor_everything(demo: Demo) -> None:
    summary = await _year(demo)
    for key, rate in summary["rates"].items():
        assert rate["denominator"] > 0, (key, rate)
        assert 0 < rate["rate"] < 1, (key, rate)
    assert summary["arrivals"]["on_time"] > summary["arrivals"]["missed"] > 0
    assert summary["collective"] > 0
    statuses = summary["by_status"]
    assert statuses["closed"] > summary["cases"] / 2
    assert sum(n for s, n in statuses.items() if s != "closed") > 0  # the recent ones are open


async def test_deadlines_are_met_and_missed_and_misses_escalate(demo: Demo) -> None:
    async with demo.app.state.desk.sessionmaker() as session:
        rows = (
            await session.execute(
                select(Deadline.kind, Deadline.status, func.count()).group_by(
                    Deadline.kind, Deadline.status
                )
            )
        ).all()
        escalations = (await session.execute(select(func.count(Escalation.id)))).scalar_one()
        still_open = (
            await session.execute(
                select(func.count(Escalation.id)).where(Escalation.status == "open")
            )
        ).scalar_one()
        cases = (await session.execute(select(func.count(Case.id)))).scalar_one()
    counts = {(kind, status): n for kind, status, n in rows}
    for kind in (DeadlineKind.arrival, DeadlineKind.handling, DeadlineKind.disposition):
        met = counts.get((kind, DeadlineStatus.met), 0)
        missed = counts.get((kind, DeadlineStatus.missed), 0)
        assert met > missed > 0, (kind, met, missed)
    assert escalations > 0
    # the officials acknowledge them: a few wait, as some do, not a wall of them
    assert still_open < escalations * 0.1, (still_open, escalations)
    # loading twice did not double anything
    assert demo.again is None
    assert cases == demo.loaded.cases


async def test_the_bulletin_and_the_scores_have_something_to_say(demo: Demo) -> None:
    month = (demo.until.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    bulletin = await _get(demo, "/v1/reports/monthly", month=month, unit_id=demo.loaded.county_id)
    assert bulletin["totals"]["cases"] > 0
    assert len(bulletin["units"]) == len(plan.TOWNS)
    assert bulletin["praise"] or any(bulletin["criticism"].values())
    scores = await _get(
        demo, "/v1/stats/scores", year=str(demo.until.year), unit_id=demo.loaded.county_id
    )
    docked = [u for u in scores["units"] if u["deductions"]]
    assert docked and len(docked) < len(scores["units"]) + 1
    assert len({u["score"] for u in scores["units"]}) > 1  # not every unit scores the same
    prevention = await _get(demo, "/v1/stats/prevention", unit_id=demo.loaded.county_id)
    follow_up = prevention["follow_up"]
    assert follow_up["calls"] > 0 and follow_up["on_time"] > 0
