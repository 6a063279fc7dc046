"""The monthly bulletin (每月通报, seed 000 rule 9): every figure and list entry computed by hand
from seeded cases, the same values in JSON, CSV and XLSX, the praise rule from the policy,
territory, content negotiation and cheap polls."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from openpyxl import load_workbook

from api.kit.timeutil import add_months, local
from tests.conftest import County, act, answer_and_close, arrivals, miss_now, visit_body

pytestmark = pytest.mark.usefixtures("policy_restore")

PATH = "/v1/reports/monthly"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _body(origin: dict[str, Any], lodged: dict[str, Any] | None, **changes: Any) -> dict[str, Any]:
    body = visit_body(origin, lodged or origin, 3)
    tag = uuid.uuid4().int % 10**8
    body["petitioners"] = [{"name": "赵六", "phone": f"137{tag:08d}", "is_representative": True}]
    return body | changes


async def _register(
    client: httpx.AsyncClient, headers: dict[str, str], body: dict[str, Any]
) -> dict[str, Any]:
    resp = await client.post("/v1/cases", json=body, headers=headers)
    assert resp.status_code == 201, resp.text
    return dict(resp.json())


async def _bulletin(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    unit: dict[str, Any],
    month: str,
    accept: str = "application/json",
) -> httpx.Response:
    resp = await client.get(
        PATH, params={"unit_id": unit["id"], "month": month}, headers=headers | {"Accept": accept}
    )
    assert resp.status_code == 200, resp.text
    return resp


def _csv_blocks(content: bytes) -> tuple[list[str], dict[str, list[list[str]]]]:
    """The title lines and each block's rows (header first) of the bulletin's CSV."""
    assert content.startswith(b"\xef\xbb\xbf"), "Excel needs the BOM to read UTF-8"
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    head: list[str] = []
    blocks: dict[str, list[list[str]]] = {}
    current: str | None = None
    for n, row in enumerate(rows):
        if not row:
            current = None
        elif current is None and rows[n - 1 : n] == [[]]:
            current = row[0]
            blocks[current] = []
        elif current is None:
            head.append(row[0])
        else:
            blocks[current].append(row)
    return head, blocks


async def test_bulletin_names_every_figure_praise_and_criticism(
    app: FastAPI,
    client: httpx.AsyncClient,
    county: County,
    admin: dict[str, str],
    worker_headers: dict[str, str],
) -> None:
    staff = await county.headers(client, "town_staff")
    desk = await county.headers(client, "county_staff")
    month = f"{local(datetime.now(UTC)):%Y-%m}"

    # 1. villagers of village2 come to the town; their chief does not come in time
    absent = await _register(client, staff, _body(county.village2, county.town))
    (chief_arrival,) = [
        d for d in arrivals(absent) if d["official_id"] == county.officials["village2_chief"]["id"]
    ]
    await miss_now(app, client, worker_headers, chief_arrival["id"])
    # 2. villagers of the village (under the area) come to the town; everyone summoned comes
    present = await _register(client, staff, _body(county.village, county.town))
    summoned = {d["official_id"] for d in arrivals(present)}
    assert summoned
    for key, official in county.officials.items():
        if official["id"] in summoned:
            who = await county.headers(client, key)
            came = await client.post(f"/v1/cases/{present['id']}/arrivals", json={}, headers=who)
            assert came.status_code == 201 and came.json()["on_time"] is True, came.text
    # 3. an online petition from village2 accepted by the town, its handling time overrun
    online = await _register(
        client,
        staff,
        _body(county.village2, None, channel="online", lodged_unit_id=None, lodged_level="town"),
    )
    accepted = await act(client, staff, online, "accept")
    handling = next(d for d in accepted["deadlines"] if d["kind"] == "handling")
    await miss_now(app, client, worker_headers, handling["id"])
    # 4. a letter from the village handled to the end in time
    letter = await _register(
        client,
        staff,
        _body(county.village, None, channel="letter", lodged_unit_id=None, lodged_level="town"),
    )
    await act(client, staff, letter, "accept")
    await answer_and_close(client, county, staff, letter)
    # 5. a collective visit from the village to the county: the village is vetoed
    #    (村(居)到区以上群体上访1次), its arrival deadlines still open
    collective = await _register(client, desk, _body(county.village, county.county, headcount=6))
    assert collective["is_collective"] is True

    resp = await _bulletin(client, staff, county.town, month)
    assert resp.headers["content-type"].startswith("application/json")
    b = resp.json()
    year, mon = (int(p) for p in month.split("-"))
    assert b["title"] == f"{county.town['name']}信访工作月度通报（{year}年{mon}月）"
    assert b["month"] == month and b["unit"]["id"] == county.town["id"]
    first = date(year, mon, 1)
    assert b["from"] == first.isoformat()
    assert b["to"] == (add_months(first, 1) - timedelta(days=1)).isoformat()

    # figures per unit: the area answers for cases 2, 4, 5; village2 for 1 and 3
    units = {u["unit"]["id"]: u for u in b["units"]}
    assert set(units) == {county.area["id"], county.village2["id"]}
    area, village2 = units[county.area["id"]], units[county.village2["id"]]
    assert (area["rank"], village2["rank"]) == (1, 2)
    a, v = area["summary"], village2["summary"]
    assert (a["cases"], a["collective"], a["open_overdue"]) == (3, 1, 0)
    assert a["rates"]["on_time_completion"] == {"numerator": 1, "denominator": 1, "rate": 1.0}
    assert a["arrivals"] == {"on_time": len(summoned), "missed": 0}
    assert (v["cases"], v["collective"], v["open_overdue"]) == (2, 0, 1)
    assert v["rates"]["on_time_completion"] == {"numerator": 0, "denominator": 1, "rate": 0.0}
    assert v["arrivals"]["missed"] == 1
    assert b["totals"]["cases"] == 5 and b["totals"]["open_overdue"] == 1

    # criticism: who missed which arrival, which case is overdue, who is vetoed
    (missed,) = b["criticism"]["missed_arrivals"]
    assert missed["case_number"] == absent["number"]
    assert missed["official_name"] == county.officials["village2_chief"]["name"]
    assert (missed["unit_id"], missed["unit_name"]) == (
        county.village2["id"],
        county.village2["name"],
    )
    assert missed["role"] == "chief" and missed["deadline_id"] == chief_arrival["id"]
    (overdue,) = b["criticism"]["overdue_cases"]
    assert overdue["case_number"] == online["number"]
    assert overdue["unit_id"] == county.town["id"]  # accepted there: the handling is the town's
    assert overdue["official_id"] == handling["official_id"]
    # a second past the limit counts as a day; not handled when the month ends
    assert overdue["days_over"] == 1 and overdue["open_at_month_end"] is True
    assert overdue["handled_at"] is None
    (vetoed,) = b["criticism"]["vetoes"]
    assert (vetoed["unit_id"], vetoed["level"]) == (county.village["id"], "village")
    assert vetoed["case_numbers"] == [collective["number"]]
    assert len(vetoed["rules"]) == 1 and "村(居)到区以上群体上访1次" in vetoed["rules"][0]

    # praise: village2 missed an arrival; the area has a vetoed village, which the policy
    # excludes by default
    assert b["praise"] == []
    policy = (await client.get("/v1/policies", headers=admin)).json()["policy"]
    policy["bulletin"]["praise_excludes_vetoed"] = False
    put = await client.put("/v1/policies", json=policy, headers=admin)
    assert put.status_code == 200, put.text
    b = (await _bulletin(client, staff, county.town, month)).json()
    (praised,) = b["praise"]
    assert praised["unit"]["id"] == county.area["id"] and praised["cases"] == 3
    assert praised["reason"] == "本月受理信访3件，按期办结率100.0%，无到位超时，无超期案件"
    # a stricter rule: five cases at least
    policy["bulletin"]["praise_min_cases"] = 5
    assert (await client.put("/v1/policies", json=policy, headers=admin)).status_code == 200
    assert (await _bulletin(client, staff, county.town, month)).json()["praise"] == []
    policy["bulletin"]["praise_min_cases"] = 1
    assert (await client.put("/v1/policies", json=policy, headers=admin)).status_code == 200

    # the CSV holds the same values, block by block
    resp = await _bulletin(client, staff, county.town, month, accept="text/csv")
    assert resp.headers["content-type"] == "text/csv; charset=utf-8"
    disposition = resp.headers["content-disposition"]
    assert disposition.startswith("attachment;") and "filename*=UTF-8''" in disposition
    head, blocks = _csv_blocks(resp.content)
    assert head[0] == b["title"]
    assert list(blocks) == ["各单位指标", "信访事项分类", "表扬", "批评"]
    header, *rows = blocks["各单位指标"]
    assert header[:2] == ["排名", "单位"] and "按期办结率" in header
    col = {name: header.index(name) for name in header}
    by_name = {r[col["单位"]]: r for r in rows}
    area_row = by_name[county.area["name"]]
    assert area_row[col["排名"]] == "1" and area_row[col["信访总量"]] == "3"
    assert area_row[col["集体访"]] == "1" and area_row[col["按期办结率"]] == "100.0%"
    assert area_row[col["满意率"]] == "100.0%"
    v2_row = by_name[county.village2["name"]]
    assert v2_row[col["按期办结率"]] == "0.0%" and v2_row[col["到位超时(次)"]] == "1"
    assert v2_row[col["超期未结(件)"]] == "1" and v2_row[col["满意率"]] == "—"
    total = by_name[f"{county.town['name']}(合计)"]
    assert total[col["信访总量"]] == "5" and total[col["排名"]] == ""
    praise_header, *praise_rows = blocks["表扬"]
    assert praise_header == ["序号", "单位", "信访总量", "按期办结率", "表扬事由"]
    assert praise_rows == [["1", county.area["name"], "3", "100.0%", praised["reason"]]]
    crit_header, *crit_rows = blocks["批评"]
    assert crit_header == ["序号", "类别", "单位", "责任人", "案件编号", "时限", "情况"]
    assert [[*r[1:3], r[4]] for r in crit_rows] == [
        ["到位超时", county.village2["name"], absent["number"]],
        ["超期办理", county.town["name"], online["number"]],
        ["一票否决", county.village["name"], collective["number"]],
    ]
    assert crit_rows[0][3] == f"{county.officials['village2_chief']['name']}(主要负责人)"
    assert crit_rows[1][6] == "超过办理时限1天，月末仍未办结"

    # the workbook too, set up to print
    resp = await _bulletin(client, staff, county.town, month, accept=XLSX)
    assert resp.headers["content-type"] == XLSX
    assert ".xlsx" in resp.headers["content-disposition"]
    book = load_workbook(io.BytesIO(resp.content))
    assert book.sheetnames == ["各单位指标", "信访事项分类", "表扬", "批评"]
    sheet = book["各单位指标"]
    assert sheet["A1"].value == b["title"]
    values = [[c.value for c in row] for row in sheet.iter_rows(min_row=3)]
    assert values[0][:2] == ["排名", "单位"]
    xrows = {r[1]: r for r in values[1:]}
    xarea = xrows[county.area["name"]]
    assert xarea[0] == 1 and xarea[2] == 3 and xarea[col["按期办结率"]] == 1.0
    completion = sheet.cell(row=4, column=col["按期办结率"] + 1)
    assert completion.number_format == "0.0%"
    assert xrows[county.village2["name"]][col["到位超时(次)"]] == 1
    assert xrows[county.village2["name"]][col["满意率"]] == "—"
    assert xrows[f"{county.town['name']}(合计)"][2] == 5
    assert sheet.page_setup.orientation == "landscape"
    fit = sheet.sheet_properties.pageSetUpPr
    assert sheet.page_setup.fitToWidth == 1 and fit is not None and fit.fitToPage
    assert sheet.print_title_rows == "$3:$3"
    assert sheet.column_dimensions["B"].width == 22
    praise_sheet = [[c.value for c in r] for r in book["表扬"].iter_rows(min_row=4)]
    assert praise_sheet == [[1, county.area["name"], 3, 1.0, praised["reason"]]]
    crit = [[c.value for c in r] for r in book["批评"].iter_rows(min_row=4)]
    assert [(r[1], r[2], r[4]) for r in crit] == [
        ("到位超时", county.village2["name"], absent["number"]),
        ("超期办理", county.town["name"], online["number"]),
        ("一票否决", county.village["name"], collective["number"]),
    ]

    # the county's bulletin reports on the town, which answers for all of it
    whole = (await _bulletin(client, desk, county.county, month)).json()
    (town,) = whole["units"]
    assert town["unit"]["id"] == county.town["id"] and town["summary"]["cases"] == 5
    assert len(whole["criticism"]["missed_arrivals"]) == 1
    assert whole["praise"] == []  # the town's village2 missed an arrival

    # another month: nothing happened then
    earlier = add_months(first, -1)
    quiet = (await _bulletin(client, staff, county.town, f"{earlier:%Y-%m}")).json()
    assert quiet["totals"]["cases"] == 0
    assert quiet["criticism"]["missed_arrivals"] == quiet["criticism"]["overdue_cases"] == []
    # the veto counts the year up to the month's end
    if earlier.year == year:
        assert quiet["criticism"]["vetoes"] == []


async def test_month_defaults_to_the_previous_one_and_is_checked(
    client: httpx.AsyncClient, county: County, admin: dict[str, str]
) -> None:
    staff = await county.headers(client, "town_staff")
    resp = await client.get(PATH, headers=staff)
    assert resp.status_code == 200, resp.text
    this_month = local(datetime.now(UTC)).date().replace(day=1)
    assert resp.json()["month"] == f"{add_months(this_month, -1):%Y-%m}"
    assert resp.json()["unit"]["id"] == county.town["id"]  # the caller's own unit
    for bad in ("2026-13", "2026-1", "26-01", "2026-11-01"):
        wrong = await client.get(PATH, params={"month": bad}, headers=staff)
        assert wrong.status_code == 422, bad
    # an admin has no unit of its own: it must name one
    unnamed = await client.get(PATH, params={"month": "2026-11"}, headers=admin)
    assert unnamed.status_code == 422
    assert unnamed.headers["content-type"] == "application/problem+json"


async def test_territory(client: httpx.AsyncClient, county: County, admin: dict[str, str]) -> None:
    chief = await county.headers(client, "village2_chief")
    params = {"month": "2026-11"}
    for unit in (county.town, county.village, county.county):
        outside = await client.get(PATH, params=params | {"unit_id": unit["id"]}, headers=chief)
        assert outside.status_code == 404, unit["name"]
    for accept in ("text/csv", XLSX):
        outside = await client.get(
            PATH, params=params | {"unit_id": county.town["id"]}, headers=chief | {"Accept": accept}
        )
        assert outside.status_code == 404
    own = await client.get(PATH, params=params | {"unit_id": county.village2["id"]}, headers=chief)
    assert own.status_code == 200 and own.json()["units"] == []  # a village has no children
    missing = await client.get(PATH, params=params | {"unit_id": str(uuid.uuid4())}, headers=admin)
    assert missing.status_code == 404


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, "application/json"),
        ("*/*", "application/json"),
        ("application/*", "application/json"),
        ("text/*", "text/csv"),
        ("text/csv;q=0.5, application/json", "application/json"),
        ("application/json;q=0.2, text/csv;q=0.9", "text/csv"),
        (f"{XLSX}, */*;q=0.1", XLSX),
        ("application/pdf, text/csv;q=0.3", "text/csv"),
    ],
)
async def test_content_negotiation(
    client: httpx.AsyncClient, county: County, accept: str | None, expected: str
) -> None:
    staff = await county.headers(client, "town_staff")
    headers = staff | ({"Accept": accept} if accept else {})
    resp = await client.get(PATH, params={"month": "2026-11"}, headers=headers)
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].split(";")[0] == expected
    assert "Accept" in resp.headers["vary"]


async def test_unsupported_media_type_is_406(client: httpx.AsyncClient, county: County) -> None:
    staff = await county.headers(client, "town_staff")
    for accept in ("application/pdf", "text/html, image/*", "application/json;q=0"):
        resp = await client.get(
            PATH, params={"month": "2026-11"}, headers=staff | {"Accept": accept}
        )
        assert resp.status_code == 406, accept
        problem = resp.json()
        assert resp.headers["content-type"] == "application/problem+json"
        assert problem["status"] == 406 and XLSX in problem["available"]


async def test_etag_and_304_per_media_type(client: httpx.AsyncClient, county: County) -> None:
    staff = await county.headers(client, "town_staff")
    params = {"month": "2026-11", "unit_id": county.town["id"]}
    first = await client.get(PATH, params=params, headers=staff)
    etag = first.headers["etag"]
    again = await client.get(PATH, params=params, headers=staff | {"If-None-Match": etag})
    assert again.status_code == 304 and again.headers["etag"] == etag
    # the spreadsheet is another representation: the JSON's tag does not match it
    sheet = await client.get(
        PATH, params=params, headers=staff | {"If-None-Match": etag, "Accept": "text/csv"}
    )
    assert sheet.status_code == 200 and sheet.headers["etag"] != etag
    same = await client.get(
        PATH,
        params=params,
        headers=staff | {"If-None-Match": sheet.headers["etag"], "Accept": "text/csv"},
    )
    assert same.status_code == 304


async def test_title_placeholders_are_checked(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    policy = (await client.get("/v1/policies", headers=admin)).json()["policy"]
    policy["bulletin"]["title"] = "{county}月报"
    resp = await client.put("/v1/policies", json=policy, headers=admin)
    assert resp.status_code == 422
