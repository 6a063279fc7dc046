"""Sensitive periods (敏感时期): daily situation reports (日报告), shorter arrival times, the
periods' list and figures."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from api.kit.timeutil import CHINA, local_today
from api.policies.schemas import Policy
from api.policies.sensitive import SensitivePolicy
from api.sensitive import service
from api.units.repository import UnitRepository
from tests.conftest import County, letter_body, login, make_county, miss_now, visit_body

PROBLEM = "application/problem+json"


def _period(key: str, first: date, last: date, **fields: Any) -> dict[str, Any]:
    return {
        "key": key,
        "name": "全国两会",
        "starts_on": first.isoformat(),
        "ends_on": last.isoformat(),
        **fields,
    }


async def _policy(client: httpx.AsyncClient, admin: dict[str, str]) -> dict[str, Any]:
    resp = await client.get("/v1/policies", headers=admin)
    return dict(resp.json())


async def _put_periods(
    client: httpx.AsyncClient, admin: dict[str, str], periods: list[dict[str, Any]]
) -> dict[str, Any]:
    """Put the periods into the policy, with the month's report days kept clear of the days
    around today so that only the periods make those days report days."""
    policy = (await _policy(client, admin))["policy"]
    near = {(local_today() + timedelta(days=d)).day for d in range(-3, 4)}
    policy["reports"]["days_of_month"] = [next(d for d in range(1, 29) if d not in near)]
    policy["sensitive_periods"]["periods"] = periods
    resp = await client.put("/v1/policies", json=policy, headers=admin)
    assert resp.status_code == 200, resp.text
    return dict(resp.json()["policy"])


async def _officer(
    client: httpx.AsyncClient, admin: dict[str, str], unit: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    """A new information officer (信息员) of the unit and their headers."""
    username = f"info-{uuid.uuid4().hex[:8]}"
    body = {
        "name": f"信息员{username[-4:]}",
        "phone": "13955556666",
        "unit_id": unit["id"],
        "role": "info_officer",
        "username": username,
        "password": "info-password",
    }
    resp = await client.post("/v1/officials", json=body, headers=admin)
    assert resp.status_code == 201, resp.text
    return resp.json(), await login(client, username, "info-password")


async def _deadlines(
    client: httpx.AsyncClient, admin: dict[str, str], **params: str
) -> list[dict[str, Any]]:
    resp = await client.get("/v1/deadlines", params=params, headers=admin)
    assert resp.status_code == 200, resp.text
    return list(resp.json()["items"])


def _local_day(at: str) -> date:
    return datetime.fromisoformat(at).astimezone(CHINA).date()


async def _todays_report_deadline(
    client: httpx.AsyncClient, admin: dict[str, str], official_id: str
) -> dict[str, Any]:
    rows = await _deadlines(client, admin, kind="report", official_id=official_id)
    today = [d for d in rows if _local_day(d["due_at"]) == local_today()]
    assert len(today) == 1, rows
    return today[0]


async def _sweep(client: httpx.AsyncClient, worker: dict[str, str]) -> None:
    resp = await client.post("/v1/internal/sweep", headers=worker)
    assert resp.status_code == 200, resp.text


@pytest.mark.parametrize(
    ("change", "pointer_part"),
    [
        ({"starts_on": "2027-03-15", "ends_on": "2027-03-01"}, "starts_on"),
        ({"ends_on": "2027-06-30"}, "max_days"),
        ({"key": "两会"}, "key"),
        ({"arrival": {"chief": "PT0S"}}, "chief"),
        ({"arrival": {"chief": 600}}, "chief"),
        ({"daily_report": "yes"}, "daily_report"),
        ({"shift": "night"}, "shift"),
    ],
)
async def test_invalid_period_is_rejected_and_nothing_written(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    policy_restore: None,
    change: dict[str, Any],
    pointer_part: str,
) -> None:
    before = await _policy(client, admin)
    policy = before["policy"]
    period = _period("lianghui-2027", date(2027, 3, 1), date(2027, 3, 15)) | change
    policy["sensitive_periods"]["periods"] = [period]
    resp = await client.put("/v1/policies", json=policy, headers=admin)
    assert resp.status_code == 422, resp.text
    assert resp.headers["content-type"].startswith(PROBLEM)
    assert pointer_part in resp.text
    assert (await _policy(client, admin))["version"] == before["version"]


@pytest.mark.parametrize(
    ("periods", "message"),
    [
        (
            [
                _period("a", date(2027, 1, 20), date(2027, 2, 5)),
                _period("a", date(2027, 3, 1), date(2027, 3, 15)),
            ],
            "unique",
        ),
        (
            [
                _period("chunjie", date(2027, 1, 20), date(2027, 2, 5)),
                _period("lianghui", date(2027, 2, 5), date(2027, 3, 15)),
            ],
            "overlap",
        ),
    ],
)
async def test_periods_must_have_unique_keys_and_not_overlap(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    policy_restore: None,
    periods: list[dict[str, Any]],
    message: str,
) -> None:
    before = await _policy(client, admin)
    policy = before["policy"]
    policy["sensitive_periods"]["periods"] = periods
    resp = await client.put("/v1/policies", json=policy, headers=admin)
    assert resp.status_code == 422 and message in resp.text, resp.text
    assert resp.headers["content-type"].startswith(PROBLEM)
    assert (await _policy(client, admin))["version"] == before["version"]


def test_default_policy_has_no_periods() -> None:
    assert Policy().sensitive_periods.periods == []
    assert service.arrival_policy_at(Policy(), datetime.now(UTC)) == Policy().arrival


def test_arrival_overrides_only_tighten_and_only_in_the_window() -> None:
    # A longer override is refused by the policy (below); built here without that check, to
    # show the service never lengthens a time even so.
    periods = SensitivePolicy.model_validate(
        {
            "periods": [
                _period("lh", date(2027, 3, 1), date(2027, 3, 15))
                | {"arrival": {"chief": "PT10M", "leader": "PT2H"}}
            ]
        }
    )
    policy = Policy().model_copy(update={"sensitive_periods": periods})
    # 2027-03-01 00:30 in Beijing is still 2027-02-28 in UTC: the local day counts.
    inside = datetime(2027, 2, 28, 16, 30, tzinfo=UTC)
    arrival = service.arrival_policy_at(policy, inside)
    assert arrival.chief == timedelta(minutes=10)
    assert arrival.staff == policy.arrival.staff  # not overridden
    assert arrival.leader == policy.arrival.leader  # a longer override never applies
    before = datetime(2027, 2, 28, 15, 59, tzinfo=UTC)  # 23:59 on 28 February, local
    assert service.arrival_policy_at(policy, before) == policy.arrival
    after = datetime(2027, 3, 15, 16, 0, tzinfo=UTC)  # 00:00 on 16 March, local
    assert service.arrival_policy_at(policy, after) == policy.arrival


def test_policy_refuses_an_override_longer_than_the_normal_time() -> None:
    document = {
        "sensitive_periods": {
            "periods": [
                _period("lh", date(2027, 3, 1), date(2027, 3, 15))
                | {"arrival": {"chief": "PT20M", "staff": "PT45M"}}
            ]
        }
    }
    with pytest.raises(ValueError, match="lh: arrival staff longer"):
        Policy.model_validate(document)
    periods = SensitivePolicy.model_validate(document["sensitive_periods"])
    normal = Policy().arrival
    periods.check_tightens(normal.chief, timedelta(hours=1), normal.leader)  # staff 1 h: fine


async def test_list_shows_each_period_state_and_days_left(
    county: County, client: httpx.AsyncClient, admin: dict[str, str], policy_restore: None
) -> None:
    today = local_today()
    await _put_periods(
        client,
        admin,
        [
            _period("spring", today - timedelta(days=20), today - timedelta(days=18)),
            _period("now", today - timedelta(days=1), today + timedelta(days=2)),
            _period("later", today + timedelta(days=10), today + timedelta(days=14)),
        ],
    )
    grid = await county.headers(client, "grid")
    resp = await client.get("/v1/sensitive-periods", headers=grid)
    assert resp.status_code == 200, resp.text
    items = {p["key"]: p for p in resp.json()["items"]}
    assert list(items) == ["spring", "now", "later"]
    assert (items["spring"]["state"], items["spring"]["days_left"]) == ("over", 0)
    assert (items["now"]["state"], items["now"]["active"], items["now"]["days_left"]) == (
        "active",
        True,
        3,
    )
    assert (items["later"]["state"], items["later"]["active"]) == ("upcoming", False)
    assert items["later"]["days_left"] == 5
    assert items["now"]["daily_report"] is True and items["now"]["name"] == "全国两会"
    assert (await client.get("/v1/sensitive-periods")).status_code == 401


async def test_daily_report_deadline_opened_by_the_sweep_and_met_by_a_zero_report(
    county: County,
    client: httpx.AsyncClient,
    admin: dict[str, str],
    worker_headers: dict[str, str],
    policy_restore: None,
) -> None:
    today = local_today()
    yesterday, tomorrow = today - timedelta(days=1), today + timedelta(days=1)
    await _put_periods(client, admin, [_period("lh", yesterday, tomorrow)])
    officer, headers = await _officer(client, admin, county.village2)
    early, early_headers = await _officer(client, admin, county.village)
    first = await client.post("/v1/reports", json={"zero": True}, headers=early_headers)
    assert first.status_code == 201 and first.json()["period_day"] == today.isoformat()
    for _ in range(2):  # the second sweep opens nothing twice
        await _sweep(client, worker_headers)
    rows = await _deadlines(client, admin, kind="report", official_id=early["id"])
    assert rows and all(_local_day(d["due_at"]) != today for d in rows)  # filed before
    deadline = await _todays_report_deadline(client, admin, officer["id"])
    assert deadline["status"] == "open" and deadline["unit_id"] == county.village2["id"]
    assert deadline["subject"] == f"全国两会期间每日信访形势报告({today.isoformat()})"
    starts = datetime.fromisoformat(deadline["starts_at"]).astimezone(CHINA)
    assert (starts + timedelta(microseconds=1)).date() == today  # counted from midnight

    filed = await client.post("/v1/reports", json={"zero": True}, headers=headers)
    assert filed.status_code == 201, filed.text
    assert filed.json()["period_day"] == today.isoformat()
    assert filed.json()["zero"] is True and filed.json()["on_time"] is True
    deadline = await _todays_report_deadline(client, admin, officer["id"])
    assert deadline["status"] == "met"
    again = await client.post("/v1/reports", json={"zero": True}, headers=headers)
    assert again.status_code == 409

    # Yesterday was a day of the period too: filed now, it is late.
    late = await client.post(
        "/v1/reports",
        json={"zero": False, "content": "排查出征地纠纷一起", "period_day": yesterday.isoformat()},
        headers=headers,
    )
    assert late.status_code == 201, late.text
    assert late.json()["on_time"] is False
    for day in (tomorrow, today - timedelta(days=3)):  # not yet; not a report day
        refused = await client.post(
            "/v1/reports", json={"zero": True, "period_day": day.isoformat()}, headers=headers
        )
        assert refused.status_code == 422, refused.text
        assert refused.json()["errors"][0]["pointer"] == "/period_day"
    listed = await client.get("/v1/reports", params={"official_id": officer["id"]}, headers=admin)
    assert {r["period_day"] for r in listed.json()["items"]} == {
        today.isoformat(),
        yesterday.isoformat(),
    }


async def test_no_daily_deadline_when_the_period_has_no_daily_report(
    county: County,
    client: httpx.AsyncClient,
    admin: dict[str, str],
    worker_headers: dict[str, str],
    policy_restore: None,
) -> None:
    today = local_today()
    await _put_periods(client, admin, [_period("cj", today, today, daily_report=False)])
    officer, headers = await _officer(client, admin, county.village2)
    await _sweep(client, worker_headers)
    rows = await _deadlines(client, admin, kind="report", official_id=officer["id"])
    assert rows and all(_local_day(d["due_at"]) != today for d in rows)
    refused = await client.post(
        "/v1/reports", json={"zero": True, "period_day": today.isoformat()}, headers=headers
    )
    assert refused.status_code == 422


async def test_missed_daily_report_is_flagged_and_escalated(
    app: FastAPI,
    county: County,
    client: httpx.AsyncClient,
    admin: dict[str, str],
    worker_headers: dict[str, str],
    policy_restore: None,
) -> None:
    today = local_today()
    await _put_periods(client, admin, [_period("lh", today, today + timedelta(days=3))])
    officer, _ = await _officer(client, admin, county.village2)
    await _sweep(client, worker_headers)
    deadline = await _todays_report_deadline(client, admin, officer["id"])
    await miss_now(app, client, worker_headers, deadline["id"])
    escalation = (
        await client.get("/v1/escalations", params={"deadline_id": deadline["id"]}, headers=admin)
    ).json()["items"][0]
    assert set(escalation["recipients"]) == {
        officer["id"],
        county.officials["village2_chief"]["id"],
    }
    alerts = (
        await client.get("/v1/alerts", params={"official_id": officer["id"]}, headers=admin)
    ).json()["items"]
    assert any("信息报送超期" in a["text"] for a in alerts)


async def _chief_arrival_span(
    client: httpx.AsyncClient, county: County, admin: dict[str, str]
) -> timedelta:
    """Register a visit from village 2 to the town; the village chief's arrival span."""
    staff = await county.headers(client, "town_staff")
    resp = await client.post(
        "/v1/cases", json=visit_body(county.village2, county.town, 3), headers=staff
    )
    assert resp.status_code == 201, resp.text
    rows = await _deadlines(client, admin, case_id=resp.json()["id"], kind="arrival")
    [chief] = [d for d in rows if d["role"] == "chief"]
    return datetime.fromisoformat(chief["due_at"]) - datetime.fromisoformat(chief["starts_at"])


async def test_visit_in_a_period_gets_the_shorter_arrival_deadline(
    county: County, client: httpx.AsyncClient, admin: dict[str, str], policy_restore: None
) -> None:
    today = local_today()
    shorter = {"arrival": {"chief": "PT10M"}}
    policy = await _put_periods(client, admin, [_period("lh", today, today) | shorter])
    assert await _chief_arrival_span(client, county, admin) == timedelta(minutes=10)

    later = today + timedelta(days=30)
    await _put_periods(client, admin, [_period("lh", later, later) | shorter])
    normal = Policy.model_validate(policy).arrival.chief
    assert normal == timedelta(minutes=20)
    assert await _chief_arrival_span(client, county, admin) == normal


async def test_period_figures_for_a_subtree_in_reach(
    app: FastAPI,
    county: County,
    client: httpx.AsyncClient,
    admin: dict[str, str],
    worker_headers: dict[str, str],
    policy_restore: None,
) -> None:
    today = local_today()
    yesterday = today - timedelta(days=1)
    policy = await _put_periods(
        client, admin, [_period("lh", yesterday, today + timedelta(days=1))]
    )
    _, town_headers = await _officer(client, admin, county.village2)
    in_area, _ = await _officer(client, admin, county.village)
    staff = await county.headers(client, "county_staff")
    visit = await client.post(
        "/v1/cases", json=visit_body(county.village2, county.county, 6), headers=staff
    )
    assert visit.status_code == 201, visit.text
    letter = await client.post(
        "/v1/cases", json=letter_body(county, lodged_level="city"), headers=staff
    )
    assert letter.status_code == 201, letter.text
    arrivals = await _deadlines(client, admin, case_id=visit.json()["id"], kind="arrival")
    # the town's chief comes too (a collective visit at the county gate, issue 20)
    [village_chief] = [
        d for d in arrivals if d["role"] == "chief" and d["unit_id"] == county.village2["id"]
    ]
    await miss_now(app, client, worker_headers, village_chief["id"])

    await _sweep(client, worker_headers)
    filed = await client.post("/v1/reports", json={"zero": True}, headers=town_headers)
    assert filed.status_code == 201, filed.text
    missed = await _todays_report_deadline(client, admin, in_area["id"])
    await miss_now(app, client, worker_headers, missed["id"])

    town_chief = await county.headers(client, "town_chief")
    resp = await client.get("/v1/sensitive-periods/lh/figures", headers=town_chief)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["unit_id"] == county.town["id"]  # the caller's unit by default
    assert body["period"]["key"] == "lh" and body["period"]["active"] is True
    figures = body["figures"]
    assert figures["cases"] == {
        "received": 2,
        "collective": 1,
        "skip_level": 2,  # the letter to the city, and the visit that skipped its town
        "national": 0,
        "by_lodged_level": {"county": 1, "city": 1},
    }
    assert figures["arrivals"] == {"due": len(arrivals), "met": 0, "missed": 1}
    reports = figures["reports"]
    assert (reports["owed"], reports["filed"], reports["zero"], reports["missed"]) == (2, 1, 1, 1)
    assert [d["day"] for d in reports["per_day"]] == [yesterday.isoformat(), today.isoformat()]
    today_row = reports["per_day"][1]
    assert (today_row["owed"], today_row["filed"], today_row["missed"]) == (2, 1, 1)
    assert today_row["cases_received"] == 2
    assert reports["per_day"][0]["owed"] == 0
    assert [p["official_id"] for p in figures["not_reported_today"]] == [in_area["id"]]
    assert figures["not_reported_today"][0]["unit_id"] == county.village["id"]

    # The area's subtree: only its own officer and no case.
    area = await client.get(
        "/v1/sensitive-periods/lh/figures",
        params={"unit_id": county.area["id"]},
        headers=town_chief,
    )
    assert area.status_code == 200, area.text
    assert area.json()["figures"]["cases"]["received"] == 0
    assert area.json()["figures"]["reports"]["missed"] == 1

    # Out of reach: a village chief asking for the town, another county's chief.
    village_head = await county.headers(client, "village2_chief")
    other = await make_county(client, admin)
    other_chief = await other.headers(client, "county_chief")
    for headers in (village_head, other_chief):
        hidden = await client.get(
            "/v1/sensitive-periods/lh/figures",
            params={"unit_id": county.town["id"]},
            headers=headers,
        )
        assert hidden.status_code == 404, hidden.text
        assert hidden.headers["content-type"].startswith(PROBLEM)
    unknown = await client.get("/v1/sensitive-periods/no-such/figures", headers=town_chief)
    assert unknown.status_code == 404
    assert unknown.headers["content-type"].startswith(PROBLEM)

    # The dashboard's block: the same figures through `figures()`.
    async with app.state.desk.sessionmaker() as session:
        unit_ids = await UnitRepository(session).subtree_ids(uuid.UUID(county.town["id"]))
        parsed = Policy.model_validate(policy)
        block = await service.figures(session, unit_ids, today, today, parsed)
        assert block.period is not None and block.period.key == "lh"
        assert block.figures is not None
        assert block.figures.model_dump(mode="json") == figures
        none = await service.figures(session, unit_ids, today, today, Policy())
        assert none.period is None and none.figures is None


async def test_dashboard_takes_the_last_period_overlapping_its_days(app: FastAPI) -> None:
    today = local_today()
    policy = Policy.model_validate(
        {
            "sensitive_periods": {
                "periods": [
                    _period("chunjie", today - timedelta(days=60), today - timedelta(days=50)),
                    _period("lianghui", today - timedelta(days=40), today - timedelta(days=30)),
                    _period("guoqing", today + timedelta(days=30), today + timedelta(days=31)),
                ]
            }
        }
    )
    async with app.state.desk.sessionmaker() as session:
        block = await service.figures(
            session, frozenset({uuid.uuid4()}), today - timedelta(days=90), today, policy
        )
        assert block.period is not None and block.period.key == "lianghui"
        assert block.period.state == "over" and block.period.days_left == 0
        assert block.figures is not None and block.figures.reports.owed == 0
        assert len(block.figures.reports.per_day) == 11
        assert block.figures.not_reported_today == []
        early = await service.figures(
            session,
            frozenset({uuid.uuid4()}),
            today - timedelta(days=90),
            today - timedelta(days=55),
            policy,
        )
        assert early.period is not None and early.period.key == "chunjie"


async def test_a_period_may_not_lengthen_an_arrival_time(
    client: httpx.AsyncClient, admin: dict[str, str], policy_restore: None
) -> None:
    before = await _policy(client, admin)
    policy = before["policy"]
    today = local_today()
    policy["sensitive_periods"]["periods"] = [
        _period("lianghui", today, today, arrival={"chief": "PT30M"})  # normal: 20 minutes
    ]
    resp = await client.put("/v1/policies", json=policy, headers=admin)
    assert resp.status_code == 422, resp.text
    assert "longer than the normal arrival time" in resp.text
    assert resp.headers["content-type"].startswith(PROBLEM)
    assert (await _policy(client, admin))["version"] == before["version"]
