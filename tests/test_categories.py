"""The category vocabulary (issue 23 §4): codes with Chinese names on two levels, checked at
registration, used by filters and the bulletin, editable per deployment; free text migrated."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from typing import Any

import httpx
import pytest
from alembic import command
from alembic.config import Config
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from api.categories import service as categories
from api.categories.vocabulary import DEFAULT_CATEGORIES
from api.kit.timeutil import local
from api.models.category import Category
from shared.embedded import Services, create_fresh_database, drop_database
from tests.conftest import ROOT, County, letter_body

PATH = "/v1/categories"


async def test_the_default_vocabulary_has_two_levels_with_chinese_names(
    client: httpx.AsyncClient, county: County
) -> None:
    staff = await county.headers(client, "county_staff")
    resp = await client.get(PATH, headers=staff)
    assert resp.status_code == 200, resp.text
    items = resp.json()["items"]
    by_code = {c["code"]: c for c in items}
    # the matters the seeds and SPEC name
    for code, name in [
        ("land.acquisition", "征地补偿"),
        ("forestry.hill_dispute", "山林权属纠纷"),
        ("labour.wages", "拖欠工资"),
        ("urban.demolition", "房屋拆迁"),
        ("labour.social_security", "社会保险"),
        ("land", "国土资源"),
        ("civil", "民政"),
        ("public_security", "公安"),
        ("law.litigation", "涉法涉诉"),
        ("other", "其他"),
    ]:
        assert by_code[code]["name"] == name
    seen: set[str] = set()
    for item in items:  # every class after its parent, in one list
        assert item["parent"] is None or item["parent"] in seen
        assert item["parent"] is None or item["code"].startswith(item["parent"] + ".")
        assert any("\u4e00" <= ch <= "\u9fff" for ch in item["name"]), item
        seen.add(item["code"])
    assert {c.code for c in DEFAULT_CATEGORIES} <= seen
    one = await client.get(f"{PATH}/land.acquisition", headers=staff)
    assert one.status_code == 200 and one.json() == by_code["land.acquisition"]
    assert (await client.get(f"{PATH}/land.nothing", headers=staff)).status_code == 404


async def test_a_typo_is_refused_and_writes_nothing(
    client: httpx.AsyncClient, county: County
) -> None:
    staff = await county.headers(client, "county_staff")
    before = await client.get(
        "/v1/cases", params={"origin_unit_id": county.village2["id"]}, headers=staff
    )
    for typo in ("land_aquisition", "Land.Acquisition", "征地补偿"):
        resp = await client.post(
            "/v1/cases", json=letter_body(county, category=typo), headers=staff
        )
        assert resp.status_code == 422, resp.text
        problem = resp.json()
        assert resp.headers["content-type"].startswith("application/problem+json")
        assert [e["pointer"] for e in problem["errors"]] == ["/category"]
    after = await client.get(
        "/v1/cases", params={"origin_unit_id": county.village2["id"]}, headers=staff
    )
    assert after.json()["items"] == before.json()["items"]


async def test_other_keeps_the_desks_words_and_needs_them(
    client: httpx.AsyncClient, county: County
) -> None:
    staff = await county.headers(client, "county_staff")
    bare = await client.post("/v1/cases", json=letter_body(county, category="other"), headers=staff)
    assert bare.status_code == 422
    assert bare.json()["errors"][0]["pointer"] == "/category_text"
    body = letter_body(county, category="other", category_text="渔船停靠码头收费")
    made = await client.post("/v1/cases", json=body, headers=staff)
    assert made.status_code == 201, made.text
    case = (await client.get(f"/v1/cases/{made.json()['id']}", headers=staff)).json()
    assert (case["category"], case["category_text"]) == ("other", "渔船停靠码头收费")
    # corrected to a class: the words may stay as a note; back to `other` without them: no
    fixed = await client.patch(
        f"/v1/cases/{case['id']}",
        json={"reason": "归类", "category": "rural.village_affairs"},
        headers=staff,
    )
    assert fixed.status_code == 200, fixed.text
    assert fixed.json()["category"] == "rural.village_affairs"
    wrong = await client.patch(
        f"/v1/cases/{case['id']}",
        json={"reason": "改错", "category": "land.nothing"},
        headers=staff,
    )
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["pointer"] == "/category"
    emptied = await client.patch(
        f"/v1/cases/{case['id']}",
        json={"reason": "改错", "category": "other", "category_text": None},
        headers=staff,
    )
    assert emptied.status_code == 422
    again = (await client.get(f"/v1/cases/{case['id']}", headers=staff)).json()
    assert again["category"] == "rural.village_affairs"


async def test_a_deployment_adds_renames_and_retires_classes(
    client: httpx.AsyncClient, admin: dict[str, str], county: County
) -> None:
    staff = await county.headers(client, "county_staff")
    code = f"land.q{uuid.uuid4().hex[:8]}"
    body = {"name": "采砂取土", "name_en": "Quarrying", "position": 9}
    assert (await client.put(f"{PATH}/{code}", json=body, headers=staff)).status_code == 403
    added = await client.put(f"{PATH}/{code}", json=body, headers=admin)
    assert added.status_code == 201, added.text
    assert added.json() == {**body, "code": code, "parent": "land", "active": True}
    made = await client.post("/v1/cases", json=letter_body(county, category=code), headers=staff)
    assert made.status_code == 201, made.text

    body["name"] = "非法采砂"  # PUT gives the whole new state
    renamed = await client.put(f"{PATH}/{code}", json=body, headers=admin)
    assert renamed.status_code == 200 and renamed.json()["name"] == "非法采砂"
    retired = await client.put(f"{PATH}/{code}", json={**body, "active": False}, headers=admin)
    assert retired.status_code == 200 and retired.json()["active"] is False
    refused = await client.post("/v1/cases", json=letter_body(county, category=code), headers=staff)
    assert refused.status_code == 422, refused.text
    # the case filed under it keeps it, and the list still names it
    kept = (await client.get(f"/v1/cases/{made.json()['id']}", headers=staff)).json()
    assert kept["category"] == code
    listed = {c["code"]: c for c in (await client.get(PATH, headers=staff)).json()["items"]}
    assert listed[code]["name"] == "非法采砂" and listed[code]["active"] is False

    # a code needs an existing top-level class; the service's own codes stay
    orphan = await client.put(f"{PATH}/nowhere.x", json=body, headers=admin)
    assert orphan.status_code == 422 and orphan.json()["errors"][0]["pointer"] == "/code"
    deep = await client.put(f"{PATH}/land.a.b", json=body, headers=admin)
    assert deep.status_code == 422
    for system in ("other", "unclassified"):
        stuck = await client.put(
            f"{PATH}/{system}",
            json={"name": "其他", "name_en": "Other", "active": False},
            headers=admin,
        )
        assert stuck.status_code == 409, stuck.text


async def test_a_class_changed_by_another_process_is_seen(
    app: FastAPI, client: httpx.AsyncClient, county: County, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process (here: a direct write) adds a class: accepted at once; it retires one:
    accepted until this process's copy is older than `KEPT_FOR`, then refused."""
    staff = await county.headers(client, "county_staff")
    await client.get(PATH, headers=staff)  # this process keeps the vocabulary now
    code = f"civil.p{uuid.uuid4().hex[:8]}"
    async with app.state.desk.sessionmaker() as session:
        session.add(Category(code=code, parent="civil", name="殡葬管理", name_en="Funerals"))
        await session.commit()
    made = await client.post("/v1/cases", json=letter_body(county, category=code), headers=staff)
    assert made.status_code == 201, made.text
    async with app.state.desk.sessionmaker() as session:
        await session.execute(
            text("UPDATE categories SET active = false WHERE code = :c"), {"c": code}
        )
        await session.commit()
    late = await client.post("/v1/cases", json=letter_body(county, category=code), headers=staff)
    assert late.status_code == 201, "within KEPT_FOR the kept copy still offers it"
    monkeypatch.setattr(categories, "KEPT_FOR", 0.0)
    now = await client.post("/v1/cases", json=letter_body(county, category=code), headers=staff)
    assert now.status_code == 422, now.text


async def test_a_top_level_filter_takes_the_classes_under_it(
    client: httpx.AsyncClient, county: County
) -> None:
    staff = await county.headers(client, "county_staff")
    ids: dict[str, str] = {}
    for category in ("land.acquisition", "land", "labour.wages", "land.homestead"):
        made = await client.post(
            "/v1/cases", json=letter_body(county, category=category), headers=staff
        )
        assert made.status_code == 201, made.text
        ids[category] = made.json()["id"]

    async def found(category: str) -> set[str]:
        params = {"category": category, "origin_unit_id": county.village2["id"]}
        resp = await client.get("/v1/cases", params=params, headers=staff)
        assert resp.status_code == 200, resp.text
        return {c["id"] for c in resp.json()["items"]}

    assert await found("land") == {ids["land"], ids["land.acquisition"], ids["land.homestead"]}
    assert await found("land.acquisition") == {ids["land.acquisition"]}
    assert await found("labour") == {ids["labour.wages"]}
    assert await found("lan") == set()  # a prefix of a code is not a class


async def test_the_bulletin_counts_cases_by_category_with_chinese_names(
    client: httpx.AsyncClient, admin: dict[str, str], county: County
) -> None:
    staff = await county.headers(client, "county_staff")
    for category in ("labour.wages", "labour.wages", "land.acquisition"):
        made = await client.post(
            "/v1/cases", json=letter_body(county, category=category), headers=staff
        )
        assert made.status_code == 201, made.text
    month = f"{local(datetime.now().astimezone()):%Y-%m}"
    params = {"month": month, "unit_id": county.county["id"]}
    resp = await client.get("/v1/reports/monthly", params=params, headers=admin)
    assert resp.status_code == 200, resp.text
    rows = {c["code"]: c for c in resp.json()["categories"]}
    assert rows["labour.wages"] == {
        "code": "labour.wages",
        "name": "拖欠工资",
        "group": "劳动和社会保障",
        "cases": 2,
        "share": round(2 / 3, 4),
    }
    assert rows["land.acquisition"]["name"] == "征地补偿" and rows["land.acquisition"]["cases"] == 1
    sheet = await client.get(
        "/v1/reports/monthly", params=params, headers={**admin, "Accept": "text/csv"}
    )
    assert sheet.status_code == 200
    assert "信访事项分类" in sheet.text and "拖欠工资" in sheet.text
    assert "labour.wages" not in sheet.text


async def test_a_transfer_names_its_class_or_keeps_the_offices_words(
    client: httpx.AsyncClient, admin: dict[str, str], county: County
) -> None:
    from tests.test_transfers import _office, _office_token, _transfer

    city = await _office(client, admin, "city")
    system = await _office_token(client, admin, city, county.county)
    staff = await county.headers(client, "county_staff")
    for given, code, words in [
        ("urban.demolition", "urban.demolition", None),
        ("城建拆迁类", "unclassified", "城建拆迁类"),
    ]:
        resp = await client.post("/v1/transfers", json=_transfer(category=given), headers=system)
        assert resp.status_code == 201, resp.text
        case = (await client.get(f"/v1/cases/{resp.json()['case_id']}", headers=staff)).json()
        assert (case["category"], case["category_text"]) == (code, words)


# --- the migration of free text (0031) ----------------------------------------------------


def _alembic(url: str) -> Config:
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.attributes["database_url"] = url
    cfg.attributes["configure_logger"] = False
    return cfg


async def _insert(conn: Any, table: str, given: dict[str, Any]) -> None:
    """A row of `table` with `given` and a plain value in every other required column."""
    columns = await conn.execute(
        text(
            "SELECT column_name, data_type, udt_name FROM information_schema.columns"
            " WHERE table_name = :t AND is_nullable = 'NO' AND column_default IS NULL"
        ),
        {"t": table},
    )
    values = dict(given)
    for name, data_type, udt in columns:
        if name in values:
            continue
        if data_type == "USER-DEFINED":
            label = await conn.execute(
                text(
                    "SELECT e.enumlabel FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid"
                    " WHERE t.typname = :u ORDER BY e.enumsortorder LIMIT 1"
                ),
                {"u": udt},
            )
            values[name] = label.scalar_one()
        else:
            values[name] = {
                "uuid": uuid.uuid4(),
                "integer": 1,
                "bigint": 1,
                "boolean": False,
                "double precision": 0.0,
                "jsonb": "[]",
                "ARRAY": [],
                "timestamp with time zone": datetime.now().astimezone(),
                "date": datetime.now().date(),
            }.get(data_type, "x")
    names = ", ".join(values)
    marks = ", ".join(
        f"CAST(:{n} AS jsonb)" if isinstance(values[n], str) and values[n] == "[]" else f":{n}"
        for n in values
    )
    await conn.execute(text(f"INSERT INTO {table} ({names}) VALUES ({marks})"), values)


OLD = {
    "land_acquisition": "land.acquisition",
    "Wages": "labour.wages",
    "征地补偿": "land.acquisition",
    "forestry": "forestry",
    "渔船停靠收费": "other",
}


async def _seed_free_text(url: str) -> dict[str, uuid.UUID]:
    """Cases, counters, facts and a screening item as a database at 0030 holds them."""
    engine = create_async_engine(url)
    unit = uuid.uuid4()
    cases: dict[str, uuid.UUID] = {}
    async with engine.begin() as conn:
        await _insert(conn, "units", {"id": unit, "name": "城关县", "parent_id": None})
        for n, category in enumerate(OLD):
            cases[category] = uuid.uuid4()
            await _insert(
                conn,
                "cases",
                {
                    "id": cases[category],
                    "number": f"XF-2026-{n:06d}",
                    "county_id": unit,
                    "origin_unit_id": unit,
                    "intake_unit_id": unit,
                    "category": category,
                    "petitioners": "[]",
                },
            )
            facts = f'{{"cases": 1, "category:{category}": 1}}'
            await conn.execute(
                text("INSERT INTO case_stat_facts (case_id, facts) VALUES (:c, CAST(:f AS jsonb))"),
                {"c": cases[category], "f": facts},
            )
            await conn.execute(
                text(
                    "INSERT INTO stat_counters (unit_id, period, day, key, value)"
                    " VALUES (:u, 'm', '2026-11-01', :k, 1)"
                ),
                {"u": unit, "k": f"category:{category}"},
            )
        official = uuid.uuid4()
        await _insert(conn, "officials", {"id": official, "unit_id": unit})
        await _insert(
            conn,
            "screening_items",
            {
                "unit_id": unit,
                "category": "wages",
                "people": "[]",
                "owner_leader_id": official,
                "recorded_by": official,
            },
        )
    await engine.dispose()
    return cases


async def _check_codes(url: str, cases: dict[str, uuid.UUID]) -> None:
    engine = create_async_engine(url)
    async with engine.connect() as conn:
        rows = await conn.execute(text("SELECT id, category, category_text FROM cases"))
        got = {case_id: (category, words) for case_id, category, words in rows}
        for before, after in OLD.items():
            words = before if after == "other" else None
            assert got[cases[before]] == (after, words), before
        counters = await conn.execute(
            text("SELECT key, value FROM stat_counters WHERE key LIKE 'category:%'")
        )
        assert dict(counters.all()) == {
            "category:land.acquisition": 2,  # two spellings, one class
            "category:labour.wages": 1,
            "category:forestry": 1,
            "category:other": 1,
        }
        facts = await conn.execute(
            text("SELECT facts FROM case_stat_facts WHERE case_id = :c"),
            {"c": cases["征地补偿"]},
        )
        assert facts.scalar_one() == {"cases": 1, "category:land.acquisition": 1}
        screened = await conn.execute(text("SELECT category FROM screening_items"))
        assert screened.scalar_one() == "labour.wages"
    await engine.dispose()


def test_free_text_categories_become_codes_and_nothing_is_lost(services: Services) -> None:
    """Migration 0031 on a database holding free text: codes, `other` with the words, and the
    dashboard's counters and facts moved (merged where two spellings meet)."""
    url = create_fresh_database(services.database_url, "pd_categories")
    try:
        command.upgrade(_alembic(url), "0030")
        cases = asyncio.run(_seed_free_text(url))
        command.upgrade(_alembic(url), "0031")
        asyncio.run(_check_codes(url, cases))
    finally:
        drop_database(url)
