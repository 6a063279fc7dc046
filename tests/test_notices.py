"""Written notices (书面告知): issued from the county's template as Word and PDF (the project's own
font embedded), served, and the acceptance notice's deadline met by that service."""

from __future__ import annotations

import hashlib
import io
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import docx
import httpx
import pypdf
from fastapi import FastAPI
from sqlalchemy import text

from tests.conftest import County, act, letter_body


def _deadline(case: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(d for d in case["deadlines"] if d["kind"] == kind)


async def _accepted(
    client: httpx.AsyncClient, county: County
) -> tuple[dict[str, Any], dict[str, str]]:
    staff = await county.headers(client, "town_staff")
    body = letter_body(county)
    created = await client.post("/v1/cases", json=body, headers=staff)
    assert created.status_code == 201, created.text
    case = await act(client, staff, created.json(), "accept", {"note": "符合受理条件"})
    return case, staff


async def _issue(
    client: httpx.AsyncClient, headers: dict[str, str], case: dict[str, Any], kind: str
) -> httpx.Response:
    return await client.post(
        f"/v1/cases/{case['id']}/notices", json={"kind": kind}, headers=headers
    )


def _fonts_embedded(reader: pypdf.PdfReader) -> list[str]:
    """Names of the page fonts without an embedded font file."""
    missing = []
    for page in reader.pages:
        resources: Any = page["/Resources"]
        for name, ref in resources["/Font"].items():
            font = ref.get_object()
            descendants = [d.get_object() for d in font.get("/DescendantFonts", [])] or [font]
            for each in descendants:
                descriptor = each.get("/FontDescriptor")
                if descriptor is None or not any(
                    k in descriptor.get_object() for k in ("/FontFile", "/FontFile2", "/FontFile3")
                ):
                    missing.append(str(name))
    return missing


async def test_an_acceptance_notice_is_issued_as_word_and_pdf_and_its_service_meets_the_deadline(
    client: httpx.AsyncClient, county: County, admin: dict[str, str]
) -> None:
    case, staff = await _accepted(client, county)
    # accepting no longer meets the notice's deadline: a text is not a notice served
    assert _deadline(case, "acceptance_notice")["status"] == "open"

    resp = await _issue(client, staff, case, "acceptance")
    assert resp.status_code == 201, resp.text
    notice = resp.json()
    year = datetime.now(UTC).year
    assert notice["number"].startswith(f"××信受告〔{year}〕") and notice["number"].endswith("号")
    assert (notice["kind"], notice["version"], notice["title"]) == (
        "acceptance",
        1,
        "信访事项受理告知书",
    )
    policy = (await client.get("/v1/policies", headers=admin)).json()
    assert notice["policy_version"] == policy["version"]
    assert notice["due_at"] == _deadline(case, "acceptance_notice")["due_at"]

    word = await client.get(
        f"/v1/notices/{notice['id']}/document", params={"format": "docx"}, headers=staff
    )
    assert word.status_code == 200, word.text
    assert word.headers["content-type"].startswith("application/vnd.openxmlformats")
    name = f"{case['number']}-信访事项受理告知书-v1.docx"
    assert f"filename*=UTF-8''{quote(name, safe='')}" in word.headers["content-disposition"]
    text = [p.text for p in docx.Document(io.BytesIO(word.content)).paragraphs]
    assert text[0] == "××县人民政府信访局"
    assert notice["number"] in text
    assert any(case["number"] in line for line in text)
    assert hashlib.sha256(word.content).hexdigest() == notice["docx_sha256"]

    pdf = await client.get(f"/v1/notices/{notice['id']}/document", headers=staff)
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    reader = pypdf.PdfReader(io.BytesIO(pdf.content))
    extracted = "".join(page.extract_text() for page in reader.pages)
    assert case["number"] in extracted and "××县人民政府信访局" in extracted
    assert notice["number"] in extracted
    assert _fonts_embedded(reader) == []
    assert hashlib.sha256(pdf.content).hexdigest() == notice["pdf_sha256"]

    served_at = datetime.now(UTC) - timedelta(minutes=1)
    if served_at < datetime.fromisoformat(notice["issued_at"]):
        served_at = datetime.fromisoformat(notice["issued_at"])
    service = {
        "method": "post",
        "served_at": served_at.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "recipient": "王五",
    }
    no_tracking = await client.post(
        f"/v1/notices/{notice['id']}/service", json=service, headers=staff
    )
    assert no_tracking.status_code == 422
    assert no_tracking.json()["errors"][0]["pointer"] == "/tracking_number"

    service["served_at"] = datetime.now(UTC).isoformat()
    served = await client.post(
        f"/v1/notices/{notice['id']}/service",
        json=service | {"tracking_number": "EMS1234567890"},
        headers=staff,
    )
    assert served.status_code == 200, served.text
    assert served.json()["service_method"] == "post"
    assert served.json()["served_by"] == county.officials["town_staff"]["id"]
    after = (await client.get(f"/v1/cases/{case['id']}", headers=staff)).json()
    met = _deadline(after, "acceptance_notice")
    assert met["status"] == "met"
    again = await client.post(
        f"/v1/notices/{notice['id']}/service",
        json=service | {"tracking_number": "EMS1234567890"},
        headers=staff,
    )
    assert again.status_code == 409

    # the rendered files are the case's materials (kind notice), the same bytes
    materials = (await client.get(f"/v1/cases/{case['id']}/materials", headers=staff)).json()
    filed = {m["sha256"] for m in materials["items"] if m["kind"] == "notice"}
    assert filed == {notice["docx_sha256"], notice["pdf_sha256"]}

    # the signed receipt (送达回证), scanned and uploaded, is the proof; only one of this case's
    scan = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n" + b"receipt" * 40
    receipt = await client.post(
        f"/v1/cases/{case['id']}/materials",
        files={"file": ("送达回证.pdf", scan, "application/pdf")},
        data={"kind": "receipt"},
        headers=staff,
    )
    assert receipt.status_code == 201, receipt.text
    stranger = await client.post(
        f"/v1/notices/{notice['id']}/proof",
        json={"proof_material_id": str(uuid.uuid4())},
        headers=staff,
    )
    assert stranger.status_code == 422, stranger.text
    proof = await client.post(
        f"/v1/notices/{notice['id']}/proof",
        json={"proof_material_id": receipt.json()["id"]},
        headers=staff,
    )
    assert proof.status_code == 200, proof.text
    assert proof.json()["proof_material_id"] == receipt.json()["id"]


async def test_issuing_again_gives_the_next_version_under_the_same_number(
    client: httpx.AsyncClient, county: County, admin: dict[str, str]
) -> None:
    case, staff = await _accepted(client, county)
    first = (await _issue(client, staff, case, "acceptance")).json()
    policy = (await client.get("/v1/policies", headers=admin)).json()["policy"]
    policy["notices"]["header"] = "城关县人民政府信访局"
    try:
        put = await client.put("/v1/policies", json=policy, headers=admin)
        assert put.status_code == 200, put.text
        second = (await _issue(client, staff, case, "acceptance")).json()
    finally:
        policy["notices"]["header"] = "××县人民政府信访局"
        await client.put("/v1/policies", json=policy, headers=admin)
    assert (second["number"], second["version"]) == (first["number"], 2)
    assert second["policy_version"] > first["policy_version"]
    listed = (await client.get(f"/v1/cases/{case['id']}/notices", headers=staff)).json()
    assert [n["version"] for n in listed] == [1, 2]
    assert listed[0]["superseded_at"] is not None
    word = await client.get(
        f"/v1/notices/{second['id']}/document", params={"format": "docx"}, headers=staff
    )
    assert docx.Document(io.BytesIO(word.content)).paragraphs[0].text == "城关县人民政府信访局"
    # the earlier version still prints as it was issued
    old = await client.get(
        f"/v1/notices/{first['id']}/document", params={"format": "docx"}, headers=staff
    )
    assert hashlib.sha256(old.content).hexdigest() == first["docx_sha256"]
    stale = await client.post(
        f"/v1/notices/{first['id']}/service",
        json={"method": "in_person", "served_at": second["issued_at"], "recipient": "王五"},
        headers=staff,
    )
    assert stale.status_code == 409


async def test_a_notice_for_a_step_not_taken_is_refused_and_writes_nothing(
    client: httpx.AsyncClient, county: County
) -> None:
    case, staff = await _accepted(client, county)
    assert (await _issue(client, staff, case, "reply")).status_code == 409
    bad = await client.post(
        f"/v1/cases/{case['id']}/notices", json={"kind": "summons"}, headers=staff
    )
    assert bad.status_code == 422
    assert (await client.get(f"/v1/cases/{case['id']}/notices", headers=staff)).json() == []


async def test_a_notice_out_of_reach_is_not_found(
    client: httpx.AsyncClient, county: County
) -> None:
    case, staff = await _accepted(client, county)
    notice = (await _issue(client, staff, case, "acceptance")).json()
    village = await county.headers(client, "village_chief")  # another branch of the town
    for path in (f"/v1/notices/{notice['id']}", f"/v1/notices/{notice['id']}/document"):
        assert (await client.get(path, headers=village)).status_code == 404
    assert (await client.get(f"/v1/cases/{case['id']}/notices", headers=village)).status_code == 404


async def test_a_rejected_case_owes_its_notice_until_served(
    client: httpx.AsyncClient, county: County
) -> None:
    staff = await county.headers(client, "town_staff")
    created = (await client.post("/v1/cases", json=letter_body(county), headers=staff)).json()
    rejected = await act(
        client,
        staff,
        created,
        "reject",
        {"reason": "不属于信访事项", "notice_text": "所反映事项属于民事纠纷,应通过诉讼解决。"},
    )
    assert _deadline(rejected, "acceptance_notice")["status"] == "open"
    notice = (await _issue(client, staff, rejected, "rejection")).json()
    word = await client.get(
        f"/v1/notices/{notice['id']}/document", params={"format": "docx"}, headers=staff
    )
    body = "\n".join(p.text for p in docx.Document(io.BytesIO(word.content)).paragraphs)
    assert "属于民事纠纷" in body
    served = await client.post(
        f"/v1/notices/{notice['id']}/service",
        json={
            "method": "in_person",
            # to the microsecond: a whole second could fall before the notice's issue
            "served_at": datetime.now(UTC).isoformat(),
            "recipient": "王五",
            "witness": "村委会主任",
        },
        headers=staff,
    )
    assert served.status_code == 200, served.text
    after = (await client.get(f"/v1/cases/{created['id']}", headers=staff)).json()
    assert _deadline(after, "acceptance_notice")["status"] == "met"


async def test_a_reply_of_several_departments_is_served_only_after_the_leaders_sign_off(
    client: httpx.AsyncClient, county: County
) -> None:
    """审签 (seed 003 四.三.1): a reply several departments worked on waits for the leader in
    charge, who owes it within the policy's working days."""
    case, staff = await _accepted(client, county)
    assignment = {
        "unit_id": county.town["id"],
        "leader_id": county.officials["town_chief"]["id"],
        "handler_id": county.officials["town_staff"]["id"],
        "plan": "会同管理区核实",
        "time_limit_days": 30,
    }
    await act(client, staff, case, "assign", assignment)
    await act(client, staff, case, "add_department", {"unit_id": county.area["id"]})
    replied = await act(client, staff, case, "reply", {"text": "经核实,已协调解决。"})
    resp = await client.post(
        f"/v1/cases/{replied['id']}/notices",
        json={"kind": "reply", "expect_dispute": True},
        headers=staff,
    )
    assert resp.status_code == 201, resp.text
    notice = resp.json()
    assert notice["needs_approval"] is True and notice["expect_dispute"] is True
    # the petition office that took the case in is told before it is served (四.三.2)
    alerts = (await client.get("/v1/alerts", params={"case_id": case["id"]}, headers=staff)).json()
    [told] = [a for a in alerts["items"] if a["purpose"] == "dispute_expected"]
    assert told["official_id"] == county.officials["town_staff"]["id"]
    assert notice["number"] in told["text"]
    after = (await client.get(f"/v1/cases/{case['id']}", headers=staff)).json()
    owed = _deadline(after, "notice_approval")
    assert (owed["status"], owed["official_id"]) == ("open", county.officials["town_chief"]["id"])
    service = {
        "method": "in_person",
        "served_at": datetime.now(UTC).isoformat(),
        "recipient": "王五",
    }
    early = await client.post(f"/v1/notices/{notice['id']}/service", json=service, headers=staff)
    assert early.status_code == 409, early.text
    not_theirs = await client.post(f"/v1/notices/{notice['id']}/approval", headers=staff)
    assert not_theirs.status_code == 403, not_theirs.text
    chief = await county.headers(client, "town_chief")
    signed = await client.post(f"/v1/notices/{notice['id']}/approval", headers=chief)
    assert signed.status_code == 200, signed.text
    assert signed.json()["approved_by"] == county.officials["town_chief"]["id"]
    service["served_at"] = datetime.now(UTC).isoformat()
    served = await client.post(f"/v1/notices/{notice['id']}/service", json=service, headers=staff)
    assert served.status_code == 200, served.text
    done = (await client.get(f"/v1/cases/{case['id']}", headers=staff)).json()
    assert _deadline(done, "notice_approval")["status"] == "met"
    # the handling time is met by the reply served, not by the answer typed in
    assert _deadline(after, "handling")["status"] == "open"
    assert _deadline(done, "handling")["status"] == "met"


async def test_the_bulletin_criticises_notices_late_unserved_or_without_proof(
    client: httpx.AsyncClient, county: County, admin: dict[str, str], app: FastAPI
) -> None:
    """seed 001 第二篇 (二).2: 未按时出具受理告知单 … 送达回证、佐证材料不规范的每件次扣分."""

    async def issued() -> tuple[dict[str, Any], dict[str, Any]]:
        case, staff = await _accepted(client, county)
        resp = await _issue(client, staff, case, "acceptance")
        assert resp.status_code == 201, resp.text
        return case, resp.json()

    async def overdue(notice: dict[str, Any]) -> None:
        async with app.state.desk.sessionmaker() as session:
            await session.execute(
                text("UPDATE notices SET due_at = now() - interval '1 hour' WHERE id = :id"),
                {"id": notice["id"]},
            )
            await session.commit()

    async def serve(notice: dict[str, Any]) -> None:
        staff = await county.headers(client, "town_staff")
        body = {
            "method": "in_person",
            "served_at": datetime.now(UTC).isoformat(),
            "recipient": "王五",
        }
        resp = await client.post(f"/v1/notices/{notice['id']}/service", json=body, headers=staff)
        assert resp.status_code == 200, resp.text

    _, late = await issued()
    await overdue(late)
    await serve(late)
    _, unserved = await issued()
    await overdue(unserved)
    _, bare = await issued()
    await serve(bare)
    _, fine = await issued()  # due in two weeks, not served yet: nothing to say

    month = datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")
    params = {"unit_id": county.county["id"], "month": month}
    bulletin = await client.get("/v1/reports/monthly", params=params, headers=admin)
    assert bulletin.status_code == 200, bulletin.text
    lapses = {n["notice_id"]: n["lapse"] for n in bulletin.json()["criticism"]["notice_lapses"]}
    assert lapses == {late["id"]: "late", unserved["id"]: "not_served", bare["id"]: "no_proof"}
    assert fine["id"] not in lapses
    # the dashboard counts them from the list of notices
    for lapse, expected in (("unserved", {unserved["id"]}), ("unproved", {late["id"], bare["id"]})):
        listed = await client.get(
            "/v1/notices", params={"lapse": lapse, "limit": 200}, headers=admin
        )
        mine = {n["id"] for n in listed.json()["items"]} & {
            late["id"],
            unserved["id"],
            bare["id"],
            fine["id"],
        }
        assert mine == expected, lapse
    printed = await client.get(
        "/v1/reports/monthly", params=params, headers={**admin, "Accept": "text/csv"}
    )
    csv_text = printed.content.decode("utf-8-sig")
    assert "逾期送达" in csv_text and "月末未送达" in csv_text and "送达无回证" in csv_text
