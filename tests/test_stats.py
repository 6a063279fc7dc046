"""The dashboard's figures (SPEC §6), each computed by hand from seeded cases, kept as the
cases change, scoped to the caller's territory and cheap to poll (ETag, 304)."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from api.kit.timeutil import local
from api.models.case import Case
from api.models.deadline import Deadline, DeadlineKind, DeadlineStatus
from api.models.stats import CaseFacts, StatCounter
from api.stats.counting import state_of
from api.stats.facts import facts_of
from api.units.repository import UnitRepository
from tests.conftest import (
    County,
    act,
    answer_and_close,
    arrivals,
    miss_now,
    service_token,
    visit_body,
)

pytestmark = pytest.mark.usefixtures("policy_restore")


def _body(county: County, **changes: Any) -> dict[str, Any]:
    body = visit_body(county.village2, county.town, 3)
    tag = uuid.uuid4().int % 10**8
    body["petitioners"] = [{"name": "赵六", "phone": f"137{tag:08d}", "is_representative": True}]
    return body | changes


async def _summary(
    client: httpx.AsyncClient, headers: dict[str, str], unit: dict[str, Any], **params: str
) -> dict[str, Any]:
    resp = await client.get(
        "/v1/stats/summary", params={"unit_id": unit["id"], **params}, headers=headers
    )
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


async def test_every_figure_matches_the_seeded_cases(
    app: FastAPI,
    client: httpx.AsyncClient,
    county: County,
    admin: dict[str, str],
    worker_headers: dict[str, str],
) -> None:
    staff = await county.headers(client, "town_staff")
    chief = await county.headers(client, "village2_chief")

    # 1. a visit at the town; the village chief arrives in time, nothing else happens
    first_body = _body(county)
    first = (await client.post("/v1/cases", json=first_body, headers=staff)).json()
    arrived = await client.post(f"/v1/cases/{first['id']}/arrivals", json={}, headers=chief)
    assert arrived.json()["on_time"] is True
    # 2. the same petitioners again on the same matter: a repeat petition, whose chief
    #    does not come
    again = _body(county) | {"petitioners": first_body["petitioners"]}
    repeat = (await client.post("/v1/cases", json=again, headers=staff)).json()
    assert repeat["is_repeat"] is True
    await miss_now(app, client, worker_headers, arrivals(repeat)[0]["id"])
    # 3. a letter that went to the city (skip-level), handled to the end, satisfied
    letter = (
        await client.post(
            "/v1/cases",
            json=_body(
                county,
                channel="letter",
                lodged_unit_id=None,
                lodged_level="city",
                category="labour.wages",
                headcount=1,
            ),
            headers=staff,
        )
    ).json()
    await act(client, staff, letter, "accept")
    await answer_and_close(client, county, staff, letter)
    # 4. an online petition accepted, its disposition in time, its handling time overrun
    online = (
        await client.post(
            "/v1/cases",
            json=_body(
                county,
                channel="online",
                lodged_unit_id=None,
                lodged_level="town",
                category="environment",
                headcount=1,
            ),
            headers=staff,
        )
    ).json()
    accepted = await act(client, staff, online, "accept")
    handling = next(d for d in accepted["deadlines"] if d["kind"] == "handling")
    await miss_now(app, client, worker_headers, handling["id"])
    # 5. a phone call last year: outside this year's period
    await client.post(
        "/v1/cases",
        json=_body(
            county,
            channel="phone",
            lodged_unit_id=None,
            lodged_level="town",
            received_at=f"{datetime.now(UTC).year - 1}-06-01T10:00:00+08:00",
        ),
        headers=staff,
    )

    desk = await county.headers(client, "county_staff")
    figures = await _summary(client, desk, county.county)
    assert figures["cases"] == 4
    assert figures["by_channel"] == {"letter": 1, "online": 1, "visit": 2}
    assert figures["by_category"] == {"environment": 1, "land.acquisition": 2, "labour.wages": 1}
    assert figures["by_lodged_level"] == {"city": 1, "town": 3}
    assert figures["by_status"] == {"accepted": 1, "closed": 1, "registered": 2}
    assert figures["collective"] == 0
    rates = figures["rates"]
    # disposition (处置: assigned, rejected or redirected) settled only for the letter
    assert rates["on_time_disposition"] == {"numerator": 1, "denominator": 1, "rate": 1.0}
    # handling settled: the letter in time, the online petition overrun
    assert rates["on_time_completion"] == {"numerator": 1, "denominator": 2, "rate": 0.5}
    assert rates["satisfaction"] == {"numerator": 1, "denominator": 1, "rate": 1.0}
    assert rates["first_visit_resolution"] == {"numerator": 1, "denominator": 1, "rate": 1.0}
    assert rates["repeat"] == {"numerator": 1, "denominator": 4, "rate": 0.25}
    assert rates["skip_level"] == {"numerator": 1, "denominator": 4, "rate": 0.25}
    assert rates["arrival_on_time"] == {"numerator": 1, "denominator": 2, "rate": 0.5}
    assert figures["arrivals"] == {"on_time": 1, "missed": 1}
    assert figures["open_overdue"] == 1
    today = datetime.now(UTC).astimezone().date().isoformat()
    assert sum(sum(d["by_channel"].values()) for d in figures["per_day"]) == 4
    assert figures["to"] >= today[:4] and figures["from"].endswith("-01-01")

    # every case arose in village2: the town and village2 see the same, the area nothing
    town = await _summary(client, staff, county.town)
    village2 = await _summary(client, staff, county.village2)
    area = await _summary(client, staff, county.area)
    for key in ("cases", "by_channel", "rates", "open_overdue", "by_status"):
        assert town[key] == figures[key] == village2[key], key
    assert area["cases"] == 0 and area["rates"]["repeat"]["rate"] is None

    # last year's call counts in last year
    year = datetime.now(UTC).year - 1
    before = await _summary(
        client, desk, county.county, **{"from": f"{year}-01-01", "to": f"{year}-12-31"}
    )
    assert before["cases"] == 1 and before["by_channel"] == {"phone": 1}
    # a period of days inside a month reads day rows, a year month rows: both agree
    june = await _summary(
        client, desk, county.county, **{"from": f"{year}-06-01", "to": f"{year}-06-01"}
    )
    assert june["cases"] == 1
    july = await _summary(
        client, desk, county.county, **{"from": f"{year}-06-02", "to": f"{year}-07-15"}
    )
    assert july["cases"] == 0

    ranked = await client.get(
        "/v1/stats/units", params={"unit_id": county.town["id"]}, headers=staff
    )
    assert ranked.status_code == 200, ranked.text
    items = ranked.json()["items"]
    assert {i["unit"]["id"] for i in items} == {county.area["id"], county.village2["id"]}
    top = items[0]
    assert top["rank"] == 1 and top["unit"]["id"] == county.village2["id"]
    assert top["summary"]["cases"] == 4 and top["summary"]["open_overdue"] == 1


async def test_figures_follow_each_change(
    app: FastAPI, client: httpx.AsyncClient, county: County, worker_headers: dict[str, str]
) -> None:
    staff = await county.headers(client, "town_staff")
    case = (await client.post("/v1/cases", json=_body(county), headers=staff)).json()
    figures = await _summary(client, staff, county.village2)
    assert figures["by_status"] == {"registered": 1}
    accepted = await act(client, staff, case, "accept")
    figures = await _summary(client, staff, county.village2)
    assert figures["by_status"] == {"accepted": 1}
    assert figures["rates"]["on_time_disposition"]["denominator"] == 0
    handling = next(d for d in accepted["deadlines"] if d["kind"] == "handling")
    await miss_now(app, client, worker_headers, handling["id"])
    figures = await _summary(client, staff, county.village2)
    assert figures["open_overdue"] == 1
    assert figures["rates"]["on_time_completion"] == {"numerator": 0, "denominator": 1, "rate": 0.0}

    # handled to the end after all: off the open-overdue count, the overrun stays
    await answer_and_close(client, county, staff, case, satisfied=False, outcome="stabilized")
    figures = await _summary(client, staff, county.village2)
    assert figures["by_status"] == {"closed": 1}
    assert figures["rates"]["on_time_disposition"] == {
        "numerator": 1,
        "denominator": 1,
        "rate": 1.0,
    }
    assert figures["open_overdue"] == 0
    assert figures["rates"]["on_time_completion"]["denominator"] == 1
    assert figures["rates"]["satisfaction"] == {"numerator": 0, "denominator": 1, "rate": 0.0}
    assert figures["rates"]["first_visit_resolution"] == {
        "numerator": 1,
        "denominator": 1,
        "rate": 1.0,
    }


async def test_a_poll_that_finds_nothing_new_gets_304(
    client: httpx.AsyncClient, county: County
) -> None:
    staff = await county.headers(client, "town_staff")
    await client.post("/v1/cases", json=_body(county), headers=staff)
    params = {"unit_id": county.town["id"]}
    first = await client.get("/v1/stats/summary", params=params, headers=staff)
    etag = first.headers["etag"]
    assert first.headers["cache-control"] == "private, no-cache"
    again = await client.get(
        "/v1/stats/summary", params=params, headers=staff | {"If-None-Match": etag}
    )
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag

    # another unit's figures, or another caller, are another ETag
    other = await client.get(
        "/v1/stats/summary",
        params={"unit_id": county.village2["id"]},
        headers=staff | {"If-None-Match": etag},
    )
    assert other.status_code == 200

    await client.post("/v1/cases", json=_body(county), headers=staff)
    await asyncio.sleep(0)
    changed = await client.get(
        "/v1/stats/summary", params=params, headers=staff | {"If-None-Match": etag}
    )
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    assert changed.json()["cases"] == first.json()["cases"] + 1


async def test_figures_stay_in_the_callers_territory(
    client: httpx.AsyncClient, county: County, admin: dict[str, str]
) -> None:
    village_chief = await county.headers(client, "village_chief")
    refused = await client.get(
        "/v1/stats/summary", params={"unit_id": county.town["id"]}, headers=village_chief
    )
    assert refused.status_code == 404
    assert refused.headers["content-type"] == "application/problem+json"
    own = await client.get("/v1/stats/summary", headers=village_chief)
    assert own.status_code == 200 and own.json()["unit_id"] == county.village["id"]
    board = await service_token(client, admin, f"board-{uuid.uuid4().hex[:6]}", county.town)
    assert (
        await client.get("/v1/stats/units", params={"unit_id": county.town["id"]}, headers=board)
    ).status_code == 200
    needs_unit = await client.get("/v1/stats/summary", headers=admin)
    assert needs_unit.status_code == 422
    backwards = await client.get(
        "/v1/stats/summary",
        params={"unit_id": county.town["id"], "from": "2026-05-01", "to": "2026-04-01"},
        headers=admin,
    )
    assert backwards.status_code == 422


async def test_counters_agree_with_a_recount_of_every_case(
    app: FastAPI, client: httpx.AsyncClient, county: County
) -> None:
    """Whatever the tests before this one did to their cases, the kept facts and counters
    equal a recount from the cases and deadlines as they are now (a change that slipped past
    the counting would show here)."""
    staff = await county.headers(client, "town_staff")
    case = (await client.post("/v1/cases", json=_body(county), headers=staff)).json()
    await act(client, staff, case, "accept")
    async with app.state.desk.sessionmaker() as session:
        cases = (await session.execute(select(Case))).scalars().all()
        states: dict[uuid.UUID, list[tuple[DeadlineKind, DeadlineStatus]]] = {}
        for case_id, kind, status in await session.execute(
            select(Deadline.case_id, Deadline.kind, Deadline.status).where(
                Deadline.case_id.is_not(None)
            )
        ):
            states.setdefault(case_id, []).append((kind, status))
        stored = dict((await session.execute(select(CaseFacts.case_id, CaseFacts.facts))).all())
        counters = {
            (unit, day, key): value
            for unit, day, key, value in await session.execute(
                select(
                    StatCounter.unit_id, StatCounter.day, StatCounter.key, StatCounter.value
                ).where(StatCounter.period == "m")
            )
            if value
        }
        units = UnitRepository(session)
        await units.prefetch_ancestry({c.origin_unit_id for c in cases})
        expected: Counter[tuple[uuid.UUID, date, str]] = Counter()
        for case in cases:
            facts = facts_of(state_of(case), states.get(case.id, []))
            assert stored.get(case.id) == facts, (case.number, stored.get(case.id), facts)
            month = local(case.received_at).date().replace(day=1)
            for unit in await units.ancestry(case.origin_unit_id):
                for key, value in facts.items():
                    expected[(unit.id, month, key)] += value
    assert cases
    assert counters == {k: v for k, v in expected.items() if v}
