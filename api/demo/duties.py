"""The county's work besides the cases, each a script of its own: the duty rosters (接访),
appointments (约访) and field visits carrying cases (带案下访), the weekly screening rounds and
the disputes they find (排查化解), the information officers' reports (信息员报告), and the
major decisions assessed before they are taken (先评估后决策).

Most duties are done in time and a few are not, so the prevention figures and the scores have
both to show.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from api.categories.vocabulary import OTHER
from api.demo import plan
from api.demo.desk import Desk, Script, clock
from api.kit.timeutil import CHINA, month_days

RELIABLE = 0.9  # how often a duty is done in time
REPORT_DAYS = (15, 30)  # the policy's default `reports.days_of_month`


def at_local(day: date, hour: int, minute: int = 0) -> datetime:
    """A local hour of a day, in UTC."""
    return datetime.combine(day, time(hour, minute), tzinfo=CHINA).astimezone(UTC)


def _months(first: date, last: date) -> list[date]:
    months, day = [], first.replace(day=1)
    while day <= last:
        months.append(day)
        day = month_days(day)[1] + timedelta(days=1)
    return months


def scripts(desk: Desk, first: date, last: date, seed: int) -> list[Script]:
    """Every duty script of the year from `first` to `last` (local days)."""
    rng = random.Random(f"{seed}:duties")
    found: list[Script] = []
    for town in plan.TOWNS:
        found.append(rosters(desk, town, first, last))
        found.append(screening(desk, town, first, last, random.Random(f"{seed}:screen:{town}")))
        found.append(reports(desk, town, first, last, random.Random(f"{seed}:report:{town}")))
        found.append(appointments(desk, town, first, last, random.Random(f"{seed}:appt:{town}")))
    found.append(rosters(desk, plan.COUNTY, first, last))
    leaders = [p for p in desk.people if p.split(":")[-1] in ("chief", "deputy")]
    leaders = [
        key
        for key in leaders
        if desk.people[key]["unit_id"] in {desk.units[u]["id"] for u in (plan.COUNTY, *plan.TOWNS)}
    ]
    for key in sorted(leaders):
        found.append(field_visits(desk, key, first, last, random.Random(f"{seed}:visit:{key}")))
    found.append(decisions(desk, first, last, rng))
    return found


async def rosters(desk: Desk, unit: str, first: date, last: date) -> Script:
    """On the first of each month the office fills the month's reception days (接访日程):
    the unit's leaders take turns."""
    for month in _months(first, last):
        yield at_local(max(month, first), 8)
        body = {"unit_id": desk.units[unit]["id"], "month": month.strftime("%Y-%m")}
        await desk.call("POST", "/v1/reception/monthly-roster", "admin", json=body, expect=201)


async def screening(desk: Desk, town: str, first: date, last: date, rng: random.Random) -> Script:
    """每周一排查: the town's petition staff screen every week and file the round; now and
    then a dispute is found, entered with its owning leader, plan and containment measures,
    and resolved in time (a few late, a few still open)."""
    staff = f"{town}:petition_staff"
    open_items: list[tuple[datetime, str]] = []
    monday = first + timedelta(days=(7 - first.weekday()) % 7)
    while monday + timedelta(days=4) <= last:
        friday = monday + timedelta(days=4)
        yield at_local(friday, 10, rng.randrange(0, 50))
        found: list[str] = []
        if rng.random() < 0.3:
            category = plan.pick(rng, plan.CATEGORIES)
            village = rng.choice(plan.TOWNS[town])
            title, content = plan.TITLES[category]
            risk = rng.choices(("low", "medium", "high"), weights=(5, 4, 1))[0]
            owner = f"{town}:chief" if risk == "high" else f"{town}:deputy"
            body: dict[str, Any] = {
                "unit_id": desk.units[village]["id"],
                "category": category,
                **({"category_text": title} if category == OTHER else {}),
                "title": f"{village}{title}",
                "description": content.format(village=village, town=town),
                "people_count": rng.randrange(2, 20),
                "location": f"{town}{village}",
                "risk_level": risk,
                "owner_leader_id": desk.people[owner]["id"],
                "plan": "包案领导牵头，司法所、村委会共同调解，依法依规提出解决方案。",
                "measures": "明确专人联系当事人，及时掌握动态，防止矛盾激化。",
            }
            item = await desk.call("POST", "/v1/screening/items", staff, json=body, expect=201)
            found.append(item["id"])
            due = datetime.fromisoformat(item["due_at"])
            span = (due - clock()).total_seconds()
            share = rng.uniform(0.2, 0.9) if rng.random() < RELIABLE else rng.uniform(1.1, 1.5)
            open_items.append((clock() + timedelta(seconds=span * share), item["id"]))
        round_body: dict[str, Any] = {"week": monday.isoformat(), "zero": not found}
        if found:
            round_body["item_ids"] = found
        if rng.random() < 0.95:  # a week now and then goes unreported
            await desk.call("POST", "/v1/screening/rounds", staff, json=round_body, expect=201)
        for resolve_at, item_id in sorted(open_items):
            if resolve_at <= clock():
                open_items.remove((resolve_at, item_id))
                body = {"resolution": "经调解，双方达成一致意见，矛盾已化解。"}
                await desk.call("POST", f"/v1/screening/items/{item_id}/resolve", staff, json=body)
        monday += timedelta(days=7)


async def reports(desk: Desk, town: str, first: date, last: date, rng: random.Random) -> Script:
    """信息员报告: the town's information officer reports on each report day (the 15th and
    the 30th, or the month's last day), mostly nothing to report (零报告); a few are never
    filed."""
    officer = f"{town}:info_officer"
    for month in _months(first, last):
        for report_day in REPORT_DAYS:
            day = month.replace(day=min(report_day, month_days(month)[1].day))
            if day < first + timedelta(days=1) or day > last:
                continue
            if rng.random() > RELIABLE:
                continue
            yield at_local(day, 16, rng.randrange(0, 50))
            body: dict[str, Any] = {"period_day": day.isoformat(), "zero": rng.random() < 0.7}
            if not body["zero"]:
                body["content"] = f"{town}近期有群众反映土地补偿、山林权属等问题，已安排专人跟进。"
            await desk.call("POST", "/v1/reports", officer, json=body, expect=201)


async def appointments(
    desk: Desk, town: str, first: date, last: date, rng: random.Random
) -> Script:
    """约访: about once a month the town's leader makes an appointment with a petitioner and
    holds it (a few are missed)."""
    day = first + timedelta(days=rng.randrange(3, 12))
    while day < last - timedelta(days=2):
        yield at_local(day, 9, rng.randrange(0, 50))
        leader = rng.choice((f"{town}:chief", f"{town}:deputy"))
        meet = clock() + timedelta(days=rng.randrange(1, 3), hours=rng.randrange(1, 6))
        body = {
            "unit_id": desk.units[town]["id"],
            "leader_id": desk.people[leader]["id"],
            "petitioner_name": plan.person_name(rng),
            "at": meet.isoformat(),
            "place": f"{town}信访接待室",
        }
        cases = desk.cases.get(town)
        if cases:
            body["case_id"] = rng.choice(cases[-10:])
        made = await desk.call(
            "POST", "/v1/reception/appointments", f"{town}:petition_staff", json=body, expect=201
        )
        if rng.random() < RELIABLE:
            yield meet + timedelta(minutes=rng.randrange(20, 90))
            held = {"outcome": "听取诉求，当面解释政策，约定下一步处理意见。"}
            await desk.call(
                "POST", f"/v1/reception/appointments/{made['id']}/hold", leader, json=held
            )
        day += timedelta(days=rng.randrange(20, 40))


async def field_visits(
    desk: Desk, leader: str, first: date, last: date, rng: random.Random
) -> Script:
    """带案下访: each county and town leader goes out with cases twice a month, a few months
    only once."""
    unit_id = desk.people[leader]["unit_id"]
    town = next((t for t in plan.TOWNS if desk.units[t]["id"] == unit_id), None)
    for month in _months(first, last):
        start, end = month_days(month)
        times = 2 if rng.random() < RELIABLE else 1
        for n in range(times):
            day = start + timedelta(days=rng.randrange(n * 14, n * 14 + 12))
            if day < first + timedelta(days=1) or day > min(end, last):
                continue
            yield at_local(day, 17, rng.randrange(0, 50))
            pool = (
                desk.cases.get(town, []) if town else [c for cs in desk.cases.values() for c in cs]
            )
            if not pool:
                continue
            body = {
                "day": day.isoformat(),
                "place": f"{plan.COUNTY}{town or rng.choice(list(plan.TOWNS))}",
                "case_ids": sorted(set(rng.sample(pool[-20:], k=min(2, len(pool[-20:]))))),
                "note": "到村入户，面对面听取意见，现场协调解决。",
            }
            await desk.call("POST", "/v1/reception/field-visits", leader, json=body, expect=201)


async def decisions(desk: Desk, first: date, last: date, rng: random.Random) -> Script:
    """先评估后决策: a few major decisions a year (land for an industrial park, a road, a
    school merger), each assessed for its social stability risk before it is decided."""
    plans = [
        ("land_acquisition", "工业园区二期征地", "征收集体土地约200亩用于工业园区建设。"),
        ("demolition", "老街棚户区改造", "拆除老街危旧房屋，安置居民约80户。"),
        ("environment", "垃圾中转站选址", "在镇区东侧新建垃圾中转站。"),
        ("land_acquisition", "县道拓宽工程", "县道拓宽涉及沿线三个村的土地征收和青苗补偿。"),
        ("restructuring", "镇办企业改制", "镇办砖厂改制，涉及职工安置和债务处理。"),
        ("other", "中心小学撤并", "撤并两所村小，学生集中到镇中心小学就读。"),
    ]
    towns = list(plan.TOWNS)
    span = (last - first).days
    for n, (kind, title, description) in enumerate(plans):
        day = first + timedelta(days=int(span * (n + 0.5) / len(plans)))
        yield at_local(day, 10)
        town = towns[n % len(towns)]
        body = {
            "unit_id": desk.units[town]["id"],
            "title": f"{town}{title}",
            "kind": kind,
            "description": description,
            "planned_on": (day + timedelta(days=30)).isoformat(),
            "owner_leader_id": desk.people[f"{town}:chief"]["id"],
        }
        staff = f"{town}:petition_staff"
        draft = await desk.call("POST", "/v1/decisions", staff, json=body, expect=201)
        yield clock() + timedelta(days=rng.randrange(5, 20))
        verdicts = rng.choice(
            (("sound",) * 4, ("sound", "sound", "concerns", "sound"), ("sound", "concerns") * 2)
        )
        findings = {
            dimension: {"verdict": verdict, "note": "经走访座谈、专家论证。"}
            for dimension, verdict in zip(
                ("legality", "reasonableness", "feasibility", "controllability"),
                verdicts,
                strict=True,
            )
        }
        assess = {
            "findings": findings,
            "response_plan": "成立工作专班，逐户走访解释政策，设立咨询点，制定突发情况处置预案。",
        }
        assessed = await desk.call(
            "POST", f"/v1/decisions/{draft['id']}/assess", f"{town}:chief", json=assess
        )
        yield clock() + timedelta(days=rng.randrange(2, 7))
        conclusion = assessed["allowed_conclusions"][0]
        await desk.call(
            "POST",
            f"/v1/decisions/{draft['id']}/decide",
            f"{town}:chief",
            json={"conclusion": conclusion, "note": "经集体研究决定。"},
        )
