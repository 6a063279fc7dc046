"""Statement budgets of the hot paths (issue 22): the SQL statements, transactions and round
trips a registration of each kind, an action, a read, a dashboard poll and the flag →
escalate → alert chain send, each against a budget written here. Counted, not timed: they
hold on a noisy machine. A feature that adds a statement raises its budget in the same
commit and says why; a change that saves one lowers it.

Every count includes the request's after-commit work (the outbox marked dispatched). A
webhook subscriber to every event is present while counting, so the events' deliveries are
counted too (their rows are batched: they must not add a statement per case or deadline)."""

from __future__ import annotations

import math
import random
import uuid
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from api.escalations.misses import FLAG_BATCH
from api.escalations.service import START_BATCH
from api.events.schemas import OFFICE_EVENTS, EventType
from api.models.alert import Alert
from api.models.deadline import Deadline, DeadlineKind, DeadlineStatus
from api.models.official import Official, Role
from api.models.outbox import OutboxMessage
from shared.jobs import START_ESCALATIONS
from tests.conftest import County, letter_body, visit_body
from tests.statements import Tally, counting

T = TypeVar("T")

# The worker's AttemptReporter sends at most this many outcomes a request.
REPORT_BATCH = 200


@dataclass(frozen=True)
class Budget:
    """Most statements and round trips (statements, BEGINs, COMMITs) one request may send."""

    statements: int
    round_trips: int


# Per request. Why each is what it is: the `by_table()` of a failure lists the statements.
# The outbox rows a request recorded are marked dispatched after it, many requests' rows in
# one UPDATE of the hook's own (not counted here: `test_outbox` counts it), not in a second
# transaction of every request. "caller" is one statement: the official of the login with
# their unit's subtree and its counties (the data versions its polls compare). A
# transaction's outbox rows are one INSERT, and its timeline events (but the bulk ones of a
# batch) another, both written as it commits.
BUDGETS = {
    # caller, the origin's ancestry, policy, number, case (its lookup secret in the INSERT), event,
    # deadlines, outbox (all of its jobs), subscriptions, repeat and duplicate checks,
    # stat facts and counters (a new case's from the rows written, not read back), audit;
    # the subscriber's case.created delivery (its alert)
    "register_letter": Budget(statements=15, round_trips=17),
    # a letter's and the summons: the chiefs to summon, their recent alerts (the rate limit's
    # and the SMS cap's windows in one count), their alerts
    "register_visit": Budget(statements=19, round_trips=21),
    # caller, ancestry, case locked, deadlines met and opened, event, stat facts, audit
    "accept": Budget(statements=21, round_trips=23),
    # caller, case, deadlines, handling units, audit
    "read_case": Budget(statements=5, round_trips=7),
    # the dashboard's poll of a subtree's figures: caller, unit, two counter reads
    "summary": Budget(statements=4, round_trips=6),
    # the chain, per request: a flag-due tick (one UPDATE … RETURNING of up to FLAG_BATCH, the
    # timeline, facts, events in bulk; up to INLINE_ESCALATIONS escalated inline)
    "flag_due": Budget(statements=23, round_trips=25),
    # a chunk of up to START_BATCH chains started
    "start_chunk": Budget(statements=19, round_trips=21),
    # a batch of up to REPORT_BATCH delivery outcomes
    "report_batch": Budget(statements=2, round_trips=4),
}


def _within(name: str, tally: Tally, requests: int = 1) -> None:
    budget = BUDGETS[name]
    assert len(tally.statements) <= budget.statements * requests, f"{name}: {tally}"
    assert tally.round_trips <= budget.round_trips * requests, f"{name}: {tally}"


async def _counted(app: FastAPI, work: Awaitable[T]) -> tuple[Tally, T]:
    async with counting(app.state.desk.engine) as tally:
        result = await work
    return tally, result


@pytest.fixture
async def subscriber(
    client: httpx.AsyncClient, admin: dict[str, str], county: County
) -> AsyncIterator[None]:
    """Webhook subscribers to every event but the offices' while the test counts: the
    deployment's, and the county's (its events' units are matched up the tree: the chains the
    request walked anyway, no statement of their own)."""
    events = [e.value for e in EventType if e not in OFFICE_EVENTS]
    made = []
    for scope in ({}, {"unit_id": county.county["id"]}):
        body = {"url": f"http://127.0.0.1:9/{uuid.uuid4().hex}", "event_types": events, **scope}
        resp = await client.post("/v1/webhook-subscriptions", json=body, headers=admin)
        assert resp.status_code == 201, resp.text
        made.append(resp.json()["id"])
    yield
    for subscription_id in made:
        await client.delete(f"/v1/webhook-subscriptions/{subscription_id}", headers=admin)


async def test_registration_action_and_reads_keep_their_budgets(
    app: FastAPI, client: httpx.AsyncClient, county: County, subscriber: None
) -> None:
    staff = await county.headers(client, "town_staff")
    bodies = {
        "register_letter": letter_body(county),
        "register_visit": visit_body(county.village2, county.town, 3),
    }
    for name, body in bodies.items():
        # the first of its kind warms what a running API has warm (pools, caches)
        assert (await client.post("/v1/cases", json=body, headers=staff)).status_code == 201
        tally, resp = await _counted(app, client.post("/v1/cases", json=body, headers=staff))
        assert resp.status_code == 201, resp.text
        _within(name, tally)
    case = resp.json()
    tally, resp = await _counted(app, client.get(f"/v1/cases/{case['id']}", headers=staff))
    assert resp.status_code == 200
    _within("read_case", tally)

    letter = (await client.post("/v1/cases", json=bodies["register_letter"], headers=staff)).json()
    tally, resp = await _counted(
        app, client.post(f"/v1/cases/{letter['id']}/accept", json={}, headers=staff)
    )
    assert resp.status_code == 200, resp.text
    _within("accept", tally)

    summary = f"/v1/stats/summary?unit_id={county.town['id']}"
    assert (await client.get(summary, headers=staff)).status_code == 200
    tally, resp = await _counted(app, client.get(summary, headers=staff))
    assert resp.status_code == 200, resp.text
    _within("summary", tally)


async def _overdue(
    app: FastAPI, client: httpx.AsyncClient, county: County, size: int
) -> list[uuid.UUID]:
    """`size` handling deadlines on one case, each owed by an official of its own (so that
    every recipient is new to the transaction: a count per recipient would show), all just
    past due."""
    staff = await county.headers(client, "town_staff")
    case = (
        await client.post(
            "/v1/cases", json=visit_body(county.village2, county.town, 3), headers=staff
        )
    ).json()
    village = uuid.UUID(county.village2["id"])
    owners = [
        Official(
            id=uuid.uuid4(),
            name=f"网格员{n}",
            phone=f"139{random.randrange(10**8):08d}",
            unit_id=village,
            role=Role.grid_worker,
        )
        for n in range(size)
    ]
    now = datetime.now(UTC)
    ids = [uuid.uuid4() for _ in range(size)]
    async with app.state.desk.sessionmaker() as session:
        session.add_all(owners)
        await session.flush()
        session.add_all(
            Deadline(
                id=deadline_id,
                case_id=uuid.UUID(case["id"]),
                kind=DeadlineKind.handling,
                role="handler",
                official_id=owner.id,
                unit_id=village,
                starts_at=now - timedelta(days=1),
                due_at=now - timedelta(seconds=1),
                status=DeadlineStatus.open,
                flags=[],
            )
            for deadline_id, owner in zip(ids, owners, strict=True)
        )
        await session.commit()
    return ids


@pytest.mark.parametrize("size", [1, 100, 1000])
async def test_the_chain_grows_with_its_chunks_not_its_deadlines(
    app: FastAPI,
    client: httpx.AsyncClient,
    county: County,
    worker_headers: dict[str, str],
    subscriber: None,
    size: int,
) -> None:
    """flag → escalate → alert for `size` deadlines due together, as the worker drives it:
    flag-due ticks until no batch is full, each start-escalations chunk the flagging
    recorded, the delivery outcomes reported in the reporter's batches."""
    ids = await _overdue(app, client, county, size)
    wanted = {str(i) for i in ids}

    async def flag() -> int:
        ticks = 0
        while True:
            ticks += 1
            resp = await client.post("/v1/internal/deadlines/flag-due", headers=worker_headers)
            assert resp.status_code == 200, resp.text
            if not resp.json()["more"]:
                return ticks

    flagged, ticks = await _counted(app, flag())
    assert ticks <= math.ceil((size + 1) / FLAG_BATCH) + 1
    _within("flag_due", flagged, ticks)

    async with app.state.desk.sessionmaker() as session:
        rows = (
            await session.execute(
                select(OutboxMessage).where(OutboxMessage.job == START_ESCALATIONS.name)
            )
        ).scalars()
        chunks = [[x for x in r.payload["args"][0] if x in wanted] for r in rows]
    chunks = [chunk for chunk in chunks if chunk]
    assert len(chunks) <= math.ceil(size / START_BATCH)

    async def start() -> None:
        for chunk in chunks:
            resp = await client.post(
                "/v1/internal/escalations/start",
                json={"deadline_ids": chunk},
                headers=worker_headers,
            )
            assert resp.status_code == 200, resp.text

    started, _ = await _counted(app, start())
    _within("start_chunk", started, len(chunks))

    async with app.state.desk.sessionmaker() as session:
        alerts = list(
            (await session.execute(select(Alert.id).where(Alert.deadline_id.in_(ids)))).scalars()
        )
    # each chain's first step: its owner and the village chief (one alert a person a batch)
    assert len(alerts) >= size

    async def report() -> int:
        batches = 0
        for first in range(0, len(alerts), REPORT_BATCH):
            batch = alerts[first : first + REPORT_BATCH]
            body: dict[str, Any] = {
                "attempts": [{"alert_id": str(a), "ok": True, "attempt": 1} for a in batch]
            }
            resp = await client.post(
                "/v1/internal/alerts/attempts", json=body, headers=worker_headers
            )
            assert resp.status_code == 200, resp.text
            batches += 1
        return batches

    reported, batches = await _counted(app, report())
    _within("report_batch", reported, batches)
    requests = ticks + len(chunks) + batches
    assert requests <= 2 + math.ceil(size / FLAG_BATCH) + 2 * math.ceil(size / START_BATCH)
