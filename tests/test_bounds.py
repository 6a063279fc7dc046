"""No input the contract accepts ends in a 5xx (issue 19 §2).

Every date, datetime, month, year and duration the API takes is bounded by one shared type
(`shared.jsontypes`: years 2000–2099, durations at most ten years). This module finds every such
input in the committed contract, then for each one:

- the contract carries the bound (a `pattern` on the year, `minimum`/`maximum` on a year), and
  every array a client sends has `maxItems`;
- at the bounds the request passes validation and never ends in a 5xx; just outside them and at
  the extremes (year 1, 9999, `0000`, a duration of a million years) it is refused with 422
  naming the field;
- a property test (Hypothesis) draws values inside and outside: 422 outside, never 5xx inside.
  `make test` runs a few examples per input; `make test-fuzz` runs many
  (`PD_BOUNDS_EXAMPLES`).

An input added to the contract is found here at once; one with no base request below fails.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.kit.timeutil import local_today
from shared.jsontypes import (
    DATE_PATTERN,
    DATETIME_PATTERN,
    FIRST_YEAR,
    LAST_YEAR,
    LONGEST_DURATION,
    MONTH_PATTERN,
)
from tests.conftest import County, higher_office, letter_body, login, make_county

SPEC = yaml.safe_load((Path(__file__).parent.parent / "openapi.yaml").read_text("utf-8"))
SCHEMAS = SPEC["components"]["schemas"]
EXAMPLES = int(os.environ.get("PD_BOUNDS_EXAMPLES", "6"))
KINDS = ("date", "datetime", "month", "year", "duration")


# --- the contract's dated inputs ----------------------------------------------------------


@dataclass(frozen=True)
class Input:
    """One dated input of one operation: a query or path parameter, or a body field."""

    method: str
    path: str
    where: str  # query | path | body
    name: str  # the parameter, or the body field as segments joined by "." ("[]": an item)
    kind: str

    @property
    def op(self) -> str:
        return f"{self.method} {self.path}"

    def __str__(self) -> str:
        return f"{self.op} {self.where}:{self.name}"


def _deref(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = SCHEMAS[schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _kind(schema: dict[str, Any], name: str) -> str | None:
    fmt = schema.get("format")
    if fmt == "date":
        return "date"
    if fmt == "date-time":
        return "datetime"
    if fmt == "duration":
        return "duration"
    if schema.get("type") == "string" and "(0[1-9]|1[0-2])" in schema.get("pattern", ""):
        return "month"
    if schema.get("type") == "integer" and name.rsplit(".", 1)[-1] == "year":
        return "year"
    return None


def _walk(
    schema: dict[str, Any], name: str, seen: frozenset[str]
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every (field name, schema) under `schema`, alternatives and items included."""
    if "$ref" in schema:
        ref = schema["$ref"].rsplit("/", 1)[-1]
        if ref in seen:
            return
        seen, schema = seen | {ref}, SCHEMAS[ref]
    yield name, schema
    for key in ("anyOf", "oneOf", "allOf"):
        for alternative in schema.get(key, []):
            yield from _walk(alternative, name, seen)
    for prop, sub in schema.get("properties", {}).items():
        yield from _walk(sub, f"{name}.{prop}" if name else prop, seen)
    if isinstance(schema.get("items"), dict):
        yield from _walk(schema["items"], f"{name}.[]", seen)
    if isinstance(schema.get("additionalProperties"), dict):
        yield from _walk(schema["additionalProperties"], f"{name}.{{}}", seen)


def _operations() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in SPEC["paths"].items():
        for method, op in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                yield method.upper(), path, op


def _inputs_of(
    method: str, path: str, op: dict[str, Any]
) -> Iterator[tuple[Input, dict[str, Any]]]:
    for param in op.get("parameters", []):
        for name, schema in _walk(param.get("schema", {}), param["name"], frozenset()):
            kind = _kind(schema, name)
            yield Input(method, path, param["in"], name, kind or ""), schema
    for content in op.get("requestBody", {}).get("content", {}).values():
        for name, schema in _walk(content.get("schema", {}), "", frozenset()):
            kind = _kind(schema, name)
            yield Input(method, path, "body", name, kind or ""), schema


def dated_inputs() -> list[Input]:
    """Every dated input of the contract, in a stable order."""
    found = {
        i for method, path, op in _operations() for i, _ in _inputs_of(method, path, op) if i.kind
    }
    return sorted(found, key=str)


DATED = dated_inputs()


def test_the_contract_has_dated_inputs_of_every_kind() -> None:
    """The discovery above finds what it should (a walker that finds nothing proves nothing)."""
    assert {i.kind for i in DATED} == set(KINDS)
    assert len(DATED) >= 60


def test_every_dated_input_carries_the_shared_bound() -> None:
    """One shared type bounds them all: the same pattern (or minimum and maximum) everywhere."""
    wrong = []
    for method, path, op in _operations():
        for found, schema in _inputs_of(method, path, op):
            expected = {
                "date": DATE_PATTERN,
                "datetime": DATETIME_PATTERN,
                "month": MONTH_PATTERN,
            }.get(found.kind)
            if expected is not None and schema.get("pattern") != expected:
                wrong.append(f"{found}: pattern {schema.get('pattern')!r}")
            if found.kind == "year" and (
                schema.get("minimum"),
                schema.get("maximum"),
            ) != (FIRST_YEAR, LAST_YEAR):
                wrong.append(f"{found}: {schema.get('minimum')}–{schema.get('maximum')}")
            if schema.get("type") == "array" and "maxItems" not in schema:
                wrong.append(f"{found}: an array without maxItems")
    assert wrong == []


# --- values inside and outside the bounds ---------------------------------------------------

FIRST_DAY, LAST_DAY = date(FIRST_YEAR, 1, 1), date(LAST_YEAR, 12, 31)
OFFSETS = st.integers(min_value=-(23 * 60 + 59), max_value=23 * 60 + 59).map(
    lambda m: timezone(timedelta(minutes=m))
)


def _date_text(d: date) -> str:
    return f"{d.year:04d}-{d.month:02d}-{d.day:02d}"


def _datetime_text(at: datetime) -> str:
    return at.isoformat()  # years below 1000 with four digits too: 0001-01-01T…


def _duration_text(span: timedelta) -> str:
    sign, span = ("-", -span) if span < timedelta(0) else ("", span)
    return f"{sign}P{span.days}DT{span.seconds}.{span.microseconds:06d}S"


def _inside(kind: str) -> st.SearchStrategy[Any]:
    days = st.dates(min_value=FIRST_DAY, max_value=LAST_DAY)
    if kind == "date":
        return days.map(_date_text)
    if kind == "datetime":
        return st.datetimes(
            min_value=datetime(FIRST_YEAR, 1, 1),
            max_value=datetime(LAST_YEAR, 12, 31, 23, 59, 59, 999999),
            timezones=OFFSETS,
        ).map(_datetime_text)
    if kind == "month":
        return days.map(lambda d: f"{d.year:04d}-{d.month:02d}")
    if kind == "year":
        return st.integers(min_value=FIRST_YEAR, max_value=LAST_YEAR)
    # every duration of the policy is longer than zero
    return st.timedeltas(min_value=timedelta(microseconds=1), max_value=LONGEST_DURATION).map(
        _duration_text
    )


def _outside(kind: str) -> st.SearchStrategy[Any]:
    before = st.dates(max_value=FIRST_DAY - timedelta(days=1))
    after = st.dates(min_value=LAST_DAY + timedelta(days=1))
    days = before | after
    if kind == "date":
        return days.map(_date_text) | st.sampled_from(["0000-01-01", "10000-01-01"])
    if kind == "datetime":
        moments = st.datetimes(
            max_value=datetime(FIRST_YEAR - 1, 12, 31, 23, 59, 59), timezones=OFFSETS
        ) | st.datetimes(min_value=datetime(LAST_YEAR + 1, 1, 1), timezones=OFFSETS)
        return moments.map(_datetime_text) | st.sampled_from(["0000-01-01T00:00:00Z"])
    if kind == "month":
        return days.map(lambda d: f"{d.year:04d}-{d.month:02d}") | st.sampled_from(
            ["0000-01", "2026-00", "2026-13"]
        )
    if kind == "year":
        return st.integers(max_value=FIRST_YEAR - 1) | st.integers(min_value=LAST_YEAR + 1)
    too_long = st.timedeltas(min_value=LONGEST_DURATION + timedelta(microseconds=1))
    return too_long.map(_duration_text) | st.sampled_from(["P1000000Y", "P999999999D"])


EDGES_INSIDE: dict[str, list[Any]] = {
    "date": [_date_text(FIRST_DAY), _date_text(LAST_DAY)],
    "datetime": [
        "2000-01-01T00:00:00+00:00",
        "2099-12-31T23:59:59.999999+00:00",
        "2000-01-01T00:00:00+23:59",
        "2099-12-31T23:59:59-23:59",
    ],
    "month": [f"{FIRST_YEAR}-01", f"{LAST_YEAR}-12"],
    "year": [FIRST_YEAR, LAST_YEAR],
    "duration": ["PT0.000001S", _duration_text(LONGEST_DURATION)],
}
EDGES_OUTSIDE: dict[str, list[Any]] = {
    "date": ["1999-12-31", "2100-01-01", "0001-01-01", "9999-12-31", "0000-01-01"],
    "datetime": [
        "1999-12-31T23:59:59-23:59",
        "2100-01-01T00:00:00+23:59",
        "0001-01-01T00:00:00+05:00",
        "9999-12-31T23:59:59-05:00",
    ],
    "month": ["1999-12", "2100-01", "0000-01", "9999-12"],
    "year": [FIRST_YEAR - 1, LAST_YEAR + 1, 1, 9999],
    "duration": [_duration_text(LONGEST_DURATION + timedelta(seconds=1)), "P1000000Y"],
}


# An ordinary value that must not touch what other tests share: a working-calendar override
# of today would change their time limits.
TYPICAL = {"PUT /v1/calendar/{day} path:day": "2098-06-01"}


def typical(kind: str, probe: Input | None = None) -> Any:
    """An ordinary value of the kind: the request is then valid (business rules aside)."""
    if probe is not None and str(probe) in TYPICAL:
        return TYPICAL[str(probe)]
    today = local_today()
    return {
        "date": today.isoformat(),
        "datetime": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
        "month": f"{today.year:04d}-{today.month:02d}",
        "year": today.year,
        "duration": "PT20M",
    }[kind]


# --- one request per input ------------------------------------------------------------------


@dataclass
class World:
    """What the requests name: a county, its officials' headers, objects to change."""

    client: httpx.AsyncClient
    admin: dict[str, str]
    county: County
    headers: dict[str, dict[str, str]] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)
    calendar_days: set[str] = field(default_factory=set)


@dataclass
class Request:
    """A request that passes validation; the probed input is then set to each value."""

    headers: dict[str, str]
    path: str
    params: dict[str, Any] = field(default_factory=dict)
    body: dict[str, Any] | None = None


Base = Callable[[World], Awaitable[Request]]


def _screening_item(world: World) -> dict[str, Any]:
    county = world.county
    return {
        "unit_id": county.village2["id"],
        "category": "land.acquisition",
        "title": "边界纠纷",
        "description": "两户村民因承包地边界发生争执。",
        "people": [{"name": "王五"}],
        "people_count": 1,
        "risk_level": "medium",
        "owner_leader_id": county.officials["town_deputy"]["id"],
    }


PERIOD_DAYS = 10  # a sensitive period may be two months long at most (the policy's max_days)


def _period_follows(body: dict[str, Any], name: str, value: Any) -> None:
    """A probed end of the sensitive period takes the other end along, so that the period
    stays in order and short and the request reaches the service."""
    try:
        day = date.fromisoformat(value)
    except (TypeError, ValueError):
        return
    if not FIRST_DAY <= day <= LAST_DAY:
        return  # refused anyway
    period = body["sensitive_periods"]["periods"][0]
    if name.endswith("starts_on"):
        period["ends_on"] = min(day + timedelta(days=PERIOD_DAYS), LAST_DAY).isoformat()
    else:
        period["starts_on"] = max(day - timedelta(days=PERIOD_DAYS), FIRST_DAY).isoformat()


FOLLOW = {
    "PUT /v1/policies body:sensitive_periods.periods.[].starts_on": _period_follows,
    "PUT /v1/policies body:sensitive_periods.periods.[].ends_on": _period_follows,
}


async def _policy(world: World) -> Request:
    doc = (await world.client.get("/v1/policies", headers=world.admin)).json()["policy"]
    doc["sensitive_periods"]["periods"] = [
        {
            "key": "bounds",
            "name": "边界",
            "starts_on": local_today().isoformat(),
            "ends_on": (local_today() + timedelta(days=PERIOD_DAYS)).isoformat(),
            "arrival": {"chief": "PT15M"},
            "daily_report": False,
            "all_day_reception": False,
        }
    ]
    return Request(world.admin, "/v1/policies", body=doc)


async def _as(world: World, key: str, path: str, body: dict[str, Any]) -> Request:
    return Request(world.headers[key], path, body=body)


BASES: dict[str, Base] = {
    "POST /v1/service-tokens": lambda w: _as(
        w,
        "admin",
        "/v1/service-tokens",
        {"name": "bounds", "role": "viewer", "unit_id": w.county.county["id"]},
    ),
    "POST /v1/cases": lambda w: _as(w, "admin", "/v1/cases", letter_body(w.county)),
    "PUT /v1/policies": _policy,
    "POST /v1/reports": lambda w: _as(w, "info", "/v1/reports", {"zero": True}),
    "POST /v1/screening/items": lambda w: _as(
        w, "staff", "/v1/screening/items", _screening_item(w)
    ),
    "PATCH /v1/screening/items/{item_id}": lambda w: _as(
        w, "staff", f"/v1/screening/items/{w.ids['item']}", {}
    ),
    "POST /v1/screening/rounds": lambda w: _as(w, "staff", "/v1/screening/rounds", {"zero": True}),
    "POST /v1/reception/roster": lambda w: _as(
        w,
        "staff",
        "/v1/reception/roster",
        {
            "unit_id": w.county.town["id"],
            "official_id": w.county.officials["town_deputy"]["id"],
            "place": "镇信访接待室",
        },
    ),
    "POST /v1/reception/monthly-roster": lambda w: _as(
        w,
        "staff",
        "/v1/reception/monthly-roster",
        {"unit_id": w.county.town["id"], "place": "镇接访室"},
    ),
    "POST /v1/reception/appointments": lambda w: _as(
        w,
        "staff",
        "/v1/reception/appointments",
        {
            "unit_id": w.county.town["id"],
            "leader_id": w.county.officials["town_deputy"]["id"],
            "petitioner_name": "王五",
            "place": "镇信访接待室",
        },
    ),
    "POST /v1/reception/field-visits": lambda w: _as(
        w, "deputy", "/v1/reception/field-visits", {"place": "杨庄村", "case_ids": [w.ids["case"]]}
    ),
    "POST /v1/decisions": lambda w: _as(
        w,
        "staff",
        "/v1/decisions",
        {
            "unit_id": w.county.town["id"],
            "title": "工业园区征地",
            "kind": "land_acquisition",
            "description": "征收集体土地用于工业园区建设。",
            "owner_leader_id": w.county.officials["town_chief"]["id"],
        },
    ),
    "PATCH /v1/decisions/{decision_id}": lambda w: _as(
        w, "staff", f"/v1/decisions/{w.ids['decision']}", {}
    ),
    "PATCH /v1/cases/{case_id}": lambda w: _as(
        w, "staff", f"/v1/cases/{w.ids['case']}", {"reason": "更正收到时间"}
    ),
    # served once, then 409: the bounds are checked before the notice's state
    "POST /v1/notices/{notice_id}/service": lambda w: _as(
        w,
        "staff",
        f"/v1/notices/{w.ids['notice']}/service",
        {"method": "in_person", "recipient": "王五"},
    ),
    "POST /v1/cases/{case_id}/supervise": lambda w: _as(
        w, "staff", f"/v1/cases/{w.ids['case']}/supervise", {"reason": "市信访局督办"}
    ),
    # a fresh reference each time: the same one again answers the first case unchecked
    "POST /v1/transfers": lambda w: _as(
        w,
        "office",
        "/v1/transfers",
        {
            "kind": "assigned",
            "reference": f"bounds-{uuid.uuid4().hex}",
            "petitioners": [{"name": "王五"}],
            "title": "宅基地纠纷",
            "content": "界址争议",
        },
    ),
    "POST /v1/transfers/{case_id}/supervise": lambda w: _as(
        w, "office", f"/v1/transfers/{w.ids['transfer']}/supervise", {"reason": "市信访局督办"}
    ),
    "PUT /v1/calendar/{day}": lambda w: _as(
        w, "admin", "/v1/calendar/{day}", {"is_workday": True, "note": "边界"}
    ),
}


async def request_for(world: World, probe: Input) -> Request:
    """The base request of the probe's operation: from the table above, or for a read the
    admin's request with the operation's required parameters and its unit (if it takes one)."""
    if probe.op in BASES:
        return await BASES[probe.op](world)
    assert probe.method in ("GET", "DELETE"), f"no base request for {probe.op}: add one to BASES"
    op = SPEC["paths"][probe.path][probe.method.lower()]
    params: dict[str, Any] = {}
    for param in op.get("parameters", []):
        if param["in"] != "query":
            continue
        if param["name"] == "unit_id":
            params["unit_id"] = world.county.county["id"]
        elif param.get("required"):
            kind = next(
                (
                    _kind(s, param["name"])
                    for _, s in _walk(param["schema"], "", frozenset())
                    if _kind(s, param["name"])
                ),
                None,
            )
            assert kind, f"{probe.op}: required parameter {param['name']} has no base value"
            params[param["name"]] = typical(kind)
    return Request(world.admin, probe.path, params=params)


# The key probed of a map in a body (a `{}` segment): one the base request holds.
MAP_KEYS = {"arrival.concerned": "national"}


def _segments(name: str) -> list[str | int]:
    out: list[str | int] = []
    for part in name.split("."):
        if part == "{}":
            prefix = ".".join(str(p) for p in out)
            assert prefix in MAP_KEYS, f"{name}: add the key to probe to MAP_KEYS"
            out.append(MAP_KEYS[prefix])
        else:
            out.append(0 if part == "[]" else part)
    return out


def _set(body: dict[str, Any], name: str, value: Any) -> None:
    *parents, last = _segments(name)
    node: Any = body
    for part in parents:
        node = node[part]
    node[last] = value


async def send(world: World, probe: Input, value: Any) -> httpx.Response:
    """The probe's base request with the probed input set to `value`."""
    base = await request_for(world, probe)
    path, params, body = base.path, dict(base.params), base.body
    if probe.where == "query":
        params[probe.name] = value
    elif probe.where == "path":
        path = path.replace("{" + probe.name + "}", str(value))
    else:
        assert body is not None
        _set(body, probe.name, value)
        if str(probe) in FOLLOW:
            FOLLOW[str(probe)](body, probe.name, value)
    resp = await world.client.request(
        probe.method, path, params=params, json=body, headers=base.headers
    )
    if probe.op == "PUT /v1/calendar/{day}" and resp.is_success:
        world.calendar_days.add(str(value))
    return resp


def _schema_errors_at(resp: httpx.Response, probe: Input) -> list[dict[str, Any]]:
    """The schema (type) errors of the answer that name the probed input."""
    if resp.status_code != 422:
        return []
    pointer = "/" + "/".join(str(s) for s in _segments(probe.name))
    return [
        e
        for e in resp.json().get("errors", [])
        if "type" in e
        and (
            (probe.where == "body" and e.get("pointer") == pointer)
            or (e.get("in") == probe.where and e.get("name") == probe.name)
        )
    ]


def assert_inside(resp: httpx.Response, probe: Input, value: Any) -> None:
    """Inside the bounds: never a 5xx, and the shared type accepts the value (a field may
    have a tighter limit of its own: `appointment_grace` at most 7 days)."""
    assert resp.status_code < 500, f"{probe} = {value!r}: {resp.status_code} {resp.text}"
    refused = [e for e in _schema_errors_at(resp, probe) if e["type"] == "value_error"]
    assert refused == [], f"{probe} = {value!r}: {resp.text}"


def assert_outside(resp: httpx.Response, probe: Input, value: Any) -> None:
    """Outside the bounds: 422 naming the input, as problem+json."""
    assert resp.status_code == 422, f"{probe} = {value!r}: {resp.status_code} {resp.text}"
    assert resp.headers["content-type"] == "application/problem+json"
    assert _schema_errors_at(resp, probe), f"{probe} = {value!r}: {resp.text}"


@pytest.fixture(scope="module")
async def world(client: httpx.AsyncClient, admin: dict[str, str]) -> AsyncIterator[World]:
    """One county for the whole module, with an official of each kind the bases need and one
    object of each kind they change."""
    county = await make_county(client, admin)
    world = World(client, admin, county)
    world.headers["admin"] = admin
    world.headers["staff"] = await county.headers(client, "town_staff")
    world.headers["deputy"] = await county.headers(client, "town_deputy")
    info = {
        "name": "信息员",
        "phone": "13955557777",
        "unit_id": county.village2["id"],
        "role": "info_officer",
        "username": f"info-{county.county['id'][:8]}",
        "password": "info-password-bounds",
    }
    assert (await client.post("/v1/officials", json=info, headers=admin)).status_code == 201
    world.headers["info"] = await login(client, info["username"], info["password"])
    case = await client.post("/v1/cases", json=letter_body(county), headers=admin)
    assert case.status_code == 201, case.text
    world.ids["case"] = case.json()["id"]
    notice = await client.post(
        f"/v1/cases/{world.ids['case']}/notices",
        json={"kind": "receipt"},
        headers=world.headers["staff"],
    )
    assert notice.status_code == 201, notice.text
    world.ids["notice"] = notice.json()["id"]
    item = await client.post(
        "/v1/screening/items", json=_screening_item(world), headers=world.headers["staff"]
    )
    assert item.status_code == 201, item.text
    world.ids["item"] = item.json()["id"]
    draft = await BASES["POST /v1/decisions"](world)
    decision = await client.post(draft.path, json=draft.body, headers=draft.headers)
    assert decision.status_code == 201, decision.text
    world.ids["decision"] = decision.json()["id"]
    _, world.headers["office"] = await higher_office(client, admin, county.county)
    handed = await BASES["POST /v1/transfers"](world)
    transfer = await client.post(handed.path, json=handed.body, headers=handed.headers)
    assert transfer.status_code == 201, transfer.text
    world.ids["transfer"] = transfer.json()["case_id"]
    yield world
    for day in world.calendar_days:  # the working calendar is the whole install's
        await client.delete(f"/v1/calendar/{day}", headers=admin)


@pytest.mark.parametrize("probe", DATED, ids=str)
async def test_at_the_bounds_and_just_outside(
    world: World, probe: Input, policy_restore: None
) -> None:
    """Ordinary and edge values pass validation and never end in a 5xx; just outside the
    bounds and at the extremes the request is refused with 422 naming the input."""
    ordinary = await send(world, probe, typical(probe.kind, probe))
    assert ordinary.status_code < 500, ordinary.text
    # the base request is valid: whatever is refused is refused by a rule, not the schema
    if ordinary.status_code == 422:
        assert not any("type" in e for e in ordinary.json()["errors"]), ordinary.text
    for value in EDGES_INSIDE[probe.kind]:
        assert_inside(await send(world, probe, value), probe, value)
    for value in EDGES_OUTSIDE[probe.kind]:
        assert_outside(await send(world, probe, value), probe, value)


@pytest.mark.parametrize("probe", DATED, ids=str)
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=EXAMPLES <= 10,  # make test: the same few examples every run
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
async def test_inside_never_5xx_outside_always_422(
    world: World, probe: Input, policy_restore: None, data: st.DataObject
) -> None:
    """Property: any value inside the bounds never ends in a 5xx; any value outside is 422."""
    if data.draw(st.booleans(), label="inside"):
        value = data.draw(_inside(probe.kind), label="value")
        assert_inside(await send(world, probe, value), probe, value)
    else:
        value = data.draw(_outside(probe.kind), label="value")
        assert_outside(await send(world, probe, value), probe, value)


async def test_lists_of_names_count_each_once_and_are_bounded(
    client: httpx.AsyncClient, admin: dict[str, str], policy_restore: None
) -> None:
    """A set sent as a JSON array (event types, the people a step notifies …) keeps each name
    once, in the order given; more names than there are is refused with 422."""
    body = {
        "url": "https://hooks.example.org/bounds",
        "event_types": ["case.created", "case.updated", "case.created", "case.created"],
    }
    created = await client.post("/v1/webhook-subscriptions", json=body, headers=admin)
    assert created.status_code == 201, created.text
    assert created.json()["event_types"] == ["case.created", "case.updated"]
    await client.delete(f"/v1/webhook-subscriptions/{created.json()['id']}", headers=admin)
    crowd = {**body, "event_types": ["case.created"] * (len(SCHEMAS["EventType"]["enum"]) + 1)}
    too_many = await client.post("/v1/webhook-subscriptions", json=crowd, headers=admin)
    assert too_many.status_code == 422, too_many.text
    assert too_many.json()["errors"][0]["pointer"] == "/event_types"

    doc = (await client.get("/v1/policies", headers=admin)).json()["policy"]
    doc["escalation"]["arrival"][0]["notify"] = ["next_unit_chief", "next_unit_chief"]
    put = await client.put("/v1/policies", json=doc, headers=admin)
    assert put.status_code == 200, put.text
    assert put.json()["policy"]["escalation"]["arrival"][0]["notify"] == ["next_unit_chief"]
    doc["escalation"]["arrival"] = doc["escalation"]["arrival"][:1] * 11
    long_chain = await client.put("/v1/policies", json=doc, headers=admin)
    assert long_chain.status_code == 422, long_chain.text
