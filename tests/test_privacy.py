"""Petitioners' privacy: ID-card and phone numbers never at rest in clear, masked for roles that
may not read them, found by exact number through a keyed hash, re-encrypted by key rotation,
and never in alert texts or webhook payloads."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from alembic import command
from alembic.config import Config
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from api.app import create_app
from api.events.service import case_summary
from api.models.case import Case
from api.policies.templates import FIELDS
from api.privacy.__main__ import rotate
from api.privacy.access_log import ACCESS_LOGGER, install
from api.privacy.crypto import (
    Kind,
    PrivacyConfigError,
    UnreadableValueError,
    Vault,
    mask_id_number,
    mask_phone,
    new_key,
)
from api.privacy.schemas import Petitioner
from api.privacy.service import reseal, seal
from shared.embedded import Services, create_fresh_database_async, drop_database_async
from shared.settings import Settings
from tests.conftest import (
    ADMIN_PASSWORD,
    PII_HASH_KEY,
    PII_KEYS,
    ROOT,
    County,
    login,
    make_county,
    migrate,
    service_token,
    visit_body,
)


def fresh_numbers() -> tuple[str, str]:
    """An ID-card number and a mobile number nobody else in the test database has."""
    n = uuid.uuid4().int
    return f"3201{n % 10**13:013d}X", f"13{n // 10**13 % 10**9:09d}"


def body_with(county: County, id_number: str, phone: str, **changes: Any) -> dict[str, Any]:
    """A visit of two petitioners: one known by phone, one by ID-card number."""
    body = visit_body(county.village2, county.town, 2)
    body["petitioners"] = [
        {"name": "张三", "phone": phone, "is_representative": True},
        {"name": "李四", "id_number": id_number, "is_representative": True},
    ]
    return body | changes


async def register(
    client: httpx.AsyncClient, headers: dict[str, str], body: dict[str, Any]
) -> dict[str, Any]:
    resp = await client.post("/v1/cases", json=body, headers=headers)
    assert resp.status_code == 201, resp.text
    return dict(resp.json())


def numbers_of(case: dict[str, Any]) -> tuple[str | None, str | None]:
    """(the ID-card number, the phone) as the response shows them."""
    by_name = {p["name"]: p for p in case["petitioners"]}
    return by_name["李四"]["id_number"], by_name["张三"]["phone"]


async def rows_holding(session: AsyncSession, needle: str) -> list[str]:
    """Every table with a row whose text form contains `needle`."""
    tables = await session.execute(
        text(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
            "AND tablename <> 'alembic_version'"
        )
    )
    found = []
    for (table,) in tables:
        hits = await session.execute(
            text(f'SELECT count(*) FROM "{table}" AS r WHERE r::text LIKE :needle'),
            {"needle": f"%{needle}%"},
        )
        if hits.scalar_one():
            found.append(str(table))
    return found


# -- at rest -------------------------------------------------------------------------------


async def test_the_database_holds_no_plain_numbers(
    client: httpx.AsyncClient, county: County, app: FastAPI, admin: dict[str, str]
) -> None:
    id_number, phone = fresh_numbers()
    staff = await county.headers(client, "town_staff")
    key = {"Idempotency-Key": str(uuid.uuid4())}
    case = await register(client, staff | key, body_with(county, id_number.lower(), phone))
    # an answer kept for replays is masked whatever the role: the replay store holds nothing
    assert numbers_of(case) == (mask_id_number(id_number), mask_phone(phone))
    found = await client.get("/v1/cases", params={"id_number": id_number}, headers=staff)
    assert [c["id"] for c in found.json()["items"]] == [case["id"]]

    async with app.state.desk.sessionmaker() as session:
        raw = (
            await session.execute(
                text("SELECT petitioners::text FROM cases WHERE id = :id"), {"id": case["id"]}
            )
        ).scalar_one()
        assert id_number not in raw and id_number.lower() not in raw and phone not in raw
        assert '"id_number":' not in raw and '"phone":' not in raw
        for field in ("id_number_enc", "id_number_hash", "phone_enc", "phone_hash"):
            assert f'"{field}":' in raw
        # nowhere else either: not in the idempotency store, the audit trail, the outbox …
        assert await rows_holding(session, id_number) == []
        assert await rows_holding(session, phone) == []
        searched = await session.execute(
            text("SELECT count(*) FROM audit_entries WHERE query->>'id_number' = :masked"),
            {"masked": mask_id_number(id_number)},
        )
        assert searched.scalar_one() == 1


# -- shown ---------------------------------------------------------------------------------


async def test_numbers_are_masked_unless_the_role_may_read_personal_data(
    client: httpx.AsyncClient, county: County, admin: dict[str, str]
) -> None:
    id_number, phone = fresh_numbers()
    staff = await county.headers(client, "town_staff")
    case = await register(client, staff, body_with(county, id_number.lower(), phone))
    assert numbers_of(case) == (id_number, phone)  # registered by petition staff: clear

    masked = (f"3201{'*' * 10}{id_number[-4:]}", f"{phone[:3]}****{phone[-4:]}")
    viewer = await service_token(client, admin, f"dashboard-{uuid.uuid4().hex[:6]}", county.town)
    seen = {
        "viewer": viewer,
        "grid_worker": await county.headers(client, "grid"),
        "petition_staff": staff,
        "chief": await county.headers(client, "county_chief"),
        "admin": admin,
    }
    for role, headers in seen.items():
        expected = masked if role in ("viewer", "grid_worker") else (id_number, phone)
        one = await client.get(f"/v1/cases/{case['id']}", headers=headers)
        assert one.status_code == 200, (role, one.text)
        assert numbers_of(one.json()) == expected, role
        listed = await client.get("/v1/cases", params={"phone": phone}, headers=headers)
        assert [numbers_of(c) for c in listed.json()["items"]] == [expected], role

    grid = seen["grid_worker"]
    registered_by_grid = await register(
        client,
        grid,
        body_with(county, id_number, phone, channel="grid", lodged_unit_id=None)
        | {"lodged_level": "village", "origin_unit_id": county.village2["id"]},
    )
    assert numbers_of(registered_by_grid) == masked  # even what they typed in themselves


# -- found ---------------------------------------------------------------------------------


async def test_exact_search_by_id_number_and_phone(
    client: httpx.AsyncClient, county: County, admin: dict[str, str]
) -> None:
    id_number, phone = fresh_numbers()
    staff = await county.headers(client, "town_staff")
    case = await register(client, staff, body_with(county, id_number, phone))

    async def found(headers: dict[str, str], **params: str) -> list[str]:
        resp = await client.get("/v1/cases", params=params, headers=headers)
        assert resp.status_code == 200, resp.text
        return [c["id"] for c in resp.json()["items"]]

    assert await found(staff, id_number=id_number) == [case["id"]]
    assert await found(staff, id_number=id_number.lower()) == [case["id"]]
    assert await found(staff, phone=phone) == [case["id"]]
    assert await found(staff, phone="+86" + phone) == [case["id"]]
    other_id, other_phone = fresh_numbers()
    assert await found(staff, id_number=other_id) == []
    assert await found(staff, phone=other_phone) == []
    # both filters: one petitioner with both numbers (here they belong to two people)
    assert await found(staff, id_number=id_number, phone=phone) == []
    assert await found(staff, id_number=id_number, category="land.acquisition") == [case["id"]]
    assert await found(staff, id_number=id_number, category="labour.wages") == []

    elsewhere = await make_county(client, admin)
    assert await found(await elsewhere.headers(client, "county_staff"), id_number=id_number) == []

    bad = await client.get("/v1/cases", params={"id_number": "123"}, headers=staff)
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")


async def test_repeat_petitions_are_recognised_by_keyed_hash(
    client: httpx.AsyncClient, county: County
) -> None:
    id_number, phone = fresh_numbers()
    staff = await county.headers(client, "town_staff")
    first = await register(client, staff, body_with(county, id_number, phone))
    by_id = await register(client, staff, body_with(county, id_number.lower(), fresh_numbers()[1]))
    assert by_id["repeat_of_id"] == first["id"]
    by_phone = await register(client, staff, body_with(county, fresh_numbers()[0], "+86" + phone))
    assert by_phone["repeat_of_id"] == first["id"]
    stranger = await register(client, staff, body_with(county, *fresh_numbers()))
    assert stranger["repeat_of_id"] is None


# -- alerts and webhooks -------------------------------------------------------------------


async def test_alerts_and_webhooks_carry_no_personal_numbers(
    client: httpx.AsyncClient, county: County, admin: dict[str, str], app: FastAPI
) -> None:
    personal = {"id_number", "phone", "petitioners", "address", "name"}
    assert all(not (fields & personal) for fields in FIELDS.values())
    subscription = await client.post(
        "/v1/webhook-subscriptions",
        json={
            "url": f"http://127.0.0.1:9/hook/{uuid.uuid4().hex}",
            "event_types": ["case.created", "case.updated", "arrival.recorded"],
        },
        headers=admin,
    )
    assert subscription.status_code == 201, subscription.text
    try:
        id_number, phone = fresh_numbers()
        staff = await county.headers(client, "town_staff")
        case = await register(client, staff, body_with(county, id_number, phone))
        await client.post(f"/v1/cases/{case['id']}/arrivals", json={}, headers=staff)
        alerts = (
            await client.get("/v1/alerts", params={"case_id": case["id"]}, headers=admin)
        ).json()["items"]
        assert {a["channel"] for a in alerts} >= {"sms", "webhook"}
        async with app.state.desk.sessionmaker() as session:
            rows = await session.execute(
                text("SELECT text, payload, template_fields FROM alerts WHERE case_id = :id"),
                {"id": case["id"]},
            )
            stored = [row._asdict() for row in rows]
        assert stored
        for row in stored:
            for number in (id_number, phone, id_number[-8:]):
                assert number not in str(row), row
        webhooks = [r["payload"] for r in stored if r["payload"]]
        async with app.state.desk.sessionmaker() as session:
            summary = case_summary(await session.get(Case, uuid.UUID(case["id"])))
        assert webhooks and all(set(p["data"]["case"]) == set(summary) for p in webhooks)
    finally:
        await client.delete(f"/v1/webhook-subscriptions/{subscription.json()['id']}", headers=admin)


async def test_a_title_with_an_id_or_phone_number_is_refused(
    client: httpx.AsyncClient, county: County
) -> None:
    id_number, phone = fresh_numbers()
    staff = await county.headers(client, "town_staff")
    for title in (f"{id_number}反映补偿款", f"张三{phone}反映补偿款"):
        resp = await client.post(
            "/v1/cases", json=body_with(county, id_number, phone, title=title), headers=staff
        )
        assert resp.status_code == 422, resp.text
        assert resp.json()["errors"][0]["pointer"] == "/title"


# -- keys ----------------------------------------------------------------------------------


def test_the_vault_refuses_missing_or_malformed_keys() -> None:
    good_hash = "h" * 32
    for keys, hash_key in (([], good_hash), (["not-a-key"], good_hash), ([new_key()], "short")):
        with pytest.raises(PrivacyConfigError):
            Vault(keys, hash_key)
    with pytest.raises(PrivacyConfigError):
        Vault.from_settings(Settings(pii_keys="", pii_hash_key=good_hash))


async def test_the_api_does_not_start_without_keys(settings: Settings) -> None:
    keyless = create_app(settings.model_copy(update={"pii_keys": ""}))
    with pytest.raises(PrivacyConfigError):
        async with keyless.router.lifespan_context(keyless):
            pass


def test_masks_and_hashes() -> None:
    vault = Vault([new_key()], "k" * 32)
    assert mask_id_number("32010219800101123x") == "3201**********123X"
    assert mask_phone("13800000001") == "138****0001"
    assert mask_phone("+8613800000001") == "+86*******0001"
    assert mask_phone("83334444") == "******44"
    same = {vault.blind(Kind.phone, p) for p in ("13800000001", "+8613800000001", "138-0000-0001")}
    assert len(same) == 1
    assert vault.blind(Kind.id_number, "32010219800101123x") == vault.blind(
        Kind.id_number, "32010219800101123X"
    )
    # the same digits as an ID and as a phone never collide; another key, other hashes
    assert vault.blind(Kind.phone, "13800000001") != vault.blind(Kind.id_number, "13800000001")
    assert Vault([new_key()], "j" * 32).blind(Kind.phone, "13800000001") not in same


def test_rotation_unit() -> None:
    a, b = new_key(), new_key()
    old = Vault([a], "k" * 32)
    item = seal(old, Petitioner(name="张三", id_number="32010219800101123X", phone="13800000001"))
    assert reseal(old, item) is None  # already under the newest key
    both = Vault([b, a], "k" * 32)
    rotated = reseal(both, item)
    assert rotated is not None and reseal(both, rotated) is None
    assert rotated["id_number_hash"] == item["id_number_hash"]
    only_b = Vault([b], "k" * 32)
    assert only_b.decrypt(rotated["id_number_enc"]) == "32010219800101123X"
    assert only_b.decrypt(rotated["phone_enc"]) == "13800000001"
    with pytest.raises(UnreadableValueError):
        only_b.decrypt(item["id_number_enc"])
    # a new hash key: the hashes are recomputed from the clear numbers
    rehashed = reseal(Vault([b], "n" * 32), rotated)
    assert rehashed is not None
    assert rehashed["phone_hash"] == Vault([b], "n" * 32).blind(Kind.phone, "13800000001")
    assert rehashed["phone_enc"] == rotated["phone_enc"]


@dataclass
class Scratch:
    """An app of its own on a database of its own (rotation and migrations rewrite every row)."""

    url: str
    settings: Settings
    client: httpx.AsyncClient
    admin: dict[str, str]
    county: County
    sessions: async_sessionmaker[AsyncSession]


@pytest.fixture
async def scratch(services: Services, settings: Settings) -> AsyncIterator[Scratch]:
    url = await create_fresh_database_async(services.database_url, "pd_privacy")
    engine = create_async_engine(url)
    try:
        await asyncio.to_thread(migrate, url)
        own = settings.model_copy(
            update={"database_url": url, "arq_queue": f"pd-privacy:{uuid.uuid4().hex[:8]}"}
        )
        application = create_app(own)
        async with application.router.lifespan_context(application):
            transport = httpx.ASGITransport(app=application)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
                admin = await login(http, "admin", ADMIN_PASSWORD)
                county = await make_county(http, admin)
                yield Scratch(
                    url,
                    own,
                    http,
                    admin,
                    county,
                    async_sessionmaker(engine, expire_on_commit=False),
                )
    finally:
        await engine.dispose()
        await drop_database_async(url)


async def raw_items(scratch: Scratch) -> dict[str, list[dict[str, Any]]]:
    """Every case's stored petitioners, by case id."""
    async with scratch.sessions() as session:
        rows = await session.execute(text("SELECT id, petitioners FROM cases"))
        return {str(case_id): list(items) for case_id, items in rows}


async def test_key_rotation_re_encrypts_everything(scratch: Scratch) -> None:
    staff = await scratch.county.headers(scratch.client, "town_staff")
    registered = []
    for _ in range(3):
        numbers = fresh_numbers()
        case = await register(scratch.client, staff, body_with(scratch.county, *numbers))
        registered.append((case["id"], numbers))
    # a row written in clear by a replica older than the encryption (rolling deploy)
    legacy_id, legacy_phone = fresh_numbers()
    legacy = [{"name": "王五", "id_number": legacy_id, "phone": legacy_phone}]
    async with scratch.sessions() as session:
        await session.execute(
            text("UPDATE cases SET petitioners = CAST(:p AS jsonb) WHERE id = :id"),
            {"p": json.dumps(legacy), "id": registered[0][0]},
        )
        await session.commit()
    registered[0] = (registered[0][0], (legacy_id, legacy_phone))
    shown = await scratch.client.get(f"/v1/cases/{registered[0][0]}", headers=staff)
    assert shown.json()["petitioners"][0]["phone"] == legacy_phone

    key_b = new_key()
    both = Vault([key_b, PII_KEYS], PII_HASH_KEY)
    assert await rotate(scratch.url, both, 2) == (3, 3)  # batches of two, row-locked
    assert await rotate(scratch.url, both, 2) == (3, 0)  # nothing left to do

    only_b = Vault([key_b], PII_HASH_KEY)
    only_a = Vault([PII_KEYS], PII_HASH_KEY)
    items = await raw_items(scratch)
    for case_id, (id_number, phone) in registered:
        stored = items[case_id]
        assert all("id_number" not in i and "phone" not in i for i in stored)
        clear = {only_b.decrypt(i[f"{k}_enc"]) for i in stored for k in Kind if f"{k}_enc" in i}
        assert {id_number, phone} <= clear
        token = next(i[f"{k}_enc"] for i in stored for k in Kind if f"{k}_enc" in i)
        with pytest.raises(UnreadableValueError):
            only_a.decrypt(token)

    # the API with only the new key reads and finds everything
    rotated_app = create_app(scratch.settings.model_copy(update={"pii_keys": key_b}))
    async with rotated_app.router.lifespan_context(rotated_app):
        transport = httpx.ASGITransport(app=rotated_app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            headers = await scratch.county.headers(http, "town_staff")
            for case_id, (id_number, phone) in registered:
                found = await http.get("/v1/cases", params={"phone": phone}, headers=headers)
                assert [c["id"] for c in found.json()["items"]] == [case_id]
                case = (await http.get(f"/v1/cases/{case_id}", headers=headers)).json()
                visible = {p[k] for p in case["petitioners"] for k in ("id_number", "phone")}
                assert {id_number, phone} <= visible


async def test_migration_0011_round_trip(scratch: Scratch, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PII_KEYS", PII_KEYS)
    monkeypatch.setenv("PII_HASH_KEY", PII_HASH_KEY)
    staff = await scratch.county.headers(scratch.client, "town_staff")
    id_number, phone = fresh_numbers()
    case = await register(scratch.client, staff, body_with(scratch.county, id_number, phone))
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.attributes["database_url"] = scratch.url
    cfg.attributes["configure_logger"] = False

    await asyncio.to_thread(command.downgrade, cfg, "0010")
    plain = (await raw_items(scratch))[case["id"]]
    assert {p.get("id_number") for p in plain} == {id_number, None}
    assert {p.get("phone") for p in plain} == {phone, None}
    assert not any(k.endswith(("_enc", "_hash")) for p in plain for k in p)

    await asyncio.to_thread(command.upgrade, cfg, "head")
    sealed = (await raw_items(scratch))[case["id"]]
    assert id_number not in str(sealed) and phone not in str(sealed)
    found = await scratch.client.get("/v1/cases", params={"id_number": id_number}, headers=staff)
    assert [c["id"] for c in found.json()["items"]] == [case["id"]]
    assert numbers_of(found.json()["items"][0]) == (id_number, phone)

    monkeypatch.setenv("PII_KEYS", "")
    with pytest.raises(PrivacyConfigError):  # rows to convert, no keys: refused, not garbled
        await asyncio.to_thread(command.downgrade, cfg, "0010")


def test_searched_numbers_are_masked_in_the_access_log() -> None:
    install()
    install()  # a second start adds no second filter
    logger = logging.getLogger(ACCESS_LOGGER)
    assert len([f for f in logger.filters if type(f).__name__ == "MaskSearchedNumbers"]) == 1
    path = "/v1/cases?id_number=32010219800101123X&limit=5&phone=%2B8613800000001"
    record = logger.makeRecord(
        ACCESS_LOGGER,
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", path, "1.1", 200),
        None,
    )
    assert logger.filter(record)
    line = record.getMessage()
    assert "32010219800101123X" not in line and "13800000001" not in line
    assert "id_number=3201**********123X" in line and "&limit=5&" in line
    assert "phone=+86*******0001" in line
