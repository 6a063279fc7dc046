"""Materials (附件, issue 21 §1): files attached to cases, kept once by SHA-256, read as the
case is read, typed by their bytes, images stripped of metadata, withdrawn on record."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import uuid
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
from fastapi import FastAPI
from PIL import Image
from sqlalchemy import text

from api.kit.boundary import AppState
from api.materials.disposition import content_disposition
from api.materials.storage import LocalStore
from tests.conftest import County, letter_body, login

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n" + b"\x00\x01binary" * 50


def jpeg_with_gps(color: str = "red") -> bytes:
    """A phone photo: a JPEG whose EXIF says the camera and where it was taken."""
    image = Image.new("RGB", (640, 480), color)
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif[0x8825] = {1: "N", 2: (39.0, 54.0, 27.0), 3: "E", 4: (116.0, 23.0, 17.0)}
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes(), quality=85)
    return out.getvalue()


def plain_jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (200, 100), "blue").save(out, "JPEG")
    return out.getvalue()


async def _case(client: httpx.AsyncClient, county: County, **fields: Any) -> dict[str, Any]:
    grid = await county.headers(client, "grid")
    resp = await client.post("/v1/cases", json=letter_body(county, **fields), headers=grid)
    assert resp.status_code == 201, resp.text
    return dict(resp.json())


async def _upload(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    case_id: str,
    data: bytes,
    name: str,
    **form: str,
) -> httpx.Response:
    return await client.post(
        f"/v1/cases/{case_id}/materials",
        files={"file": (name, data, "application/octet-stream")},
        data=form,
        headers=headers,
    )


async def test_a_grid_workers_photo_and_letter_are_read_back_in_reach_only(
    client: httpx.AsyncClient, county: County, admin: dict[str, str]
) -> None:
    case = await _case(client, county)
    grid = await county.headers(client, "grid")
    letter = await _upload(client, grid, case["id"], PDF, "来信 扫描件.pdf", kind="letter")
    assert letter.status_code == 201, letter.text
    body = letter.json()
    assert body["content_type"] == "application/pdf" and body["size"] == len(PDF)
    assert body["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert body["filename"] == "来信 扫描件.pdf" and body["kind"] == "letter"

    chief = await county.headers(client, "town_chief")
    got = await client.get(f"/v1/materials/{body['id']}/content", headers=chief)
    assert got.status_code == 200, got.text
    assert got.content == PDF
    assert got.headers["content-type"] == "application/pdf"
    disposition = got.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="file.pdf"; ')
    assert unquote(disposition.split("filename*=UTF-8''")[1]) == "来信 扫描件.pdf"

    listed = await client.get(f"/v1/cases/{case['id']}/materials", headers=chief)
    assert [m["id"] for m in listed.json()["items"]] == [body["id"]]
    assert listed.json()["total_bytes"] == len(PDF)

    outsider = await county.headers(client, "village_chief")  # another village
    for path in (
        f"/v1/materials/{body['id']}",
        f"/v1/materials/{body['id']}/content",
        f"/v1/cases/{case['id']}/materials",
    ):
        assert (await client.get(path, headers=outsider)).status_code == 404, path
    assert (await _upload(client, outsider, case["id"], PDF, "x.pdf")).status_code == 404

    # every download is audited, with who and which material
    entries = await client.get(
        "/v1/audit",
        params={"official_id": county.officials["town_chief"]["id"], "action": "read"},
        headers=admin,
    )
    assert any(
        e["route"] == "/v1/materials/{material_id}/content" and e["object_id"] == body["id"]
        for e in entries.json()["items"]
    )
    timeline = await client.get(f"/v1/cases/{case['id']}/timeline", headers=chief)
    assert any(e["action"] == "material_attached" for e in timeline.json())


async def test_a_retried_upload_is_one_material(client: httpx.AsyncClient, county: County) -> None:
    case = await _case(client, county)
    grid = await county.headers(client, "grid") | {"Idempotency-Key": "photo-1"}
    first = await _upload(client, grid, case["id"], plain_jpeg(), "a.jpg", kind="photo")
    assert first.status_code == 201, first.text
    again = await _upload(client, grid, case["id"], plain_jpeg(), "a.jpg", kind="photo")
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    # without the key, the same content on the same case is the same material too
    plain = await county.headers(client, "grid")
    same = await _upload(client, plain, case["id"], plain_jpeg(), "renamed.jpg")
    assert same.status_code == 200 and same.json()["id"] == first.json()["id"]
    listed = await client.get(f"/v1/cases/{case['id']}/materials", headers=plain)
    assert len(listed.json()["items"]) == 1


async def test_types_are_read_from_the_bytes_not_the_name(
    client: httpx.AsyncClient, county: County
) -> None:
    case = await _case(client, county)
    grid = await county.headers(client, "grid")
    fake = await _upload(client, grid, case["id"], b"MZ\x90\x00 not a photo" * 20, "photo.jpg")
    assert fake.status_code == 415, fake.text
    assert fake.headers["content-type"] == "application/problem+json"
    renamed = await _upload(client, grid, case["id"], PDF, "scan.jpg")
    assert renamed.status_code == 201 and renamed.json()["content_type"] == "application/pdf"
    empty = await _upload(client, grid, case["id"], b"", "empty.pdf")
    assert empty.status_code == 422


async def test_gps_and_exif_are_stripped_and_a_thumbnail_made(
    client: httpx.AsyncClient, county: County
) -> None:
    case = await _case(client, county)
    grid = await county.headers(client, "grid")
    photo = jpeg_with_gps()
    with Image.open(io.BytesIO(photo)) as original:
        assert original.getexif().get_ifd(0x8825)  # the fixture does carry GPS
    resp = await _upload(client, grid, case["id"], photo, "现场.jpg", kind="photo")
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["has_thumbnail"] and (body["width"], body["height"]) == (640, 480)
    kept = (await client.get(f"/v1/materials/{body['id']}/content", headers=grid)).content
    assert b"Exif" not in kept and b"PhoneMaker" not in kept
    with Image.open(io.BytesIO(kept)) as image:
        assert not image.getexif() and image.size == (640, 480)
    thumb = await client.get(f"/v1/materials/{body['id']}/thumbnail", headers=grid)
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
    with Image.open(io.BytesIO(thumb.content)) as small:
        assert max(small.size) <= 320
    # a photo without metadata is kept byte for byte
    clean = plain_jpeg()
    same = await _upload(client, grid, case["id"], clean, "clean.jpg")
    got = await client.get(f"/v1/materials/{same.json()['id']}/content", headers=grid)
    assert got.content == clean


async def test_limits_per_file_and_per_case_come_from_the_policy(
    client: httpx.AsyncClient, county: County, admin: dict[str, str], policy_restore: None
) -> None:
    policy = (await client.get("/v1/policies", headers=admin)).json()["policy"]
    policy["materials"]["max_file_bytes"] = 2048
    policy["materials"]["max_case_bytes"] = 3000
    assert (await client.put("/v1/policies", json=policy, headers=admin)).status_code == 200
    case = await _case(client, county)
    grid = await county.headers(client, "grid")
    big = PDF + b"x" * 3000
    assert (await _upload(client, grid, case["id"], big, "big.pdf")).status_code == 413
    one = PDF + b"a" * (2000 - len(PDF))
    two = PDF + b"b" * (2000 - len(PDF))
    assert (await _upload(client, grid, case["id"], one, "1.pdf")).status_code == 201
    full = await _upload(client, grid, case["id"], two, "2.pdf")
    assert full.status_code == 413, full.text


async def test_withdrawal_is_recorded_and_archived_cases_are_read_only(
    app: FastAPI, client: httpx.AsyncClient, county: County, admin: dict[str, str]
) -> None:
    case = await _case(client, county)
    grid = await county.headers(client, "grid")
    made = (await _upload(client, grid, case["id"], PDF, "letter.pdf")).json()
    name = f"grid2-{uuid.uuid4().hex[:6]}"
    body = {"name": name, "unit_id": county.village2["id"], "role": "grid_worker"}
    created = await client.post(
        "/v1/officials", json=body | {"username": name, "password": f"pw-{name}"}, headers=admin
    )
    assert created.status_code == 201, created.text
    other = await login(client, name, f"pw-{name}")
    # neither the uploader nor the petition office
    refused = await client.request(
        "DELETE", f"/v1/materials/{made['id']}", json={"reason": "错传"}, headers=other
    )
    assert refused.status_code == 403
    gone = await client.request(
        "DELETE", f"/v1/materials/{made['id']}", json={"reason": "上传错了文件"}, headers=grid
    )
    assert gone.status_code == 200, gone.text
    assert gone.json()["withdrawn"] and gone.json()["withdrawn_reason"] == "上传错了文件"
    assert (
        await client.get(f"/v1/materials/{made['id']}/content", headers=grid)
    ).status_code == 410
    listed = (await client.get(f"/v1/cases/{case['id']}/materials", headers=grid)).json()
    assert [m["withdrawn"] for m in listed["items"]] == [True] and listed["total_bytes"] == 0
    again = await client.request(
        "DELETE", f"/v1/materials/{made['id']}", json={"reason": "again"}, headers=grid
    )
    assert again.status_code == 409
    # the same file may be attached anew once the first was withdrawn
    anew = await _upload(client, grid, case["id"], PDF, "letter.pdf")
    assert anew.status_code == 201 and anew.json()["id"] != made["id"]

    state: AppState = app.state.desk
    async with state.sessionmaker() as session:
        await session.execute(
            text("UPDATE cases SET archived_at = now() WHERE id = :id"), {"id": case["id"]}
        )
        await session.commit()
    assert (await _upload(client, grid, case["id"], plain_jpeg(), "x.jpg")).status_code == 409
    late = await client.request(
        "DELETE", f"/v1/materials/{anew.json()['id']}", json={"reason": "x"}, headers=grid
    )
    assert late.status_code == 409
    assert (
        await client.get(f"/v1/materials/{anew.json()['id']}/content", headers=grid)
    ).content == PDF


async def test_a_confidential_cases_files_only_for_those_who_read_it(
    client: httpx.AsyncClient, county: County
) -> None:
    case = await _case(client, county, confidential=True, title="举报村干部")
    staff = await county.headers(client, "town_staff")
    made = await _upload(client, staff, case["id"], PDF, "举报信.pdf")
    assert made.status_code == 201, made.text
    chief = await county.headers(client, "town_chief")  # in reach, not named
    seen = (await client.get(f"/v1/materials/{made.json()['id']}", headers=chief)).json()
    assert seen["restricted"] and seen["filename"] is None
    content = await client.get(f"/v1/materials/{made.json()['id']}/content", headers=chief)
    assert content.status_code == 403
    full = await client.get(f"/v1/materials/{made.json()['id']}/content", headers=staff)
    assert full.content == PDF


async def test_signed_links_download_without_a_token_for_minutes(
    client: httpx.AsyncClient, county: County
) -> None:
    case = await _case(client, county)
    grid = await county.headers(client, "grid")
    made = (await _upload(client, grid, case["id"], PDF, "信.pdf")).json()
    link = await client.post(f"/v1/materials/{made['id']}/link", headers=grid)
    assert link.status_code == 200, link.text
    path = link.json()["url"].split("/desk", 1)[1]
    got = await client.get(path)
    assert got.status_code == 200 and got.content == PDF
    forged = path[:-2] + ("AA" if not path.endswith("AA") else "BB")
    assert (await client.get(forged)).status_code == 404
    assert (await client.get(f"/v1/materials/{made['id']}/link")).status_code in (401, 405)


async def test_an_upload_may_be_larger_than_the_json_body_limit(
    client: httpx.AsyncClient, county: County
) -> None:
    case = await _case(client, county)
    grid = await county.headers(client, "grid")
    big = PDF + bytes(range(256)) * 8000  # 2 MB with NUL bytes, over MAX_BODY_BYTES
    resp = await _upload(client, grid, case["id"], big, "big.pdf")
    assert resp.status_code == 201, resp.text
    # other routes keep their limit
    huge = await client.post("/v1/cases", content=b"x" * 2_000_000, headers=grid)
    assert huge.status_code == 413


def test_content_disposition_names_chinese_files_by_rfc_5987() -> None:
    value = content_disposition('信访 "件".pdf')
    assert value == (
        'attachment; filename="file.pdf"; '
        "filename*=UTF-8''%E4%BF%A1%E8%AE%BF%20%22%E4%BB%B6%22.pdf"
    )
    assert (
        content_disposition("scan.pdf")
        == "attachment; filename=\"scan.pdf\"; filename*=UTF-8''scan.pdf"
    )


async def test_the_local_store_keeps_each_content_once(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    first = await store.put(b"hello")
    second = await store.put(b"hello")
    assert first == second and first.sha256 == hashlib.sha256(b"hello").hexdigest()
    assert store.path(first.sha256).read_bytes() == b"hello"
    assert list((tmp_path / "tmp").iterdir()) == []  # no temporary file left behind

    async def chunks() -> Any:
        for part in (b"hel", b"lo"):
            yield part

    assert await store.put(chunks()) == first
    assert b"".join([c async for c in store.open(first.sha256)]) == b"hello"
    with pytest.raises(KeyError):
        await store.read("0" * 64)
    with pytest.raises(KeyError):
        store.path("../../etc/passwd")
    assert not await store.exists(uuid.uuid4().hex)


async def test_a_large_file_goes_in_pieces_over_a_weak_link_and_resumes(
    client: httpx.AsyncClient, county: County
) -> None:
    """tus 1.0 (core + creation): created, sent in two pieces with a break and a question of
    where it stands between them, then attached as a plain upload would be."""
    case = await _case(client, county)
    grid = await county.headers(client, "grid")
    tus = {**grid, "Tus-Resumable": "1.0.0"}
    photo = jpeg_with_gps("green")
    name = base64.b64encode("村口现场.jpg".encode()).decode()
    meta = f"filename {name},kind {base64.b64encode(b'photo').decode()}"
    base = f"/v1/cases/{case['id']}/uploads"

    offered = await client.options(base, headers=tus)
    assert offered.status_code == 204 and offered.headers["tus-version"] == "1.0.0"
    assert "creation" in offered.headers["tus-extension"]
    assert (await client.post(base, headers={**grid, "Upload-Length": "10"})).status_code == 412

    created = await client.post(
        base, headers={**tus, "Upload-Length": str(len(photo)), "Upload-Metadata": meta}
    )
    assert created.status_code == 201, created.text
    where = created.headers["location"]
    piece = {**tus, "Content-Type": "application/offset+octet-stream"}
    half = len(photo) // 2
    first = await client.patch(where, content=photo[:half], headers={**piece, "Upload-Offset": "0"})
    assert first.status_code == 204, first.text
    assert first.headers["upload-offset"] == str(half)
    # the link broke: where does it stand?
    asked = await client.head(where, headers=tus)
    assert (asked.headers["upload-offset"], asked.headers["upload-length"]) == (
        str(half),
        str(len(photo)),
    )
    stale = await client.patch(where, content=photo[:half], headers={**piece, "Upload-Offset": "0"})
    assert stale.status_code == 409 and stale.json()["offset"] == half
    outsider = await county.headers(client, "village_chief")
    assert (
        await client.head(where, headers={**outsider, "Tus-Resumable": "1.0.0"})
    ).status_code == 404
    last = await client.patch(
        where, content=photo[half:], headers={**piece, "Upload-Offset": str(half)}
    )
    assert last.status_code == 204, last.text
    material_url = last.headers["material-location"]
    material = (await client.get(material_url, headers=grid)).json()
    assert (material["filename"], material["kind"], material["content_type"]) == (
        "村口现场.jpg",
        "photo",
        "image/jpeg",
    )
    # the same file sent plainly is the same material: checked and stripped the same way
    again = await _upload(client, grid, case["id"], photo, "again.jpg")
    assert again.status_code == 200 and again.json()["id"] == material["id"]
    done = await client.patch(
        where, content=b"x", headers={**piece, "Upload-Offset": str(len(photo))}
    )
    assert done.status_code == 409


async def test_an_unfinished_upload_expires_after_the_policys_hours(
    app: FastAPI,
    client: httpx.AsyncClient,
    county: County,
    admin: dict[str, str],
    policy_restore: None,
) -> None:
    """tus expiration: `Upload-Expires` is the policy's `materials.upload_hours` from the last
    piece; once past, the upload is gone (404) and a new one must be opened."""
    policy = (await client.get("/v1/policies", headers=admin)).json()["policy"]
    policy["materials"]["upload_hours"] = 5
    assert (await client.put("/v1/policies", json=policy, headers=admin)).status_code == 200
    case = await _case(client, county)
    grid = await county.headers(client, "grid")
    tus = {**grid, "Tus-Resumable": "1.0.0"}
    offered = await client.options(f"/v1/cases/{case['id']}/uploads", headers=tus)
    assert "expiration" in offered.headers["tus-extension"].split(",")
    before = datetime.now(UTC)
    created = await client.post(
        f"/v1/cases/{case['id']}/uploads", headers={**tus, "Upload-Length": str(len(PDF))}
    )
    assert created.status_code == 201, created.text
    expires = parsedate_to_datetime(created.headers["upload-expires"])
    assert (
        timedelta(hours=5) - timedelta(seconds=2)
        <= expires - before
        <= timedelta(hours=5, seconds=2)
    )
    where = created.headers["location"]
    piece = {**tus, "Content-Type": "application/offset+octet-stream", "Upload-Offset": "0"}
    first = await client.patch(where, content=PDF[:10], headers=piece)
    assert first.status_code == 204 and "upload-expires" in first.headers
    upload_id = where.rsplit("/", 1)[1]
    state: AppState = app.state.desk
    async with state.sessionmaker() as session:
        await session.execute(
            text("UPDATE material_uploads SET expires_at = now() - interval '1 s' WHERE id = :i"),
            {"i": upload_id},
        )
        await session.commit()
    assert (await client.head(where, headers=tus)).status_code == 404


async def test_an_offline_report_registers_the_case_with_its_files_in_one_go(
    client: httpx.AsyncClient, county: County
) -> None:
    """离线上报: the phone sends the case and the photo and letter it took in one request when
    the link returns; its retry is the same case; one bad file registers nothing."""
    grid = await county.headers(client, "grid")
    title = f"离线上报-{uuid.uuid4().hex[:6]}"
    photo = jpeg_with_gps("yellow")
    case_json = json.dumps(letter_body(county, title=title), ensure_ascii=False)
    files = [
        ("files", ("村口.jpg", photo, "image/jpeg")),
        ("files", ("来信.pdf", PDF, "application/pdf")),
    ]
    form = {"case": case_json, "kinds": ["photo", "letter"]}
    key = {**grid, "Idempotency-Key": f"report-{uuid.uuid4().hex}"}
    sent = await client.post("/v1/offline-reports", data=form, files=files, headers=key)
    assert sent.status_code == 201, sent.text
    report = sent.json()
    case_id = report["case"]["id"]
    assert report["case"]["title"] == title and report["case"]["number"]
    got = [(m["filename"], m["kind"], m["content_type"]) for m in report["materials"]]
    assert got == [
        ("村口.jpg", "photo", "image/jpeg"),
        ("来信.pdf", "letter", "application/pdf"),
    ]
    photo_kept = report["materials"][0]
    assert photo_kept["sha256"] != hashlib.sha256(photo).hexdigest()  # EXIF and GPS stripped
    letter = await client.get(f"/v1/materials/{report['materials'][1]['id']}/content", headers=grid)
    assert letter.content == PDF
    # the link dropped before the answer came: the retry is the same case, not a second one
    again = await client.post("/v1/offline-reports", data=form, files=files, headers=key)
    assert again.status_code == 201 and again.json()["case"]["id"] == case_id
    assert again.headers.get("idempotent-replayed") == "true"
    listed = (await client.get(f"/v1/cases/{case_id}/materials", headers=grid)).json()
    assert len(listed["items"]) == 2

    # a text file among them: refused (415) naming it, and no case registered
    other = f"离线上报-{uuid.uuid4().hex[:6]}"
    bad = [*files, ("files", ("笔记.txt", b"just some words", "text/plain"))]
    body = {"case": json.dumps(letter_body(county, title=other)), "kinds": []}
    refused = await client.post("/v1/offline-reports", data=body, files=bad, headers=grid)
    assert refused.status_code == 415, refused.text
    assert refused.json()["errors"][0]["pointer"] == "/files/2"
    found = await client.get("/v1/search/cases", params={"q": other}, headers=grid)
    assert found.status_code == 200 and found.json()["items"] == []
    # a case that is not one: 422 pointing into it, nothing registered
    broken = {"case": json.dumps(letter_body(county, channel="pigeon"))}
    invalid = await client.post("/v1/offline-reports", data=broken, files=files[:1], headers=grid)
    assert invalid.status_code == 422, invalid.text
    assert invalid.json()["errors"][0]["pointer"] == "/case/channel"
    # NUL inside the case's text (the guard does not search a form of files): 422, nothing kept
    nul = {"case": json.dumps(letter_body(county, title="带\u0000空字符"))}
    refused_nul = await client.post("/v1/offline-reports", data=nul, files=files[:1], headers=grid)
    assert refused_nul.status_code == 422, refused_nul.text
    assert refused_nul.json()["errors"][0]["pointer"] == "/case/title"
