"""The case lifecycle: every action, the deadlines it opens and closes, and the timeline.
One test per rule, named after it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update

from api.models.case import Case
from api.models.deadline import Deadline
from tests.conftest import County, act, flag_due


async def _post(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    path: str,
    body: Any = None,
    key: str | None = None,
) -> httpx.Response:
    extra = {"Idempotency-Key": key} if key else {}
    return await client.post(path, json=body, headers=headers | extra)


def letter(county: County, **changes: Any) -> dict[str, Any]:
    body = {
        "channel": "letter",
        "origin_unit_id": county.village2["id"],
        "lodged_unit_id": county.town["id"],
        "petitioners": [{"name": "王五", "phone": f"137{uuid.uuid4().int % 10**8:08d}"}],
        "category": "forestry",
        "title": "林权纠纷",
        "content": "山林界线争议。",
    }
    return body | changes


def kinds(case: dict[str, Any], status: str | None = None) -> list[str]:
    return sorted(d["kind"] for d in case["deadlines"] if status is None or d["status"] == status)


class Desk:
    """A town petition desk with a department to assign to."""

    def __init__(self, county: County, client: httpx.AsyncClient) -> None:
        self.county, self.client = county, client

    async def setup(self, admin: dict[str, str]) -> Desk:
        c = self.client
        dept = await c.post(
            "/v1/units",
            json={"name": "国土所", "level": "department", "parent_id": self.county.town["id"]},
            headers=admin,
        )
        self.dept = dept.json()
        forestry = await c.post(
            "/v1/units",
            json={"name": "林业站", "level": "department", "parent_id": self.county.town["id"]},
            headers=admin,
        )
        self.forestry = forestry.json()
        handler = await c.post(
            "/v1/officials",
            json={
                "name": "国土所经办人",
                "phone": "13911112222",
                "unit_id": self.dept["id"],
                "role": "dept_head",
                "username": f"dept-{uuid.uuid4().hex[:6]}",
                "password": "dept-password",
            },
            headers=admin,
        )
        self.handler = handler.json()
        self.staff = await self.county.headers(c, "town_staff")
        self.handler_headers = {
            "Authorization": (
                await c.post(
                    "/v1/auth/token",
                    data={"username": self.handler["username"], "password": "dept-password"},
                )
            ).json()["access_token"]
        }
        self.handler_headers["Authorization"] = "Bearer " + self.handler_headers["Authorization"]
        return self

    async def register(self, **changes: Any) -> dict[str, Any]:
        resp = await self.client.post(
            "/v1/cases", json=letter(self.county, **changes), headers=self.staff
        )
        assert resp.status_code == 201, resp.text
        return dict(resp.json())

    def assignment(self) -> dict[str, Any]:
        return {
            "unit_id": self.dept["id"],
            "leader_id": self.county.officials["town_deputy"]["id"],
            "handler_id": self.handler["id"],
            "plan": "实地核查,依法答复",
            "time_limit_days": 30,
        }

    async def to_assigned(self) -> dict[str, Any]:
        case = await self.register()
        await act(self.client, self.staff, case, "accept")
        return await act(self.client, self.staff, case, "assign", self.assignment())

    async def to_replied(self) -> dict[str, Any]:
        case = await self.to_assigned()
        return await act(
            self.client, self.handler_headers, case, "reply", {"text": "经核查,依法答复如下……"}
        )


@pytest.fixture
async def desk(county: County, client: httpx.AsyncClient, admin: dict[str, str]) -> Desk:
    return await Desk(county, client).setup(admin)


async def _shift(app: FastAPI, model: Any, where: Any, **values: Any) -> None:
    """Move stored times into the past (a test's time machine)."""
    async with app.state.desk.sessionmaker() as session:
        await session.execute(update(model).where(where).values(**values))
        await session.commit()


# --- registration --------------------------------------------------------------------------


async def test_registration_opens_disposition_and_acceptance_notice_from_receipt(
    desk: Desk,
) -> None:
    received = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    case = await desk.register(received_at=received.isoformat())
    by_kind = {d["kind"]: d for d in case["deadlines"]}
    assert set(by_kind) == {"disposition", "acceptance_notice"}
    # 15 calendar days from receipt, to the end of that day in Asia/Shanghai
    assert by_kind["disposition"]["due_at"].startswith("2026-12-05T15:59:59")
    assert by_kind["disposition"]["official_id"] == desk.county.officials["town_staff"]["id"]


async def test_backdated_receipt_flags_past_deadlines_missed_at_once(
    desk: Desk, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    received = datetime.now(UTC) - timedelta(days=20)
    case = await desk.register(received_at=received.isoformat())
    assert kinds(case, "missed") == ["acceptance_notice", "disposition"]
    escalations = await client.get("/v1/escalations", params={"case_id": case["id"]}, headers=admin)
    assert len(escalations.json()["items"]) == 2


async def test_national_level_case_needs_a_closing_report_within_a_month(desk: Desk) -> None:
    case = await desk.register(
        lodged_unit_id=None,
        lodged_level="national",
        received_at="2026-01-31T09:00:00+08:00",
    )
    report = next(d for d in case["deadlines"] if d["kind"] == "national_report")
    assert report["due_at"].startswith("2026-02-28T15:59:59")


async def test_repeat_petition_is_linked_and_filterable(
    desk: Desk, client: httpx.AsyncClient
) -> None:
    first = await desk.register()
    phone = first["petitioners"][0]["phone"]
    again = await desk.register(petitioners=[{"name": "王五", "phone": phone}])
    assert again["repeat_of_id"] == first["id"]
    assert again["is_repeat"] is True
    other_matter = await desk.register(
        petitioners=[{"name": "王五", "phone": phone}], category="labour.wages"
    )
    assert other_matter["repeat_of_id"] is None
    repeats = await client.get(
        "/v1/cases", params={"is_repeat": True, "limit": 200}, headers=desk.staff
    )
    ids = {c["id"] for c in repeats.json()["items"]}
    assert again["id"] in ids and first["id"] not in ids
    accepted = await act(client, desk.staff, again, "accept")
    assert "first_resolution" not in kinds(accepted)  # 初信初访 only


async def test_grid_report_and_desk_registration_same_day_flag_possible_duplicate(
    desk: Desk, client: httpx.AsyncClient
) -> None:
    grid = await desk.county.headers(client, "grid")
    body = letter(
        desk.county,
        channel="grid",
        category="urban.demolition",
        lodged_unit_id=None,
        lodged_level="village",
    )
    field = (await client.post("/v1/cases", json=body, headers=grid)).json()
    desk_case = await desk.register(channel="visit", category="urban.demolition")
    assert desk_case["possible_duplicate_of_id"] == field["id"]
    verdict = await act(client, desk.staff, desk_case, "resolve_duplicate", {"is_duplicate": True})
    assert verdict["status"] == "closed" and verdict["outcome"] == "duplicate"


# --- the path ------------------------------------------------------------------------------


async def test_accept_starts_handling_clocks_and_owes_the_written_notice(
    desk: Desk, client: httpx.AsyncClient
) -> None:
    case = await desk.register()
    accepted = await act(client, desk.staff, case, "accept", {"note": "符合受理条件"})
    assert accepted["status"] == "accepted"
    # the acceptance notice is met by its service (tests/test_notices.py), not by accepting
    assert kinds(accepted, "met") == []
    assert kinds(accepted, "open") == [
        "acceptance_notice",
        "disposition",
        "first_resolution",
        "handling",
        "transfer",
    ]
    handling = next(d for d in accepted["deadlines"] if d["kind"] == "handling")
    span = datetime.fromisoformat(handling["due_at"]) - datetime.fromisoformat(
        accepted["accepted_at"]
    )
    assert timedelta(days=60) <= span < timedelta(days=61)


async def test_reject_closes_with_written_notice(desk: Desk, client: httpx.AsyncClient) -> None:
    case = await desk.register()
    closed = await act(
        client,
        desk.staff,
        case,
        "reject",
        {"reason": "不属于信访事项", "notice_text": "不予受理告知书……"},
    )
    assert (closed["status"], closed["outcome"]) == ("closed", "rejected")
    assert closed["notice_text"] == "不予受理告知书……"
    assert kinds(closed, "met") == ["disposition"]
    assert kinds(closed, "open") == ["acceptance_notice"]  # until the written notice is served


async def test_redirect_to_court_closes_with_notice(desk: Desk, client: httpx.AsyncClient) -> None:
    case = await desk.register()
    closed = await act(
        client,
        desk.staff,
        case,
        "redirect",
        {"to": "court", "reason": "属于民事纠纷", "notice_text": "请向人民法院起诉"},
    )
    assert (closed["outcome"], closed["redirect_to"]) == ("redirected", "court")


async def test_assign_records_four_fixes_and_opens_objection_window(
    desk: Desk, client: httpx.AsyncClient
) -> None:
    assigned = await desk.to_assigned()
    assert assigned["status"] == "assigned"
    assert assigned["assigned_unit_id"] == desk.dept["id"]
    assert assigned["handler_id"] == desk.handler["id"]
    assert assigned["leader_id"] == desk.county.officials["town_deputy"]["id"]
    assert assigned["plan"] and assigned["time_limit"]
    assert assigned["departments"] == [{"unit_id": desk.dept["id"], "role": "lead"}]
    assert kinds(assigned, "met") == ["disposition", "transfer"]
    objection = next(d for d in assigned["deadlines"] if d["kind"] == "objection")
    assert objection["official_id"] == desk.handler["id"]
    handling = next(d for d in assigned["deadlines"] if d["kind"] == "handling")
    assert handling["official_id"] == desk.handler["id"]


async def test_assign_validates_the_four_fixes(desk: Desk, client: httpx.AsyncClient) -> None:
    case = await desk.register()
    await act(client, desk.staff, case, "accept")
    body = desk.assignment() | {"handler_id": desk.county.officials["town_chief"]["id"]}
    problem = await act(client, desk.staff, case, "assign", body, expect=422)
    assert problem["errors"][0]["pointer"] == "/handler_id"
    body = desk.assignment() | {"leader_id": str(uuid.uuid4())}
    problem = await act(client, desk.staff, case, "assign", body, expect=422)
    assert problem["errors"][0]["pointer"] == "/leader_id"


async def test_objection_returns_the_case_for_reassignment(
    desk: Desk, client: httpx.AsyncClient
) -> None:
    assigned = await desk.to_assigned()
    back = await act(client, desk.handler_headers, assigned, "object", {"reason": "不属我所职责"})
    assert back["status"] == "accepted"
    assert back["assigned_unit_id"] is None
    assert "objection" in kinds(back, "met")
    assert "transfer" in kinds(back, "open")
    again = await act(
        client, desk.staff, back, "assign", desk.assignment() | {"unit_id": desk.dept["id"]}
    )
    assert again["status"] == "assigned"


async def test_objection_after_the_window_is_refused(
    desk: Desk, client: httpx.AsyncClient, app: FastAPI, worker_headers: dict[str, str]
) -> None:
    assigned = await desk.to_assigned()
    objection = next(d for d in assigned["deadlines"] if d["kind"] == "objection")
    await _shift(
        app,
        Deadline,
        Deadline.id == objection["id"],
        due_at=datetime.now(UTC) - timedelta(seconds=1),
    )
    await flag_due(client, worker_headers)
    problem = await act(
        client, desk.handler_headers, assigned, "object", {"reason": "晚了"}, expect=409
    )
    assert "window" in problem["detail"]


async def test_joint_handling_adds_contributing_departments(
    desk: Desk, client: httpx.AsyncClient
) -> None:
    assigned = await desk.to_assigned()
    joint = await act(
        client, desk.staff, assigned, "add_department", {"unit_id": desk.forestry["id"]}
    )
    assert joint["departments"] == [
        {"unit_id": desk.dept["id"], "role": "lead"},
        {"unit_id": desk.forestry["id"], "role": "contributor"},
    ]


async def test_owner_leader_must_be_a_leader(desk: Desk, client: httpx.AsyncClient) -> None:
    case = await desk.register()
    grid_id = desk.county.officials["grid"]["id"]
    await act(client, desk.staff, case, "set_owner_leader", {"official_id": grid_id}, expect=422)
    chief_id = desk.county.officials["town_chief"]["id"]
    owned = await act(client, desk.staff, case, "set_owner_leader", {"official_id": chief_id})
    assert owned["owner_leader_id"] == chief_id


async def test_extension_once_and_at_most_thirty_days(
    desk: Desk, client: httpx.AsyncClient
) -> None:
    assigned = await desk.to_assigned()
    before = next(d for d in assigned["deadlines"] if d["kind"] == "handling")
    approver = desk.county.officials["town_chief"]["id"]
    too_long = {"days": 31, "approver_id": approver, "reason": "案情复杂"}
    problem = await act(client, desk.handler_headers, assigned, "extend", too_long, expect=422)
    assert problem["errors"][0]["pointer"] == "/days"
    no_leader = {"days": 30, "approver_id": desk.handler["id"], "reason": "案情复杂"}
    await act(client, desk.handler_headers, assigned, "extend", no_leader, expect=422)
    body = {"days": 30, "approver_id": approver, "reason": "案情复杂"}
    extended = await act(client, desk.handler_headers, assigned, "extend", body)
    after = next(d for d in extended["deadlines"] if d["kind"] == "handling")
    moved = datetime.fromisoformat(after["due_at"]) - datetime.fromisoformat(before["due_at"])
    assert moved == timedelta(days=30)
    assert "extended" in after["flags"]
    assert extended["extended_days"] == 30
    await act(client, desk.handler_headers, assigned, "extend", body, expect=409)


async def test_a_reply_waits_for_its_notice_to_be_served_to_meet_the_handling_time(
    desk: Desk, client: httpx.AsyncClient
) -> None:
    """条例 art. 35 counts a written reply given: typing the answer in leaves the handling and
    first-resolution deadlines open until the reply notice (答复意见书) is served."""
    replied = await desk.to_replied()
    assert replied["status"] == "replied"
    # the petitioner is called back (回访); no acceptance notice was served on this path
    assert kinds(replied, "open") == [
        "acceptance_notice",
        "first_resolution",
        "follow_up",
        "handling",
    ]
    assert "objection" in kinds(replied, "cancelled")
    issued = await client.post(
        f"/v1/cases/{replied['id']}/notices", json={"kind": "reply"}, headers=desk.handler_headers
    )
    assert issued.status_code == 201, issued.text
    served_at = datetime.now(UTC)
    service = {"method": "in_person", "served_at": served_at.isoformat(), "recipient": "王五"}
    served = await client.post(
        f"/v1/notices/{issued.json()['id']}/service", json=service, headers=desk.handler_headers
    )
    assert served.status_code == 200, served.text
    case = (await client.get(f"/v1/cases/{replied['id']}", headers=desk.staff)).json()
    assert {"handling", "first_resolution"} <= set(kinds(case, "met"))
    handling = next(d for d in case["deadlines"] if d["kind"] == "handling")
    assert datetime.fromisoformat(handling["closed_at"]) == served_at


async def test_a_county_may_meet_the_handling_time_by_the_reply_itself(
    desk: Desk, client: httpx.AsyncClient, admin: dict[str, str], policy_restore: None
) -> None:
    """`notices.reply_met_by_service: false`: the reply action meets them, as before the
    written notices existed."""
    policy = (await client.get("/v1/policies", headers=admin)).json()["policy"]
    policy["notices"]["reply_met_by_service"] = False
    assert (await client.put("/v1/policies", json=policy, headers=admin)).status_code == 200
    replied = await desk.to_replied()
    assert {"handling", "first_resolution"} <= set(kinds(replied, "met"))
    assert kinds(replied, "open") == ["acceptance_notice", "follow_up"]


async def test_close_needs_the_petitioners_feedback(desk: Desk, client: httpx.AsyncClient) -> None:
    replied = await desk.to_replied()
    problem = await act(client, desk.staff, replied, "close", {"outcome": "resolved"}, expect=409)
    assert "feedback" in problem["detail"]
    await act(client, desk.staff, replied, "feedback", {"satisfied": True, "comment": "满意"})
    closed = await act(client, desk.staff, replied, "close", {"outcome": "resolved"})
    assert (closed["status"], closed["outcome"], closed["satisfied"]) == (
        "closed",
        "resolved",
        True,
    )


async def test_review_re_review_and_termination(desk: Desk, client: httpx.AsyncClient) -> None:
    replied = await desk.to_replied()
    await act(client, desk.staff, replied, "feedback", {"satisfied": False})
    review = await act(client, desk.staff, replied, "request_review", {"reason": "不服答复"})
    assert review["status"] == "review"
    opened = next(d for d in review["deadlines"] if d["kind"] == "review")
    assert opened["unit_id"] == desk.county.town["id"]  # the office above the department
    reviewed = await act(
        client, desk.staff, review, "review_decision", {"decision": "upheld", "text": "维持原答复"}
    )
    assert reviewed["status"] == "reviewed"
    re_review = await act(client, desk.staff, reviewed, "request_re_review", {"reason": "仍不服"})
    opened = next(d for d in re_review["deadlines"] if d["kind"] == "re_review")
    assert opened["unit_id"] == desk.county.county["id"]
    decided = await act(
        client, desk.staff, re_review, "re_review_decision", {"decision": "upheld", "text": "维持"}
    )
    ended = await act(client, desk.staff, decided, "terminate", {"reason": "三级终结"})
    assert (ended["status"], ended["outcome"]) == ("terminated", "terminated")
    # one call back owed since the first answer (回访): closing the case does not end it
    assert kinds(ended, "open") == ["follow_up"]


async def test_review_request_after_the_window_is_refused(
    desk: Desk, client: httpx.AsyncClient, app: FastAPI
) -> None:
    replied = await desk.to_replied()
    await _shift(
        app, Case, Case.id == replied["id"], replied_at=datetime.now(UTC) - timedelta(days=31)
    )
    problem = await act(client, desk.staff, replied, "request_review", {"reason": "x"}, expect=409)
    assert "30-day window" in problem["detail"]


async def test_sign_off_archives_the_case_read_only(desk: Desk, client: httpx.AsyncClient) -> None:
    replied = await desk.to_replied()
    await act(client, desk.staff, replied, "feedback", {"satisfied": True})
    closed = await act(client, desk.staff, replied, "close", {"outcome": "stabilized"})
    await act(client, desk.staff, closed, "sign_off", expect=403)  # a leader signs
    chief = await desk.county.headers(client, "town_chief")
    archived = await act(client, chief, closed, "sign_off", {"note": "同意归档"})
    assert archived["status"] == "archived" and archived["allowed_actions"] == []
    problem = await act(client, desk.staff, archived, "request_review", {"reason": "x"}, expect=409)
    assert problem["current_status"] == "archived"
    arrival = await client.post(f"/v1/cases/{archived['id']}/arrivals", json={}, headers=chief)
    assert arrival.status_code == 409


async def test_illegal_transition_names_state_and_allowed_actions_and_writes_nothing(
    desk: Desk, client: httpx.AsyncClient
) -> None:
    case = await desk.register()
    before = (await client.get(f"/v1/cases/{case['id']}/timeline", headers=desk.staff)).json()
    problem = await act(client, desk.staff, case, "reply", {"text": "x"}, expect=409)
    assert problem["current_status"] == "registered"
    assert problem["allowed_actions"] == [
        "accept",
        "reject",
        "redirect",
        "set_owner_leader",
        "supervise",  # issue 20: a supervision notice may come at any open stage
        "resolve_duplicate",
        "instruct",
    ]
    after = (await client.get(f"/v1/cases/{case['id']}/timeline", headers=desk.staff)).json()
    assert after == before


async def test_roles_outside_the_table_are_refused(desk: Desk, client: httpx.AsyncClient) -> None:
    case = await desk.register()
    grid = await desk.county.headers(client, "grid")
    await act(client, grid, case, "accept", expect=403)


async def test_timeline_tells_every_action_with_before_and_after(
    desk: Desk, client: httpx.AsyncClient
) -> None:
    replied = await desk.to_replied()
    events = (await client.get(f"/v1/cases/{replied['id']}/timeline", headers=desk.staff)).json()
    actions = [e for e in events if e["action"] in {"accept", "assign", "reply"}]
    assert [(e["action"], e["data"]["before"], e["data"]["after"]) for e in actions] == [
        ("accept", "registered", "accepted"),
        ("assign", "accepted", "assigned"),
        ("reply", "assigned", "replied"),
    ]
    assert actions[2]["actor_id"] == desk.handler["id"]
    assert all(e["client"] is not None for e in actions)


# --- idempotency ---------------------------------------------------------------------------


async def test_same_idempotency_key_and_body_creates_one_case(
    desk: Desk, client: httpx.AsyncClient
) -> None:
    body = letter(desk.county)
    key = str(uuid.uuid4())
    first = await _post(client, desk.staff, "/v1/cases", body, key)
    second = await _post(client, desk.staff, "/v1/cases", body, key)
    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json() == second.json()
    assert second.headers["idempotent-replayed"] == "true"
    other = await _post(client, desk.staff, "/v1/cases", body | {"title": "另一件事"}, key)
    assert other.status_code == 422
    assert other.json()["errors"][0]["name"] == "Idempotency-Key"


async def test_idempotent_action_is_applied_once(desk: Desk, client: httpx.AsyncClient) -> None:
    case = await desk.register()
    key = str(uuid.uuid4())
    path = f"/v1/cases/{case['id']}/accept"
    first = await _post(client, desk.staff, path, {"note": "a"}, key)
    second = await _post(client, desk.staff, path, {"note": "a"}, key)
    assert first.status_code == second.status_code == 200
    events = (await client.get(f"/v1/cases/{case['id']}/timeline", headers=desk.staff)).json()
    assert [e["action"] for e in events].count("accept") == 1


async def test_same_key_while_the_first_is_running_is_409(
    desk: Desk, client: httpx.AsyncClient, app: FastAPI
) -> None:
    from sqlalchemy import func, select

    key = str(uuid.uuid4())
    me = (
        await client.get(
            "/v1/officials",
            params={"role": "petition_staff", "unit_id": desk.county.town["id"]},
            headers=desk.staff,
        )
    ).json()["items"][0]["id"]
    async with app.state.desk.sessionmaker() as held:  # plays the first, unfinished request
        await held.execute(
            select(func.pg_advisory_xact_lock(func.hashtextextended(f"{me}:{key}", 0)))
        )
        resp = await _post(client, desk.staff, "/v1/cases", letter(desk.county), key)
        assert resp.status_code == 409
        await held.rollback()
    resp = await _post(client, desk.staff, "/v1/cases", letter(desk.county), key)
    assert resp.status_code == 201


@pytest.mark.usefixtures("policy_restore")
async def test_deadline_in_a_year_without_holiday_notice_is_flagged_not_guessed(
    desk: Desk, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    doc = (await client.get("/v1/policies", headers=admin)).json()["policy"]
    doc["deadlines"]["first_resolution_working_days"] = 120  # runs into a year not yet known
    assert (await client.put("/v1/policies", json=doc, headers=admin)).status_code == 200
    case = await desk.register()
    accepted = await act(client, desk.staff, case, "accept")
    first = next(d for d in accepted["deadlines"] if d["kind"] == "first_resolution")
    assert "calendar_unknown_year" in first["flags"]
    flagged = await client.get(
        "/v1/deadlines",
        params={"flag": "calendar_unknown_year", "case_id": case["id"]},
        headers=admin,
    )
    assert [d["id"] for d in flagged.json()["items"]] == [first["id"]]
