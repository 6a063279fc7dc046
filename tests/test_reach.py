"""An official's reach at a province's size (issue 24): the subtree is sent to the process once
per generation of the tree, and a reach past the protocol's 32,767 parameters still filters."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from api.units.repository import KNOWN_SUBTREES, KnownSubtree, KnownSubtrees
from tests.conftest import login, service_token

# More units than one statement may carry parameters (asyncpg: 32,767): a province holds 35,000.
VILLAGES = 33_000

# Every list a province bureau's official may read, each filtered by their reach.
LISTS = [
    "/v1/units",
    "/v1/officials",
    "/v1/cases",
    "/v1/deadlines",
    "/v1/escalations",
    "/v1/alerts",
    "/v1/reports",
    "/v1/decisions",
    "/v1/screening/items",
    "/v1/screening/rounds",
    "/v1/reception/appointments",
    "/v1/reception/field-visits",
    "/v1/search/cases?q=%E4%BF%A1%E8%AE%BF",
    "/v1/stats/units",
    "/v1/stats/prevention",
]
# The veto and the scores list every village of the scope (here 21-24 MB, 6-8 s each): they
# filter the same way and are left out to keep `make test` short.


def _known(app: FastAPI) -> KnownSubtrees:
    kept: KnownSubtrees = app.state.desk.sessionmaker.kw["info"]["resources"][KNOWN_SUBTREES]
    return kept


async def _unit(
    client: httpx.AsyncClient, admin: dict[str, str], level: str, parent: str | None
) -> dict[str, Any]:
    body = {"name": f"{level}-{uuid.uuid4().hex[:6]}", "level": level, "parent_id": parent}
    made = await client.post("/v1/units", json=body, headers=admin)
    assert made.status_code == 201, made.text
    return dict(made.json())


async def _official(
    client: httpx.AsyncClient, admin: dict[str, str], unit: dict[str, Any], role: str
) -> tuple[dict[str, Any], dict[str, str]]:
    name = f"{role}-{uuid.uuid4().hex[:8]}"
    body = {
        "name": name,
        "unit_id": unit["id"],
        "role": role,
        "username": name,
        "password": "reach-password-long-1",
    }
    made = await client.post("/v1/officials", json=body, headers=admin)
    assert made.status_code == 201, made.text
    return dict(made.json()), await login(client, name, "reach-password-long-1")


class Province:
    """A province > city > county > town, and `VILLAGES` villages under the town, written
    straight into the table as a loader would."""

    def __init__(self, units: dict[str, dict[str, Any]], villages: list[uuid.UUID]) -> None:
        self.units = units
        self.villages = villages


@pytest.fixture
async def province(
    client: httpx.AsyncClient, admin: dict[str, str], database_url: str
) -> AsyncIterator[Province]:
    """The province; its villages are deleted afterwards (other tests of this worker walk the
    whole tree)."""
    province = await _unit(client, admin, "province", None)
    city = await _unit(client, admin, "city", province["id"])
    county = await _unit(client, admin, "county", city["id"])
    town = await _unit(client, admin, "town", county["id"])
    conn = await asyncpg.connect(database_url.replace("+asyncpg", ""))
    try:
        villages = [
            row["id"]
            for row in await conn.fetch(
                "INSERT INTO units (id, name, level, parent_id, created_at, updated_at) "
                "SELECT gen_random_uuid(), 'village-' || n, 'village', $1, now(), now() "
                "FROM generate_series(1, $2) AS n RETURNING id",
                uuid.UUID(town["id"]),
                VILLAGES,
            )
        ]
        yield Province(
            {"province": province, "city": city, "county": county, "town": town}, villages
        )
    finally:
        await conn.execute("DELETE FROM units WHERE parent_id = $1", uuid.UUID(town["id"]))
        await conn.close()


async def test_a_reach_past_the_parameter_limit_filters_every_list(
    client: httpx.AsyncClient, admin: dict[str, str], province: Province
) -> None:
    """A province's chief reaches more units than a statement has parameters: every list
    answers (each filter sends the reach as one array), and shows what lies in it."""
    _, chief = await _official(client, admin, province.units["province"], "chief")
    for path in LISTS:
        answered = await client.get(path, headers=chief)
        assert answered.status_code == 200, (path, answered.text)
    village = province.villages[-1]
    seen = await client.get(f"/v1/units/{village}", headers=chief)
    assert seen.status_code == 200, seen.text


async def test_a_subtree_is_sent_once_per_generation_of_the_tree(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin: dict[str, str],
    database_url: str,
) -> None:
    """The process keeps an official's subtree while the tree's generation stands: what it
    keeps is what the next request uses (a planted subtree proves no ids came back), and any
    change of the tree, by the API or by SQL, brings the real one back at once."""
    city = await _unit(client, admin, "city", None)
    county = await _unit(client, admin, "county", city["id"])
    town = await _unit(client, admin, "town", county["id"])
    chief, headers = await _official(client, admin, city, "chief")
    assert (await client.get(f"/v1/units/{town['id']}", headers=headers)).status_code == 200
    kept = _known(app)
    known = kept.of_official(uuid.UUID(chief["id"]))
    assert known is not None and known.unit_id == uuid.UUID(city["id"])
    assert {uuid.UUID(u["id"]) for u in (city, county, town)} <= known.ids

    # the same generation: the kept subtree is used as it is, so plant a smaller one
    kept.keep(KnownSubtree(known.unit_id, known.generation, frozenset({known.unit_id})))
    assert (await client.get(f"/v1/units/{town['id']}", headers=headers)).status_code == 404

    # a unit added by SQL, under another root: the generation moves, the subtree comes back
    conn = await asyncpg.connect(database_url.replace("+asyncpg", ""))
    try:
        await conn.execute(
            "INSERT INTO units (id, name, level, created_at, updated_at) "
            "VALUES (gen_random_uuid(), 'elsewhere', 'county', now(), now())"
        )
    finally:
        await conn.close()
    assert (await client.get(f"/v1/units/{town['id']}", headers=headers)).status_code == 200
    again = kept.of_official(uuid.UUID(chief["id"]))
    assert again is not None and again.generation > known.generation

    # a unit added by the API under the city is in reach on the next request
    village = await _unit(client, admin, "village", town["id"])
    assert (await client.get(f"/v1/units/{village['id']}", headers=headers)).status_code == 200
    latest = kept.of_official(uuid.UUID(chief["id"]))
    assert latest is not None and uuid.UUID(village["id"]) in latest.ids


async def test_a_service_tokens_subtree_is_kept_by_its_unit(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    """A city's dashboard token reads its subtree through the same keeping."""
    city = await _unit(client, admin, "city", None)
    county = await _unit(client, admin, "county", city["id"])
    board = await service_token(client, admin, "市大屏", city)
    assert (await client.get(f"/v1/units/{county['id']}", headers=board)).status_code == 200
    known = _known(app).of_unit(uuid.UUID(city["id"]))
    assert known is not None and uuid.UUID(county["id"]) in known.ids
    _known(app).keep(KnownSubtree(known.unit_id, known.generation, frozenset({known.unit_id})))
    assert (await client.get(f"/v1/units/{county['id']}", headers=board)).status_code == 404
