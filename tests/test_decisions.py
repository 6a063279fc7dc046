"""Stability-risk assessment of major decisions (重大决策社会稳定风险评估, seed 003 六), over
HTTP: a draft, the assessment and the risk rule, the conclusion the level allows, the alert to
the responsible leader, the cases that arose from a decision, territory and roles, and the
dashboard's figures."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import update

from api.decisions.service import figures
from api.kit.timeutil import end_of_local_day, local_today
from api.models.deadline import Deadline
from api.policies.service import current_policy
from api.units.repository import UnitRepository
from tests.conftest import County, letter_body, login, make_county, miss_now, visit_body

DIMENSIONS = ("legality", "reasonableness", "feasibility", "controllability")
PLAN = "成立工作专班，逐户走访解释补偿标准，设立咨询点，制定突发情况处置预案。"


def _body(county: County, **fields: Any) -> dict[str, Any]:
    """A draft for the town, owned by the town's chief, planned a month ahead."""
    return {
        "unit_id": county.town["id"],
        "title": "东风镇工业园区征地",
        "kind": "land_acquisition",
        "description": "征收柳树村、杨庄村集体土地 300 亩用于工业园区建设。",
        "planned_on": (local_today() + timedelta(days=30)).isoformat(),
        "owner_leader_id": county.officials["town_chief"]["id"],
        **fields,
    }


def _findings(*verdicts: str) -> dict[str, Any]:
    """Findings with these verdicts, in the order legality … controllability."""
    return {
        d: {"verdict": v, "note": f"{d}: {v}"}
        for d, v in zip(DIMENSIONS[: len(verdicts)], verdicts, strict=True)
    }


async def _draft(
    client: httpx.AsyncClient, headers: dict[str, str], county: County, **fields: Any
) -> dict[str, Any]:
    resp = await client.post("/v1/decisions", json=_body(county, **fields), headers=headers)
    assert resp.status_code == 201, resp.text
    return dict(resp.json())


async def _post(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    decision: dict[str, Any],
    action: str,
    body: dict[str, Any],
    expect: int = 200,
) -> dict[str, Any]:
    resp = await client.post(f"/v1/decisions/{decision['id']}/{action}", json=body, headers=headers)
    assert resp.status_code == expect, resp.text
    if expect >= 400:
        assert resp.headers["content-type"] == "application/problem+json"
    return dict(resp.json())


async def _get(
    client: httpx.AsyncClient, headers: dict[str, str], decision: dict[str, Any]
) -> dict[str, Any]:
    resp = await client.get(f"/v1/decisions/{decision['id']}", headers=headers)
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


def _pointers(problem: dict[str, Any]) -> set[str]:
    return {e["pointer"] for e in problem["errors"]}


async def _assess(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    county: County,
    *verdicts: str,
    **extra: Any,
) -> dict[str, Any]:
    """A fresh draft assessed with these verdicts; the assessment as answered."""
    decision = await _draft(client, headers, county)
    body = {"findings": _findings(*verdicts), "response_plan": PLAN, **extra}
    return await _post(client, headers, decision, "assess", body)


async def test_a_draft_is_assessed_then_decided(client: httpx.AsyncClient, county: County) -> None:
    staff = await county.headers(client, "town_staff")
    decision = await _draft(client, staff, county)
    assert decision["status"] == "draft" and decision["risk_level"] is None
    assert decision["findings"] == dict.fromkeys(DIMENSIONS)
    assert decision["allowed_conclusions"] == [] and decision["cases"] == []
    assert decision["created_by"] == county.officials["town_staff"]["id"]
    assert await _get(client, staff, decision) == decision

    # the draft is filled in step by step: a finding given replaces only its own dimension
    patch: dict[str, Any] = {"title": "工业园区一期征地"}
    patch["findings"] = _findings("sound", "concerns")
    resp = await client.patch(f"/v1/decisions/{decision['id']}", json=patch, headers=staff)
    assert resp.status_code == 200, resp.text
    patch = {"findings": {"reasonableness": {"verdict": "sound"}}, "description": None}
    resp = await client.patch(f"/v1/decisions/{decision['id']}", json=patch, headers=staff)
    assert resp.status_code == 200, resp.text
    draft = resp.json()
    assert draft["title"] == "工业园区一期征地" and draft["description"] is None
    assert draft["findings"]["legality"] == {"verdict": "sound", "note": "legality: sound"}
    assert draft["findings"]["reasonableness"] == {"verdict": "sound", "note": None}
    assert draft["findings"]["feasibility"] is None

    listed = await client.get(
        "/v1/decisions", params={"status": "draft", "unit_id": county.town["id"]}, headers=staff
    )
    assert [d["id"] for d in listed.json()["items"]] == [decision["id"]]

    # the assessment completes the findings and the plan: all sound is low risk
    findings = _findings("sound", "sound", "sound", "sound")
    del findings["legality"]  # the draft has it
    body = {"findings": findings, "response_plan": PLAN}
    chief = await county.headers(client, "town_chief")
    assessed = await _post(client, chief, decision, "assess", body)
    assert assessed["status"] == "assessed" and assessed["assessed_by"]
    assert assessed["rule_risk_level"] == assessed["risk_level"] == "low"
    assert assessed["response_plan"] == PLAN
    assert assessed["allowed_conclusions"] == [
        "implement",
        "implement_with_measures",
        "postpone",
        "do_not_implement",
    ]

    # an assessed decision is no longer a draft: changing or assessing it again is 409
    resp = await client.patch(f"/v1/decisions/{decision['id']}", json={"title": "x"}, headers=staff)
    assert resp.status_code == 409 and resp.json()["decision_status"] == "assessed"
    await _post(client, staff, decision, "assess", {}, expect=409)

    decided = await _post(client, chief, decision, "decide", {"conclusion": "implement"})
    assert decided["status"] == "decided" and decided["conclusion"] == "implement"
    assert decided["decided_by"] == county.officials["town_chief"]["id"]
    assert decided["allowed_conclusions"] == []
    problem = await _post(client, chief, decision, "decide", {"conclusion": "postpone"}, 409)
    assert problem["decision_status"] == "decided"
    assert (await _get(client, staff, decision))["conclusion"] == "implement"

    listed = await client.get(
        "/v1/decisions", params={"risk_level": "low", "status": "decided"}, headers=staff
    )
    assert [d["id"] for d in listed.json()["items"]] == [decision["id"]]
    listed = await client.get("/v1/decisions", params={"status": "draft"}, headers=staff)
    assert listed.json()["items"] == []


async def test_a_conclusion_comes_only_after_the_assessment(
    client: httpx.AsyncClient, county: County
) -> None:
    staff = await county.headers(client, "town_staff")
    decision = await _draft(client, staff, county)
    problem = await _post(client, staff, decision, "decide", {"conclusion": "postpone"}, 409)
    assert problem["decision_status"] == "draft"
    assert (await _get(client, staff, decision))["status"] == "draft"


async def test_the_rule_gives_the_risk_level(client: httpx.AsyncClient, county: County) -> None:
    staff = await county.headers(client, "town_staff")
    cases = [
        (("sound", "sound", "sound", "sound"), "low"),
        (("sound", "concerns", "sound", "sound"), "medium"),
        (("sound", "concerns", "concerns", "sound"), "medium"),
        (("concerns", "concerns", "sound", "concerns"), "high"),  # 3 concerns
        (("sound", "sound", "unsound", "sound"), "high"),  # any unsound
    ]
    for verdicts, level in cases:
        assessed = await _assess(client, staff, county, *verdicts)
        assert (assessed["rule_risk_level"], assessed["risk_level"]) == (level, level), verdicts
        assert assessed["level_reason"] is None

    # raised above the rule with a reason: kept, the rule's level shown beside it
    raised = await _assess(
        client,
        staff,
        county,
        "sound",
        "concerns",
        "sound",
        "sound",
        risk_level="high",
        level_reason="涉及群众多，曾发生过集体访。",
    )
    assert (raised["rule_risk_level"], raised["risk_level"]) == ("medium", "high")
    assert raised["level_reason"] == "涉及群众多，曾发生过集体访。"
    assert raised["allowed_conclusions"] == ["postpone", "do_not_implement"]


async def test_the_level_is_never_lowered_and_raised_only_with_a_reason(
    client: httpx.AsyncClient, county: County
) -> None:
    staff = await county.headers(client, "town_staff")
    decision = await _draft(client, staff, county)
    medium = _findings("sound", "concerns", "sound", "sound")
    tries = [
        ({"risk_level": "low", "level_reason": "领导已表态"}, "/risk_level"),
        ({"risk_level": "high"}, "/level_reason"),
        ({"risk_level": "medium", "level_reason": "无"}, "/level_reason"),
        ({"level_reason": "无"}, "/level_reason"),
        ({"risk_level": "severe"}, "/risk_level"),
    ]
    for extra, pointer in tries:
        body = {"findings": medium, "response_plan": PLAN, **extra}
        problem = await _post(client, staff, decision, "assess", body, 422)
        assert pointer in _pointers(problem), (extra, problem)
    # nothing was written by the refused tries
    after = await _get(client, staff, decision)
    assert after["status"] == "draft" and after["findings"] == dict.fromkeys(DIMENSIONS)
    assert after["response_plan"] is None and after["risk_level"] is None


async def test_every_finding_and_the_plan_are_needed(
    client: httpx.AsyncClient, county: County
) -> None:
    staff = await county.headers(client, "town_staff")
    decision = await _draft(client, staff, county)
    body = {"findings": _findings("sound", "sound", "sound")}
    problem = await _post(client, staff, decision, "assess", body, 422)
    assert _pointers(problem) == {"/findings/controllability", "/response_plan"}
    problem = await _post(client, staff, decision, "assess", {"response_plan": PLAN}, 422)
    assert _pointers(problem) == {f"/findings/{d}" for d in DIMENSIONS}
    after = await _get(client, staff, decision)
    assert after["findings"] == dict.fromkeys(DIMENSIONS) and after["response_plan"] is None
    # a bad verdict is refused by the schema, with its pointer
    bad = {"findings": {"legality": {"verdict": "fine"}}, "response_plan": PLAN}
    problem = await _post(client, staff, decision, "assess", bad, 422)
    assert "/findings/legality/verdict" in _pointers(problem)

    # what the draft already holds counts: the plan and three findings stored, one given now
    patch = {"findings": _findings("sound", "sound", "sound"), "response_plan": PLAN}
    resp = await client.patch(f"/v1/decisions/{decision['id']}", json=patch, headers=staff)
    assert resp.status_code == 200, resp.text
    body = {"findings": {"controllability": {"verdict": "concerns", "note": "易聚集"}}}
    assessed = await _post(client, staff, decision, "assess", body)
    assert assessed["risk_level"] == "medium" and assessed["response_plan"] == PLAN


async def test_the_risk_level_limits_the_conclusion(
    client: httpx.AsyncClient, county: County
) -> None:
    staff = await county.headers(client, "town_staff")
    high = await _assess(client, staff, county, "unsound", "sound", "sound", "sound")
    for conclusion in ("implement", "implement_with_measures"):
        problem = await _post(client, staff, high, "decide", {"conclusion": conclusion}, 422)
        assert _pointers(problem) == {"/conclusion"}
        assert problem["allowed_conclusions"] == ["postpone", "do_not_implement"]
    assert (await _get(client, staff, high))["status"] == "assessed"
    decided = await _post(
        client, staff, high, "decide", {"conclusion": "postpone", "note": "待补偿方案完善后再评估"}
    )
    assert decided["conclusion"] == "postpone"
    assert decided["conclusion_note"] == "待补偿方案完善后再评估"

    medium = await _assess(client, staff, county, "sound", "concerns", "sound", "sound")
    await _post(client, staff, medium, "decide", {"conclusion": "implement"}, 422)
    body = {"conclusion": "implement_with_measures"}
    decided = await _post(client, staff, medium, "decide", body)
    assert decided["status"] == "decided"
    await _post(client, staff, medium, "decide", {"conclusion": "maybe"}, 422)


async def test_the_policy_sets_the_rule(
    client: httpx.AsyncClient, admin: dict[str, str], county: County, policy_restore: None
) -> None:
    doc = (await client.get("/v1/policies", headers=admin)).json()["policy"]
    assert doc["decisions"]["high_if_unsound"] == 1
    assert doc["decisions"]["allowed_conclusions"]["high"] == ["postpone", "do_not_implement"]
    # a high risk may never be simply implemented; thresholds must be in order
    for change in (
        {"allowed_conclusions": {**doc["decisions"]["allowed_conclusions"], "high": ["implement"]}},
        {"allowed_conclusions": {"low": ["implement"], "medium": ["postpone"]}},
        {"medium_if_concerns": 4, "high_if_concerns": 2},
        {"high_if_unsound": 0},
    ):
        bad = {**doc, "decisions": {**doc["decisions"], **change}}
        resp = await client.put("/v1/policies", json=bad, headers=admin)
        assert resp.status_code == 422, (change, resp.text)

    # two unsound findings for high, two concerns for medium
    doc["decisions"].update(high_if_unsound=2, medium_if_concerns=2)
    assert (await client.put("/v1/policies", json=doc, headers=admin)).status_code == 200
    staff = await county.headers(client, "town_staff")
    one_concern = await _assess(client, staff, county, "concerns", "sound", "sound", "sound")
    assert one_concern["risk_level"] == "low"
    # an unsound finding counts as a concern too
    one_each = await _assess(client, staff, county, "unsound", "concerns", "sound", "sound")
    assert one_each["risk_level"] == "medium"
    two_unsound = await _assess(client, staff, county, "unsound", "sound", "unsound", "sound")
    assert two_unsound["risk_level"] == "high"


async def test_a_high_risk_alerts_the_responsible_leader(
    client: httpx.AsyncClient, county: County
) -> None:
    staff = await county.headers(client, "town_staff")
    owner = county.officials["town_deputy"]
    chief = await county.headers(client, "town_chief")

    def alerts_of(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [a for a in items if a["purpose"] == "decision_risk"]

    async def owner_alerts() -> list[dict[str, Any]]:
        resp = await client.get("/v1/alerts", params={"official_id": owner["id"]}, headers=chief)
        assert resp.status_code == 200, resp.text
        return alerts_of(resp.json()["items"])

    # a medium risk alerts nobody
    decision = await _draft(client, staff, county, owner_leader_id=owner["id"])
    body = {"findings": _findings("sound", "concerns", "sound", "sound"), "response_plan": PLAN}
    await _post(client, staff, decision, "assess", body)
    assert await owner_alerts() == []

    planned = local_today() + timedelta(days=10)
    decision = await _draft(
        client,
        staff,
        county,
        title="杨庄村旧村改造拆迁",
        kind="demolition",
        owner_leader_id=owner["id"],
        planned_on=planned.isoformat(),
    )
    body = {"findings": _findings("sound", "concerns", "unsound", "sound"), "response_plan": PLAN}
    assessed = await _post(client, staff, decision, "assess", body)
    assert assessed["risk_level"] == "high"
    [alert] = await owner_alerts()
    assert alert["official_id"] == owner["id"] and alert["case_id"] is None
    assert alert["channel"] == "sms" and alert["status"] in {"pending", "sent", "delivered"}
    assert "高风险" in alert["text"] and "杨庄村旧村改造拆迁" in alert["text"]
    assert county.town["name"] in alert["text"]
    assert f"{planned.month}月{planned.day}日决策前" in alert["text"]

    # a refused assessment alerts nobody (same transaction)
    decision = await _draft(client, staff, county, owner_leader_id=owner["id"])
    body = {"findings": _findings("unsound", "unsound", "unsound")}
    await _post(client, staff, decision, "assess", body, 422)
    assert len(await owner_alerts()) == 1


async def test_cases_that_arose_from_a_decision(
    client: httpx.AsyncClient, admin: dict[str, str], county: County
) -> None:
    staff = await county.headers(client, "county_staff")
    decision = await _draft(client, staff, county)
    resp = await client.post("/v1/cases", json=letter_body(county), headers=staff)
    assert resp.status_code == 201, resp.text
    case = resp.json()

    linked = await _post(client, staff, decision, "cases", {"case_id": case["id"]})
    assert linked["cases"] == [
        {"id": case["id"], "number": case["number"], "title": case["title"], "status": "registered"}
    ]
    assert (await _get(client, staff, decision))["cases"] == linked["cases"]
    timeline = (await client.get(f"/v1/cases/{case['id']}/timeline", headers=staff)).json()
    [event] = [e for e in timeline if e["action"] == "decision_linked"]
    assert event["data"]["decision_id"] == decision["id"]
    assert event["data"]["title"] == decision["title"]
    assert event["actor_id"] == county.officials["county_staff"]["id"]

    # twice is 409; an unknown case, or one outside the territory, is 422; nothing written
    problem = await _post(client, staff, decision, "cases", {"case_id": case["id"]}, 409)
    assert case["number"] in problem["detail"]
    other = await make_county(client, admin)
    other_staff = await other.headers(client, "county_staff")
    foreign = (await client.post("/v1/cases", json=letter_body(other), headers=other_staff)).json()
    for case_id in (str(uuid.uuid4()), foreign["id"]):
        problem = await _post(client, staff, decision, "cases", {"case_id": case_id}, 422)
        assert _pointers(problem) == {"/case_id"}
    assert len((await _get(client, staff, decision))["cases"]) == 1
    timeline = (await client.get(f"/v1/cases/{case['id']}/timeline", headers=staff)).json()
    assert [e["action"] for e in timeline].count("decision_linked") == 1

    # a decided decision still takes the cases it later caused
    body = {"findings": _findings("sound", "sound", "sound", "sound"), "response_plan": PLAN}
    await _post(client, staff, decision, "assess", body)
    await _post(client, staff, decision, "decide", {"conclusion": "implement"})
    second = (await client.post("/v1/cases", json=letter_body(county), headers=staff)).json()
    linked = await _post(client, staff, decision, "cases", {"case_id": second["id"]})
    assert [c["id"] for c in linked["cases"]] == [case["id"], second["id"]]


async def test_territory(client: httpx.AsyncClient, admin: dict[str, str], county: County) -> None:
    staff = await county.headers(client, "town_staff")
    decision = await _draft(client, staff, county)
    other = await make_county(client, admin)
    outsider = await other.headers(client, "county_staff")
    village_chief = await county.headers(client, "village_chief")  # below the deciding town
    body: dict[str, Any] = {"findings": _findings("sound", "sound", "sound", "sound")}
    for headers in (outsider, village_chief):
        resp = await client.get(f"/v1/decisions/{decision['id']}", headers=headers)
        assert resp.status_code == 404, resp.text
        assert resp.headers["content-type"] == "application/problem+json"
        listed = (await client.get("/v1/decisions", headers=headers)).json()["items"]
        assert decision["id"] not in [d["id"] for d in listed]
    for action, payload in (
        ("assess", {**body, "response_plan": PLAN}),
        ("decide", {"conclusion": "implement"}),
        ("cases", {"case_id": str(uuid.uuid4())}),
    ):
        await _post(client, outsider, decision, action, payload, 404)
    resp = await client.patch(
        f"/v1/decisions/{decision['id']}", json={"title": "x"}, headers=outsider
    )
    assert resp.status_code == 404, resp.text
    assert (await _get(client, staff, decision))["status"] == "draft"
    # the county above sees it, an unknown one is 404 too
    county_staff = await county.headers(client, "county_staff")
    assert (await _get(client, county_staff, decision))["id"] == decision["id"]
    resp = await client.get(f"/v1/decisions/{uuid.uuid4()}", headers=staff)
    assert resp.status_code == 404


async def test_unit_and_leader_must_be_in_the_callers_territory(
    client: httpx.AsyncClient, admin: dict[str, str], county: County
) -> None:
    staff = await county.headers(client, "town_staff")
    other = await make_county(client, admin)
    o = county.officials
    before = (await client.get("/v1/decisions", headers=staff)).json()["items"]
    tries = [
        ({"unit_id": other.town["id"]}, "/unit_id"),
        ({"unit_id": str(uuid.uuid4())}, "/unit_id"),
        ({"unit_id": county.county["id"]}, "/unit_id"),  # above the town: outside its reach
        ({"owner_leader_id": other.officials["town_chief"]["id"]}, "/owner_leader_id"),
        ({"owner_leader_id": o["county_chief"]["id"]}, "/owner_leader_id"),  # out of reach
        ({"owner_leader_id": o["town_staff"]["id"]}, "/owner_leader_id"),  # not a leader
        ({"owner_leader_id": o["village_chief"]["id"]}, "/owner_leader_id"),  # below the unit
        ({"kind": "bridge"}, "/kind"),
        ({"title": ""}, "/title"),
        ({"planned_on": "2026/12/01"}, "/planned_on"),
        ({"surprise": 1}, "/surprise"),
    ]
    for change, pointer in tries:
        resp = await client.post("/v1/decisions", json=_body(county, **change), headers=staff)
        assert resp.status_code == 422, (change, resp.text)
        assert resp.headers["content-type"] == "application/problem+json"
        assert pointer in _pointers(resp.json()), (change, resp.text)
    assert (await client.get("/v1/decisions", headers=staff)).json()["items"] == before

    # a village's decision may be owned by the town's deputy above it
    decision = await _draft(
        client, staff, county, unit_id=county.village2["id"], owner_leader_id=o["town_deputy"]["id"]
    )
    # a new leader is checked against the draft's unit, a new unit against its leader
    url = f"/v1/decisions/{decision['id']}"
    change = {"owner_leader_id": o["village_chief"]["id"]}  # another village's chief
    resp = await client.patch(url, json=change, headers=staff)
    assert resp.status_code == 422 and _pointers(resp.json()) == {"/owner_leader_id"}
    resp = await client.patch(url, json={"unit_id": county.town["id"]}, headers=staff)
    assert resp.status_code == 200, resp.text  # the town's deputy is of the town too
    resp = await client.patch(url, json={"unit_id": county.village2["id"]}, headers=staff)
    assert resp.status_code == 200, resp.text
    change = {"unit_id": county.village["id"], "owner_leader_id": o["village2_chief"]["id"]}
    resp = await client.patch(url, json=change, headers=staff)
    assert resp.status_code == 422 and _pointers(resp.json()) == {"/owner_leader_id"}
    resp = await client.patch(url, json={"title": None}, headers=staff)
    assert resp.status_code == 422 and _pointers(resp.json()) == {"/title"}
    resp = await client.patch(
        url,
        json={"unit_id": county.village["id"], "owner_leader_id": o["village_chief"]["id"]},
        headers=staff,
    )
    assert resp.status_code == 200, resp.text
    moved = resp.json()
    assert moved["unit_id"] == county.village["id"]
    assert moved["owner_leader_id"] == o["village_chief"]["id"]
    # the village chief now sees the decision of their village
    village_chief = await county.headers(client, "village_chief")
    assert (await _get(client, village_chief, decision))["id"] == decision["id"]


async def test_viewers_and_grid_workers_may_not_assess(
    client: httpx.AsyncClient, admin: dict[str, str], county: County
) -> None:
    staff = await county.headers(client, "town_staff")
    decision = await _draft(client, staff, county)
    name = f"viewer-{uuid.uuid4().hex[:6]}"
    body = {
        "name": name,
        "unit_id": county.town["id"],
        "role": "viewer",
        "username": name,
        "password": f"pw-{name}",
    }
    assert (await client.post("/v1/officials", json=body, headers=admin)).status_code == 201
    viewer = await login(client, name, f"pw-{name}")
    grid = await county.headers(client, "grid")
    for headers in (viewer, grid):
        resp = await client.post("/v1/decisions", json=_body(county), headers=headers)
        assert resp.status_code == 403, resp.text
        assert resp.json()["detail"].endswith("may not assess_decisions.")
        resp = await client.patch(
            f"/v1/decisions/{decision['id']}", json={"title": "x"}, headers=headers
        )
        assert resp.status_code == 403, resp.text
        for action, payload in (
            ("assess", {"response_plan": PLAN}),
            ("decide", {"conclusion": "postpone"}),
            ("cases", {"case_id": str(uuid.uuid4())}),
        ):
            await _post(client, headers, decision, action, payload, 403)
    # a viewer of the town reads them
    assert (await _get(client, viewer, decision))["status"] == "draft"
    listed = (await client.get("/v1/decisions", headers=viewer)).json()["items"]
    assert [d["id"] for d in listed] == [decision["id"]]


async def test_list_pages(client: httpx.AsyncClient, county: County) -> None:
    staff = await county.headers(client, "town_staff")
    made = [(await _draft(client, staff, county, title=f"决策{n}"))["id"] for n in range(3)]
    seen: list[str] = []
    params: dict[str, Any] = {"limit": 2}
    while True:
        page = (await client.get("/v1/decisions", params=params, headers=staff)).json()
        seen += [d["id"] for d in page["items"]]
        if not page.get("next_cursor"):
            break
        params["cursor"] = page["next_cursor"]
    assert seen == made[::-1]
    resp = await client.get("/v1/decisions", params={"risk_level": "extreme"}, headers=staff)
    assert resp.status_code == 422


async def test_figures(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin: dict[str, str],
    county: County,
    worker_headers: dict[str, str],
) -> None:
    staff = await county.headers(client, "county_staff")
    today = local_today()
    low = await _assess(client, staff, county, "sound", "sound", "sound", "sound")
    await _post(client, staff, low, "decide", {"conclusion": "implement"})
    medium = await _assess(client, staff, county, "concerns", "sound", "sound", "sound")
    await _post(client, staff, medium, "decide", {"conclusion": "postpone"})
    high = await _assess(client, staff, county, "unsound", "sound", "sound", "sound")
    # drafts: one whose planned day has passed, one planned ahead, one without a day
    await _draft(client, staff, county, planned_on=(today - timedelta(days=2)).isoformat())
    await _draft(client, staff, county)
    await _draft(client, staff, county, unit_id=county.village["id"], planned_on=None)
    # an assessment not made in time: its deadline missed
    late = await _draft(client, staff, county, planned_on=(today + timedelta(days=6)).isoformat())
    await miss_now(app, client, worker_headers, late["deadline_id"])
    # cases that arose: a collective visit and a letter, the visit linked to two decisions
    resp = await client.post(
        "/v1/cases", json=visit_body(county.village2, county.town, 30), headers=staff
    )
    assert resp.status_code == 201, resp.text
    visit = resp.json()
    letter = (await client.post("/v1/cases", json=letter_body(county), headers=staff)).json()
    await _post(client, staff, high, "cases", {"case_id": visit["id"]})
    await _post(client, staff, low, "cases", {"case_id": visit["id"]})
    await _post(client, staff, low, "cases", {"case_id": letter["id"]})
    # another county's decisions do not count
    other = await make_county(client, admin)
    outsider = await other.headers(client, "county_staff")
    await _assess(client, outsider, other, "unsound", "sound", "sound", "sound")

    async with app.state.desk.sessionmaker() as session:
        policy = (await current_policy(session)).policy
        units = await UnitRepository(session).subtree_ids(uuid.UUID(county.county["id"]))
        first, last = today - timedelta(days=30), today + timedelta(days=30)
        got = await figures(session, units, first, last, policy)
        village_units = await UnitRepository(session).subtree_ids(uuid.UUID(county.village["id"]))
        village = await figures(session, village_units, first, last, policy)
        before = await figures(
            session, units, today - timedelta(days=60), today - timedelta(days=31), policy
        )
    assert got.assessed == 3
    assert got.by_risk_level == {"low": 1, "medium": 1, "high": 1}
    assert got.decided == 2
    assert got.by_conclusion == {
        "implement": 1,
        "implement_with_measures": 0,
        "postpone": 1,
        "do_not_implement": 0,
    }
    assert got.high_risk_undecided == 1
    assert got.drafts_past_planned_date == 1
    # due in the period: the three assessed (met), the draft planned ahead and the late one
    assert (got.assessments_due, got.assessments_late) == (5, 1)
    assert (got.linked_cases, got.linked_collective) == (2, 1)
    assert village.assessed == 0 and village.linked_cases == 0
    assert before.assessed == 0 and before.drafts_past_planned_date == 0
    assert before.assessments_due == 0
    assert before.by_risk_level == {"low": 0, "medium": 0, "high": 0}


async def _assessment_deadline(
    client: httpx.AsyncClient, headers: dict[str, str], deadline_id: str
) -> dict[str, Any]:
    resp = await client.get(
        "/v1/deadlines", params={"kind": "decision_assessment", "limit": 200}, headers=headers
    )
    assert resp.status_code == 200, resp.text
    [found] = [d for d in resp.json()["items"] if d["id"] == deadline_id]
    return dict(found)


async def test_the_assessment_is_due_before_the_planned_day(
    client: httpx.AsyncClient, county: County
) -> None:
    """先评估后决策 (seed 003 六.二): a draft with a planned day gives the responsible leader a
    `decision_assessment` deadline at the end of the day before it (policy default 1 day);
    the assessment meets it."""
    staff = await county.headers(client, "town_staff")
    planned = local_today() + timedelta(days=30)
    decision = await _draft(client, staff, county, planned_on=planned.isoformat())
    due = end_of_local_day(planned - timedelta(days=1))
    assert datetime.fromisoformat(decision["assessment_due_at"]) == due
    deadline = await _assessment_deadline(client, staff, decision["deadline_id"])
    assert deadline["status"] == "open" and deadline["case_id"] is None
    assert datetime.fromisoformat(deadline["due_at"]) == due
    assert deadline["official_id"] == county.officials["town_chief"]["id"]
    assert deadline["unit_id"] == county.town["id"]
    assert deadline["subject"] == decision["title"]

    body = {"findings": _findings("sound", "sound", "sound", "sound"), "response_plan": PLAN}
    await _post(client, staff, decision, "assess", body)
    deadline = await _assessment_deadline(client, staff, decision["deadline_id"])
    assert deadline["status"] == "met"


async def test_a_new_planned_day_or_leader_replaces_the_deadline(
    client: httpx.AsyncClient, county: County
) -> None:
    staff = await county.headers(client, "town_staff")
    decision = await _draft(client, staff, county)
    first = decision["deadline_id"]
    url = f"/v1/decisions/{decision['id']}"

    # a change that touches neither keeps the deadline
    resp = await client.patch(url, json={"title": "工业园区二期征地"}, headers=staff)
    assert resp.json()["deadline_id"] == first

    later = local_today() + timedelta(days=45)
    resp = await client.patch(url, json={"planned_on": later.isoformat()}, headers=staff)
    assert resp.status_code == 200, resp.text
    moved = resp.json()
    assert moved["deadline_id"] not in (None, first)
    assert (await _assessment_deadline(client, staff, first))["status"] == "cancelled"
    new = await _assessment_deadline(client, staff, moved["deadline_id"])
    assert datetime.fromisoformat(new["due_at"]) == end_of_local_day(later - timedelta(days=1))
    assert new["subject"] == "工业园区二期征地"

    deputy = county.officials["town_deputy"]["id"]
    resp = await client.patch(url, json={"owner_leader_id": deputy}, headers=staff)
    handed = resp.json()
    assert (await _assessment_deadline(client, staff, moved["deadline_id"]))[
        "status"
    ] == "cancelled"
    assert (await _assessment_deadline(client, staff, handed["deadline_id"]))[
        "official_id"
    ] == deputy

    # without a planned day nothing is owed
    resp = await client.patch(url, json={"planned_on": None}, headers=staff)
    cleared = resp.json()
    assert cleared["deadline_id"] is None and cleared["assessment_due_at"] is None
    assert (await _assessment_deadline(client, staff, handed["deadline_id"]))[
        "status"
    ] == "cancelled"


async def test_no_deadline_when_the_time_to_assess_has_passed(
    client: httpx.AsyncClient, county: County
) -> None:
    """A decision recorded on its planned day, or after it, is assessed late whatever
    happens: no deadline is born missed (the dashboard counts drafts past their day)."""
    staff = await county.headers(client, "town_staff")
    for day in (local_today(), local_today() - timedelta(days=3)):
        decision = await _draft(client, staff, county, planned_on=day.isoformat())
        assert decision["deadline_id"] is None and decision["assessment_due_at"] is None
    tomorrow = await _draft(
        client, staff, county, planned_on=(local_today() + timedelta(days=1)).isoformat()
    )
    assert tomorrow["deadline_id"] is not None  # due at midnight tonight


async def test_the_policy_sets_the_days_before(
    client: httpx.AsyncClient, admin: dict[str, str], county: County, policy_restore: None
) -> None:
    policy = (await client.get("/v1/policies", headers=admin)).json()["policy"]
    policy["decisions"]["assess_days_before"] = 7
    assert (await client.put("/v1/policies", json=policy, headers=admin)).status_code == 200
    staff = await county.headers(client, "town_staff")
    planned = local_today() + timedelta(days=20)
    decision = await _draft(client, staff, county, planned_on=planned.isoformat())
    due = end_of_local_day(planned - timedelta(days=7))
    assert datetime.fromisoformat(decision["assessment_due_at"]) == due
    # recorded too late for the policy's days: still due before the planned day begins
    soon = local_today() + timedelta(days=3)
    decision = await _draft(client, staff, county, planned_on=soon.isoformat())
    due = end_of_local_day(soon - timedelta(days=1))
    assert datetime.fromisoformat(decision["assessment_due_at"]) == due
    policy["decisions"]["assess_days_before"] = -1
    refused = await client.put("/v1/policies", json=policy, headers=admin)
    assert refused.status_code == 422, refused.text


async def test_a_missed_assessment_escalates(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin: dict[str, str],
    county: County,
    worker_headers: dict[str, str],
) -> None:
    staff = await county.headers(client, "town_staff")
    owner = county.officials["town_deputy"]
    decision = await _draft(client, staff, county, owner_leader_id=owner["id"])
    await miss_now(app, client, worker_headers, decision["deadline_id"])
    deadline = await _assessment_deadline(client, admin, decision["deadline_id"])
    assert deadline["status"] == "missed"
    resp = await client.get(
        "/v1/escalations", params={"deadline_id": decision["deadline_id"]}, headers=admin
    )
    [escalation] = resp.json()["items"]
    assert county.officials["town_chief"]["id"] in escalation["recipients"]
    resp = await client.get(
        "/v1/alerts", params={"official_id": county.officials["town_chief"]["id"]}, headers=admin
    )
    told = [a for a in resp.json()["items"] if a["deadline_id"] == decision["deadline_id"]]
    assert told and all("决策风险评估时限" in a["text"] for a in told), told
    assert any(decision["title"] in a["text"] for a in told)

    # assessed late, the deadline stays missed
    body = {"findings": _findings("sound", "sound", "sound", "sound"), "response_plan": PLAN}
    await _post(client, staff, decision, "assess", body)
    deadline = await _assessment_deadline(client, admin, decision["deadline_id"])
    assert deadline["status"] == "missed"


async def test_the_leader_is_reminded_before_the_assessment_is_due(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin: dict[str, str],
    county: County,
    worker_headers: dict[str, str],
) -> None:
    """A deadline without a case is reminded like any other: the text names the decision."""
    staff = await county.headers(client, "town_staff")
    decision = await _draft(client, staff, county, title="柳树村集体土地征收")
    deadline_id = decision["deadline_id"]
    path = "/v1/internal/deadlines/remind"
    due = {"deadline_id": deadline_id, "fraction": 0.5}
    early = await client.post(path, json=due, headers=worker_headers)
    assert early.json()["status"] == "early"
    async with app.state.desk.sessionmaker() as session:  # half its span now lies behind it
        await session.execute(
            update(Deadline)
            .where(Deadline.id == uuid.UUID(deadline_id))
            .values(starts_at=datetime.now(UTC) - timedelta(days=100))
        )
        await session.commit()
    sent = await client.post(path, json=due, headers=worker_headers)
    assert sent.json()["status"] == "sent", sent.text
    chief = county.officials["town_chief"]["id"]
    resp = await client.get("/v1/alerts", params={"official_id": chief}, headers=admin)
    [reminder] = [
        a
        for a in resp.json()["items"]
        if a["purpose"] == "reminder" and a["deadline_id"] == deadline_id
    ]
    assert reminder["case_id"] is None
    assert "柳树村集体土地征收" in reminder["text"] and "决策风险评估时限" in reminder["text"]
