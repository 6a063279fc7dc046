"""Play the planned year through the application, in the order things happen.

The app runs in-process (its lifespan, its hooks, its counters) and every change goes through
its HTTP routes, as a desk, a town or the worker would make it. A frozen clock (freezegun)
stands at each moment in turn: each case is a script that does its next step and says when
the one after is due; the earliest due script runs next. The worker's part is played too: a
sweep every other evening flags what was missed and opens the duties' deadlines (the real one
runs every few seconds: here a miss is flagged a day late at most), the alerts are reported
delivered and the escalations acknowledged every few days. Steps that would fall after now are
left undone: those cases are open, as they would be.

The jobs the app queues go to a queue of the load's own, dropped at the end: they belong to
moments already past, which the sweeps have played.
"""

from __future__ import annotations

import heapq
import itertools
import os
import random
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import httpx
from redis.asyncio import Redis
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from api.app import create_app
from api.audit.repository import AuditRepository
from api.categories.vocabulary import OTHER
from api.demo import duties, plan
from api.demo.desk import Desk, Loaded, Script, clock
from api.kit.timeutil import CHINA, local_today, months_from
from api.sweeps.service import SWEPT_MARK
from shared.settings import Settings

RECEIPT_PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
# When the sweep runs, every other day (the worker's runs every few seconds).
SWEEP_HOURS = (18,)
ACK_SHARE = 0.85  # escalations acknowledged at each look; the rest wait for the next


# The real clock, taken before the frozen one replaces it.
def _monotonic() -> float:
    return os.times().elapsed  # freezegun leaves it alone


async def already_loaded(http: httpx.AsyncClient, admin: dict[str, str]) -> str | None:
    """The id of the demo county if it is there already."""
    resp = await http.get("/v1/units", params={"level": "county", "limit": 200}, headers=admin)
    Desk.check(resp, 200, "list the counties")
    for unit in resp.json()["items"]:
        if unit["name"] == plan.COUNTY:
            return str(unit["id"])
    return None


def demo_settings(settings: Settings) -> Settings:
    """The app's settings for the load: tokens that outlive the simulated year, no request
    limit, and a queue of its own."""
    return settings.model_copy(
        update={
            "access_token_minutes": 2 * 366 * 24 * 60,
            "requests_per_minute": 10**9,
            "arq_queue": f"petition-desk:demo-load:{uuid.uuid4().hex[:8]}",
            "log_level": "WARNING",  # a line per request would bury what the load says
        }
    )


async def load(
    settings: Settings,
    *,
    until: date | None = None,
    seed: int = plan.SEED,
    say: Callable[[str], None] = print,
) -> Loaded | None:
    """Load the demo county into the database of `settings`; None when it is there already
    (nothing is written then). `until` is the last day of the year loaded (default today)."""
    import freezegun

    # No module looks at the real time: no call pays for freezegun's look up the stack.
    freezegun.configure(default_ignore_list=[])
    started = _monotonic()
    last = until or local_today()
    rng = random.Random(seed)
    people = plan.officials(rng)
    cases = plan.plan_cases(rng, last)
    now = datetime.now(UTC)
    setup_at = datetime.combine(last - timedelta(days=366), time(9), tzinfo=CHINA)
    demo = demo_settings(settings)
    await _swept_already(demo)
    app = create_app(demo)
    freezer = freezegun.freeze_time(setup_at, real_asyncio=True)
    clock = freezer.start()
    try:
        async with app.router.lifespan_context(app):
            await _commit_without_waiting(app.state.desk.engine)
            await _audit_months(app, setup_at.date(), last)
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://demo") as http:
                passwords = {"admin": settings.admin_password}
                desk = Desk(http=http, settings=demo, passwords=passwords, say=say)
                admin = await desk.headers("admin")
                if await already_loaded(http, admin) is not None:
                    return None
                say(f"loading {plan.COUNTY}: {len(people)} officials, {len(cases)} petitions")
                await _territory(desk, people, rng)
                scripts: list[Script] = [
                    _case_script(desk, c, random.Random(f"{seed}:{c.n}")) for c in cases
                ]
                scripts.append(_worker_script(desk, setup_at, now, rng))
                first = setup_at.date() + timedelta(days=1)
                scripts.extend(duties.scripts(desk, first, last, seed))
                await _play(scripts, clock, now)
    finally:
        freezer.stop()
        await _drop_queue(demo)
    registered = [c for c in cases if c.received_at <= now]  # later today: not yet
    by_channel = Counter(c.channel for c in registered)
    by_category = Counter(c.category for c in registered)
    return Loaded(
        county_id=desk.units[plan.COUNTY]["id"],
        units=len(desk.units),
        officials=len(desk.people),
        cases=len(registered),
        by_channel=dict(by_channel),
        by_category=dict(by_category),
        seconds=_monotonic() - started,
        steps=desk.steps,
    )


async def _audit_months(app: Any, first: date, last: date) -> None:
    """The audit trail's month partitions of the year played (a live install only ever writes
    this month's, made months ahead; the load writes a year back)."""
    count = (last.year - first.year) * 12 + last.month - first.month + 1
    months = months_from(first, count)
    async with app.state.desk.sessionmaker() as session:
        await AuditRepository(session).ensure_partitions(months)
        await session.commit()


async def _commit_without_waiting(engine: AsyncEngine) -> None:
    """The load's connections do not wait for each commit to reach the disk: a crash would
    lose the last moments of the load (run it again), never corrupt; it is five times faster
    on a busy disk."""

    @event.listens_for(engine.sync_engine, "connect")
    def _no_wait(connection: Any, record: Any) -> None:
        cursor = connection.cursor()
        cursor.execute("SET synchronous_commit = off")
        cursor.close()

    await engine.dispose()  # the connections opened at start-up reconnect with it


async def _swept_already(settings: Settings) -> None:
    """Mark the load's own queue as swept: its first sweep must not take it for a Redis that
    lost its jobs and hand the other jobs of the database out again into it."""
    redis = Redis.from_url(settings.redis_url)
    try:
        await redis.set(SWEPT_MARK.format(queue=settings.arq_queue), "demo")
    finally:
        await redis.aclose()


async def _drop_queue(settings: Settings) -> None:
    redis = Redis.from_url(settings.redis_url)
    try:
        keys = [k async for k in redis.scan_iter(match=f"{settings.arq_queue}*")]
        if keys:
            await redis.delete(*keys)
    finally:
        await redis.aclose()


async def _play(scripts: list[Script], clock: Any, now: datetime) -> None:
    """Run the scripts in the order of their next step until each is done or due after now."""
    order = itertools.count()
    queue: list[tuple[datetime, int, Script]] = []
    for script in scripts:
        first = await anext(script, None)
        if first is not None and first <= now:
            heapq.heappush(queue, (first, next(order), script))
    while queue:
        at, _, script = heapq.heappop(queue)
        clock.move_to(at)
        following = await anext(script, None)
        if following is not None and following <= now:
            heapq.heappush(queue, (max(following, at), next(order), script))


async def _territory(desk: Desk, people: list[plan.Person], rng: random.Random) -> None:
    """The county, its towns and villages, and the officials in their posts."""

    async def unit(name: str, level: str, parent: str | None) -> None:
        body = {"name": name, "level": level, "parent_id": parent and desk.units[parent]["id"]}
        desk.units[name] = await desk.call("POST", "/v1/units", "admin", json=body, expect=201)

    await unit(plan.COUNTY, "county", None)
    for town, villages in plan.TOWNS.items():
        await unit(town, "town", plan.COUNTY)
        for village in villages:
            await unit(village, "village", town)
    for n, person in enumerate(people):
        password = f"Demo-{rng.getrandbits(64):016x}-qh"
        body = {
            "name": person.name,
            "phone": f"139{n:08d}",
            "unit_id": desk.units[person.unit]["id"],
            "role": person.role,
            "username": person.username,
            "password": password,
        }
        desk.people[person.key] = await desk.call(
            "POST", "/v1/officials", "admin", json=body, expect=201
        )
        desk.passwords[person.key] = password


def _deadline(case: dict[str, Any], kind: str) -> dict[str, Any] | None:
    return next((d for d in case.get("deadlines", []) if d["kind"] == kind), None)


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value)


async def _case_script(desk: Desk, planned: plan.PlannedCase, rng: random.Random) -> Script:
    """One petition from registration to its close (or as far as now allows)."""
    fate = planned.fate
    yield planned.received_at
    town, village = planned.town, planned.village
    at_county = planned.level not in ("village", "town")
    staff = "county_staff" if at_county else f"{town}:petition_staff"
    body: dict[str, Any] = {
        "channel": planned.channel,
        "origin_unit_id": desk.units[village]["id"],
        "lodged_level": planned.level,
        "petitioners": planned.petitioners,
        "headcount": planned.headcount,
        "category": planned.category,
        # `other` carries the desk's own words (the vocabulary asks for them)
        **({"category_text": planned.title} if planned.category == OTHER else {}),
        "title": planned.title,
        "content": planned.content,
        "received_at": planned.received_at.isoformat(),
    }
    if planned.level == "town":
        body["lodged_unit_id"] = desk.units[town]["id"]
    elif planned.level == "county":
        body["lodged_unit_id"] = desk.units[plan.COUNTY]["id"]
    elif planned.level == "village":
        body["lodged_unit_id"] = desk.units[village]["id"]
    case = await desk.call("POST", "/v1/cases", staff, json=body, expect=201)
    path = f"/v1/cases/{case['id']}"

    desk.cases.setdefault(town, []).append(case["id"])
    # 到位: the officials summoned reach the petitioners in time; now and then one does not
    arrivals = [d for d in case.get("deadlines", []) if d["kind"] == "arrival"]
    if arrivals:
        due = min(_at(d["due_at"]) for d in arrivals)
        yield min(due - timedelta(minutes=1), clock() + timedelta(minutes=fate["arrival_minutes"]))
        late = None if fate["arrive_in_time"] else arrivals[0]["official_id"]
        for official_id in dict.fromkeys(d["official_id"] for d in arrivals):
            who = desk.key_of(official_id)
            if official_id != late and who is not None:
                await desk.call("POST", f"{path}/arrivals", who, json={}, expect=201)

    yield planned.received_at + timedelta(days=fate["accept_after_days"], hours=rng.uniform(0, 6))
    if fate["ending"] == "reject":
        body = {"reason": "不属于信访事项受理范围", "notice_text": "经审查，该事项不予受理。"}
        await desk.call("POST", f"{path}/reject", staff, json=body)
        return
    if fate["ending"] == "redirect":
        body = {
            "to": "court",
            "reason": "属于诉讼程序处理的事项",
            "notice_text": "该事项应通过诉讼途径解决，请依法向人民法院起诉。",
        }
        await desk.call("POST", f"{path}/redirect", staff, json=body)
        return
    case = await desk.call("POST", f"{path}/accept", staff, json={"note": "符合受理条件"})

    yield clock() + timedelta(days=fate["assign_after_days"], hours=rng.uniform(0, 4))
    handler = f"{town}:petition_staff"
    assignment = {
        "unit_id": desk.units[town]["id"],
        "leader_id": desk.people[f"{town}:chief"]["id"],
        "handler_id": desk.people[handler]["id"],
        "plan": "入户核实情况，召集相关部门协调处理，依法依规答复。",
        "time_limit_days": fate["time_limit_days"],
    }
    case = await desk.call("POST", f"{path}/assign", staff, json=assignment)

    # 受理告知书, served with its receipt (送达回证) scanned, a few without
    yield clock() + timedelta(days=fate["notice_after_days"], hours=rng.uniform(1, 5))
    await _serve(desk, staff, case, "acceptance", fate["proof"])

    yield clock() + timedelta(days=fate["reply_days"])
    body = {"text": "经调查核实，已协调相关部门按政策予以处理，现答复如下。"}
    case = await desk.call("POST", f"{path}/reply", handler, json=body)
    yield clock() + timedelta(days=fate["serve_after_days"], hours=rng.uniform(1, 4))
    await _serve(desk, handler, case, "reply", True)

    yield clock() + timedelta(days=fate["follow_up_after_days"], hours=rng.uniform(0, 3))
    call_back: dict[str, Any] = {"method": "phone", "reached": fate["reached"]}
    if fate["reached"]:
        call_back["satisfied"] = fate["satisfied"]
    follow_up = _deadline(case, "follow_up")
    caller = (desk.key_of(follow_up["official_id"]) if follow_up else None) or "county_staff"
    await desk.call("POST", f"{path}/follow_up", caller, json=call_back)
    await desk.call("POST", f"{path}/feedback", staff, json={"satisfied": fate["satisfied"]})

    yield clock() + timedelta(days=fate["close_after_days"], hours=rng.uniform(0, 3))
    await desk.call("POST", f"{path}/close", staff, json={"outcome": fate["outcome"]})
    if not fate["review"]:
        return

    yield clock() + timedelta(days=fate["review_after_days"], hours=rng.uniform(0, 3))
    body = {"reason": "对答复意见不服，请求复查。"}
    await desk.call("POST", f"{path}/request_review", "county_staff", json=body)
    yield clock() + timedelta(days=fate["review_days"], hours=rng.uniform(0, 3))
    body = {"decision": "upheld", "text": "经复查，原答复意见认定事实清楚，维持原答复意见。"}
    case = await desk.call("POST", f"{path}/review_decision", "county_staff", json=body)
    yield clock() + timedelta(days=2, hours=rng.uniform(0, 3))
    follow_up = next(
        (
            d
            for d in case.get("deadlines", [])
            if d["kind"] == "follow_up" and d["status"] == "open"
        ),
        None,
    )
    caller = (desk.key_of(follow_up["official_id"]) if follow_up else None) or "county_staff"
    body = {"method": "phone", "reached": True, "satisfied": False}
    await desk.call("POST", f"{path}/follow_up", caller, json=body)
    await desk.call("POST", f"{path}/close", staff, json={"outcome": "stabilized"})


async def _serve(desk: Desk, who: str, case: dict[str, Any], kind: str, proof: bool) -> None:
    """A written notice issued and served in person, with its receipt when `proof`."""
    notice = await desk.call(
        "POST", f"/v1/cases/{case['id']}/notices", who, json={"kind": kind}, expect=201
    )
    service: dict[str, Any] = {
        "method": "in_person",
        "served_at": clock().isoformat(),
        "recipient": "信访人本人",
    }
    if proof:
        receipt = await desk.call(
            "POST",
            f"/v1/cases/{case['id']}/materials",
            who,
            files={
                "file": ("送达回证.pdf", RECEIPT_PDF + notice["id"].encode(), "application/pdf")
            },
            data={"kind": "receipt"},
            expect=201,
        )
        service["proof_material_id"] = receipt["id"]
    await desk.call("POST", f"/v1/notices/{notice['id']}/service", who, json=service)


async def _worker_script(desk: Desk, start: datetime, now: datetime, rng: random.Random) -> Script:
    """The worker's clock: the sweep, the delivery reports, and the officials' acknowledgements."""
    day = start.astimezone(CHINA).date() + timedelta(days=1)
    while True:
        if day.toordinal() % 2:  # every other day: a miss is flagged a day late at most
            day += timedelta(days=1)
            continue
        for hour in SWEEP_HOURS:
            at = datetime.combine(day, time(hour), tzinfo=CHINA).astimezone(UTC)
            if at > now:
                return
            yield at
            await desk.call("POST", "/v1/internal/sweep", "worker")
            if day.day == 1:
                desk.say(f"  {day:%Y-%m} … ({desk.steps} requests so far)")
            if day.toordinal() % 4 == 0:
                await _deliver(desk)
                await _acknowledge(desk, rng)
        day += timedelta(days=1)


async def _deliver(desk: Desk) -> None:
    """Report every pending alert delivered, as the worker does after sending it."""
    while True:
        page = await desk.call(  # the county's alerts only, never another county's
            "GET", "/v1/alerts", "county_staff", params={"status": "pending", "limit": 200}
        )
        items = page["items"]
        if not items:
            return
        attempts = [{"alert_id": a["id"], "ok": True, "attempt": 1} for a in items]
        await desk.call(
            "POST", "/v1/internal/alerts/attempts", "worker", json={"attempts": attempts}
        )
        if len(items) < 200:
            return


async def _acknowledge(desk: Desk, rng: random.Random) -> None:
    """Most open escalations of the county are acknowledged (收到) by one of the officials
    they went to; those of the duties (rounds, reports, field visits) have no case, so they are
    found by their recipients, not by the county's reach."""
    params: dict[str, Any] = {"status": "open", "limit": 200}
    while True:
        page = await desk.call("GET", "/v1/escalations", "admin", params=params)
        for escalation in page["items"]:
            who = next(
                (k for k in map(desk.key_of, escalation["recipients"]) if k is not None), None
            )
            if rng.random() >= ACK_SHARE:
                continue
            path = f"/v1/escalations/{escalation['id']}/ack"
            if who is not None:
                await desk.call("POST", path, who)
            else:
                # told nobody of the county by name: the county's petition office takes it,
                # if it is the county's (another county's answers 404 and stays as it is)
                await desk.call("POST", path, "county_staff", expect=(200, 403, 404, 409))
        if not page.get("next_cursor"):
            return
        params["cursor"] = page["next_cursor"]
