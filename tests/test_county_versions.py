"""Data versions per county (issue 24): one county's change invalidates the polls that cover it
(its own, its city's, the deployment's) and leaves another county's polls answered 304; a
change to the directory reaches every poll."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from redis.exceptions import RedisError

from api.kit import polling
from api.kit.uow import UnitOfWork
from tests.conftest import login, service_token

POLLED = ("/v1/stats/summary", "/v1/cases")


@dataclass
class Poller:
    """Someone polling the dashboard's summary and the case list, with the ETags they hold."""

    headers: dict[str, str]
    params: dict[str, dict[str, str]]
    etags: dict[str, str]

    async def poll(self, client: httpx.AsyncClient) -> dict[str, int]:
        """Poll each read with the ETag held; keep the new ETag of a 200."""
        statuses = {}
        for path in POLLED:
            resp = await client.get(
                path,
                params=self.params[path],
                headers=self.headers | {"If-None-Match": self.etags[path]},
            )
            statuses[path] = resp.status_code
            assert resp.headers["etag"], path
            if resp.status_code == 200:
                assert resp.headers["etag"] != self.etags[path], path
            else:
                assert resp.headers["etag"] == self.etags[path], path
            self.etags[path] = resp.headers["etag"]
        return statuses


async def _unit(
    client: httpx.AsyncClient, admin: dict[str, str], level: str, parent: dict[str, Any] | None
) -> dict[str, Any]:
    body: dict[str, Any] = {"name": f"{level}-{uuid.uuid4().hex[:6]}", "level": level}
    body["parent_id"] = parent["id"] if parent else None
    resp = await client.post("/v1/units", json=body, headers=admin)
    assert resp.status_code == 201, resp.text
    return dict(resp.json())


async def _official(
    client: httpx.AsyncClient, admin: dict[str, str], unit: dict[str, Any], role: str
) -> dict[str, str]:
    tag = uuid.uuid4().hex[:8]
    body = {
        "name": f"{role}-{tag}",
        "phone": f"139{int(tag, 16) % 100000000:08d}",
        "unit_id": unit["id"],
        "role": role,
        "username": f"{role}-{tag}",
        "password": f"pw-{tag}",
    }
    resp = await client.post("/v1/officials", json=body, headers=admin)
    assert resp.status_code == 201, resp.text
    return await login(client, body["username"], body["password"])


async def _poller(
    client: httpx.AsyncClient, headers: dict[str, str], unit: dict[str, Any]
) -> Poller:
    params = {"/v1/stats/summary": {"unit_id": unit["id"]}, "/v1/cases": {"limit": "5"}}
    etags = {}
    for path in POLLED:
        resp = await client.get(path, params=params[path], headers=headers)
        assert resp.status_code == 200, resp.text
        etags[path] = resp.headers["etag"]
    return Poller(headers, params, etags)


@pytest.fixture
def one_bucket(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every request in one time bucket: a bucket's end must not pass for a change."""
    monkeypatch.setattr(polling, "time", SimpleNamespace(time=lambda: 1_000_000.0))


async def test_a_countys_change_reaches_the_polls_that_cover_it_only(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str], one_bucket: None
) -> None:
    city = await _unit(client, admin, "city", None)
    counties, villages, staff, grid = [], [], [], []
    for _ in range(2):
        county = await _unit(client, admin, "county", city)
        town = await _unit(client, admin, "town", county)
        village = await _unit(client, admin, "village", town)
        counties.append(county)
        villages.append(village)
        staff.append(await _official(client, admin, county, "petition_staff"))
        grid.append(await _official(client, admin, village, "grid_worker"))
    city_chief = await _official(client, admin, city, "chief")
    board_b = await service_token(client, admin, "县信访局大屏", counties[1])  # B's dashboard

    pollers = {
        "A": await _poller(client, grid[0], villages[0]),  # a village grid worker: county A
        "B": await _poller(client, staff[1], counties[1]),  # county B's petition office
        "city": await _poller(client, city_chief, city),
        "deployment": await _poller(client, admin, city),
        "B board": await _poller(client, board_b, counties[1]),
    }
    # what each token's polls compare, as Redis keeps it (set from the auth's one statement)
    redis, namespace = app.state.desk.arq, app.state.desk.settings.arq_queue

    async def scope_of(headers: dict[str, str]) -> bytes | None:
        key = polling.scope_key(namespace, headers["Authorization"].encode())
        found: bytes | None = await redis.get(key)
        return found

    assert await scope_of(grid[0]) == counties[0]["id"].encode()
    assert await scope_of(staff[1]) == counties[1]["id"].encode()
    assert await scope_of(board_b) == counties[1]["id"].encode()  # a service token too
    both = ",".join(sorted(c["id"] for c in counties)).encode()
    assert await scope_of(city_chief) == both
    assert await scope_of(admin) is None  # everything: the "any change" version, nothing kept

    for poller in pollers.values():  # nothing changed: every poll 304
        assert set((await poller.poll(client)).values()) == {304}

    letter = {
        "channel": "letter",
        "origin_unit_id": villages[0]["id"],
        "lodged_level": "county",
        "petitioners": [{"name": "赵六", "phone": "13700000000"}],
        "category": "labour.wages",
        "title": "拖欠工资",
        "content": "工程款拖欠。",
    }
    keys = [polling.version_key(namespace)]
    keys += [polling.county_version_key(namespace, c["id"]) for c in counties]
    install, in_a, in_b = await redis.mget(keys)
    registered = await client.post("/v1/cases", json=letter, headers=staff[0])
    assert registered.status_code == 201, registered.text
    # county A's version alone moved (with the "any change" one)
    assert await redis.mget(keys) == [install, str(int(in_a or 0) + 1).encode(), in_b]

    for name in ("A", "city", "deployment"):
        assert set((await pollers[name].poll(client)).values()) == {200}, name
    assert set((await pollers["B"].poll(client)).values()) == {304}
    assert set((await pollers["B board"].poll(client)).values()) == {304}
    # the deployment's admin writes for no county of its own: what it wrote names its county
    install, in_a, in_b = await redis.mget(keys)
    by_admin = await client.post(
        "/v1/cases", json=letter | {"origin_unit_id": villages[1]["id"]}, headers=admin
    )
    assert by_admin.status_code == 201, by_admin.text
    case_id = by_admin.json()["id"]
    accepted = await client.post(f"/v1/cases/{case_id}/accept", json={}, headers=admin)
    assert accepted.status_code == 200, accepted.text
    assert await redis.mget(keys) == [install, in_a, str(int(in_b or 0) + 2).encode()]
    await pollers["B"].poll(client)
    await pollers["B board"].poll(client)
    await pollers["A"].poll(client)
    await pollers["deployment"].poll(client)
    await pollers["city"].poll(client)
    # the new ETags hold until the next change
    for poller in pollers.values():
        assert set((await poller.poll(client)).values()) == {304}

    # the directory is everybody's: a new town in county B reaches every poll
    await _unit(client, admin, "town", counties[1])
    for name, poller in pollers.items():
        assert set((await poller.poll(client)).values()) == {200}, name


async def test_redis_away_means_full_answers_without_etag(
    client: httpx.AsyncClient, admin: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    first = await client.get("/v1/units", headers=admin)
    etag = first.headers["etag"]

    async def away(*_: object, **__: object) -> polling.Versions:
        raise RedisError("away")

    monkeypatch.setattr(polling, "read_versions", away)
    resp = await client.get("/v1/units", headers=admin | {"If-None-Match": etag})
    assert resp.status_code == 200 and "etag" not in resp.headers


def test_what_a_transaction_bumps() -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    changes = UnitOfWork(resources={}).changes
    assert changes.counties_to_bump(None) is None  # changed, naming nobody: everybody's
    changes.counties.add(a)
    assert changes.counties_to_bump(None) == frozenset({a})
    changes.units.add(uuid.uuid4())  # a row whose county the session did not know
    assert changes.counties_to_bump(frozenset({b})) == frozenset({a, b})  # the caller's county
    assert changes.counties_to_bump(None) is None  # the worker's: everybody's
    changes.units.clear()
    changes.everywhere = True
    assert changes.counties_to_bump(frozenset({b})) is None
