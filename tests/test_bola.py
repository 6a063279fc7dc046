"""Broken object-level authorization (OWASP API1), route by route.

The matrix is checked against the app's own route table: a route without an entry fails.
For every route that takes an id (in the path, the query or the body), officials from a
sibling town (its IT administrator among them) and officials of lower roles or lower units
try it on objects of the first town. Each attempt must be refused (or, for a list, must not
show the object), and the database must be exactly as it was afterwards.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from tests.conftest import (
    WORKER_TOKEN,
    County,
    arrivals,
    deadline_status,
    flag_due,
    login,
    service_token,
    visit_body,
)
from tests.test_permissions import PUBLIC, operations

pytestmark = pytest.mark.usefixtures("policy_restore")

# Every table whose rows a request could change. Left out: the audit trail (refusals are
# recorded there on purpose), refresh tokens (the test's own logins) and the outbox (its
# dispatcher stamps rows of earlier commits in the background).
TABLES = (
    "cases",
    "case_units",
    "case_number_counters",
    "case_events",
    "arrivals",
    "deadlines",
    "escalations",
    "ack_links",
    "alerts",
    "units",
    "officials",
    "service_tokens",
    "policy_documents",
    "policy_overrides",
    "policy_changes",
    "calendar_overrides",
    "situation_reports",
    "webhook_subscriptions",
    "idempotency_records",
    "stat_counters",
    "case_stat_facts",
    "follow_ups",
    "decision_assessments",
    "decision_cases",
    "reception_roster",
    "reception_appointments",
    "field_visits",
    "field_visit_cases",
    "field_visit_duties",
    "screening_items",
    "screening_rounds",
    "onsite_duties",
    "materials",
    "material_uploads",
    "notices",
    "notice_counters",
)

# A sensitive period of the world's policy, so that its figures exist for the owners.
PERIOD = "bola-lianghui"
NOT_FOUND = frozenset({404})
FORBIDDEN = frozenset({403})
INVALID = frozenset({422})
UNAUTHORIZED = frozenset({401})


@dataclass
class Attempt:
    """One request by one caller, the answers that count as a refusal, and, for a list,
    the id that must not be in it."""

    caller: str
    method: str
    url: str
    expect: frozenset[int]
    json: Any = None
    params: dict[str, str] = field(default_factory=dict)
    absent: str | None = None
    files: dict[str, tuple[str, bytes, str]] | None = None  # a multipart upload instead of JSON
    form: dict[str, str] | None = None  # the multipart upload's text fields


@dataclass
class World:
    """The first town's objects, and the callers who do not own them."""

    county: County
    case: dict[str, Any]  # lodged at the town, from village2
    own_case: dict[str, Any]  # the sibling town's own case, to carry foreign ids in bodies
    escalation: dict[str, Any]
    report: dict[str, Any]
    decision: dict[str, Any]
    roster_entry: dict[str, Any]
    appointment: dict[str, Any]
    field_visit: dict[str, Any]
    screening_item: dict[str, Any]
    screening_round: dict[str, Any]
    subscription: dict[str, Any]  # the deployment's (no unit)
    county_subscription: dict[str, Any]  # the county's, made by its own admin
    onsite_duty: dict[str, Any]  # of a visit from the town's village lodged in Beijing
    material: dict[str, Any]  # a file attached to the case
    notice: dict[str, Any]  # a receipt of service (送达回证) issued on the case
    token_id: str
    callers: dict[str, dict[str, str]]

    def ids(self) -> dict[str, str]:
        c = self.county
        return {
            "case": self.case["id"],
            "own_case": self.own_case["id"],
            "escalation": self.escalation["id"],
            "town": c.town["id"],
            "village2": c.village2["id"],
            "town_chief": c.officials["town_chief"]["id"],
            "town_staff": c.officials["town_staff"]["id"],
            "subscription": self.subscription["id"],
            "token": self.token_id,
        }


Probe = Callable[[World], list[Attempt]]


def _case_action(
    action: str, body: dict[str, Any], lower: str = "grid", outsider: str = "sibling"
) -> Probe:
    """A lifecycle action on the first town's case: the sibling town's staff cannot see it,
    a grid worker of its village and the town's dashboard token may not take it."""

    def probe(w: World) -> list[Attempt]:
        url = f"/v1/cases/{w.case['id']}/{action}"
        return [
            Attempt(outsider, "post", url, NOT_FOUND, json=body),
            Attempt("village_chief", "post", url, NOT_FOUND | FORBIDDEN, json=body),
            Attempt(lower, "post", url, FORBIDDEN, json=body),
            Attempt("viewer", "post", url, FORBIDDEN, json=body),
        ]

    return probe


def _foreign_ids_in_body(action: str, body: Callable[[dict[str, str]], dict[str, Any]]) -> Probe:
    """As `_case_action`, plus the sibling town acting on its own case with the first
    town's units or officials in the body: refused as if they did not exist."""

    def probe(w: World) -> list[Attempt]:
        ids = w.ids()
        own = f"/v1/cases/{ids['own_case']}/{action}"
        return [
            *_case_action(action, body(ids))(w),
            Attempt("sibling", "post", own, INVALID, json=body(ids)),
        ]

    return probe


def _read(path: Callable[[World], str]) -> Probe:
    def probe(w: World) -> list[Attempt]:
        return [
            Attempt("sibling", "get", path(w), NOT_FOUND),
            Attempt("village_chief", "get", path(w), NOT_FOUND),
        ]

    return probe


def _listing(path: str, key: str, param: str, obj: Callable[[World], str]) -> Probe:
    """A list filtered by the first town's id: the object is not in it for outsiders."""

    def probe(w: World) -> list[Attempt]:
        value = w.ids()[key]
        return [
            Attempt("sibling", "get", path, frozenset({200}), params={param: value}, absent=obj(w)),
            Attempt(
                "village_chief", "get", path, frozenset({200}), params={param: value}, absent=obj(w)
            ),
            Attempt("sibling", "get", path, frozenset({200}), absent=obj(w)),
        ]

    return probe


def _admin_only(method: str, path: Callable[[World], str], body: Any = None) -> Probe:
    def probe(w: World) -> list[Attempt]:
        return [
            Attempt(who, method, path(w), FORBIDDEN, json=body)
            for who in ("sibling", "town_chief", "grid", "viewer")
        ]

    return probe


def _office_only(method: str, path: Callable[[World], str], body: Any = None) -> Probe:
    """Only a higher office's own token (none here: tests/test_transfers.py tries one office's
    token on another's case); every official, the admin too, is refused."""

    def probe(w: World) -> list[Attempt]:
        return [
            Attempt(who, method, path(w), FORBIDDEN, json=body)
            for who in ("sibling", "town_chief", "grid", "viewer", "admin")
        ]

    return probe


def _tus_probe(suffix: str) -> Probe:
    """A resumable upload onto the first town's case: refused before any byte is kept (404 out
    of reach, 403 without the permission, or 412 for the probe's missing tus headers, which
    tells nothing of the case)."""

    def probe(w: World) -> list[Attempt]:
        url = f"/v1/cases/{w.case['id']}/uploads{suffix}"
        method = "patch" if suffix else "post"
        return [
            Attempt("sibling", method, url, NOT_FOUND | {412}),
            Attempt("village_chief", method, url, NOT_FOUND | FORBIDDEN | {412}),
            Attempt("viewer", method, url, FORBIDDEN),
        ]

    return probe


def _also(probe: Probe, *extra: Callable[[World], Attempt]) -> Probe:
    """`probe`, plus attempts by callers it does not try (the sibling town's it_admin, who
    manages the directory and tokens of their own town only)."""
    return lambda w: [*probe(w), *(attempt(w) for attempt in extra)]


def _it(
    method: str, path: Callable[[World], str], expect: frozenset[int], body: Any = None
) -> Callable[[World], Attempt]:
    return lambda w: Attempt("sibling_it", method, path(w), expect, json=body)


def _worker_only(method: str, path: Callable[[World], str], body: Any = None) -> Probe:
    def probe(w: World) -> list[Attempt]:
        return [
            Attempt(who, method, path(w), UNAUTHORIZED, json=body)
            for who in ("sibling", "admin", "viewer")
        ]

    return probe


def _no_ids(reason: str) -> Probe:
    """A route that takes no id: nothing to own (the permission test covers its role)."""
    del reason
    return lambda w: []


def _assign(ids: dict[str, str]) -> dict[str, Any]:
    return {
        "unit_id": ids["village2"],
        "leader_id": ids["town_chief"],
        "handler_id": ids["town_staff"],
        "plan": "plan",
        "time_limit_days": 10,
    }


def _decision_body(unit_id: str, leader_id: str) -> dict[str, Any]:
    return {
        "unit_id": unit_id,
        "title": "东风镇老街拆迁",
        "kind": "demolition",
        "owner_leader_id": leader_id,
    }


def _local_day(days: int) -> str:
    today = datetime.now(UTC).astimezone(ZoneInfo("Asia/Shanghai")).date()
    return (today + timedelta(days=days)).isoformat()


def _roster_body(county: County) -> dict[str, Any]:
    chief = county.officials["town_chief"]["id"]
    return {"unit_id": county.town["id"], "day": _local_day(1), "official_id": chief}


def _screening_body(county: County) -> dict[str, Any]:
    return {
        "unit_id": county.town["id"],
        "category": "land",
        "title": "宅基地边界纠纷",
        "risk_level": "low",
        "owner_leader_id": county.officials["town_chief"]["id"],
    }


def _item(suffix: str = "") -> Callable[[World], str]:
    return lambda w: f"/v1/screening/items/{w.screening_item['id']}{suffix}"


def _appointment_body(county: County) -> dict[str, Any]:
    return {
        "unit_id": county.town["id"],
        "leader_id": county.officials["town_chief"]["id"],
        "petitioner_name": "王五",
        "at": (datetime.now(UTC) + timedelta(days=1)).isoformat(),
        "place": "镇接访室",
    }


def _object_action(
    method: str,
    path: Callable[[World], str],
    body: Any,
    lower: str = "grid",
    outsider: str = "sibling",
) -> Probe:
    """An act on one of the first town's objects: the sibling town and a village below the
    town cannot see it (404), a role without the permission may not (403)."""

    def probe(w: World) -> list[Attempt]:
        url = path(w)
        return [
            Attempt(outsider, method, url, NOT_FOUND, json=body),
            Attempt("village_chief", method, url, NOT_FOUND | FORBIDDEN, json=body),
            Attempt(lower, method, url, FORBIDDEN, json=body),
            Attempt("viewer", method, url, FORBIDDEN, json=body),
        ]

    return probe


def _create_in_town(
    path: str, body: Callable[[World], dict[str, Any]], outsider: str = "sibling"
) -> Probe:
    """Creating an object in the first town: from the sibling town the town's ids are as
    unknown (422, or 404 for the unit a path is about); roles without the permission may not
    (403)."""

    def probe(w: World) -> list[Attempt]:
        return [
            Attempt(outsider, "post", path, INVALID | NOT_FOUND, json=body(w)),
            Attempt("village_chief", "post", path, INVALID | NOT_FOUND | FORBIDDEN, json=body(w)),
            Attempt("viewer", "post", path, FORBIDDEN, json=body(w)),
        ]

    return probe


HOOK = {"url": "https://example.org/hook", "event_types": ["case.created"]}


def _other_county_admins(method: str) -> list[Callable[[World], Attempt]]:
    """One subscription route tried by county admins on subscriptions outside their scope:
    the other county's admin on the county's, the county's admin on the deployment's."""
    path = "/v1/webhook-subscriptions/{}"
    return [
        lambda w: Attempt(
            "other_admin", method, path.format(w.county_subscription["id"]), NOT_FOUND
        ),
        lambda w: Attempt("county_admin", method, path.format(w.subscription["id"]), NOT_FOUND),
    ]


DECISION_PATH = "/v1/decisions/{decision_id}"
MATERIAL_PDF = b"%PDF-1.4\n%%EOF\n" + b"\x00" * 100


def _offline_report(w: World) -> list[Attempt]:
    """A case with its files in one go (离线上报): registered as `POST /v1/cases` is, so an
    origin outside the caller's territory is 422 and a role without `register_cases` 403."""
    case = {"case": json.dumps(visit_body(w.county.village2, w.county.town, 3))}
    files = {"files": ("x.pdf", MATERIAL_PDF + b"report", "application/pdf")}
    url = "/v1/offline-reports"
    return [
        Attempt("sibling", "post", url, INVALID, files=files, form=case),
        Attempt("viewer", "post", url, FORBIDDEN, files=files, form=case),
    ]


def _material(suffix: str = "") -> Callable[[World], str]:
    return lambda w: f"/v1/materials/{w.material['id']}{suffix}"


def _upload(w: World) -> list[Attempt]:
    """Attaching a file to the first town's case: outsiders cannot see it (404), a role
    without `register_cases` may not (403)."""
    url = f"/v1/cases/{w.case['id']}/materials"
    files = {"file": ("x.pdf", MATERIAL_PDF + b"other", "application/pdf")}
    return [
        Attempt("sibling", "post", url, NOT_FOUND, files=files),
        Attempt("village_chief", "post", url, NOT_FOUND | FORBIDDEN, files=files),
        Attempt("viewer", "post", url, FORBIDDEN, files=files),
    ]


FINDINGS = {
    d: {"verdict": "sound"}
    for d in ("legality", "reasonableness", "feasibility", "controllability")
}


def _decision(suffix: str = "") -> Callable[[World], str]:
    return lambda w: f"/v1/decisions/{w.decision['id']}{suffix}"


CASE = "/v1/cases/{case_id}"


def w_now() -> str:
    """Now, as a body's time (a notice served now)."""
    return datetime.now(UTC).isoformat(timespec="seconds")


NOTICE = {"reason": "r", "notice_text": "n"}
DECISION = {"decision": "upheld", "text": "t"}

MATRIX: dict[tuple[str, str], Probe] = {
    # public: the credential is in the request itself
    ("get", "/healthz"): _no_ids("liveness"),
    ("get", "/readyz"): _no_ids("readiness"),
    ("get", "/metrics"): _no_ids("Prometheus figures, no objects"),
    ("post", "/v1/auth/token"): _no_ids("user name and password"),
    ("post", "/v1/auth/refresh"): _no_ids("the refresh token is the credential"),
    ("get", "/v1/auth/me"): _no_ids("the caller's own account"),
    ("post", "/v1/auth/logout"): _no_ids("the caller's own login"),
    ("post", "/v1/auth/password"): _no_ids("the caller's own password"),
    # the page only shows a button, the same for any token: it tells nothing
    ("get", "/a/{token}"): lambda w: [
        Attempt("anonymous", "get", f"/a/{uuid.uuid4().hex}", frozenset({200}))
    ],
    ("post", "/a/{token}"): lambda w: [
        Attempt("anonymous", "post", f"/a/{uuid.uuid4().hex}", NOT_FOUND)
    ],
    ("post", "/v1/inbound/sms/{provider}"): lambda w: [
        Attempt(
            "anonymous",
            "post",
            "/v1/inbound/sms/generic",
            frozenset({401, 403}),
            params={"token": "guessed"},
            json={"sender": w.county.officials["town_chief"]["phone"], "text": "1"},
        )
    ],
    # cases
    ("post", "/v1/cases"): lambda w: [
        Attempt(
            "sibling",
            "post",
            "/v1/cases",
            INVALID,
            json=visit_body(w.county.village2, w.county.town, 3),
        ),
        Attempt(
            "viewer",
            "post",
            "/v1/cases",
            FORBIDDEN,
            json=visit_body(w.county.village2, w.county.town, 3),
        ),
    ],
    ("post", "/v1/offline-reports"): _offline_report,
    ("get", "/v1/cases"): _listing(
        "/v1/cases", "village2", "origin_unit_id", lambda w: w.case["id"]
    ),
    ("get", CASE): _also(
        _read(lambda w: f"/v1/cases/{w.case['id']}"),
        _it("get", lambda w: f"/v1/cases/{w.case['id']}", FORBIDDEN),
    ),
    ("get", CASE + "/timeline"): _read(lambda w: f"/v1/cases/{w.case['id']}/timeline"),
    ("get", CASE + "/similar"): _read(lambda w: f"/v1/cases/{w.case['id']}/similar"),
    # search: the first town's case is not found by its number nor offered as a repeat
    ("get", "/v1/search/cases"): lambda w: [
        Attempt(
            who,
            "get",
            "/v1/search/cases",
            frozenset({200}),
            params={"q": w.case["number"]},
            absent=w.case["id"],
        )
        for who in ("sibling", "village_chief")
    ],
    ("post", "/v1/search/similar"): lambda w: [
        Attempt(
            who,
            "post",
            "/v1/search/similar",
            frozenset({200}),
            json={
                "title": w.case["title"],
                "content": w.case["content"],
                "origin_unit_id": w.county.village2["id"],
            },
            absent=w.case["id"],
        )
        for who in ("sibling", "village_chief")
    ],
    ("post", CASE + "/arrivals"): lambda w: [
        Attempt("sibling", "post", f"/v1/cases/{w.case['id']}/arrivals", NOT_FOUND, json={}),
        Attempt(
            "grid",
            "post",
            f"/v1/cases/{w.case['id']}/arrivals",
            FORBIDDEN,
            json={"official_id": w.ids()["town_chief"]},
        ),
        Attempt("viewer", "post", f"/v1/cases/{w.case['id']}/arrivals", FORBIDDEN, json={}),
        Attempt(
            "sibling",
            "post",
            f"/v1/cases/{w.own_case['id']}/arrivals",
            INVALID,
            json={"official_id": w.ids()["town_chief"]},
        ),
    ],
    # the registry of higher offices is the install's, not a territory's: only who may
    # change it matters (admins, by manage_policy)
    ("post", "/v1/higher-offices"): _admin_only(
        "post", lambda w: "/v1/higher-offices", {"name": "市信访局", "level": "city", "code": "x"}
    ),
    ("get", "/v1/higher-offices"): _no_ids("the install's registry, read by every official"),
    ("get", "/v1/higher-offices/{office_id}"): _no_ids("the install's registry"),
    ("patch", "/v1/higher-offices/{office_id}"): _admin_only(
        "patch", lambda w: f"/v1/higher-offices/{uuid.uuid4()}", {"active": False}
    ),
    # the category vocabulary is the install's too: read by every official, changed by admins
    ("get", "/v1/categories"): _no_ids("the install's vocabulary, read by every official"),
    ("get", "/v1/categories/{code}"): _no_ids("the install's vocabulary"),
    ("put", "/v1/categories/{code}"): _admin_only(
        "put",
        lambda w: "/v1/categories/land.bola",
        {"name": "越权", "name_en": "Probe", "active": False},
    ),
    ("post", "/v1/transfers"): _office_only(
        "post",
        lambda w: "/v1/transfers",
        {
            "kind": "transferred",
            "reference": "x",
            "petitioners": [{"name": "王五"}],
            "title": "t",
            "content": "c",
        },
    ),
    ("get", "/v1/transfers/{case_id}"): _office_only(
        "get", lambda w: f"/v1/transfers/{w.case['id']}"
    ),
    ("post", "/v1/transfers/{case_id}/return"): _office_only(
        "post", lambda w: f"/v1/transfers/{w.case['id']}/return", {"reason": "r", "days": 5}
    ),
    ("post", "/v1/transfers/{case_id}/supervise"): _office_only(
        "post", lambda w: f"/v1/transfers/{w.case['id']}/supervise", {"reason": "r"}
    ),
    ("post", CASE + "/accept"): _case_action("accept", {}),
    ("post", CASE + "/reject"): _case_action("reject", NOTICE),
    ("post", CASE + "/redirect"): _case_action("redirect", {"to": "court", **NOTICE}),
    ("post", CASE + "/assign"): _foreign_ids_in_body("assign", _assign),
    ("post", CASE + "/reassign"): _foreign_ids_in_body(
        "reassign",
        lambda ids: {
            "unit_id": ids["village2"],
            "leader_id": ids["town_chief"],
            "handler_id": ids["town_staff"],
            "reason": "r",
        },
    ),
    ("post", CASE + "/object"): _case_action("object", {"reason": "r"}),
    ("post", CASE + "/add_department"): _foreign_ids_in_body(
        "add_department", lambda ids: {"unit_id": ids["village2"]}
    ),
    ("post", CASE + "/set_owner_leader"): _foreign_ids_in_body(
        "set_owner_leader", lambda ids: {"official_id": ids["town_chief"]}
    ),
    ("post", CASE + "/extend"): _foreign_ids_in_body(
        "extend", lambda ids: {"days": 5, "approver_id": ids["town_chief"], "reason": "r"}
    ),
    ("post", CASE + "/supervise"): _case_action(
        "supervise",
        {"reason": "r", "due_at": (datetime.now(UTC) + timedelta(days=3)).isoformat()},
    ),
    ("post", CASE + "/return_for_rehandling"): _case_action(
        "return_for_rehandling", {"reason": "r", "days": 10}
    ),
    ("post", CASE + "/reply"): _case_action("reply", {"text": "t"}),
    ("post", CASE + "/feedback"): _case_action("feedback", {"satisfied": True}),
    ("post", CASE + "/close"): _case_action("close", {"outcome": "resolved"}),
    ("post", CASE + "/request_review"): _case_action("request_review", {"reason": "r"}),
    ("post", CASE + "/review_decision"): _case_action("review_decision", DECISION),
    ("post", CASE + "/request_re_review"): _case_action("request_re_review", {"reason": "r"}),
    ("post", CASE + "/re_review_decision"): _case_action("re_review_decision", DECISION),
    ("post", CASE + "/terminate"): _case_action("terminate", {"reason": "r"}),
    ("post", CASE + "/sign_off"): _case_action(
        "sign_off", {}, lower="town_staff", outsider="sibling_chief"
    ),
    ("post", CASE + "/resolve_duplicate"): _case_action(
        "resolve_duplicate", {"is_duplicate": True}
    ),
    ("post", CASE + "/follow_up"): _case_action("follow_up", {"method": "phone", "reached": False}),
    ("get", CASE + "/follow_ups"): _read(lambda w: f"/v1/cases/{w.case['id']}/follow_ups"),
    ("post", CASE + "/notices"): _case_action("notices", {"kind": "receipt"}),
    ("get", CASE + "/notices"): _read(lambda w: f"/v1/cases/{w.case['id']}/notices"),
    ("get", "/v1/notices"): _listing("/v1/notices", "town", "unit_id", lambda w: w.notice["id"]),
    ("get", "/v1/notices/{notice_id}"): _read(lambda w: f"/v1/notices/{w.notice['id']}"),
    ("get", "/v1/notices/{notice_id}/document"): _read(
        lambda w: f"/v1/notices/{w.notice['id']}/document"
    ),
    ("post", "/v1/notices/{notice_id}/service"): _object_action(
        "post",
        lambda w: f"/v1/notices/{w.notice['id']}/service",
        {"method": "in_person", "served_at": w_now(), "recipient": "王五"},
    ),
    ("post", "/v1/notices/{notice_id}/proof"): _object_action(
        "post",
        lambda w: f"/v1/notices/{w.notice['id']}/proof",
        {"proof_material_id": str(uuid.uuid4())},
    ),
    ("post", "/v1/notices/{notice_id}/approval"): _object_action(
        "post", lambda w: f"/v1/notices/{w.notice['id']}/approval", None
    ),
    ("patch", CASE): _object_action(
        "patch", lambda w: f"/v1/cases/{w.case['id']}", {"reason": "r", "title": "更正"}
    ),
    ("put", CASE + "/confidentiality"): _object_action(
        "put",
        lambda w: f"/v1/cases/{w.case['id']}/confidentiality",
        {
            "complained_official_ids": [],
            "complained_unit_ids": [],
            "confidential": True,
            "confidential_readers": [],
        },
    ),
    ("post", CASE + "/instruct"): _case_action(
        "instruct", {"text": "t"}, lower="town_staff", outsider="sibling_chief"
    ),
    ("post", CASE + "/lookup_secret"): _case_action("lookup_secret", {}),
    ("post", "/v1/public/case-lookup"): lambda w: [
        # the number of the first town's case without its secret: as if there were no case
        # (or locked: numbers restart in every county, and earlier tests guessed at this one)
        Attempt(
            who,
            "post",
            "/v1/public/case-lookup",
            NOT_FOUND | frozenset({429}),
            json={"number": w.case["number"], "secret": "WRONG2345"},
        )
        for who in ("anonymous", "sibling")
    ],
    # deadlines, escalations, alerts
    ("get", "/v1/deadlines"): _listing(
        "/v1/deadlines", "case", "case_id", lambda w: w.escalation["deadline_id"]
    ),
    ("get", "/v1/escalations"): _listing(
        "/v1/escalations", "case", "case_id", lambda w: w.escalation["id"]
    ),
    ("post", "/v1/escalations/{escalation_id}/ack"): lambda w: [
        Attempt("sibling", "post", f"/v1/escalations/{w.escalation['id']}/ack", NOT_FOUND),
        Attempt("village_chief", "post", f"/v1/escalations/{w.escalation['id']}/ack", NOT_FOUND),
        Attempt("viewer", "post", f"/v1/escalations/{w.escalation['id']}/ack", FORBIDDEN),
    ],
    ("post", "/v1/escalations/{escalation_id}/escalate"): lambda w: [
        Attempt(
            who, "post", f"/v1/escalations/{w.escalation['id']}/escalate", expect, json={"step": 1}
        )
        for who, expect in (
            ("sibling", NOT_FOUND),
            ("village_chief", NOT_FOUND),
            ("grid", FORBIDDEN),
            ("viewer", FORBIDDEN),
        )
    ],
    ("get", "/v1/alerts"): _listing(
        "/v1/alerts", "case", "case_id", lambda w: w.escalation["case_id"]
    ),
    # the directory
    ("post", "/v1/units"): _also(
        _admin_only("post", lambda w: "/v1/units"), _it("post", lambda w: "/v1/units", INVALID)
    ),
    ("get", "/v1/units"): _listing(
        "/v1/units", "town", "parent_id", lambda w: w.county.village2["id"]
    ),
    ("get", "/v1/units/{unit_id}"): _read(lambda w: f"/v1/units/{w.county.village2['id']}"),
    ("patch", "/v1/units/{unit_id}"): _also(
        _admin_only("patch", lambda w: f"/v1/units/{w.county.village2['id']}", {"name": "renamed"}),
        _it("patch", lambda w: f"/v1/units/{w.county.village2['id']}", NOT_FOUND, {"name": "r"}),
    ),
    ("post", "/v1/officials"): _also(
        _admin_only("post", lambda w: "/v1/officials", None),
        _it("post", lambda w: "/v1/officials", INVALID),
    ),
    ("get", "/v1/officials"): _listing(
        "/v1/officials", "village2", "unit_id", lambda w: w.county.officials["village2_chief"]["id"]
    ),
    ("get", "/v1/officials/{official_id}"): _read(
        lambda w: f"/v1/officials/{w.county.officials['village2_chief']['id']}"
    ),
    ("patch", "/v1/officials/{official_id}"): _also(
        _admin_only(
            "patch",
            lambda w: f"/v1/officials/{w.county.officials['town_chief']['id']}",
            {"role": "viewer"},
        ),
        _it(
            "patch",
            lambda w: f"/v1/officials/{w.county.officials['town_chief']['id']}",
            NOT_FOUND,
            {"password": "taken-over-2026"},
        ),
    ),
    ("post", "/v1/officials/{official_id}/sign-out"): _also(
        _admin_only(
            "post", lambda w: f"/v1/officials/{w.county.officials['town_chief']['id']}/sign-out"
        ),
        _it(
            "post",
            lambda w: f"/v1/officials/{w.county.officials['town_chief']['id']}/sign-out",
            NOT_FOUND,
        ),
    ),
    ("get", "/v1/policies"): _no_ids("one policy document for the install"),
    ("put", "/v1/policies"): _admin_only("put", lambda w: "/v1/policies", {}),
    ("get", "/v1/policies/changes"): _no_ids("the history of the caller's units' policy"),
    ("get", "/v1/policies/units/{unit_id}"): _read(
        lambda w: f"/v1/policies/units/{w.county.village2['id']}"
    ),
    ("put", "/v1/policies/units/{unit_id}"): lambda w: [
        *_admin_only(
            "put", lambda w: f"/v1/policies/units/{w.county.town['id']}", {"max_representatives": 3}
        )(w),
        Attempt(
            "other_county_admin",
            "put",
            f"/v1/policies/units/{w.county.town['id']}",
            NOT_FOUND,
            json={"max_representatives": 3},
        ),
    ],
    ("delete", "/v1/policies/units/{unit_id}"): lambda w: [
        *_admin_only("delete", lambda w: f"/v1/policies/units/{w.county.town['id']}")(w),
        Attempt(
            "other_county_admin", "delete", f"/v1/policies/units/{w.county.town['id']}", NOT_FOUND
        ),
    ],
    ("get", "/v1/calendar"): _no_ids("the public working-day calendar"),
    ("put", "/v1/calendar/{day}"): _admin_only(
        "put", lambda w: "/v1/calendar/2026-10-01", {"is_workday": True}
    ),
    ("delete", "/v1/calendar/{day}"): _admin_only("delete", lambda w: "/v1/calendar/2026-10-01"),
    # reports
    ("post", "/v1/reports"): lambda w: [
        Attempt("viewer", "post", "/v1/reports", FORBIDDEN, json={"zero": True})
    ],
    ("get", "/v1/reports/monthly"): _read(
        lambda w: f"/v1/reports/monthly?month=2026-11&unit_id={w.county.town['id']}"
    ),
    ("get", "/v1/reports"): _listing("/v1/reports", "town", "unit_id", lambda w: w.report["id"]),
    # the dashboard's figures
    ("get", "/v1/stats/summary"): _read(
        lambda w: f"/v1/stats/summary?unit_id={w.county.town['id']}"
    ),
    ("get", "/v1/sensitive-periods"): _no_ids("the policy's periods, of no unit"),
    ("get", "/v1/sensitive-periods/{key}/figures"): _read(
        lambda w: f"/v1/sensitive-periods/{PERIOD}/figures?unit_id={w.county.town['id']}"
    ),
    # stability-risk assessments of decisions
    ("post", "/v1/decisions"): _create_in_town(
        "/v1/decisions",
        lambda w: _decision_body(w.county.town["id"], w.county.officials["town_chief"]["id"]),
    ),
    ("get", "/v1/decisions"): _listing(
        "/v1/decisions", "town", "unit_id", lambda w: w.decision["id"]
    ),
    ("get", DECISION_PATH): _read(_decision()),
    ("patch", DECISION_PATH): _object_action("patch", _decision(), {"title": "x"}),
    ("post", DECISION_PATH + "/assess"): _object_action(
        "post", _decision("/assess"), {"findings": FINDINGS, "response_plan": "p"}
    ),
    ("post", DECISION_PATH + "/decide"): _object_action(
        "post", _decision("/decide"), {"conclusion": "postpone"}
    ),
    ("post", DECISION_PATH + "/cases"): lambda w: [
        *_object_action("post", _decision("/cases"), {"case_id": w.case["id"]})(w),
    ],
    # the dispute screening register
    ("post", "/v1/screening/items"): _create_in_town(
        "/v1/screening/items", lambda w: _screening_body(w.county)
    ),
    ("get", "/v1/screening/items"): _listing(
        "/v1/screening/items", "town", "unit_id", lambda w: w.screening_item["id"]
    ),
    ("get", "/v1/screening/items/{item_id}"): _read(_item()),
    ("patch", "/v1/screening/items/{item_id}"): _object_action(
        "patch", _item(), {"plan": "p"}, lower="viewer"
    ),
    ("post", "/v1/screening/items/{item_id}/resolve"): _object_action(
        "post", _item("/resolve"), {"resolution": "r"}, lower="viewer"
    ),
    ("post", "/v1/screening/items/{item_id}/convert"): _object_action(
        "post", _item("/convert"), {"case_id": str(uuid.uuid4())}, lower="viewer"
    ),
    ("post", "/v1/screening/items/{item_id}/close"): _object_action(
        "post", _item("/close"), {"reason": "r"}, lower="viewer"
    ),
    ("post", "/v1/screening/rounds"): lambda w: [
        Attempt("viewer", "post", "/v1/screening/rounds", FORBIDDEN, json={"zero": True}),
        # an item of the first town in the sibling's own round: as if there were none
        Attempt(
            "sibling",
            "post",
            "/v1/screening/rounds",
            INVALID | FORBIDDEN,
            json={"zero": False, "item_ids": [w.screening_item["id"]]},
        ),
    ],
    ("get", "/v1/screening/rounds"): _listing(
        "/v1/screening/rounds", "town", "unit_id", lambda w: w.screening_round["id"]
    ),
    ("get", "/v1/screening/rollup"): _read(
        lambda w: f"/v1/screening/rollup?unit_id={w.county.town['id']}&month={_local_day(0)[:7]}"
    ),
    # leader reception: the roster, appointments, field visits
    ("post", "/v1/reception/roster"): _create_in_town(
        "/v1/reception/roster", lambda w: _roster_body(w.county)
    ),
    ("post", "/v1/reception/monthly-roster"): _create_in_town(
        "/v1/reception/monthly-roster",
        lambda w: {"unit_id": w.county.town["id"], "month": _local_day(0)[:7]},
    ),
    ("delete", "/v1/reception/roster/{entry_id}"): _object_action(
        "delete", lambda w: f"/v1/reception/roster/{w.roster_entry['id']}", None
    ),
    ("get", "/v1/reception/roster"): _listing(
        "/v1/reception/roster", "town", "unit_id", lambda w: w.roster_entry["id"]
    ),
    ("post", "/v1/reception/appointments"): _create_in_town(
        "/v1/reception/appointments", lambda w: _appointment_body(w.county)
    ),
    ("get", "/v1/reception/appointments"): _listing(
        "/v1/reception/appointments", "town", "unit_id", lambda w: w.appointment["id"]
    ),
    ("get", "/v1/reception/appointments/{appointment_id}"): _read(
        lambda w: f"/v1/reception/appointments/{w.appointment['id']}"
    ),
    ("post", "/v1/reception/appointments/{appointment_id}/hold"): _object_action(
        "post",
        lambda w: f"/v1/reception/appointments/{w.appointment['id']}/hold",
        {"outcome": "o"},
        lower="town_staff",
        outsider="sibling_chief",
    ),
    ("post", "/v1/reception/appointments/{appointment_id}/cancel"): _object_action(
        "post",
        lambda w: f"/v1/reception/appointments/{w.appointment['id']}/cancel",
        {"reason": "r"},
    ),
    ("post", "/v1/reception/field-visits"): _create_in_town(
        "/v1/reception/field-visits",
        lambda w: {"day": _local_day(0), "place": "p", "case_ids": [w.case["id"]]},
        outsider="sibling_chief",
    ),
    ("get", "/v1/reception/field-visits"): _listing(
        "/v1/reception/field-visits", "town", "unit_id", lambda w: w.field_visit["id"]
    ),
    ("get", "/v1/reception/onsite-duties"): _listing(
        "/v1/reception/onsite-duties", "town", "unit_id", lambda w: w.onsite_duty["id"]
    ),
    ("get", "/v1/reception/field-visits/progress"): _read(
        lambda w: f"/v1/reception/field-visits/progress?unit_id={w.county.town['id']}"
    ),
    ("get", "/v1/stats/prevention"): _read(
        lambda w: f"/v1/stats/prevention?unit_id={w.county.town['id']}"
    ),
    ("get", "/v1/stats/units"): _read(lambda w: f"/v1/stats/units?unit_id={w.county.town['id']}"),
    ("get", "/v1/stats/veto"): _read(lambda w: f"/v1/stats/veto?unit_id={w.county.town['id']}"),
    ("get", "/v1/stats/scores"): _read(lambda w: f"/v1/stats/scores?unit_id={w.county.town['id']}"),
    # administration
    ("get", "/v1/audit"): _also(
        _admin_only("get", lambda w: f"/v1/audit?object_id={w.case['id']}"),
        _it("get", lambda w: f"/v1/audit?object_id={w.case['id']}", FORBIDDEN),
    ),
    # the admin of another county: the first county's tokens are as unknown to them
    ("post", "/v1/service-tokens"): _also(
        _admin_only("post", lambda w: "/v1/service-tokens", None),
        _it("post", lambda w: "/v1/service-tokens", INVALID),
        lambda w: Attempt("other_admin", "post", "/v1/service-tokens", INVALID),
    ),
    ("get", "/v1/service-tokens"): _also(
        _admin_only("get", lambda w: "/v1/service-tokens"),
        lambda w: Attempt(
            "sibling_it", "get", "/v1/service-tokens", frozenset({200}), absent=w.token_id
        ),
        lambda w: Attempt(
            "other_admin", "get", "/v1/service-tokens", frozenset({200}), absent=w.token_id
        ),
    ),
    ("delete", "/v1/service-tokens/{token_id}"): _also(
        _admin_only("delete", lambda w: f"/v1/service-tokens/{w.token_id}"),
        _it("delete", lambda w: f"/v1/service-tokens/{w.token_id}", NOT_FOUND),
        lambda w: Attempt("other_admin", "delete", f"/v1/service-tokens/{w.token_id}", NOT_FOUND),
    ),
    # subscriptions: the admin of another county neither sees the county's (404, not listed)
    # nor subscribes to its units (422) or to every county (403); the county's own admin does
    # not see the deployment's
    ("post", "/v1/webhook-subscriptions"): _also(
        _admin_only("post", lambda w: "/v1/webhook-subscriptions", HOOK),
        lambda w: Attempt(
            "other_admin",
            "post",
            "/v1/webhook-subscriptions",
            INVALID,
            json={**HOOK, "unit_id": w.county.county["id"]},
        ),
        lambda w: Attempt("other_admin", "post", "/v1/webhook-subscriptions", FORBIDDEN, json=HOOK),
        lambda w: Attempt(
            "county_admin", "post", "/v1/webhook-subscriptions", FORBIDDEN, json=HOOK
        ),
    ),
    ("get", "/v1/webhook-subscriptions"): _also(
        _admin_only("get", lambda w: "/v1/webhook-subscriptions"),
        lambda w: Attempt(
            "other_admin",
            "get",
            "/v1/webhook-subscriptions",
            frozenset({200}),
            absent=w.county_subscription["id"],
        ),
        lambda w: Attempt(
            "county_admin",
            "get",
            "/v1/webhook-subscriptions",
            frozenset({200}),
            absent=w.subscription["id"],
        ),
    ),
    ("get", "/v1/webhook-subscriptions/{subscription_id}"): _also(
        _admin_only("get", lambda w: f"/v1/webhook-subscriptions/{w.subscription['id']}"),
        *_other_county_admins("get"),
    ),
    ("delete", "/v1/webhook-subscriptions/{subscription_id}"): _also(
        _admin_only("delete", lambda w: f"/v1/webhook-subscriptions/{w.subscription['id']}"),
        *_other_county_admins("delete"),
    ),
    # materials
    ("post", "/v1/cases/{case_id}/materials"): _upload,
    ("post", "/v1/cases/{case_id}/uploads"): _tus_probe(""),
    ("patch", "/v1/cases/{case_id}/uploads/{upload_id}"): _tus_probe(f"/{uuid.uuid4()}"),
    ("get", "/v1/cases/{case_id}/materials"): _read(
        lambda w: f"/v1/cases/{w.case['id']}/materials"
    ),
    ("get", "/v1/materials/{material_id}"): _read(_material()),
    ("get", "/v1/materials/{material_id}/content"): _read(_material("/content")),
    ("get", "/v1/materials/{material_id}/thumbnail"): _read(_material("/thumbnail")),
    ("post", "/v1/materials/{material_id}/link"): lambda w: [
        Attempt(who, "post", _material("/link")(w), NOT_FOUND)
        for who in ("sibling", "village_chief")
    ],
    ("get", "/v1/material-links/{token}"): lambda w: [
        Attempt("sibling", "get", f"/v1/material-links/{'A' * 64}", NOT_FOUND)
    ],
    ("delete", "/v1/materials/{material_id}"): _object_action(
        "delete", _material(), {"reason": "删除"}
    ),
    # the worker's own
    ("post", "/v1/internal/deadlines/flag-due"): _worker_only(
        "post", lambda w: "/v1/internal/deadlines/flag-due"
    ),
    ("post", "/v1/internal/deadlines/remind"): _worker_only(
        "post", lambda w: "/v1/internal/deadlines/remind"
    ),
    ("post", "/v1/internal/escalations/start"): _worker_only(
        "post",
        lambda w: "/v1/internal/escalations/start",
        None,
    ),
    ("post", "/v1/internal/escalations/advance"): _worker_only(
        "post", lambda w: "/v1/internal/escalations/advance"
    ),
    ("post", "/v1/internal/escalations/renotify"): _worker_only(
        "post", lambda w: "/v1/internal/escalations/renotify"
    ),
    ("post", "/v1/internal/alerts/bundles/flush"): _worker_only(
        "post", lambda w: "/v1/internal/alerts/bundles/flush"
    ),
    ("post", "/v1/internal/alerts/attempts"): _worker_only(
        "post", lambda w: "/v1/internal/alerts/attempts", {"attempts": []}
    ),
    ("post", "/v1/internal/alerts/addresses"): _worker_only(
        "post", lambda w: "/v1/internal/alerts/addresses", {"alert_ids": [str(uuid.uuid4())]}
    ),
    ("post", "/v1/internal/sweep"): _worker_only("post", lambda w: "/v1/internal/sweep"),
}


def _body_for(attempt: Attempt, w: World) -> Any:
    """Bodies that need the world's ids and are too long for the table."""
    if attempt.json is not None or attempt.method not in {"post", "put", "patch"}:
        return attempt.json
    if attempt.url == "/v1/units":
        return {"name": "x", "level": "village", "parent_id": w.county.town["id"]}
    if attempt.url == "/v1/officials":
        return {"name": "x", "unit_id": w.county.town["id"], "role": "chief"}
    if attempt.url == "/v1/service-tokens":
        expires = (datetime.now(UTC) + timedelta(days=1)).isoformat()
        return {"name": "x", "role": "chief", "unit_id": w.county.town["id"], "expires_at": expires}
    if attempt.url == "/v1/internal/escalations/start":
        return {"deadline_ids": [w.escalation["deadline_id"]]}
    if attempt.url == "/v1/internal/deadlines/remind":
        return {"deadline_id": w.escalation["deadline_id"], "fraction": 0.5}
    if attempt.url == "/v1/internal/escalations/advance":
        return {"deadline_id": w.escalation["deadline_id"], "step": 1}
    if attempt.url == "/v1/internal/escalations/renotify":
        return {"escalation_id": w.escalation["id"], "round": 1}
    if attempt.url == "/v1/internal/alerts/bundles/flush":
        return {"channel": "sms", "recipient": "13900000000"}
    return {}


DIGEST = "SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM {} t"


async def _snapshot(app: FastAPI) -> dict[str, str]:
    """A digest of every row of every table a request could change."""
    async with app.state.desk.sessionmaker() as session:
        digests = {}
        for table in TABLES:
            row = await session.execute(text(DIGEST.format(table)))
            digests[table] = str(row.scalar_one())
        return digests


async def _world(client: httpx.AsyncClient, admin: dict[str, str], county: County) -> World:
    doc = (await client.get("/v1/policies", headers=admin)).json()["policy"]
    doc["arrival"]["chief"] = "PT1S"
    doc["escalation"]["arrival"] = [{"notify": ["next_unit_chief"]}]
    today = datetime.now(UTC).astimezone(ZoneInfo("Asia/Shanghai")).date().isoformat()
    doc["sensitive_periods"]["periods"] = [
        {"key": PERIOD, "name": "全国两会", "starts_on": today, "ends_on": today}
    ]
    assert (await client.put("/v1/policies", json=doc, headers=admin)).status_code == 200

    staff = await county.headers(client, "town_staff")
    case = (
        await client.post(
            "/v1/cases", json=visit_body(county.village2, county.town, 3), headers=staff
        )
    ).json()
    material = await client.post(
        f"/v1/cases/{case['id']}/materials",
        files={"file": ("信.pdf", MATERIAL_PDF, "application/pdf")},
        headers=staff,
    )
    assert material.status_code == 201, material.text
    await asyncio.sleep(1.1)
    deadline = arrivals(case)[0]
    await flag_due(client, {"Authorization": f"Bearer {WORKER_TOKEN}"})
    assert await deadline_status(client, admin, deadline) == "missed"
    escalation = (
        await client.get("/v1/escalations", params={"case_id": case["id"]}, headers=admin)
    ).json()["items"][0]

    tag = uuid.uuid4().hex[:6]
    sibling_town = (
        await client.post(
            "/v1/units",
            json={"name": f"西河镇-{tag}", "level": "town", "parent_id": county.county["id"]},
            headers=admin,
        )
    ).json()
    sibling_village = (
        await client.post(
            "/v1/units",
            json={"name": f"河口村-{tag}", "level": "village", "parent_id": sibling_town["id"]},
            headers=admin,
        )
    ).json()
    other_county = (
        await client.post(
            "/v1/units", json={"name": f"邻县-{tag}", "level": "county"}, headers=admin
        )
    ).json()
    callers: dict[str, dict[str, str]] = {"admin": admin, "anonymous": {}}
    for key, unit, role in (
        ("sibling", sibling_town, "petition_staff"),
        ("sibling_chief", sibling_town, "chief"),
        ("info", county.town, "info_officer"),
        ("sibling_it", sibling_town, "it_admin"),
        ("county_admin", county.county, "admin"),
        ("other_admin", other_county, "admin"),
    ):
        body = {
            "name": f"{key}-{tag}",
            "unit_id": unit["id"],
            "role": role,
            "username": f"{key}-{tag}",
            "password": f"pw-{key}-{tag}",
        }
        assert (await client.post("/v1/officials", json=body, headers=admin)).status_code == 201
        callers[key] = await login(client, f"{key}-{tag}", f"pw-{key}-{tag}")
    for key in ("grid", "village_chief", "town_chief", "town_staff"):
        callers[key] = await county.headers(client, key)
    callers["viewer"] = await service_token(client, admin, f"board-{tag}", county.town)
    # the admin of another county of the deployment (issue 24) is refused wherever the sibling
    # town's staff is refused for want of territory (`_with_other_county_admin`)
    callers["other_county_admin"] = callers["other_admin"]

    own_case = await client.post(
        "/v1/cases", json=visit_body(sibling_village, sibling_town, 3), headers=callers["sibling"]
    )
    assert own_case.status_code == 201, own_case.text
    report = await client.post("/v1/reports", json={"zero": True}, headers=callers["info"])
    assert report.status_code == 201, report.text
    decision = await client.post(
        "/v1/decisions",
        json=_decision_body(county.town["id"], county.officials["town_chief"]["id"]),
        headers=staff,
    )
    assert decision.status_code == 201, decision.text
    chief = callers["town_chief"]
    reception = {}
    for path, body, who in (
        ("roster", _roster_body(county), staff),
        ("appointments", _appointment_body(county), staff),
        (
            "field-visits",
            {"day": _local_day(0), "place": "杨庄村", "case_ids": [case["id"]]},
            chief,
        ),
    ):
        made = await client.post(f"/v1/reception/{path}", json=body, headers=who)
        assert made.status_code == 201, made.text
        reception[path] = made.json()
    screening = {}
    for path, body in (("items", _screening_body(county)), ("rounds", {"zero": True})):
        made = await client.post(f"/v1/screening/{path}", json=body, headers=staff)
        assert made.status_code == 201, made.text
        screening[path] = made.json()
    subscription = await client.post(
        "/v1/webhook-subscriptions",
        json={"url": "https://example.org/hook", "event_types": ["case.created"]},
        headers=admin,
    )
    assert subscription.status_code == 201, subscription.text
    county_subscription = await client.post(
        "/v1/webhook-subscriptions",
        json={**HOOK, "unit_id": county.county["id"]},
        headers=callers["county_admin"],
    )
    assert county_subscription.status_code == 201, county_subscription.text
    beijing = {**visit_body(county.village2, county.town, 3), "lodged_unit_id": None}
    onsite = await client.post(
        "/v1/cases", json={**beijing, "lodged_level": "national"}, headers=staff
    )
    assert onsite.status_code == 201, onsite.text
    duties = await client.get(
        "/v1/reception/onsite-duties", params={"case_id": onsite.json()["id"]}, headers=staff
    )
    tokens = (await client.get("/v1/service-tokens", headers=admin)).json()
    notice = await client.post(
        f"/v1/cases/{case['id']}/notices", json={"kind": "receipt"}, headers=staff
    )
    assert notice.status_code == 201, notice.text
    return World(
        county=county,
        case=case,
        own_case=own_case.json(),
        escalation=escalation,
        report=report.json(),
        decision=decision.json(),
        roster_entry=reception["roster"],
        appointment=reception["appointments"],
        field_visit=reception["field-visits"],
        screening_item=screening["items"],
        screening_round=screening["rounds"],
        subscription=subscription.json(),
        county_subscription=county_subscription.json(),
        onsite_duty=duties.json()["items"][0],
        material=material.json(),
        notice=notice.json(),
        token_id=next(t["id"] for t in tokens if t["name"] == f"board-{tag}"),
        callers=callers,
    )


def _with_other_county_admin(attempts: list[Attempt]) -> list[Attempt]:
    """The attempts, and each one the sibling town's staff makes that is refused for want of
    territory (404, 422, or a list without the object) made again by another county's admin,
    who holds every permission but not this county (404 or 422 either way)."""
    territorial = NOT_FOUND | INVALID
    # the sibling's own objects (a body with the first town's ids) are foreign to them too
    again = [
        replace(a, caller="other_county_admin", expect=a.expect | territorial)
        for a in attempts
        if a.caller == "sibling" and (a.expect & territorial or a.absent is not None)
    ]
    return [*attempts, *again]


async def test_every_route_has_a_matrix_entry(app: FastAPI) -> None:
    routes = {(method, path) for method, path, _ in operations(app)}
    assert routes - set(MATRIX) == set(), "new routes need a BOLA matrix entry"
    assert set(MATRIX) - routes == set(), "matrix entries for routes that no longer exist"
    assert set(MATRIX) >= PUBLIC


# Every route tried by a dozen callers, with a snapshot of 36 tables around each route: minutes
# on a loaded 2-core machine, more than the suite's 120 s per test.
@pytest.mark.timeout(480)
async def test_nobody_reaches_an_object_they_do_not_own(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str], county: County
) -> None:
    w = await _world(client, admin, county)
    try:
        await asyncio.sleep(0.2)  # let the outbox dispatcher settle the world's own commits
        tried = 0
        for (method, path), probe in MATRIX.items():
            before = await _snapshot(app)
            for attempt in _with_other_county_admin(probe(w)):
                assert attempt.method == method, (method, path, attempt)
                resp = await client.request(
                    attempt.method,
                    attempt.url,
                    json=None if attempt.files else _body_for(attempt, w),
                    files=attempt.files,
                    data=attempt.form,
                    # an empty mapping would drop a query written into the URL
                    params=attempt.params or None,
                    headers=w.callers[attempt.caller],
                )
                where = (
                    f"{method.upper()} {path} by {attempt.caller}: {resp.status_code} {resp.text}"
                )
                assert resp.status_code in attempt.expect, where
                if resp.status_code >= 400:
                    assert resp.headers["content-type"] == "application/problem+json", where
                if attempt.absent is not None:
                    page = resp.json()
                    listed = {i["id"] for i in (page["items"] if isinstance(page, dict) else page)}
                    assert attempt.absent not in listed, where
                tried += 1
            after = await _snapshot(app)
            changed = [t for t in TABLES if before[t] != after[t]]
            assert changed == [], f"{method.upper()} {path} changed {changed}"
        assert tried >= 120

        # the owners still see all of it: the refusals were about the callers
        staff = w.callers["town_staff"]
        assert (await client.get(f"/v1/cases/{w.case['id']}", headers=staff)).status_code == 200
        escalations = await client.get(
            "/v1/escalations", params={"case_id": w.case["id"]}, headers=staff
        )
        assert w.escalation["id"] in {e["id"] for e in escalations.json()["items"]}
        figures = await client.get(
            f"/v1/sensitive-periods/{PERIOD}/figures",
            params={"unit_id": w.county.town["id"]},
            headers=staff,
        )
        assert figures.status_code == 200, figures.text
    finally:
        # the subscriptions were only there to be attacked: later tests count subscribers
        for sub in (w.subscription, w.county_subscription):
            gone = f"/v1/webhook-subscriptions/{sub['id']}"
            assert (await client.delete(gone, headers=admin)).status_code == 204
