"""`/v1/reception`: leader reception (领导接访): the duty roster, appointments, field visits."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from api.auth.dependencies import CurrentPrincipal, needs
from api.auth.permissions import Permission
from api.idempotency.dependencies import Once
from api.kit.boundary import DbSession
from api.kit.pagination import Page
from api.policies.service import current_policy
from api.reception import service
from api.reception.schemas import (
    AppointmentCreate,
    AppointmentQuery,
    AppointmentRead,
    CancelBody,
    FieldVisitCreate,
    FieldVisitProgress,
    FieldVisitQuery,
    FieldVisitRead,
    HoldBody,
    OnsiteDutyQuery,
    OnsiteDutyRead,
    ProgressQuery,
    Roster,
    RosterEntryCreate,
    RosterEntryRead,
    RosterGenerate,
    RosterGenerated,
    RosterQuery,
)

router = APIRouter(prefix="/v1/reception", tags=["reception"])

CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"description": "Not allowed in the current state."},
}


# --- the duty roster (接访日程表) -------------------------------------------------------


@router.post(
    "/roster",
    status_code=201,
    response_model=RosterEntryRead,
    responses={409: {"description": "The unit has a leader on duty that day already."}},
    **needs(Permission.manage_reception),
)
async def add_roster_entry(
    body: RosterEntryCreate,
    session: DbSession,
    principal: CurrentPrincipal,
    once: Once,
) -> JSONResponse:
    """Put a chief or deputy of a unit on reception duty for a day (接访日程表): one leader
    per unit and day, today or later."""

    async def produce() -> RosterEntryRead:
        return await service.add_roster_entry(session, body, principal)

    return await once(body, 201, produce)


@router.post(
    "/monthly-roster",
    status_code=201,
    response_model=RosterGenerated,
    **needs(Permission.manage_reception),
)
async def generate_roster(
    body: RosterGenerate, session: DbSession, principal: CurrentPrincipal
) -> RosterGenerated:
    """Fill a unit's month from today on: its chiefs and deputies take turns (党政领导轮流接访)
    over the policy's reception days for the unit's level (county: every Tuesday; town: every
    working day) and every day of a sensitive period with all-day reception (全天接访), days
    already set kept. Answers what it made."""
    policy = (await current_policy(session, body.unit_id)).policy
    return await service.generate_roster(session, body, principal, policy)


@router.delete(
    "/roster/{entry_id}",
    status_code=204,
    responses={409: {"description": "Today's and past days stay on the record."}},
    **needs(Permission.manage_reception),
)
async def remove_roster_entry(
    entry_id: uuid.UUID, session: DbSession, principal: CurrentPrincipal
) -> None:
    """Take a future day off the duty roster."""
    await service.remove_roster_entry(session, entry_id, principal)


@router.get("/roster", response_model=Roster, **needs(Permission.read_cases))
async def get_roster(
    session: DbSession, principal: CurrentPrincipal, query: Annotated[RosterQuery, Query()]
) -> Roster:
    """The published duty roster (接访日程表公示) of the units in the caller's territory, by
    day (default: today and the 30 days after; at most 366 days)."""
    return await service.roster(session, query, principal)


# --- appointments (约访) ----------------------------------------------------------------


@router.post(
    "/appointments",
    status_code=201,
    response_model=AppointmentRead,
    **needs(Permission.manage_reception),
)
async def schedule_appointment(
    body: AppointmentCreate,
    session: DbSession,
    principal: CurrentPrincipal,
    once: Once,
) -> JSONResponse:
    """Make an appointment of a leader with a petitioner (约访); the leader owes the record of
    the meeting by its time plus the policy's grace, or it is missed and escalates. A linked
    case's timeline notes it."""

    async def produce() -> AppointmentRead:
        policy = (await current_policy(session, body.unit_id)).policy
        return await service.schedule_appointment(session, body, principal, policy)

    return await once(body, 201, produce)


@router.get("/appointments", **needs(Permission.read_cases))
async def list_appointments(
    session: DbSession, principal: CurrentPrincipal, query: Annotated[AppointmentQuery, Query()]
) -> Page[AppointmentRead]:
    """List the appointments of the caller's territory by unit, leader, case or status."""
    rows, next_cursor = await service.list_appointments(session, query, principal)
    return Page(items=rows, next_cursor=next_cursor)


@router.get(
    "/appointments/{appointment_id}",
    response_model=AppointmentRead,
    **needs(Permission.read_cases),
)
async def get_appointment(
    appointment_id: uuid.UUID, session: DbSession, principal: CurrentPrincipal
) -> AppointmentRead:
    """One appointment."""
    return await service.get_appointment(session, appointment_id, principal)


@router.post(
    "/appointments/{appointment_id}/hold",
    response_model=AppointmentRead,
    responses=CONFLICT,
    **needs(Permission.lead_reception),
)
async def hold_appointment(
    appointment_id: uuid.UUID, body: HoldBody, session: DbSession, principal: CurrentPrincipal
) -> AppointmentRead:
    """The appointed leader (or a leader above them) records the meeting held (接访记录);
    the appointment's deadline is met."""
    return await service.hold_appointment(session, appointment_id, body, principal)


@router.post(
    "/appointments/{appointment_id}/cancel",
    response_model=AppointmentRead,
    responses=CONFLICT,
    **needs(Permission.manage_reception),
)
async def cancel_appointment(
    appointment_id: uuid.UUID, body: CancelBody, session: DbSession, principal: CurrentPrincipal
) -> AppointmentRead:
    """Call a scheduled appointment off, with the reason; its deadline is cancelled."""
    return await service.cancel_appointment(session, appointment_id, body, principal)


# --- field visits carrying cases (带案下访) ----------------------------------------------


@router.post(
    "/field-visits",
    status_code=201,
    response_model=FieldVisitRead,
    **needs(Permission.lead_reception),
)
async def record_field_visit(
    body: FieldVisitCreate,
    session: DbSession,
    principal: CurrentPrincipal,
    once: Once,
) -> JSONResponse:
    """A leader records their field visit carrying cases (带案下访); each case's timeline notes
    it, and the month's `field_visit` deadline is met once the visits reach the minimum."""

    async def produce() -> FieldVisitRead:
        policy = (await current_policy(session, principal.unit_id)).policy
        return await service.record_field_visit(session, body, principal, policy)

    return await once(body, 201, produce)


@router.get("/field-visits", **needs(Permission.read_cases))
async def list_field_visits(
    session: DbSession, principal: CurrentPrincipal, query: Annotated[FieldVisitQuery, Query()]
) -> Page[FieldVisitRead]:
    """List the field visits of the caller's territory by leader, unit, day or case carried."""
    rows, next_cursor = await service.list_field_visits(session, query, principal)
    return Page(items=rows, next_cursor=next_cursor)


@router.get(
    "/field-visits/progress", response_model=FieldVisitProgress, **needs(Permission.read_cases)
)
async def field_visit_progress(
    session: DbSession, principal: CurrentPrincipal, query: Annotated[ProgressQuery, Query()]
) -> FieldVisitProgress:
    """Per leader owing field visits in a unit's subtree (default: the caller's unit): the
    month's visits (default: this month) against the minimum (每月至少两次), and the month's
    deadline."""
    policy = (await current_policy(session, query.unit_id or principal.unit_id)).policy
    return await service.field_visit_progress(session, query, principal, policy)


# --- on-site reception (赴现场接待) ----------------------------------------------------------


@router.get("/onsite-duties", **needs(Permission.read_cases))
async def list_onsite_duties(
    session: DbSession,
    principal: CurrentPrincipal,
    query: Annotated[OnsiteDutyQuery, Query()],
) -> Page[OnsiteDutyRead]:
    """On-site reception duties (赴现场接待) of visits lodged at the province or in Beijing
    (policy `deadlines.onsite_levels`; seed 001 第二篇 (七), (八)), newest first: the officials
    of the unit concerned who had to go and report reaching and receiving the petitioners
    (their arrival deadlines: `POST /v1/cases/{case_id}/arrivals`), and the settlement at
    home by its date (事要解决: the case assigned with an owner leader). It records what the
    officials did; nothing here follows the petitioners."""
    items, next_cursor = await service.onsite_duties(session, query, principal)
    return Page(items=items, next_cursor=next_cursor)
