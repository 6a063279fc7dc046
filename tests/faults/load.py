"""A scenario's load (a county of its own, a few hundred deadlines falling due together, visits
registered through the API) and the checks once the stack has recovered."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from arq.connections import ArqRedis
from redis.asyncio import ConnectionPool
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncEngine

from api.models.case import Case, CaseStatus, Channel, LodgedLevel
from api.models.deadline import Deadline, DeadlineKind, DeadlineStatus
from api.models.official import Official, Role
from api.models.unit import Unit, UnitLevel
from api.outbox.service import QueuedJob, enqueue_many
from shared.contracts import flag_due_job_id, flag_due_tick
from shared.jobs import FLAG_DUE
from tests.faults.receiver import FaultyReceiver

VILLAGES = 20
# Arrival deadline of a village chief summoned to a visit (the suite's policy).
ARRIVAL_SECONDS = 8
# A missed handling deadline goes to the town chief this long after its responsible official
# (a deferred job in Redis while the scenario runs); an arrival chain has one step.
STEP_SECONDS = 6
CHAIN_STEPS = {"handling": 2, "arrival": 1}


def fault_policy(policy: dict[str, Any]) -> dict[str, Any]:
    """The policy the suite runs under: a short arrival deadline, short chains (a step is an
    escalation and an alert: `CHAIN_STEPS` of each per miss), no reminders, no rate limit or
    bundle."""
    policy = dict(policy)
    policy["arrival"] = {**policy["arrival"], "chief": f"PT{ARRIVAL_SECONDS}S"}
    policy["escalation"] = {
        **policy["escalation"],
        "arrival": [{"notify": ["next_unit_chief"], "after": "PT0S", "repeat": 0}],
        "default": [
            {"notify": ["responsible"], "after": "PT0S", "repeat": 0},
            {"notify": ["next_unit_chief"], "after": f"PT{STEP_SECONDS}S", "repeat": 0},
        ],
        "renotify_after": None,
    }
    policy["alerts"] = {
        **policy["alerts"],
        "max_per_window": 1_000_000,
        "sms_cap": 1_000_000,
    }
    policy["reminders"] = []
    return policy


@dataclass
class Scenario:
    """One scenario's territory and everything it created."""

    tag: str
    county: uuid.UUID
    town: uuid.UUID
    villages: list[uuid.UUID]
    cases: set[uuid.UUID] = field(default_factory=set)
    # Idempotency-Key → the case its registration answered.
    visits: dict[str, uuid.UUID] = field(default_factory=dict)
    last_due: datetime = field(default_factory=lambda: datetime.now(UTC))


async def seed_territory(engine: AsyncEngine) -> Scenario:
    """A county, a town with its chief, villages with their chiefs (written to the database)."""
    tag = uuid.uuid4().hex[:6]
    county, town = uuid.uuid4(), uuid.uuid4()
    villages = [uuid.uuid4() for _ in range(VILLAGES)]
    units = [
        {"id": county, "name": f"故障县{tag}", "level": UnitLevel.county, "parent_id": None},
        {"id": town, "name": f"故障镇{tag}", "level": UnitLevel.town, "parent_id": county},
    ] + [
        {"id": v, "name": f"村{i}-{tag}", "level": UnitLevel.village, "parent_id": town}
        for i, v in enumerate(villages)
    ]
    phone = random.randrange(10**7)
    officials = [
        {
            "id": uuid.uuid4(),
            "name": f"镇长{tag}",
            "phone": f"1370{phone:07d}",
            "unit_id": town,
            "role": Role.chief,
            "contacts": [],
        }
    ] + [
        {
            "id": uuid.uuid4(),
            "name": f"村长{i}-{tag}",
            "phone": f"138{i:01d}{(phone + i) % 10**7:07d}",
            "unit_id": v,
            "role": Role.chief,
            "contacts": [],
        }
        for i, v in enumerate(villages)
    ]
    async with engine.begin() as conn:
        await conn.execute(insert(Unit), units)
        await conn.execute(insert(Official), officials)
    return Scenario(tag=tag, county=county, town=town, villages=villages)


async def seed_deadlines(
    engine: AsyncEngine,
    redis_url: str,
    queue: str,
    scenario: Scenario,
    count: int,
    first_due: datetime,
    spread: float,
) -> None:
    """`count` cases with a handling deadline each, due within `spread` seconds from
    `first_due`, and their clock jobs handed to arq as the outbox relay hands them."""
    chiefs = await _village_chiefs(engine, scenario)
    cases: list[dict[str, Any]] = []
    deadlines: list[dict[str, Any]] = []
    for n in range(count):
        case_id, village = uuid.uuid4(), scenario.villages[n % VILLAGES]
        due = first_due + timedelta(seconds=random.uniform(0, spread))
        cases.append(
            {
                "id": case_id,
                "number": f"F{scenario.tag}-{n + 1}",
                "county_id": scenario.county,
                "channel": Channel.letter,
                "status": CaseStatus.assigned,
                "origin_unit_id": village,
                "lodged_level": LodgedLevel.town,
                "petitioners": [{"name": f"来信人{n}"}],
                "headcount": 1,
                "is_collective": False,
                "category": "land",
                "title": f"故障案件{n}",
                "content": "故障注入",
                "received_at": first_due - timedelta(days=30),
                "intake_unit_id": scenario.town,
                "assigned_unit_id": village,
            }
        )
        deadlines.append(
            {
                "id": uuid.uuid4(),
                "case_id": case_id,
                "kind": DeadlineKind.handling,
                "role": "chief",
                "official_id": chiefs[village],
                "unit_id": village,
                "starts_at": first_due - timedelta(days=1),
                "due_at": due,
                "status": DeadlineStatus.open,
                "flags": [],
            }
        )
    async with engine.begin() as conn:
        await conn.execute(insert(Case), cases)
        await conn.execute(insert(Deadline), deadlines)
    scenario.cases.update(c["id"] for c in cases)
    scenario.last_due = max(scenario.last_due, *(d["due_at"] for d in deadlines))
    jobs = [
        QueuedJob(
            id=d["id"],
            job=FLAG_DUE.name,
            job_id=flag_due_job_id(d["due_at"]),
            args=[str(d["id"])],
            defer_until=flag_due_tick(d["due_at"]),
        )
        for d in deadlines
    ]
    pool = ConnectionPool.from_url(redis_url)
    arq = ArqRedis(pool, default_queue_name=queue)
    try:
        await enqueue_many(arq, jobs)
    finally:
        await arq.aclose()
        await pool.aclose()


async def _village_chiefs(engine: AsyncEngine, scenario: Scenario) -> dict[uuid.UUID, uuid.UUID]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT unit_id, id FROM officials WHERE unit_id = ANY(:units)"),
            {"units": scenario.villages},
        )
        return {row.unit_id: row.id for row in rows}


def visit(scenario: Scenario, n: int) -> dict[str, Any]:
    """Registration body of a small visit from one of the scenario's villages to its town."""
    return {
        "channel": "visit",
        "origin_unit_id": str(scenario.villages[n % VILLAGES]),
        "lodged_unit_id": str(scenario.town),
        "petitioners": [{"name": "张三", "phone": "13800000001", "is_representative": True}],
        "headcount": 3,
        "category": "land.acquisition",
        "title": "征地补偿款未兑现",
        "content": "村民反映征地补偿款至今未发放。",
    }


async def register_visit(
    http: httpx.AsyncClient, admin: dict[str, str], scenario: Scenario, n: int, within: float
) -> None:
    """Register one visit as a phone would: the same Idempotency-Key until an answer comes
    (through connection errors and 5xx while a server is down)."""
    key = f"fault-{scenario.tag}-{n}"
    headers = admin | {"Idempotency-Key": key}
    stop_at = time.monotonic() + within
    while True:
        try:
            resp = await http.post("/v1/cases", json=visit(scenario, n), headers=headers)
            if resp.status_code in (200, 201):
                case_id = uuid.UUID(resp.json()["id"])
                scenario.visits[key] = case_id
                scenario.cases.add(case_id)
                return
            assert resp.status_code >= 500, resp.text  # a 4xx is a bug, never retried
        except httpx.TransportError:
            pass
        if time.monotonic() > stop_at:
            raise AssertionError(f"visit {key} was never registered")
        await asyncio.sleep(0.3)


async def register_visits(
    http: httpx.AsyncClient,
    admin: dict[str, str],
    scenario: Scenario,
    count: int,
    *,
    start: int = 0,
    within: float = 90,
) -> None:
    """Register `count` visits, a few at a time."""
    slots = asyncio.Semaphore(4)

    async def one(n: int) -> None:
        async with slots:
            await register_visit(http, admin, scenario, n, within)

    await asyncio.gather(*(one(n) for n in range(start, start + count)))
    scenario.last_due = max(
        scenario.last_due, datetime.now(UTC) + timedelta(seconds=ARRIVAL_SECONDS)
    )


@dataclass
class Outcome:
    """What the database and the receiver say about a scenario."""

    due: dict[uuid.UUID, tuple[str, str]]  # deadline → (status, kind), if due by now
    missed_events: Counter[uuid.UUID]
    escalations: Counter[tuple[uuid.UUID, int]]
    escalated_events: Counter[uuid.UUID]
    alerts: dict[uuid.UUID, tuple[str, str, uuid.UUID | None, uuid.UUID | None]]
    cases: int
    visit_cases: int
    accepted: Counter[str]
    known_alert_ids: set[str]

    def settled(self) -> bool:
        """Every due deadline closed, every alert settled and received."""
        steps = Counter(d for d, _ in self.escalations.elements())
        return (
            all(status != "open" for status, _ in self.due.values())
            and all(steps[d] >= CHAIN_STEPS[kind] for d, (_, kind) in self.due.items())
            and all(a[1] != "pending" for a in self.alerts.values())
            and all(str(a) in self.accepted for a in self.alerts)
        )


async def observe(engine: AsyncEngine, receiver: FaultyReceiver, scenario: Scenario) -> Outcome:
    """Read the scenario's deadlines, escalations, alerts and cases, and what was received."""
    cases = list(scenario.cases)
    accepted = receiver.accepted()
    async with engine.connect() as conn:
        due = {
            r.id: (r.status, r.kind)
            for r in await conn.execute(
                text(
                    "SELECT id, status, kind FROM deadlines WHERE case_id = ANY(:cases)"
                    " AND due_at <= now()"
                ),
                {"cases": cases},
            )
        }
        missed_events: Counter[uuid.UUID] = Counter()
        escalated_events: Counter[uuid.UUID] = Counter()
        for r in await conn.execute(
            text(
                "SELECT action, data->>'deadline_id' AS deadline_id, count(*) AS n"
                " FROM case_events WHERE case_id = ANY(:cases)"
                " AND action IN ('deadline_missed', 'escalated') GROUP BY 1, 2"
            ),
            {"cases": cases},
        ):
            events = missed_events if r.action == "deadline_missed" else escalated_events
            events[uuid.UUID(r.deadline_id)] = int(r.n)
        escalations: Counter[tuple[uuid.UUID, int]] = Counter(
            {
                (r.deadline_id, r.step): int(r.n)
                for r in await conn.execute(
                    text(
                        "SELECT deadline_id, step, count(*) AS n FROM escalations"
                        " WHERE case_id = ANY(:cases) GROUP BY 1, 2"
                    ),
                    {"cases": cases},
                )
            }
        )
        alerts = {
            r.id: (r.purpose, r.status, r.deadline_id, r.case_id)
            for r in await conn.execute(
                text(
                    "SELECT id, purpose, status, deadline_id, case_id FROM alerts"
                    " WHERE case_id = ANY(:cases)"
                ),
                {"cases": cases},
            )
        }
        counts = (
            await conn.execute(
                text(
                    "SELECT count(*) AS all_cases,"
                    " count(*) FILTER (WHERE channel = 'visit') AS visits"
                    " FROM cases WHERE county_id = :county"
                ),
                {"county": scenario.county},
            )
        ).one()
        known = {
            str(r.id)
            for r in await conn.execute(
                text("SELECT id FROM alerts WHERE id::text = ANY(:ids)"), {"ids": list(accepted)}
            )
        }
    return Outcome(
        due=due,
        missed_events=missed_events,
        escalations=escalations,
        escalated_events=escalated_events,
        alerts=alerts,
        cases=int(counts.all_cases),
        visit_cases=int(counts.visits),
        accepted=accepted,
        known_alert_ids=known,
    )


async def wait_until_settled(
    engine: AsyncEngine,
    receiver: FaultyReceiver,
    scenario: Scenario,
    within: float,
    describe: Callable[[], str],
) -> Outcome:
    """Poll until the scenario has settled (after its last due time); the outcome then."""
    wait = (scenario.last_due - datetime.now(UTC)).total_seconds()
    if wait > 0:
        await asyncio.sleep(wait)
    stop_at = time.monotonic() + within
    while True:
        outcome = await observe(engine, receiver, scenario)
        if outcome.settled():
            break
        if time.monotonic() > stop_at:
            raise AssertionError(
                f"not settled within {within:.0f} s: {summary(outcome)}\n{describe()}"
            )
        await asyncio.sleep(1.0)
    # Give a late worker or a second API the chance to flag or escalate a second time.
    await asyncio.sleep(2.0)
    return await observe(engine, receiver, scenario)


def summary(outcome: Outcome) -> str:
    """One line: how far the scenario got."""
    statuses = Counter(status for status, _ in outcome.due.values())
    alert_states = Counter(a[1] for a in outcome.alerts.values())
    received = sum(1 for a in outcome.alerts if str(a) in outcome.accepted)
    steps = Counter(step for _, step in outcome.escalations.elements())
    return (
        f"deadlines due {len(outcome.due)} {dict(statuses)}; escalations by step "
        f"{dict(steps)}; alerts {len(outcome.alerts)} {dict(alert_states)}, received {received}"
    )


def check(outcome: Outcome, scenario: Scenario, *, bulk: int, visits: int) -> None:
    """The suite's invariants: every deadline flagged exactly once and escalated exactly
    once, every alert delivered (duplicates only under its own id), no case lost or doubled."""
    assert outcome.cases == bulk + visits, f"cases: {outcome.cases} != {bulk} + {visits}"
    assert outcome.visit_cases == visits == len(set(scenario.visits.values())), (
        f"visits: {outcome.visit_cases} in the database, {len(scenario.visits)} registered"
    )
    assert len(outcome.due) == bulk + visits, (
        f"deadlines due: {len(outcome.due)} != {bulk} + {visits} (one arrival per visit)"
    )
    not_missed = {d: s for d, (s, _) in outcome.due.items() if s != "missed"}
    assert not not_missed, f"deadlines not flagged missed: {not_missed}"
    flagged = {d: outcome.missed_events[d] for d in outcome.due if outcome.missed_events[d] != 1}
    assert not flagged, f"deadlines flagged other than once: {flagged}"
    steps = {d: range(CHAIN_STEPS[kind]) for d, (_, kind) in outcome.due.items()}
    chains = {d: [outcome.escalations[(d, step)] for step in wanted] for d, wanted in steps.items()}
    wrong_chains = {d: n for d, n in chains.items() if n != [1] * len(steps[d])}
    assert not wrong_chains, f"chain steps escalated other than once each: {wrong_chains}"
    assert sum(outcome.escalations.values()) == sum(len(s) for s in steps.values())
    events = {
        d: outcome.escalated_events[d]
        for d in outcome.due
        if outcome.escalated_events[d] != len(steps[d])
    }
    assert not events, f"escalation events other than one per step: {events}"

    by_deadline = Counter(a[2] for a in outcome.alerts.values() if a[0] == "escalation")
    wrong = {d: by_deadline[d] for d in outcome.due if by_deadline[d] != len(steps[d])}
    assert not wrong, f"deadlines with other than one escalation alert per step: {wrong}"
    summons = Counter(a[3] for a in outcome.alerts.values() if a[0] == "summons")
    assert sorted(summons.values()) == [1] * visits, f"summons per visit: {summons}"
    expected = 2 * bulk + 2 * visits  # two steps per handling miss; summons and one step a visit
    assert len(outcome.alerts) == expected, f"alerts: {len(outcome.alerts)} != {expected}"
    unsent = {a: s for a, (_, s, _, _) in outcome.alerts.items() if s != "sent"}
    assert not unsent, f"alerts not sent: {unsent}"
    lost = [a for a in outcome.alerts if str(a) not in outcome.accepted]
    assert not lost, f"alerts reported sent but never received: {lost}"
    strangers = set(outcome.accepted) - outcome.known_alert_ids
    assert not strangers, f"received messages that are no alert: {strangers}"
