"""`/v1/calendar`: the working-day calendar and its per-date overrides."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.auth.dependencies import CurrentPrincipal, needs
from api.auth.permissions import Permission
from api.calendar import service
from api.calendar.schemas import CalendarDay, OverrideWrite
from api.kit.boundary import DbSession
from shared.jsontypes import IsoDate

router = APIRouter(prefix="/v1/calendar", tags=["calendar"])


@router.get("", **needs(Permission.read_directory))
async def get_calendar(
    session: DbSession,
    _: CurrentPrincipal,
    start: Annotated[IsoDate, Query(alias="from", description="First local date (YYYY-MM-DD).")],
    end: Annotated[IsoDate, Query(alias="to", description="Last local date, included.")],
) -> list[CalendarDay]:
    """The working-day verdict of each date from `from` to `to` (at most 400 dates).

    `source` says who decides: an admin `override`, the holiday `library` (public holidays and
    make-up workdays from the State Council notices), or `unknown` for a year whose notice the
    library does not have yet; `is_workday` is then null and deadlines counted over such days
    are flagged `calendar_unknown_year`.
    """
    return await service.list_days(session, start, end)


@router.put("/{day}", **needs(Permission.manage_policy))
async def put_calendar_override(
    day: IsoDate, body: OverrideWrite, session: DbSession, principal: CurrentPrincipal
) -> CalendarDay:
    """Decide a date by hand (the deployment's admin: working days are national), e.g. from a
    holiday notice the library does not have yet.

    Replaces any earlier override of the date. Deadlines already computed keep their due time.
    """
    return await service.set_override(session, day, body, principal)


@router.delete("/{day}", status_code=204, **needs(Permission.manage_policy))
async def delete_calendar_override(
    day: IsoDate, session: DbSession, principal: CurrentPrincipal
) -> None:
    """Remove the override of a date (the deployment's admin), so the holiday library
    decides it again."""
    await service.remove_override(session, day, principal)
