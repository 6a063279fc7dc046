"""Finding a case (issue 21 §3): full-text search in Chinese over title, content, demands,
petitioners' names and addresses, numbers, in the caller's territory and confidentiality; and
likely repeats of a matter by its content and place.

The shared test database holds other tests' cases, so every word searched here is made of
random characters no other test writes.
"""

from __future__ import annotations

import random
import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update

from api.cases.search_tokens import case_tokens, query_of
from api.kit.tokens import tokens
from api.models.case import Case
from api.privacy.crypto import Vault
from api.privacy.service import vault_of
from api.search.reindex import reindex_batch
from tests.conftest import County, higher_office, letter_body

pytestmark = pytest.mark.usefixtures("policy_restore")


def _word(n: int) -> str:
    """`n` random CJK characters (rare ones: no other test writes them)."""
    return "".join(chr(random.randint(0x5000, 0x8FFF)) for _ in range(n))


async def _register(
    client: httpx.AsyncClient, headers: dict[str, str], body: dict[str, Any]
) -> dict[str, Any]:
    resp = await client.post("/v1/cases", json=body, headers=headers)
    assert resp.status_code == 201, resp.text
    return dict(resp.json())


async def _search(client: httpx.AsyncClient, headers: dict[str, str], q: str) -> dict[str, Any]:
    resp = await client.get("/v1/search/cases", params={"q": q}, headers=headers)
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


async def _found(client: httpx.AsyncClient, headers: dict[str, str], q: str) -> list[str]:
    return [hit["id"] for hit in (await _search(client, headers, q))["items"]]


def test_tokens_are_unigrams_bigrams_and_words() -> None:
    assert tokens("拆迁补偿") == {"拆迁", "迁补", "补偿"}
    assert tokens("张三", unigrams=True) == {"张", "三", "张三"}
    assert tokens("信访-2026-000123，ABC") == {"信访", "2026", "000123", "abc"}
    vault = Vault([_fernet()], "k" * 40)
    stored = case_tokens(
        vault,
        title="拖欠工资",
        content="工程款",
        demands=None,
        number="信访-2026-000001",
        higher_reference=None,
        petitioners=[{"name": "王五", "address": "杨庄村"}],
    )
    # the name and the address only as keyed hashes, never in clear
    assert not {"王五", "王", "五", "杨庄", "庄村"} & set(stored)
    assert vault.blind_token("王五") in stored and vault.blind_token("杨庄") in stored
    assert {"拖欠", "t:拖欠", "工程", "000001"} <= set(stored)
    parsed = query_of(vault, "王五  拖欠", max_terms=8)
    assert [t.text for t in parsed.terms] == ["王五", "拖欠"]
    assert parsed.terms[0].blinded == [vault.blind_token("王五")]


def _fernet() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


async def test_a_two_character_name_is_found_without_being_stored_in_clear(
    app: FastAPI, county: County, client: httpx.AsyncClient
) -> None:
    staff = await county.headers(client, "county_staff")
    name, other = _word(2), _word(2)
    address = _word(3) + "村"
    body = letter_body(
        county, petitioners=[{"name": name, "phone": "13700000001", "address": address}]
    )
    case = await _register(client, staff, body)
    page = await _search(client, staff, name)
    [hit] = page["items"]
    assert hit["id"] == case["id"] and hit["number"] == case["number"]
    assert hit["matched"] == ["petitioner_name"] and hit["title"] == "拖欠工资"
    assert await _found(client, staff, name[0] + " " + address[:2]) == [case["id"]]
    assert await _found(client, staff, other) == []
    # with a word of the matter too, each term must match
    assert await _found(client, staff, f"{name} 拖欠") == [case["id"]]
    assert await _found(client, staff, f"{name} {other}") == []
    async with app.state.desk.sessionmaker() as session:
        stored = await session.scalar(
            select(Case.search_tokens).where(Case.id == uuid.UUID(case["id"]))
        )
    assert stored and name not in stored and name[0] not in stored
    assert not any(name in t or address[:2] in t for t in stored)


async def test_numbers_title_content_and_demands_are_found_and_ranked(
    county: County, client: httpx.AsyncClient
) -> None:
    staff = await county.headers(client, "county_staff")
    word = _word(4)
    in_title = await _register(client, staff, letter_body(county, title=f"{word}问题"))
    in_content = await _register(client, staff, letter_body(county, content=f"反映{word}的问题。"))
    in_demands = await _register(client, staff, letter_body(county, demands=f"解决{word}"))
    page = await _search(client, staff, word)
    ids = [hit["id"] for hit in page["items"]]
    assert ids[0] == in_title["id"]  # title words count twice
    assert set(ids) == {in_title["id"], in_content["id"], in_demands["id"]}
    where = {hit["id"]: hit["matched"] for hit in page["items"]}
    assert where[in_content["id"]] == ["content"] and where[in_demands["id"]] == ["demands"]
    number = in_content["number"]
    assert in_content["id"] in await _found(client, staff, number)
    [hit] = (await _search(client, staff, f"{number} {word}"))["items"]
    assert hit["id"] == in_content["id"] and "number" in hit["matched"]


async def test_a_case_handed_down_is_found_by_the_higher_offices_reference(
    county: County, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    """The desk looks a transferred case up by the number on the higher office's paper
    (市信交〔2026〕…号), whole or by its serial part."""
    _, system = await higher_office(client, admin, county.county)
    serial = uuid.uuid4().hex[:6]
    reference = f"市信交〔2026〕{serial}号"
    body = {
        "kind": "assigned",
        "reference": reference,
        "petitioners": [{"name": "钱七", "phone": "13700000011"}],
        "title": "宅基地纠纷",
        "content": "邻里宅基地界址争议。",
    }
    made = await client.post("/v1/transfers", json=body, headers=system)
    assert made.status_code == 201, made.text
    case_id = made.json()["case_id"]
    staff = await county.headers(client, "county_staff")
    assert await _found(client, staff, reference) == [case_id]
    assert case_id in await _found(client, staff, serial)
    [hit] = (await _search(client, staff, reference))["items"]
    assert "higher_reference" in hit["matched"], hit


async def test_a_case_outside_the_territory_is_never_found(
    county: County, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    staff = await county.headers(client, "county_staff")
    word = _word(3)
    theirs = await _register(
        client, staff, letter_body(county, title=word, origin_unit_id=county.village["id"])
    )
    ours = await _register(client, staff, letter_body(county, title=word))  # village2
    chief = await county.headers(client, "village2_chief")
    assert await _found(client, chief, word) == [ours["id"]]
    assert set(await _found(client, staff, word)) == {ours["id"], theirs["id"]}
    # nor a case complaining about the reader, though in reach
    about = await _register(
        client,
        staff,
        letter_body(
            county, title=word, complained_official_ids=[county.officials["village2_chief"]["id"]]
        ),
    )
    assert about["id"] not in await _found(client, chief, word)


async def test_a_confidential_case_is_found_only_by_who_may_read_it(
    county: County, client: httpx.AsyncClient
) -> None:
    staff = await county.headers(client, "town_staff")
    word = _word(3)
    body = letter_body(
        county,
        title=f"举报{word}",
        confidential=True,
        confidential_readers=[county.officials["town_deputy"]["id"]],
    )
    case = await _register(client, staff, body)
    for key in ("town_deputy", "county_staff", "town_staff"):
        page = await _search(client, await county.headers(client, key), word)
        [hit] = page["items"]
        assert hit["id"] == case["id"] and hit["confidential"] is True, key
        assert hit["title"] == f"举报{word}"
    chief = await county.headers(client, "town_chief")  # in reach, may not read it
    assert await _found(client, chief, word) == []
    assert await _found(client, chief, case["number"]) == []
    similar = await client.get(f"/v1/cases/{case['id']}/similar", headers=chief)
    assert similar.status_code == 403, similar.text


async def test_a_corrected_case_is_found_by_its_new_words(
    county: County, client: httpx.AsyncClient
) -> None:
    staff = await county.headers(client, "county_staff")
    old, new, name = _word(3), _word(3), _word(2)
    case = await _register(client, staff, letter_body(county, title=old))
    assert await _found(client, staff, old) == [case["id"]]
    body = {
        "title": new,
        "petitioners": [{"name": name, "phone": "13700000000"}],
        "reason": "登记有误",
    }
    resp = await client.patch(f"/v1/cases/{case['id']}", json=body, headers=staff)
    assert resp.status_code == 200, resp.text
    assert await _found(client, staff, new) == [case["id"]]
    assert await _found(client, staff, name) == [case["id"]]
    assert await _found(client, staff, old) == []
    assert await _found(client, staff, "赵六 " + new) == []  # the old name is gone


async def test_reindex_gives_old_cases_their_tokens(
    app: FastAPI, county: County, client: httpx.AsyncClient
) -> None:
    staff = await county.headers(client, "county_staff")
    word = _word(3)
    case = await _register(client, staff, letter_body(county, title=word))
    case_id = uuid.UUID(case["id"])
    async with app.state.desk.sessionmaker() as session:
        await session.execute(update(Case).where(Case.id == case_id).values(search_tokens=[]))
        await session.commit()
    assert await _found(client, staff, word) == []  # as a case from before migration 0030
    async with app.state.desk.sessionmaker() as session:
        before = uuid.UUID(int=case_id.int - 1)
        last, seen, changed = await reindex_batch(session, vault_of(session), after=before, size=1)
        await session.commit()
    assert (last, seen, changed) == (case_id, 1, 1)
    assert await _found(client, staff, word) == [case["id"]]
    async with app.state.desk.sessionmaker() as session:
        again = await reindex_batch(session, vault_of(session), after=before, size=1)
    assert again == (case_id, 1, 0)


async def test_likely_repeats_by_content_and_place(
    county: County, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    staff = await county.headers(client, "county_staff")
    matter = _word(12)
    first = await _register(
        client,
        staff,
        letter_body(county, title=f"{matter[:4]}拖欠", content=f"村民反映{matter}至今未解决。"),
    )
    elsewhere = await _register(
        client,
        staff,
        letter_body(
            county,
            title=f"{matter[:4]}拖欠",
            content=f"村民反映{matter}至今未解决。",
            origin_unit_id=county.village["id"],
        ),
    )
    unrelated = await _register(
        client, staff, letter_body(county, title=_word(4), content=_word(20))
    )
    draft = {
        "title": f"{matter[:4]}问题",
        "content": f"又来反映{matter}，仍未解决",
        "origin_unit_id": county.village2["id"],
    }
    resp = await client.post("/v1/search/similar", json=draft, headers=staff)
    assert resp.status_code == 200, resp.text
    found = resp.json()
    assert [s["id"] for s in found] == [first["id"]]
    assert 0.3 <= found[0]["score"] <= 1 and found[0]["shared"] >= 10
    again = await _register(
        client, staff, letter_body(county, title=draft["title"], content=draft["content"])
    )
    on_case = await client.get(f"/v1/cases/{again['id']}/similar", headers=staff)
    assert on_case.status_code == 200, on_case.text
    ids = [s["id"] for s in on_case.json()]
    assert ids == [first["id"]]
    assert elsewhere["id"] not in ids and unrelated["id"] not in ids
    # the policy's minimum: above every score, nothing is offered
    policy = (await client.get("/v1/policies", headers=staff)).json()["policy"]
    policy["search"]["similar_min_score"] = 1.0
    put = await client.put("/v1/policies", json=policy, headers=admin)
    assert put.status_code == 200, put.text
    assert (await client.get(f"/v1/cases/{again['id']}/similar", headers=staff)).json() == []


async def test_an_empty_query_finds_nothing(county: County, client: httpx.AsyncClient) -> None:
    staff = await county.headers(client, "county_staff")
    page = await _search(client, staff, "，。！")
    assert page["items"] == [] and page["terms"] == []
    bad = await client.get("/v1/search/cases", params={"q": ""}, headers=staff)
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")
