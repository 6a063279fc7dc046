"""The scoring rule tables (考评细则, seed 001) over what the system records of how the officials
served: each rule one fact in, its deduction out (with the facts behind it, charged to the unit
that owed it), caps, the two tables on their own scales, the territory, and the policy's say.
Each test works in a fresh county, so its deductions are its own."""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import ValidationError
from sqlalchemy import update

from api.assessment.repository import CaseTraits
from api.kit.timeutil import CHINA, local_today
from api.models.case import CaseSource, Channel, LodgedLevel
from api.models.deadline import Deadline, DeadlineKind
from api.models.reception import RosterEntry
from api.models.unit import Unit
from api.policies.schemas import Policy
from api.policies.scoring import ScoreEvent, ScoreRule, ScoringPolicy
from tests.conftest import (
    County,
    act,
    answer_and_close,
    letter_body,
    miss_now,
    visit_body,
)

YEAR = datetime.now(CHINA).year
# The rules of before issue 20, each named by its event.
LEGACY = {
    "county_collective_first_dispersed",
    "county_collective_first_stayed",
    "county_collective_repeat",
    "city_collective",
    "province_collective_dispersed",
    "province_collective_registered",
    "national_collective",
    "report_missed",
}


async def _scores(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    unit: dict[str, Any],
    table: str | None = None,
    year: int = YEAR,
) -> dict[str, Any]:
    params: dict[str, Any] = {"year": year, "unit_id": unit["id"]}
    if table is not None:
        params["table"] = table
    resp = await client.get("/v1/stats/scores", params=params, headers=headers)
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


def _unit(report: dict[str, Any], unit: dict[str, Any]) -> dict[str, Any]:
    return dict(next(u for u in report["units"] if u["unit_id"] == unit["id"]))


def _by_rule(scored: dict[str, Any], rule: str) -> list[dict[str, Any]]:
    return [d for d in scored["deductions"] if d["rule"] == rule]


def _section(scored: dict[str, Any], key: str) -> dict[str, Any]:
    return dict(next(s for s in scored["sections"] if s["key"] == key))


async def _letter(
    client: httpx.AsyncClient, headers: dict[str, str], county: County, **fields: Any
) -> dict[str, Any]:
    """A letter registered by the caller's desk (its unit owes the acceptance notice)."""
    body = letter_body(county, **fields)
    body["petitioners"] = [{"name": "赵六", "phone": f"137{uuid.uuid4().int % 10**8:08d}"}]
    resp = await client.post("/v1/cases", json=body, headers=headers)
    assert resp.status_code == 201, resp.text
    return dict(resp.json())


def _deadline(case: dict[str, Any], kind: str, **match: str) -> dict[str, Any]:
    return dict(
        next(
            d
            for d in case["deadlines"]
            if d["kind"] == kind and all(d[k] == v for k, v in match.items())
        )
    )


async def _put_policy(
    client: httpx.AsyncClient, admin: dict[str, str], doc: dict[str, Any]
) -> None:
    resp = await client.put("/v1/policies", json=doc, headers=admin)
    assert resp.status_code == 200, resp.text


# --- the policy ---------------------------------------------------------------------------


def test_the_default_tables_are_seed_001s_each_on_its_own_scale() -> None:
    scoring = ScoringPolicy()
    maxima = {
        t.key: sum(s.maximum for s in scoring.sections if s.table == t.key) for t in scoring.tables
    }
    assert maxima["一"] == 100 and round(maxima["二"], 6) == 2
    keys = [r.key for r in scoring.rules]
    assert len(keys) == len(set(keys))
    for rule in scoring.rules:
        assert "seed 001 第一篇" in rule.description or "seed 001 第二篇" in rule.description
    # the eight deductions of before keep their events, points and sections
    legacy = {r.key: (r.event, r.section, r.points) for r in scoring.rules}
    assert legacy["national_collective"] == (ScoreEvent.national_collective, "五", 80.0)
    assert legacy["report_missed"] == (ScoreEvent.report_missed, "四", 1.0)
    # beyond the eight, every rule reads the officials' own duties (deadlines, answers sent
    # back, their registers and rosters), never petitioners or where they went
    duties = {
        ScoreEvent.deadline_missed,
        ScoreEvent.deadline_late,
        ScoreEvent.case_returned,
        ScoreEvent.screening_incomplete,
        ScoreEvent.roster_day_uncovered,
    }
    assert {r.event for r in scoring.rules if r.key not in LEGACY} <= duties
    assert {r.key for r in scoring.rules} >= LEGACY


def test_a_document_from_before_the_rule_keys_still_reads() -> None:
    stored = {
        "scoring": {
            "sections": [{"key": "五", "name": "来县及越级上访", "maximum": 80.0}],
            "rules": [{"event": "national_collective", "section": "五", "points": 80.0}],
        }
    }
    scoring = Policy.model_validate(stored).scoring
    assert scoring.rules[0].key == "national_collective"
    assert scoring.sections[0].table == "一"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["rules"].append(dict(d["rules"][0])), "keys must be unique"),
        (lambda d: d["rules"][0].update(section="九"), "unknown sections"),
        (lambda d: d["sections"][0].update(table="三"), "unknown tables"),
        (lambda d: d["tables"].append(dict(d["tables"][0])), "table keys must be unique"),
        (lambda d: d["rules"][0].update(cap=-1.0), "greater than or equal to 0"),
        (
            lambda d: d["rules"].append(
                {"key": "x", "event": "deadline_missed", "section": "一", "points": 1.0}
            ),
            "names its deadline_kinds",
        ),
        (
            lambda d: d["rules"].append(
                {
                    "key": "x",
                    "event": "case_returned",
                    "deadline_kinds": ["handling"],
                    "section": "一",
                    "points": 1.0,
                }
            ),
            "for deadline rules",
        ),
        (
            lambda d: d["rules"].append(
                {
                    "key": "x",
                    "event": "roster_day_uncovered",
                    "cases": {"channels": ["visit"]},
                    "section": "一",
                    "points": 1.0,
                }
            ),
            "takes no cases filter",
        ),
    ],
)
def test_the_rule_table_is_checked(change: Any, message: str) -> None:
    doc = ScoringPolicy().model_dump(mode="json")
    change(doc)
    with pytest.raises(ValidationError, match=message):
        ScoringPolicy.model_validate(doc)


async def test_a_bad_rule_table_is_refused_and_changes_nothing(
    client: httpx.AsyncClient, admin: dict[str, str], policy_restore: None
) -> None:
    before = (await client.get("/v1/policies", headers=admin)).json()
    doc = copy.deepcopy(before["policy"])
    doc["scoring"]["rules"].append(dict(doc["scoring"]["rules"][-1]))
    refused = await client.put("/v1/policies", json=doc, headers=admin)
    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert (await client.get("/v1/policies", headers=admin)).json() == before


def test_a_deadline_rule_selects_by_kind_role_and_case() -> None:
    rule = ScoreRule.model_validate(
        {
            "key": "k",
            "event": "deadline_missed",
            "deadline_kinds": ["arrival"],
            "roles": ["deputy"],
            "cases": {"lodged_levels": ["province"], "collective": True},
            "section": "一",
            "points": 1.0,
        }
    )

    def case(collective: bool) -> CaseTraits:
        return CaseTraits("N", LodgedLevel.province, Channel.visit, CaseSource.own, collective)

    assert rule.counts_deadline(DeadlineKind.arrival, "deputy", case(True))
    assert not rule.counts_deadline(DeadlineKind.arrival, "chief", case(True))
    assert not rule.counts_deadline(DeadlineKind.handling, "deputy", case(True))
    assert not rule.counts_deadline(DeadlineKind.arrival, "deputy", None)
    assert not rule.counts_deadline(DeadlineKind.arrival, "deputy", case(False))


# --- the tables in the answer ---------------------------------------------------------------


async def test_each_table_is_scored_on_its_own_and_an_unknown_one_is_refused(
    client: httpx.AsyncClient, admin: dict[str, str], county: County
) -> None:
    first = await _scores(client, admin, county.county)
    assert first["table"] == "一"
    assert {t["key"]: t["maximum"] for t in first["tables"]} == {"一": 100, "二": 2}
    second = await _scores(client, admin, county.county, "二")
    assert second["table"] == "二"
    town = _unit(second, county.town)
    assert town["maximum"] == 2 and town["score"] == 2 and town["deductions"] == []
    assert [s["key"] for s in town["sections"]] == [f"二({n})" for n in "一二三四五六七八"]
    assert _section(town, "二(六)")["assessed"] is False  # 责任追究: nothing records it
    refused = await client.get(
        "/v1/stats/scores", params={"unit_id": county.county["id"], "table": "九"}, headers=admin
    )
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["errors"][0]["pointer"] == "/table"


# --- table two (seed 001 第二篇), rule by rule ----------------------------------------------


async def test_a_missed_acceptance_notice_costs_the_desk_that_owed_it(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin: dict[str, str],
    county: County,
    worker_headers: dict[str, str],
) -> None:
    """第二篇 (二).2: 未按时出具实体性受理告知单的每件次扣0.01分."""
    staff = await county.headers(client, "town_staff")
    case = await _letter(client, staff, county)
    notice = _deadline(case, "acceptance_notice")
    assert notice["unit_id"] == county.town["id"]
    before = _unit(await _scores(client, admin, county.county, "二"), county.town)
    assert _by_rule(before, "t2_acceptance_notice_missed") == []

    await miss_now(app, client, worker_headers, notice["id"])
    report = await _scores(client, admin, county.county, "二")
    town = _unit(report, county.town)
    (deduction,) = _by_rule(town, "t2_acceptance_notice_missed")
    assert deduction | {"description": "", "at": ""} == {
        "rule": "t2_acceptance_notice_missed",
        "event": "deadline_missed",
        "table": "二",
        "section": "二(二)",
        "points": 0.01,
        "capped": False,
        "occurrences": 1,
        "description": "",
        "at": "",
        "case_id": case["id"],
        "case_number": case["number"],
        "deadline_ids": [notice["id"]],
        "facts": [
            {
                "type": "deadline",
                "id": notice["id"],
                "kind": "acceptance_notice",
                "status": "missed",
                "role": "petition_staff",
                "unit_id": county.town["id"],
                "at": deduction["facts"][0]["at"],
                "closed_at": deduction["facts"][0]["closed_at"],
                "case_id": case["id"],
                "case_number": case["number"],
            }
        ],
    }
    assert "第二篇 (二).2" in deduction["description"]
    assert _section(town, "二(二)")["deducted"] == 0.01 and town["score"] == 1.99
    # the deadline was the town's: not the village's it came from, not the area's
    for other in (county.village2, county.area, county.village):
        assert _unit(report, other)["deductions"] == []
    # the first table is not touched by it
    assert _unit(await _scores(client, admin, county.county), county.town)["score"] == 100
    # outside the caller's territory it is not counted: the area's staff sees no town at all
    area_view = await _scores(client, await county.headers(client, "area_chief"), county.area, "二")
    assert {u["unit_id"] for u in area_view["units"]} == {county.area["id"], county.village["id"]}
    assert all(u["deductions"] == [] for u in area_view["units"])


async def test_a_notice_given_after_its_time_is_late_not_missed(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str], county: County
) -> None:
    """第二篇 (二).2: met after it fell due (before the clock flagged it) is a late notice."""
    staff = await county.headers(client, "town_staff")
    case = await _letter(client, staff, county)
    notice = _deadline(case, "acceptance_notice")
    async with app.state.desk.sessionmaker() as session:
        await session.execute(
            update(Deadline)
            .where(Deadline.id == uuid.UUID(notice["id"]))
            .values(due_at=datetime.now(UTC) - timedelta(minutes=5))
        )
        await session.commit()
    await act(client, staff, case, "accept")
    # the deadline is met by the written notice's service, not by accepting
    issued = await client.post(
        f"/v1/cases/{case['id']}/notices", json={"kind": "acceptance"}, headers=staff
    )
    served = await client.post(
        f"/v1/notices/{issued.json()['id']}/service",
        json={"method": "in_person", "served_at": issued.json()["issued_at"], "recipient": "王五"},
        headers=staff,
    )
    assert served.status_code == 200, served.text
    town = _unit(await _scores(client, admin, county.county, "二"), county.town)
    assert _by_rule(town, "t2_acceptance_notice_missed") == []
    (late,) = _by_rule(town, "t2_acceptance_notice_late")
    assert late["event"] == "deadline_late" and late["points"] == 0.01
    assert late["facts"][0]["status"] == "late"
    assert late["facts"][0]["closed_at"] > late["facts"][0]["at"]


async def test_an_answer_sent_back_costs_the_unit_that_gave_it(
    client: httpx.AsyncClient, admin: dict[str, str], county: County
) -> None:
    """第二篇 (四).2: 被退回重新办理的每件次扣0.03分."""
    staff = await county.headers(client, "county_staff")
    case = await _letter(client, staff, county)
    await act(client, staff, case, "accept")
    await answer_and_close(client, county, staff, case)
    before = _unit(await _scores(client, admin, county.county, "二"), county.town)
    assert _by_rule(before, "t2_returned_for_rehandling") == []

    await act(client, staff, case, "return_for_rehandling", {"reason": "事实不清", "days": 20})
    report = await _scores(client, admin, county.county, "二")
    town = _unit(report, county.town)
    (deduction,) = _by_rule(town, "t2_returned_for_rehandling")
    assert deduction["points"] == 0.03 and deduction["section"] == "二(四)"
    assert deduction["event"] == "case_returned" and deduction["case_id"] == case["id"]
    (fact,) = deduction["facts"]
    assert fact["type"] == "case_event" and fact["kind"] == "return_for_rehandling"
    assert fact["case_id"] == case["id"] and fact["unit_id"] == county.town["id"]
    timeline = (await client.get(f"/v1/cases/{case['id']}/timeline", headers=staff)).json()
    assert fact["id"] == next(e["id"] for e in timeline if e["action"] == "return_for_rehandling")
    assert _unit(report, county.village2)["deductions"] == []


async def test_arrivals_missed_count_by_role_and_by_where_the_visit_was_lodged(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin: dict[str, str],
    county: County,
    worker_headers: dict[str, str],
) -> None:
    """第二篇 (二).1: staff not there in 30 minutes 0.02, the deputy 0.05; (八).1: a visit in
    Beijing the staff did not go to 0.1; (八).4: a Beijing case without an owner leader 0.1."""
    staff = await county.headers(client, "town_staff")
    at_county = await client.post(
        "/v1/cases", json=visit_body(county.village, county.county, 6), headers=staff
    )
    assert at_county.status_code == 201, at_county.text
    case = at_county.json()
    town_id = county.town["id"]
    for role in ("petition_staff", "deputy"):
        deadline = _deadline(case, "arrival", unit_id=town_id, role=role)
        await miss_now(app, client, worker_headers, deadline["id"])
    body = visit_body(county.village2, county.county, 6)
    body.pop("lodged_unit_id")
    body["lodged_level"] = "national"
    body["petitioners"] = [{"name": "王五", "phone": f"136{uuid.uuid4().int % 10**8:08d}"}]
    beijing = await client.post("/v1/cases", json=body, headers=staff)
    assert beijing.status_code == 201, beijing.text
    national = beijing.json()
    for deadline in (
        _deadline(national, "arrival", unit_id=town_id, role="petition_staff"),
        _deadline(national, "owner_leader"),
    ):
        await miss_now(app, client, worker_headers, deadline["id"])

    town = _unit(await _scores(client, admin, county.county, "二"), county.town)
    got = {(d["rule"], d["case_id"]): (d["section"], d["points"]) for d in town["deductions"]}
    assert got == {
        ("t2_staff_arrival_missed", case["id"]): ("二(二)", 0.02),
        ("t2_deputy_arrival_missed", case["id"]): ("二(二)", 0.05),
        ("t2_national_staff_missed", national["id"]): ("二(八)", 0.1),
        ("t2_national_owner_leader_missed", national["id"]): ("二(八)", 0.1),
    }
    assert round(town["score"], 4) == round(2 - 0.07 - 0.2, 4)


async def test_a_missed_weekly_screening_round_costs_both_tables(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin: dict[str, str],
    county: County,
    worker_headers: dict[str, str],
) -> None:
    """第一篇 (二).1: 按时上报得2分,否则不得分; 第二篇 (一).3: 每少报一次扣0.03分."""
    assert (await client.post("/v1/internal/sweep", headers=worker_headers)).status_code == 200
    rounds = await client.get(
        "/v1/deadlines",
        params={"kind": "screening_round", "official_id": county.officials["town_staff"]["id"]},
        headers=admin,
    )
    (deadline,) = rounds.json()["items"]
    await miss_now(app, client, worker_headers, deadline["id"])

    first = _unit(await _scores(client, admin, county.county), county.town)
    (deduction,) = first["deductions"]
    assert deduction["rule"] == "screening_round_missed" and deduction["points"] == 2
    assert _section(first, "二")["score"] == 3 and first["score"] == 98
    second = _unit(await _scores(client, admin, county.county, "二"), county.town)
    (deduction,) = second["deductions"]
    assert deduction["rule"] == "t2_screening_round_missed" and deduction["points"] == 0.03
    assert deduction["deadline_ids"] == [deadline["id"]]


# --- table one (seed 001 第一篇), rule by rule ----------------------------------------------


async def test_screened_disputes_without_a_plan_or_measures_cost_1_each_up_to_3(
    client: httpx.AsyncClient, admin: dict[str, str], county: County
) -> None:
    """第一篇 (二).2: 落实包案领导、化解方案和稳控措施…否则每缺1项扣1分 (3 points)."""
    staff = await county.headers(client, "town_staff")

    async def screened(**fields: Any) -> dict[str, Any]:
        body = {
            "unit_id": county.village2["id"],
            "category": "land.acquisition",
            "title": f"杨庄村土地承包纠纷-{uuid.uuid4().hex[:4]}",
            "risk_level": "medium",
            "owner_leader_id": county.officials["town_deputy"]["id"],
            **fields,
        }
        resp = await client.post("/v1/screening/items", json=body, headers=staff)
        assert resp.status_code == 201, resp.text
        return dict(resp.json())

    await screened(plan="司法所调解", measures="每日走访")  # complete: nothing
    no_plan = await screened(measures="每日走访")
    scored = _unit(await _scores(client, admin, county.county), county.village2)
    (deduction,) = scored["deductions"]
    assert deduction["rule"] == "screening_incomplete" and deduction["points"] == 1
    assert deduction["facts"] == [
        {
            "type": "screening_item",
            "id": no_plan["id"],
            "kind": "plan",
            "status": None,
            "role": None,
            "unit_id": county.village2["id"],
            "at": deduction["facts"][0]["at"],
            "closed_at": None,
            "case_id": None,
            "case_number": None,
        }
    ]
    # the town that screened nothing of its own is not charged with the village's register
    assert _unit(await _scores(client, admin, county.county), county.town)["deductions"] == []

    bare = await screened()
    await screened()  # 2 + 2 + 1 parts missing: 5 occurrences, capped at 3 points
    scored = _unit(await _scores(client, admin, county.county), county.village2)
    deductions = _by_rule(scored, "screening_incomplete")
    assert sum(d["points"] for d in deductions) == 3
    assert [d["points"] for d in deductions] == [1, 1, 1, 0]
    assert deductions[-1]["capped"] is True and deductions[-1]["occurrences"] == 2
    assert len(deductions[-1]["facts"]) == 2
    assert _section(scored, "二")["score"] == 2

    # struck off (销号: nothing to resolve) counts no more; a plan added counts no more
    closed = await client.post(
        f"/v1/screening/items/{bare['id']}/close", json={"reason": "经核实不属实"}, headers=staff
    )
    assert closed.status_code == 200, closed.text
    patched = await client.patch(
        f"/v1/screening/items/{no_plan['id']}", json={"plan": "镇司法所调解"}, headers=staff
    )
    assert patched.status_code == 200, patched.text
    scored = _unit(await _scores(client, admin, county.county), county.village2)
    assert [d["facts"][0]["kind"] for d in scored["deductions"]] == ["plan", "measures"]


async def test_a_missed_appointment_costs_1_in_section_three(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin: dict[str, str],
    county: County,
    worker_headers: dict[str, str],
) -> None:
    """第一篇 (三).2: 领导轮流接访登记记录标准得1分,否则不得分 (no record of the meeting)."""
    staff = await county.headers(client, "town_staff")
    body = {
        "unit_id": county.town["id"],
        "leader_id": county.officials["town_deputy"]["id"],
        "petitioner_name": "王五",
        "at": (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
        "place": "镇信访接待室",
    }
    made = await client.post("/v1/reception/appointments", json=body, headers=staff)
    assert made.status_code == 201, made.text
    await miss_now(app, client, worker_headers, made.json()["deadline_id"])
    town = _unit(await _scores(client, admin, county.county), county.town)
    (deduction,) = town["deductions"]
    assert deduction["rule"] == "appointment_missed" and deduction["section"] == "三"
    assert deduction["deadline_ids"] == [made.json()["deadline_id"]]
    assert _section(town, "三")["score"] == 4 and town["score"] == 99


async def test_reception_days_that_passed_without_a_duty_leader(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin: dict[str, str],
    county: County,
    policy_restore: None,
) -> None:
    """第一篇 (三).1: 轮流接访日程表公示得1分,否则不得分: a reception day (here every day of
    the week) that is over with nobody on the roster; a day is owed from the unit's set-up."""
    doc = (await client.get("/v1/policies", headers=admin)).json()["policy"]
    doc["reception"]["days"] = [
        {"unit_level": "town", "weekdays": [1, 2, 3, 4, 5, 6, 7], "working_days_only": False}
    ]
    await _put_policy(client, admin, doc)
    yesterday = local_today() - timedelta(days=1)
    # a town set up three days before yesterday (or on the first of yesterday's year)
    since = max(yesterday - timedelta(days=3), date(yesterday.year, 1, 1))
    owed = [since + timedelta(days=n) for n in range((yesterday - since).days + 1)]
    async with app.state.desk.sessionmaker() as session:
        await session.execute(
            update(Unit)
            .where(Unit.id == uuid.UUID(county.town["id"]))
            .values(created_at=datetime(since.year, since.month, since.day, 12, tzinfo=CHINA))
        )
        await session.commit()

    report = await _scores(client, admin, county.county, year=yesterday.year)
    town = _unit(report, county.town)
    deductions = _by_rule(town, "roster_day_uncovered")
    assert [d["points"] for d in deductions] == [1] + ([0] if len(owed) > 1 else [])
    days = [f["at"] for d in deductions for f in d["facts"]]
    assert len(days) == len(owed) and all(f["type"] == "roster_day" for f in deductions[0]["facts"])
    assert _section(town, "三")["score"] == 4
    # a village owes no reception day under this policy
    assert _unit(report, county.village2)["deductions"] == []

    async with app.state.desk.sessionmaker() as session:
        for day in owed[1:]:
            session.add(
                RosterEntry(
                    id=uuid.uuid4(),
                    unit_id=uuid.UUID(county.town["id"]),
                    day=day,
                    official_id=uuid.UUID(county.officials["town_deputy"]["id"]),
                )
            )
        await session.commit()
    town = _unit(await _scores(client, admin, county.county, year=yesterday.year), county.town)
    (left,) = _by_rule(town, "roster_day_uncovered")
    assert left["occurrences"] == 1 and len(left["facts"]) == 1


# --- caps and the policy's say ----------------------------------------------------------------


async def test_a_cap_holds_and_a_rule_taken_out_of_the_policy_deducts_no_more(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin: dict[str, str],
    county: County,
    worker_headers: dict[str, str],
    policy_restore: None,
) -> None:
    staff = await county.headers(client, "town_staff")
    for _ in range(3):
        case = await _letter(client, staff, county)
        await miss_now(app, client, worker_headers, _deadline(case, "acceptance_notice")["id"])
    town = _unit(await _scores(client, admin, county.county, "二"), county.town)
    assert [d["points"] for d in _by_rule(town, "t2_acceptance_notice_missed")] == [0.01] * 3

    doc = (await client.get("/v1/policies", headers=admin)).json()["policy"]
    rule = next(r for r in doc["scoring"]["rules"] if r["key"] == "t2_acceptance_notice_missed")
    rule["cap"] = 0.015
    await _put_policy(client, admin, doc)
    town = _unit(await _scores(client, admin, county.county, "二"), county.town)
    capped = _by_rule(town, "t2_acceptance_notice_missed")
    assert [(d["points"], d["capped"], d["occurrences"]) for d in capped] == [
        (0.01, False, 1),
        (0.005, True, 1),
        (0, True, 1),
    ]
    assert _section(town, "二(二)")["deducted"] == 0.015

    doc["scoring"]["rules"].remove(rule)
    await _put_policy(client, admin, doc)
    town = _unit(await _scores(client, admin, county.county, "二"), county.town)
    assert _by_rule(town, "t2_acceptance_notice_missed") == []
    assert town["score"] == 2


async def test_a_deduction_counts_a_case_about_the_reader_without_naming_it(
    client: httpx.AsyncClient, admin: dict[str, str], county: County
) -> None:
    staff = await county.headers(client, "county_staff")
    body = {
        **visit_body(county.village2, county.county, 6),
        "complained_official_ids": [county.officials["town_chief"]["id"]],
    }
    created = await client.post("/v1/cases", json=body, headers=staff)
    assert created.status_code == 201, created.text
    case = created.json()

    (by_admin,) = _unit(await _scores(client, admin, county.county), county.village2)["deductions"]
    assert by_admin["case_id"] == case["id"]
    assert case["id"] in {f["case_id"] for f in by_admin["facts"]}
    assert case["id"] in {f["id"] for f in by_admin["facts"]}

    chief = await county.headers(client, "town_chief")
    (by_chief,) = _unit(await _scores(client, chief, county.town), county.village2)["deductions"]
    assert by_chief["points"] == by_admin["points"] and by_chief["rule"] == by_admin["rule"]
    assert by_chief["case_id"] is None and by_chief["case_number"] is None
    assert all(f["case_id"] is None and f["case_number"] is None for f in by_chief["facts"])
    assert case["id"] not in {f["id"] for f in by_chief["facts"]}
