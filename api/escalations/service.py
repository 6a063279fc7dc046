"""Escalation (升级督办): who hears about a missed deadline, and stopping the chain."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from api.alerts.schemas import AlertRead
from api.alerts.service import alert_official, contacts_of, prefetch_rate_counts
from api.auth.security import token_digest
from api.deadlines.repository import DeadlineRepository
from api.escalations.repository import AckLinkRepository, EscalationRepository
from api.escalations.schemas import EscalationQuery, EscalationRead
from api.events.service import emit, subscribed
from api.kit.db import utcnow
from api.kit.errors import Conflict, InvalidInput, NotFound
from api.kit.i18n import Message
from api.kit.metrics import ESCALATIONS, ESCALATIONS_UNANSWERED, count_after_commit
from api.kit.timeutil import local_clock, remaining_text
from api.kit.uow import PUBLIC_BASE_URL, unit_of
from api.models.alert import Alert
from api.models.case import DONE_STATUSES, Case, Reader
from api.models.deadline import Deadline, DeadlineStatus
from api.models.escalation import NOBODY_TO_NOTIFY, UNANSWERED, Escalation, EscalationStatus
from api.models.official import Official, Role
from api.models.unit import Unit, county_in
from api.officials.repository import OfficialRepository
from api.outbox.service import schedule
from api.policies.schemas import EscalationStep, Policy, Recipient
from api.policies.service import current_policy, grouped_by_policy, policies_for
from api.policies.templates import DEADLINE_NAMES, LEVEL_NAMES, ROLE_NAMES
from api.timeline.repository import CaseEventRepository
from api.units.repository import UnitRepository
from shared.contracts import (
    EscalationAdvance,
    EscalationDue,
    EscalationStart,
    ReminderOutcome,
    RenotifyDue,
    advance_escalation_job_id,
    renotify_escalation_job_id,
    start_escalations_job_id,
)
from shared.jobs import ADVANCE_ESCALATION, RENOTIFY_ESCALATION, START_ESCALATIONS

COUNTY_OFFICE = Recipient.county_petition_office
SMS_ACK_WORDS = frozenset({"1", "收到", "ok", "已收到"})
# Up to this many deadlines flagged together are escalated in the flagging transaction; more
# go to the worker in chunks of START_BATCH (each chunk one transaction, run side by side).
INLINE_ESCALATIONS = 10
START_BATCH = 100


async def _recipients(
    session: AsyncSession,
    deadline: Deadline,
    wanted: Sequence[Recipient],
    policy: Policy,
    loaded: _Loaded,
) -> list[Official]:
    officials = OfficialRepository(session)
    chain = await UnitRepository(session).ancestry(deadline.unit_id)
    county = county_in(chain)
    if county is not None:  # a county's miss climbs to its own leaders, not the city's
        chain = chain[: chain.index(county) + 1]
    found: dict[uuid.UUID, Official] = {}
    case = loaded.cases.get(deadline.case_id) if deadline.case_id else None

    def keep(person: Official | None) -> bool:
        # Someone the petition complains about never hears of it (条例 art. 45): passed over.
        if person is None or (case is not None and case.complains_about(person.id, person.unit_id)):
            return False
        found.setdefault(person.id, person)
        return True

    async def chief_above() -> None:
        # the next person up, for a post held by someone the petition complains about
        for unit in chain[1:]:
            if keep(await officials.holder_of(unit.id, Role.chief)):
                return

    for who in wanted:
        if who is Recipient.responsible and deadline.official_id is not None:
            keep(loaded.officials.get(deadline.official_id))
        elif who in (Recipient.unit_chief, Recipient.unit_deputy):
            role = Role.chief if who is Recipient.unit_chief else Role.deputy
            holder = await officials.holder_of(deadline.unit_id, role)
            if not keep(holder) and holder is not None:
                await chief_above()
        elif who is Recipient.next_unit_chief:
            # The nearest unit above with a chief: a vacancy must not silence the chain.
            for unit in chain[1:]:
                if keep(await officials.holder_of(unit.id, Role.chief)):
                    break
        elif who is Recipient.county_petition_office and county is not None:
            keep(
                await officials.holder_of(county.id, Role.petition_staff)
                or await officials.holder_of(county.id, Role.chief)
            )
        elif who is Recipient.discipline_office and policy.escalation.discipline_unit_id:
            office = policy.escalation.discipline_unit_id
            keep(
                await officials.holder_of(office, Role.chief)
                or await officials.holder_of(office, Role.dept_head)
            )
    return list(found.values())


def _message_fields(loaded: _Loaded, deadline: Deadline) -> dict[str, object]:
    """Everything a template about this deadline may name (each template uses some)."""
    case = loaded.cases.get(deadline.case_id) if deadline.case_id else None
    responsible = loaded.officials.get(deadline.official_id) if deadline.official_id else None
    unit = loaded.units.get(deadline.unit_id)
    lodged_unit = loaded.units.get(case.lodged_unit_id) if case and case.lodged_unit_id else None
    if lodged_unit is not None:
        lodged = lodged_unit.name
    else:
        lodged = LEVEL_NAMES.get(case.lodged_level.value, "") if case else ""
    return {
        "case_number": case.number if case else "",
        "headcount": case.headcount if case else "",
        "lodged": lodged,
        "title": case.alert_title() if case else (deadline.subject or ""),
        "subject": deadline.subject or "",
        "due_local": local_clock(deadline.due_at),
        "official_name": responsible.name if responsible else "(空缺)",
        "unit_name": unit.name if unit else "",
        "role_name": ROLE_NAMES.get(deadline.role, deadline.role),
        "deadline_name": DEADLINE_NAMES.get(deadline.kind.value, deadline.kind.value),
    }


async def send_reminder(
    session: AsyncSession, deadline: Deadline, policy: Policy, fraction: float
) -> None:
    """Remind the responsible official that the deadline is approaching (时限提醒): which
    reminder it is (how much of the span has passed) and how long is left."""
    if deadline.official_id is None:
        return
    loaded = await _prefetch(session, [deadline], policy)
    official = loaded.officials.get(deadline.official_id)
    if official is None:
        return
    await alert_official(
        session,
        official,
        purpose="reminder",
        template="reminder",
        fields={
            **_message_fields(loaded, deadline),
            "elapsed": f"{round(fraction * 100)}%",
            "remaining": remaining_text(deadline.due_at - utcnow()),
        },
        case_id=deadline.case_id,
        deadline_id=deadline.id,
    )


async def remind(session: AsyncSession, deadline_id: uuid.UUID, fraction: float) -> ReminderOutcome:
    """Send the reminder due at `fraction` of the deadline's span, once, if it is still open.

    A deadline moved later (an extension) answers `early` with the new time.
    """
    deadline = await DeadlineRepository(session).get(deadline_id, for_update=True)
    if deadline is None:
        raise NotFound(Message("Deadline {deadline_id} does not exist.", deadline_id=deadline_id))
    remind_at = deadline.starts_at + (deadline.due_at - deadline.starts_at) * fraction
    marker = f"reminded:{fraction:g}"
    if deadline.status is not DeadlineStatus.open or marker in deadline.flags:
        return ReminderOutcome(status="skipped", remind_at=remind_at)
    if utcnow() < remind_at:  # woke early (clock skew): the worker comes back at remind_at
        return ReminderOutcome(status="early", remind_at=remind_at)
    deadline.flags = [*deadline.flags, marker]
    policy = (await current_policy(session, deadline.unit_id)).policy
    await send_reminder(session, deadline, policy, fraction)
    await session.flush()
    return ReminderOutcome(status="sent", remind_at=remind_at)


def _template(deadline: Deadline) -> str:
    """Name of the policy template that tells of this deadline's miss: a duty without a case
    (a screened dispute, a leader's field visits) has its own."""
    named = {"arrival": "arrival_missed", "report": "report_missed"}.get(deadline.kind.value)
    if named is not None:
        return named
    return "deadline_missed" if deadline.case_id is not None else "duty_missed"


@dataclass
class _Loaded:
    """What escalating a batch of deadlines reads, loaded once: the cases, the responsible
    officials, the units (lookups from here cost a dict access, not a session round)."""

    cases: dict[uuid.UUID, Case] = field(default_factory=dict)
    officials: dict[uuid.UUID, Official] = field(default_factory=dict)
    units: dict[uuid.UUID, Unit] = field(default_factory=dict)


@dataclass
class _Writes:
    """Rows a batch of escalations only writes, inserted together at the end."""

    base_url: str
    ack_links: list[dict[str, object]] = field(default_factory=list)
    events: list[dict[str, object]] = field(default_factory=list)


async def _prefetch(
    session: AsyncSession, deadlines: Sequence[Deadline], policy: Policy
) -> _Loaded:
    """Load what escalating these deadlines reads (units up the tree, who holds which post,
    the responsible officials, the cases) in a few queries instead of a few per deadline."""
    units = UnitRepository(session)
    await units.prefetch_ancestry({d.unit_id for d in deadlines})
    loaded = _Loaded()
    for deadline in deadlines:
        for unit in await units.ancestry(deadline.unit_id):
            loaded.units[unit.id] = unit
    officials = OfficialRepository(session)
    await officials.prefetch_holders(
        loaded.units.keys(), (Role.chief, Role.deputy, Role.petition_staff)
    )
    if policy.escalation.discipline_unit_id:
        await officials.prefetch_holders(
            [policy.escalation.discipline_unit_id], (Role.chief, Role.dept_head)
        )
    loaded.officials = await officials.get_many({d.official_id for d in deadlines if d.official_id})
    loaded.cases = await EscalationRepository(session).cases(
        {d.case_id for d in deadlines if d.case_id}
    )
    lodged = {c.lodged_unit_id for c in loaded.cases.values() if c.lodged_unit_id}
    loaded.units.update(await units.get_many(lodged - loaded.units.keys()))
    return loaded


async def _open_steps(
    session: AsyncSession,
    deadlines: Sequence[Deadline],
    policy: Policy,
    step: int,
    reason: str,
    actor_id: uuid.UUID | None = None,
) -> list[Escalation]:
    """Create step `step` of each deadline's chain, alert its people, schedule the next step.

    The step after a chain's last is the county petition office's (`unanswered`); a step with
    nobody to notify (vacant posts, nobody reachable) goes to the county petition office too:
    a miss never ends in silence."""
    loaded = await _prefetch(session, deadlines, policy)
    with session.no_autoflush:
        plans = []
        unanswered: list[tuple[Deadline, str]] = []
        for deadline in deadlines:
            chain = policy.escalation.chain(deadline.kind.value)
            wanted = chain[step].notify if step < len(chain) else [COUNTY_OFFICE]
            people = await _recipients(session, deadline, wanted, policy, loaded)
            why = reason
            if step >= len(chain):
                unanswered.append((deadline, "chain_exhausted"))
            elif not people:
                unanswered.append((deadline, NOBODY_TO_NOTIFY))
                people = await _recipients(session, deadline, [COUNTY_OFFICE], policy, loaded)
                why = NOBODY_TO_NOTIFY  # the row says why the county office holds it
            plans.append((deadline, chain, people, why))
        await prefetch_rate_counts(session, [p for _, _, people, _ in plans for p in people])
        announce = await subscribed(session, "escalation.created")
        writes = _Writes(base_url=unit_of(session).resource(PUBLIC_BASE_URL))
        escalations = []
        for deadline, chain, people, why in plans:
            escalation = await _open_step(
                session, loaded, writes, deadline, chain, people, policy, step, why, actor_id
            )
            escalations.append(escalation)
        if announce:
            # After the steps, not between them: the unit of work inserts a run of alerts of
            # one shape in one statement, and SMS and webhook rows alternating would go one by
            # one (issue 22: 2 INSERTs a deadline).
            for deadline, escalation in zip(deadlines, escalations, strict=True):
                await emit(
                    session,
                    "escalation.created",
                    {"escalation": escalation_payload(escalation), "deadline_id": str(deadline.id)},
                    unit_id=deadline.unit_id,
                    case_id=deadline.case_id,
                )
        await _announce_unanswered(session, unanswered, escalations, deadlines)
    await session.flush()  # the escalations, before the links that name them
    await AckLinkRepository(session).add_many(writes.ack_links)
    await CaseEventRepository(session).record_many(writes.events)
    return escalations


async def _announce_unanswered(
    session: AsyncSession,
    unanswered: Sequence[tuple[Deadline, str]],
    escalations: Sequence[Escalation],
    deadlines: Sequence[Deadline],
) -> None:
    """Count the misses nobody answered and tell the subscribers (`escalation.unanswered`)."""
    if not unanswered:
        return
    by_deadline = {d.id: e for d, e in zip(deadlines, escalations, strict=True)}
    reasons = [reason for _, reason in unanswered]

    def record() -> None:
        for reason in reasons:
            ESCALATIONS_UNANSWERED.labels(reason=reason).inc()

    count_after_commit(session, record)
    if not await subscribed(session, "escalation.unanswered"):
        return
    for deadline, reason in unanswered:
        escalation = by_deadline[deadline.id]
        await emit(
            session,
            "escalation.unanswered",
            {
                "reason": reason,
                "deadline_id": str(deadline.id),
                "escalation": escalation_payload(escalation),
            },
            unit_id=deadline.unit_id,
            case_id=deadline.case_id,
        )


async def _open_step(
    session: AsyncSession,
    loaded: _Loaded,
    writes: _Writes,
    deadline: Deadline,
    chain: Sequence[EscalationStep],
    recipients: Sequence[Official],
    policy: Policy,
    step: int,
    reason: str,
    actor_id: uuid.UUID | None,
) -> Escalation:
    now = utcnow()
    escalation = Escalation(
        id=uuid.uuid4(),
        deadline_id=deadline.id,
        case_id=deadline.case_id,
        step=step,
        reason=reason,
        recipients=[str(r.id) for r in recipients],
        status=EscalationStatus.open,
        created_at=now,
        updated_at=now,
    )
    EscalationRepository(session).add(escalation)
    count_after_commit(session, ESCALATIONS.labels(str(step), reason).inc)
    fields = _message_fields(loaded, deadline)
    template = _template(deadline)
    for person in recipients:
        link = _ack_link(writes, escalation.id, person.id, now + policy.escalation.ack_link_ttl)
        await alert_official(
            session,
            person,
            purpose="escalation",
            template=template,
            fields={**fields, "ack_link": link},
            case_id=deadline.case_id,
            deadline_id=deadline.id,
            escalation_id=escalation.id,
        )
    if step + 1 <= len(chain):  # the step after the last: the county office hears of it
        after = (
            chain[step + 1].after if step + 1 < len(chain) else policy.escalation.unanswered_after
        )
        schedule(
            session,
            ADVANCE_ESCALATION,
            EscalationDue(deadline_id=deadline.id, step=step + 1),
            advance_escalation_job_id(deadline.id, step + 1),
            defer_until=now + after,
        )
    if deadline.case_id is not None:
        writes.events.append(
            {
                "id": uuid.uuid4(),
                "case_id": deadline.case_id,
                "action": "escalated",
                "actor_id": actor_id,
                "client": None,
                "at": now,
                "data": {
                    "escalation_id": str(escalation.id),
                    "deadline_id": str(deadline.id),
                    "step": step,
                    "reason": reason,
                    "recipients": escalation.recipients,
                },
            }
        )
    return escalation


async def escalate_missed(
    session: AsyncSession, deadlines: Sequence[Deadline], policy: Policy
) -> None:
    """Start the escalation chains of deadlines just flagged missed (first step, now).

    A few are escalated in the flagging transaction itself; a crowd (a mass visit, a storm of
    letters) is handed to the worker in chunks, so the flags commit at once and the chains
    start in parallel batches (`start_chains`).
    """
    if len(deadlines) <= INLINE_ESCALATIONS:
        await _open_steps(session, deadlines, policy, 0, "deadline_missed")
        return
    size = START_BATCH
    for offset in range(0, len(deadlines), size):
        body = EscalationStart(deadline_ids=[d.id for d in deadlines[offset : offset + size]])
        schedule(session, START_ESCALATIONS, body, start_escalations_job_id(body.deadline_ids[0]))


async def start_chains(session: AsyncSession, deadline_ids: Sequence[uuid.UUID]) -> int:
    """The worker's call for a chunk of missed deadlines: open the first step of each chain
    not started yet (exactly once, whoever calls twice); returns how many started."""
    deadlines = await DeadlineRepository(session).lock_many(deadline_ids)
    started = await EscalationRepository(session).deadlines_with_step([d.id for d in deadlines], 0)
    todo = [d for d in deadlines if d.status is DeadlineStatus.missed and d.id not in started]
    if todo:
        policies = await policies_for(session, {d.unit_id for d in todo})
        for policy, group in grouped_by_policy(todo, policies, lambda d: d.unit_id):
            await _open_steps(session, group, policy, 0, "deadline_missed")
        await session.flush()
    return len(todo)


async def advance(session: AsyncSession, deadline_id: uuid.UUID, step: int) -> EscalationAdvance:
    """The worker's call when a step's delay has passed: open it unless the chain stopped."""
    deadline = await DeadlineRepository(session).get(deadline_id, for_update=True)
    if deadline is None:
        raise NotFound(Message("Deadline {deadline_id} does not exist.", deadline_id=deadline_id))
    repo = EscalationRepository(session)
    existing = await repo.for_deadline(deadline_id)
    if any(e.status is EscalationStatus.acknowledged for e in existing):
        return EscalationAdvance(status="stopped")
    if any(e.step >= step for e in existing):
        return EscalationAdvance(status="exists")
    policy = (await current_policy(session, deadline.unit_id)).policy
    last = len(policy.escalation.chain(deadline.kind.value))
    if step > last:
        return EscalationAdvance(status="end")
    reason = UNANSWERED if step == last else "no_acknowledgement"
    [escalation] = await _open_steps(session, [deadline], policy, step, reason)
    return EscalationAdvance(status="created", escalation_id=escalation.id)


async def escalate_manually(
    session: AsyncSession,
    escalation_id: uuid.UUID,
    step: int,
    principal_id: uuid.UUID,
    visible_to: Reader | None = None,
) -> Escalation:
    """Jump a chain to a later step now (手动升级), e.g. when a leader must know at once."""
    current = await EscalationRepository(session).get(escalation_id, visible_to=visible_to)
    if current is None:
        raise NotFound(
            Message("Escalation {escalation_id} does not exist.", escalation_id=escalation_id)
        )
    deadline = await DeadlineRepository(session).get(current.deadline_id, for_update=True)
    assert deadline is not None
    existing = await EscalationRepository(session).for_deadline(deadline.id)
    policy = (await current_policy(session, deadline.unit_id)).policy
    last = len(policy.escalation.chain(deadline.kind.value)) - 1
    highest = max(e.step for e in existing)
    if not highest < step <= last:
        raise InvalidInput(
            Message(
                "Choose a step after {highest} and at most {last}.", highest=highest, last=last
            ),
            pointer="/step",
        )
    [escalation] = await _open_steps(session, [deadline], policy, step, "manual", principal_id)
    return escalation


async def acknowledge(
    session: AsyncSession,
    escalation_id: uuid.UUID,
    official_id: uuid.UUID,
    client: str | None,
    visible_to: Reader | None = None,
) -> Escalation:
    """Acknowledge an escalation (收到), which stops its chain. With `visible_to`, one the
    official may not see (outside their territory, not sent to them) answers 404."""
    escalation = await EscalationRepository(session).get(
        escalation_id, for_update=True, visible_to=visible_to
    )
    if escalation is None:
        raise NotFound(
            Message("Escalation {escalation_id} does not exist.", escalation_id=escalation_id)
        )
    if escalation.status is EscalationStatus.acknowledged:
        raise Conflict(
            Message("The escalation is already acknowledged."),
            current_status=escalation.status.value,
            acknowledged_by=str(escalation.acknowledged_by),
        )
    _close(escalation, official_id)
    policy = (await current_policy(session)).policy
    if policy.escalation.renotify_after is not None:
        schedule(
            session,
            RENOTIFY_ESCALATION,
            RenotifyDue(escalation_id=escalation.id, round=1),
            renotify_escalation_job_id(escalation.id, 1),
            defer_until=utcnow() + policy.escalation.renotify_after,
        )
    if await subscribed(session, "escalation.acknowledged"):
        deadline = await DeadlineRepository(session).get(escalation.deadline_id)
        await emit(
            session,
            "escalation.acknowledged",
            {"escalation": escalation_payload(escalation)},
            unit_id=deadline.unit_id if deadline is not None else None,
            case_id=escalation.case_id,
        )
    if escalation.case_id is not None:
        CaseEventRepository(session).record(
            escalation.case_id,
            "escalation_acknowledged",
            actor_id=official_id,
            client=client,
            data={"escalation_id": str(escalation.id)},
        )
    await session.flush()
    return escalation


def _close(escalation: Escalation, official_id: uuid.UUID | None) -> None:
    escalation.status = EscalationStatus.acknowledged
    escalation.acknowledged_at = utcnow()
    escalation.acknowledged_by = official_id


async def stop_for_deadline(
    session: AsyncSession, deadline_id: uuid.UUID, official_id: uuid.UUID
) -> list[Escalation]:
    """Close the open escalations of a deadline (the late arrival stops an arrival chain)."""
    escalations = list(await EscalationRepository(session).open_for_deadline(deadline_id))
    for escalation in escalations:
        _close(escalation, official_id)
    return escalations


async def _unresolved(session: AsyncSession, escalation: Escalation) -> Deadline | None:
    """The escalation's deadline while its matter is still open, else None."""
    deadline = await DeadlineRepository(session).get(escalation.deadline_id)
    if deadline is None or deadline.case_id is None:
        return None
    repo = EscalationRepository(session)
    case = (await repo.cases({deadline.case_id})).get(deadline.case_id)
    if case is None or case.status in DONE_STATUSES:
        return None
    if deadline.kind.value == "arrival" and deadline.official_id is not None:
        arrived = await repo.has_arrived(case.id, deadline.official_id)
        return None if arrived else deadline
    return deadline


async def renotify(
    session: AsyncSession, escalation_id: uuid.UUID, round_: int
) -> EscalationAdvance:
    """Remind whoever acknowledged an escalation whose matter is still unresolved (督办回访),
    and come back after the same interval."""
    escalation = await EscalationRepository(session).get(escalation_id, for_update=True)
    if escalation is None:
        raise NotFound(
            Message("Escalation {escalation_id} does not exist.", escalation_id=escalation_id)
        )
    deadline = await _unresolved(session, escalation)
    policy = (await current_policy(session, deadline.unit_id if deadline else None)).policy
    if deadline is None or policy.escalation.renotify_after is None:
        return EscalationAdvance(status="end")
    people = [escalation.acknowledged_by] if escalation.acknowledged_by else []
    people += [uuid.UUID(r) for r in escalation.recipients]
    officials = await OfficialRepository(session).get_many(list(dict.fromkeys(people)))
    loaded = await _prefetch(session, [deadline], policy)
    fields = _message_fields(loaded, deadline)
    for person in officials.values():
        await alert_official(
            session,
            person,
            purpose="renotify",
            template="renotify",
            fields=fields,
            case_id=deadline.case_id,
            deadline_id=deadline.id,
            escalation_id=escalation.id,
        )
    schedule(
        session,
        RENOTIFY_ESCALATION,
        RenotifyDue(escalation_id=escalation.id, round=round_ + 1),
        renotify_escalation_job_id(escalation.id, round_ + 1),
        defer_until=utcnow() + policy.escalation.renotify_after,
    )
    return EscalationAdvance(status="created", escalation_id=escalation.id)


def _ack_link(
    writes: _Writes,
    escalation_id: uuid.UUID,
    official_id: uuid.UUID,
    expires_at: datetime,
) -> str:
    """A one-click acknowledgement URL for one recipient; only the token's hash is stored."""
    token = secrets.token_urlsafe(16)
    writes.ack_links.append(
        {
            "token_hash": token_digest(token),
            "escalation_id": escalation_id,
            "official_id": official_id,
            "expires_at": expires_at,
        }
    )
    return f"{writes.base_url.rstrip('/')}/a/{token}"


async def acknowledge_by_link(session: AsyncSession, token: str) -> Escalation:
    """Acknowledge through a link: works once, until it expires, without logging in."""
    link = await AckLinkRepository(session).get(token_digest(token))
    if link is None:
        raise NotFound(Message("This acknowledgement link is not valid."))
    if link.used_at is not None:
        raise Conflict(Message("This acknowledgement link was already used."))
    if link.expires_at < utcnow():
        raise Conflict(Message("This acknowledgement link has expired; acknowledge in the app."))
    link.used_at = utcnow()
    escalation = await EscalationRepository(session).get(link.escalation_id)
    assert escalation is not None
    if escalation.status is EscalationStatus.acknowledged:
        return escalation
    return await acknowledge(session, escalation.id, link.official_id, "ack-link")


async def acknowledge_by_sms(session: AsyncSession, number: str, text: str) -> Escalation | None:
    """An SMS reply `1` or `收到` acknowledges the newest open escalation that alerted the
    sender's number; anything else, or an unknown number, acknowledges nothing."""
    if text.strip().lower() not in SMS_ACK_WORDS:
        return None
    digits = number.strip().replace(" ", "")
    candidates = {digits, digits.removeprefix("+86"), digits.removeprefix("0086")}
    candidates |= {"+86" + c for c in list(candidates) if not c.startswith("+")}
    officials = await OfficialRepository(session).by_sms_number(sorted(candidates))
    by_id = {o.id: o for o in officials}
    escalation = await EscalationRepository(session).latest_open_for(list(by_id))
    if escalation is None:
        return None
    acker = next(uuid.UUID(r) for r in escalation.recipients if uuid.UUID(r) in by_id)
    return await acknowledge(session, escalation.id, acker, "sms-reply")


def escalation_payload(escalation: Escalation) -> dict[str, object]:
    """An escalation as event data."""
    return EscalationRead.model_validate(escalation, from_attributes=True).model_dump(mode="json")


async def list_escalations(
    session: AsyncSession, query: EscalationQuery, reader: Reader
) -> tuple[list[Escalation], str | None]:
    """A page of the escalations the official may see."""
    return await EscalationRepository(session).list(query, reader)


async def fail_over(session: AsyncSession, alert: Alert, gone: bool) -> None:
    """An official's alert failed for good (registered for `api.alerts.service.ALERT_FAILED`):
    `alert.failed` goes out, then their next contact is tried, else the chain moves up (a
    failure itself escalates). A subscriber's delivery is not an official's alert: left to
    `api.events`."""
    if alert.subscription_id is not None:
        return
    official = (
        await OfficialRepository(session).get(alert.official_id) if alert.official_id else None
    )
    await emit(
        session,
        "alert.failed",
        {"alert": AlertRead.model_validate(alert, from_attributes=True).model_dump(mode="json")},
        unit_id=official.unit_id if official is not None else None,
        case_id=alert.case_id,
    )
    next_index = (alert.contact_index or 0) + 1
    if official is not None and next_index < len(contacts_of(official)):
        await alert_official(
            session,
            official,
            purpose=alert.purpose,
            # the same template, made for the next contact's channel
            template=alert.template if alert.template_fields is not None else None,
            fields=alert.template_fields or {"text": alert.text},
            case_id=alert.case_id,
            deadline_id=alert.deadline_id,
            escalation_id=alert.escalation_id,
            contact_index=next_index,
        )
        return
    if alert.escalation_id is not None:
        escalation = await EscalationRepository(session).get(alert.escalation_id)
        if escalation is not None:
            await advance(session, escalation.deadline_id, escalation.step + 1)
