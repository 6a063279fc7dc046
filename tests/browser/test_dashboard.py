"""The county dashboard in headless Chromium against the real API process: it logs in, shows
the figures of a seeded county exactly as the stats API computes them, follows a new case by
polling, and runs under its CSP without a violation. The screenshot goes to
`artifacts/dashboard-seeded.png` (`test_dashboard_demo` takes `artifacts/dashboard.png`)."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.browser.conftest import Api
from tests.conftest import ADMIN_PASSWORD, County, login, make_county, service_token

if TYPE_CHECKING:
    from playwright.async_api import Browser, ConsoleMessage, Page, Response

pytestmark = pytest.mark.browser

# What is registered before the page opens: channel → number of cases.
SEED = {"visit": 2, "letter": 1, "phone": 1, "online": 1}
RATE_KEYS = [
    "on_time_disposition",
    "on_time_completion",
    "satisfaction",
    "first_visit_resolution",
    "repeat",
    "skip_level",
    "arrival_on_time",
]
POLL_WITHIN_MS = 10_000  # the page polls every second here (?poll=1)


@dataclass
class Seeded:
    """The county the dashboard looks at and a client of the API."""

    http: httpx.AsyncClient
    county: County
    staff: dict[str, str]
    serial: list[int]

    async def register(self, channel: str) -> dict[str, Any]:
        """Register one case of `channel` at the town, each with a different petitioner."""
        self.serial[0] += 1
        n = self.serial[0]
        body = {
            "channel": channel,
            "origin_unit_id": self.county.village["id"],
            "lodged_unit_id": self.county.town["id"],
            "petitioners": [{"name": f"信访人{n}", "phone": f"137{n:08d}"}],
            "category": "land.acquisition",
            "title": f"第{n}件：征地补偿款未兑现",
            "content": f"第{n}件：村民反映征地补偿款至今未发放。",
        }
        resp = await self.http.post("/v1/cases", json=body, headers=self.staff)
        assert resp.status_code == 201, resp.text
        return dict(resp.json())


@pytest.fixture(scope="module")
async def seeded(api: Api) -> AsyncIterator[Seeded]:
    """A fresh county with the cases of `SEED`, registered over HTTP by the town's staff."""
    async with httpx.AsyncClient(base_url=api.url, timeout=10) as http:
        admin = await login(http, "admin", ADMIN_PASSWORD)
        county = await make_county(http, admin)
        staff = await county.headers(http, "town_staff")
        seeded = Seeded(http=http, county=county, staff=staff, serial=[uuid.uuid4().int % 10**6])
        for channel, count in SEED.items():
            for _ in range(count):
                await seeded.register(channel)
        yield seeded


def _rate_text(rate: dict[str, Any]) -> str:
    """How the page writes a rate (`dashboard.js` formatRate)."""
    value = rate["rate"]
    return "—" if value is None else f"{value * 100:.1f}%"


def _watch(page: Page, problems: list[str]) -> None:
    """Collect script errors, CSP violations and failures of the page's own files. An API
    answer that fails is the page's to handle (it shows "—"), so only those are not counted."""

    def on_console(message: ConsoleMessage) -> None:
        if message.text.startswith("Failed to load resource"):
            return  # the browser's note of a 4xx/5xx answer: judged in on_response
        if message.type == "error" or "Content Security Policy" in message.text:
            problems.append(f"console {message.type}: {message.text}")

    def on_response(response: Response) -> None:
        if response.status >= 400 and "/v1/" not in response.url:
            problems.append(f"{response.status} for {response.url}")

    page.on("console", on_console)
    page.on("response", on_response)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))


async def _period(page: Page) -> tuple[str, str]:
    """The period the page shows (`from 至 to`), to ask the API for the same figures."""
    shown = await page.locator("#range").inner_text()
    match = re.fullmatch(r"(\d{4}-\d{2}-\d{2}) 至 (\d{4}-\d{2}-\d{2})", shown.strip())
    assert match, f"no period on the page: {shown!r}"
    return match[1], match[2]


async def _stats(seeded: Seeded, headers: dict[str, str], path: str, **params: str) -> Any:
    resp = await seeded.http.get(f"/v1/stats/{path}", params=params, headers=headers)
    assert resp.status_code == 200, resp.text
    return resp.json()


async def _assert_page_shows(page: Page, summary: dict[str, Any]) -> None:
    """Every figure of a summary, as the page shows it."""
    from playwright.async_api import expect

    await expect(page.locator("#kpi-cases")).to_have_text(str(summary["cases"]))
    await expect(page.locator("#kpi-open-overdue")).to_have_text(str(summary["open_overdue"]))
    arrivals = summary["arrivals"]
    await expect(page.locator("#kpi-arrivals")).to_have_text(
        f"{arrivals['on_time']} / {arrivals['missed']}"
    )
    for channel, count in summary["by_channel"].items():
        row = page.locator(f'#by-channel tr[data-channel="{channel}"] td')
        await expect(row).to_have_text(str(count))
    await expect(page.locator("#kpi-collective")).to_have_text(str(summary["collective"]))
    for table, key, counts in [
        ("by-status", "status", summary["by_status"]),
        ("by-level", "level", summary["by_lodged_level"]),
        ("by-category", "category", summary["by_category"]),
    ]:
        for name, count in counts.items():
            row = page.locator(f'#{table} tr[data-{key}="{name}"] td')
            await expect(row).to_have_text(str(count))
    for key in RATE_KEYS:
        rate = summary["rates"][key]
        card = page.locator(f'[data-rate="{key}"]')
        await expect(card.locator('[data-part="rate"]')).to_have_text(_rate_text(rate))
        await expect(card.locator('[data-part="fraction"]')).to_have_text(
            f"{rate['numerator']} / {rate['denominator']}"
        )


async def test_dashboard_shows_the_seeded_county_and_follows_a_new_case(
    browser: Browser, api: Api, seeded: Seeded, artifacts: Path
) -> None:
    from playwright.async_api import expect

    county = seeded.county
    chief = await county.headers(seeded.http, "county_chief")
    page = await browser.new_page(viewport={"width": 1600, "height": 1000}, locale="zh-CN")
    problems: list[str] = []
    _watch(page, problems)
    try:
        resp = await page.goto(f"{api.url}/dashboard?poll=1")
        assert resp is not None and resp.status == 200
        assert "script-src 'self'" in (await resp.all_headers())["content-security-policy"]
        await expect(page.locator("h1")).to_have_text("信访工作态势")

        # the login form: the official's own unit (the county) is what the page then shows
        await page.fill("#username", county.officials["county_chief"]["username"])
        await page.fill("#password", county.passwords["county_chief"])
        await page.click("#login-submit")
        await expect(page.locator("body")).to_have_attribute("data-state", "live")
        await expect(page.locator("#unit-name")).to_contain_text(county.county["name"])

        # the figures of the seeded cases, equal to the stats API's for the same period
        await expect(page.locator("#kpi-cases")).to_have_text(str(sum(SEED.values())))
        for channel, count in SEED.items():
            row = page.locator(f'#by-channel tr[data-channel="{channel}"] td')
            await expect(row).to_have_text(str(count))
        start, end = await _period(page)
        q = {"unit_id": county.county["id"], "from": start, "to": end}
        summary = await _stats(seeded, chief, "summary", **q)
        assert summary["cases"] == sum(SEED.values())
        assert {c: n for c, n in summary["by_channel"].items() if n} == SEED
        await _assert_page_shows(page, summary)

        # the tree below the county: the town, with its figures and overdue colour
        children = await _stats(seeded, chief, "units", **q)
        for item in children["items"]:
            tile = page.locator(f'#units [data-unit="{item["unit"]["id"]}"]')
            await expect(tile).to_contain_text(item["unit"]["name"])
            summary_of = item["summary"]
            await expect(tile.locator('[data-part="cases"]')).to_have_text(str(summary_of["cases"]))
            await expect(tile.locator('[data-part="overdue"]')).to_have_text(
                str(summary_of["open_overdue"])
            )
            colour = "ok" if summary_of["open_overdue"] == 0 else "warn|bad"
            await expect(tile).to_have_class(re.compile(rf"\bunit ({colour})\b"))

        # open escalations: as many as the API lists (none yet: no deadline has passed)
        open_escalations = await seeded.http.get(
            "/v1/escalations", params={"status": "open", "limit": 50}, headers=chief
        )
        await expect(page.locator("#kpi-escalations")).to_have_text(
            str(len(open_escalations.json()["items"]))
        )
        unanswered = await seeded.http.get(
            "/v1/escalations",
            params={"status": "open", "unanswered": "true", "limit": 50},
            headers=chief,
        )
        await expect(page.locator("#kpi-unanswered")).to_have_text(
            str(len(unanswered.json()["items"]))
        )

        # written notices past their date unserved / served without proof, as the API lists them
        lapsed = [
            len(
                (
                    await seeded.http.get(
                        "/v1/notices", params={"lapse": lapse, "limit": 50}, headers=chief
                    )
                ).json()["items"]
            )
            for lapse in ("unserved", "unproved")
        ]
        await expect(page.locator("#kpi-notices")).to_have_text(f"{lapsed[0]} / {lapsed[1]}")

        # the one-vote veto list: the vetoed units of the year, if the endpoint is there yet
        veto = await seeded.http.get("/v1/stats/veto", params={"year": end[:4]}, headers=chief)
        if veto.status_code == 200:
            vetoed = [unit["unit_id"] for unit in veto.json()["units"] if unit["vetoed"]]
            shown = page.locator("#veto li.vetoed")
            await expect(shown).to_have_count(len(vetoed))
            for unit_id in vetoed:
                await expect(page.locator(f'#veto li[data-unit="{unit_id}"]')).to_be_visible()
        else:
            await expect(page.locator("#veto")).to_have_text("—")

        # prevention and leadership work: every section the API answers, each count as the
        # API gives it
        prevention = await _stats(seeded, chief, "prevention", **q)
        sections = [k for k in prevention if k not in ("unit_id", "from", "to")]
        assert "follow_up" in sections
        for section in sections:
            block = page.locator(f'#prevention [data-section="{section}"]')
            await expect(block).to_be_visible()
            for name, value in (prevention[section] or {}).items():
                if isinstance(value, int) and not isinstance(value, bool):
                    cell = block.locator(f'tr[data-figure="{section}.{name}"] td')
                    await expect(cell).to_have_text(str(value))

        # the scores: every rule table of the policy, each unit with deductions drilling down
        # to them, its score as the API gives it
        scored = {"year": end[:4], "unit_id": county.county["id"]}
        tables = (await _stats(seeded, chief, "scores", **scored))["tables"]
        assert [t["key"] for t in tables] == ["一", "二"]
        for table in tables:
            answer = await _stats(seeded, chief, "scores", **scored, table=table["key"])
            block = page.locator(f'#scores [data-table="{table["key"]}"]')
            await expect(block).to_be_visible()
            docked = [u for u in answer["units"] if u["deductions"]]
            await expect(block.locator("details")).to_have_count(len(docked))
            for unit in docked:
                details = block.locator(f'details[data-unit="{unit["unit_id"]}"]')
                await expect(details.locator('[data-part="score"]')).to_have_text(
                    format(round(unit["score"], 4), "g")
                )
                await expect(details.locator("li[data-rule]")).to_have_count(
                    len(unit["deductions"])
                )

        # nothing changes: polls answer 304 (or the same body) and the page is not redrawn
        renders = await page.locator("body").get_attribute("data-renders")
        await page.wait_for_timeout(2500)
        assert await page.locator("body").get_attribute("data-renders") == renders

        # a new case: the next polls bring it
        await seeded.register("letter")
        await expect(page.locator("#kpi-cases")).to_have_text(
            str(sum(SEED.values()) + 1), timeout=POLL_WITHIN_MS
        )
        await expect(page.locator('#by-channel tr[data-channel="letter"] td')).to_have_text(
            str(SEED["letter"] + 1)
        )
        await _assert_page_shows(page, await _stats(seeded, chief, "summary", **q))

        # a visit lodged in Beijing: its on-site reception duty (赴现场接待) is on the board,
        # nobody has reported reaching the petitioners yet
        beijing = {
            "channel": "visit",
            "origin_unit_id": county.village["id"],
            "lodged_level": "national",
            "petitioners": [{"name": "进京信访人"}],
            "headcount": 6,
            "category": "land.acquisition",
            "title": "进京反映征地补偿",
            "content": "反映征地补偿款至今未发放。",
        }
        visit = await seeded.http.post("/v1/cases", json=beijing, headers=seeded.staff)
        assert visit.status_code == 201, visit.text
        duties = (
            await seeded.http.get(
                "/v1/reception/onsite-duties", params={"open": "true", "limit": 50}, headers=chief
            )
        ).json()["items"]
        duty = next(d for d in duties if d["case_id"] == visit.json()["id"])
        await expect(page.locator("#kpi-onsite")).to_have_text(
            str(len(duties)), timeout=POLL_WITHIN_MS
        )
        row = page.locator(f'#onsite tr[data-onsite="{duty["id"]}"]')
        await expect(row).to_contain_text(visit.json()["number"])
        await expect(row).to_contain_text(f"0 / {len(duty['goers'])}")

        shot = artifacts / "dashboard-seeded.png"
        await page.screenshot(path=str(shot), full_page=True)
        print(f"dashboard screenshot: {shot}")
        assert problems == []
    finally:
        await page.close()


async def test_a_wall_display_logs_in_with_a_service_token_in_the_fragment(
    browser: Browser, api: Api, seeded: Seeded
) -> None:
    from playwright.async_api import expect

    county = seeded.county
    admin = await login(seeded.http, "admin", ADMIN_PASSWORD)
    token = (await service_token(seeded.http, admin, "县信访局大屏", county.county))[
        "Authorization"
    ].removeprefix("Bearer ")
    page = await browser.new_page(viewport={"width": 1600, "height": 1000}, locale="zh-CN")
    problems: list[str] = []
    _watch(page, problems)
    try:
        await page.goto(f"{api.url}/dashboard?unit_id={county.county['id']}&poll=1#token={token}")
        await expect(page.locator("body")).to_have_attribute("data-state", "live")
        assert token not in page.url, "the token must leave the address bar"
        start, end = await _period(page)
        summary = await _stats(
            seeded,
            {"Authorization": f"Bearer {token}"},
            "summary",
            unit_id=county.county["id"],
            **{"from": start, "to": end},
        )
        await _assert_page_shows(page, summary)

        # a click on the town's tile looks inside it; 返回上级 comes back
        await page.click(f'#units [data-unit="{county.town["id"]}"]')
        await expect(page.locator("#unit-name")).to_contain_text(county.town["name"])
        town = await _stats(
            seeded,
            {"Authorization": f"Bearer {token}"},
            "summary",
            unit_id=county.town["id"],
            **{"from": start, "to": end},
        )
        await _assert_page_shows(page, town)
        await expect(page.locator(f'#units [data-unit="{county.area["id"]}"]')).to_be_visible()
        await page.click("#unit-up")
        await expect(page.locator("#unit-name")).to_contain_text(county.county["name"])
        await expect(page.locator("#kpi-cases")).to_have_text(str(summary["cases"]))

        # logging out forgets the token: a reload asks to log in
        await page.click("#logout")
        await page.reload()
        await expect(page.locator("body")).to_have_attribute("data-state", "login")
        assert problems == []
    finally:
        await page.close()
