"""Polling (SPEC §6): every read answers an ETag and a 304 when nothing changed; lists take
`updated_since` for change feeds."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from fastapi import FastAPI
from PIL import Image

from api.kit import polling
from tests.conftest import County, higher_office, visit_body


async def _ids(client: httpx.AsyncClient, admin: dict[str, str], county: County) -> dict[str, str]:
    staff = await county.headers(client, "town_staff")
    case = await client.post(
        "/v1/cases", json=visit_body(county.village2, county.town, 3), headers=staff
    )
    assert case.status_code == 201, case.text
    subscription = await client.post(
        "/v1/webhook-subscriptions",
        json={"url": "https://example.org/hook", "event_types": ["case.created"]},
        headers=admin,
    )
    chief = county.officials["town_chief"]["id"]
    made = {}
    for path, body in (
        (
            "/v1/screening/items",
            {
                "unit_id": county.town["id"],
                "category": "land",
                "title": "宅基地纠纷",
                "risk_level": "low",
                "owner_leader_id": chief,
            },
        ),
        (
            "/v1/decisions",
            {
                "unit_id": county.town["id"],
                "title": "拆迁",
                "kind": "demolition",
                "owner_leader_id": chief,
            },
        ),
        (
            "/v1/reception/appointments",
            {
                "unit_id": county.town["id"],
                "leader_id": chief,
                "petitioner_name": "王五",
                "at": (datetime.now(UTC) + timedelta(days=1)).isoformat(),
                "place": "接访室",
            },
        ),
    ):
        resp = await client.post(path, json=body, headers=staff)
        assert resp.status_code == 201, resp.text
        made[path] = resp.json()["id"]
    office, system = await higher_office(client, admin, county.county)
    transfer = await client.post(
        "/v1/transfers",
        json={
            "kind": "transferred",
            "reference": "poll-1",
            "petitioners": [{"name": "王五"}],
            "title": "宅基地纠纷",
            "content": "界址争议",
        },
        headers=system,
    )
    assert transfer.status_code == 201, transfer.text
    photo = io.BytesIO()
    Image.new("RGB", (64, 48), "green").save(photo, "JPEG")
    material = await client.post(
        f"/v1/cases/{case.json()['id']}/materials",
        files={"file": ("现场照片.jpg", photo.getvalue(), "image/jpeg")},
        headers=staff,
    )
    assert material.status_code == 201, material.text
    link = await client.post(f"/v1/materials/{material.json()['id']}/link", headers=staff)
    assert link.status_code in (200, 201), link.text
    policy = (await client.get("/v1/policies", headers=admin)).json()["policy"]
    today = datetime.now(UTC).astimezone(ZoneInfo("Asia/Shanghai")).date().isoformat()
    policy["sensitive_periods"]["periods"] = [
        {"key": "poll", "name": "全国两会", "starts_on": today, "ends_on": today}
    ]
    assert (await client.put("/v1/policies", json=policy, headers=admin)).status_code == 200
    notice = await client.post(
        f"/v1/cases/{case.json()['id']}/notices", json={"kind": "receipt"}, headers=staff
    )
    assert notice.status_code == 201, notice.text
    return {
        "notice_id": notice.json()["id"],
        "case_id": case.json()["id"],
        "unit_id": county.town["id"],
        "official_id": county.officials["town_chief"]["id"],
        "subscription_id": subscription.json()["id"],
        "item_id": made["/v1/screening/items"],
        "decision_id": made["/v1/decisions"],
        "appointment_id": made["/v1/reception/appointments"],
        "office_id": office["id"],
        "key": "poll",
        "code": "land.acquisition",
        "transfer_case_id": transfer.json()["case_id"],
        "material_id": material.json()["id"],
        "token": link.json()["url"].rsplit("/", 1)[-1],
        "office_token": system["Authorization"].removeprefix("Bearer "),
    }


def _query(op: dict[str, Any], ids: dict[str, str]) -> dict[str, str]:
    names = {p["name"] for p in op.get("parameters", []) if p["in"] == "query"}
    query = {}
    if "unit_id" in names:
        query["unit_id"] = ids["unit_id"]
    today = datetime.now(UTC).date()
    if "month" in names:
        query["month"] = today.strftime("%Y-%m")
    if "from" in names and "to" in names:
        query |= {"from": today.replace(day=1).isoformat(), "to": today.isoformat()}
    if "q" in names:  # a search: words of the case `_ids` registers
        query["q"] = "征地补偿"
    return query


async def test_every_read_answers_an_etag_and_304_when_nothing_changed(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin: dict[str, str],
    county: County,
    policy_restore: None,
) -> None:
    ids = await _ids(client, admin, county)
    reads = [
        (path, op)
        for path, item in app.openapi()["paths"].items()
        for method, op in item.items()
        if method == "get"
        and path.startswith("/v1/")
        and not path.startswith(("/v1/internal/", "/v1/auth/"))
    ]
    assert len(reads) >= 20
    try:
        for path, op in reads:
            headers, url = admin, path.format(**ids)
            if path.startswith("/v1/transfers/"):  # only the office's own token reads these
                headers = {"Authorization": f"Bearer {ids['office_token']}"}
                url = path.format(case_id=ids["transfer_case_id"])
            first = await client.get(url, params=_query(op, ids), headers=headers)
            assert first.status_code == 200, f"{path}: {first.status_code} {first.text}"
            etag = first.headers.get("etag")
            assert etag and etag.startswith('W/"'), path
            # a file's bytes are not kept in a browser's cache (a shared desk computer)
            files = ("/content", "/thumbnail", "/v1/material-links/{token}")
            stored = "no-store" if path.endswith(files) else "no-cache"
            assert first.headers["cache-control"] == f"private, {stored}", path
            again = await client.get(
                url, params=_query(op, ids), headers=headers | {"If-None-Match": etag}
            )
            assert again.status_code == 304, f"{path}: {again.status_code}"
            assert again.content == b"" and again.headers["etag"] == etag
    finally:
        await client.delete(f"/v1/webhook-subscriptions/{ids['subscription_id']}", headers=admin)


async def test_a_change_makes_the_next_poll_a_full_answer(
    client: httpx.AsyncClient, county: County
) -> None:
    staff = await county.headers(client, "town_staff")
    first = await client.get("/v1/cases", params={"limit": 5}, headers=staff)
    etag = first.headers["etag"]
    polled = await client.get(
        "/v1/cases", params={"limit": 5}, headers=staff | {"If-None-Match": etag}
    )
    assert polled.status_code == 304

    await client.post("/v1/cases", json=visit_body(county.village2, county.town, 3), headers=staff)
    changed = await client.get(
        "/v1/cases", params={"limit": 5}, headers=staff | {"If-None-Match": etag}
    )
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    assert len(changed.json()["items"]) == len(first.json()["items"]) + 1

    # the ETag is the caller's: another official's poll with it gets the full answer
    chief = await county.headers(client, "town_chief")
    other = await client.get(
        "/v1/cases",
        params={"limit": 5},
        headers=chief | {"If-None-Match": changed.headers["etag"]},
    )
    assert other.status_code == 200


async def test_reads_that_change_nothing_keep_the_etag(
    client: httpx.AsyncClient, county: County
) -> None:
    staff = await county.headers(client, "town_staff")
    first = await client.get("/v1/units", headers=staff)
    # reading a case writes only the audit trail, which no ETag depends on
    await client.get("/v1/cases", headers=staff)
    again = await client.get("/v1/units", headers=staff | {"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304


async def test_an_etag_lasts_one_time_bucket(
    client: httpx.AsyncClient, county: County, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A poll in a later bucket gets the full answer even when nothing changed: a lost
    version bump or a revoked token stops matching within one bucket."""
    staff = await county.headers(client, "town_staff")
    first = await client.get("/v1/units", headers=staff)
    monkeypatch.setattr(polling, "ETAG_BUCKET_SECONDS", 1)  # now in another bucket
    later = await client.get("/v1/units", headers=staff | {"If-None-Match": first.headers["etag"]})
    assert later.status_code == 200 and later.headers["etag"] != first.headers["etag"]


async def test_no_token_no_etag(client: httpx.AsyncClient) -> None:
    resp = await client.get("/v1/cases", headers={"If-None-Match": "*"})
    assert resp.status_code == 401 and "etag" not in resp.headers


async def test_lists_feed_changes_since_a_moment(client: httpx.AsyncClient, county: County) -> None:
    staff = await county.headers(client, "town_staff")
    cases = []
    for _ in range(2):
        resp = await client.post(
            "/v1/cases", json=visit_body(county.village2, county.town, 3), headers=staff
        )
        cases.append(resp.json())
    mark = datetime.now(UTC).isoformat()
    accepted = await client.post(f"/v1/cases/{cases[0]['id']}/accept", json={}, headers=staff)
    assert accepted.status_code == 200
    feed = await client.get(
        "/v1/cases", params={"updated_since": mark, "limit": 200}, headers=staff
    )
    assert [c["id"] for c in feed.json()["items"]] == [cases[0]["id"]]
    deadlines = await client.get(
        "/v1/deadlines",
        params={"updated_since": mark, "case_id": cases[1]["id"]},
        headers=staff,
    )
    assert deadlines.json()["items"] == []
    bad = await client.get("/v1/cases", params={"updated_since": "yesterday"}, headers=staff)
    assert bad.status_code == 422
