"""Sensitive periods as the API shows them, and their figures."""

from __future__ import annotations

import uuid
from datetime import date
from enum import StrEnum

from pydantic import BaseModel, Field

from api.policies.sensitive import ArrivalOverrides


class PeriodState(StrEnum):
    """Where today stands against a period's window."""

    upcoming = "upcoming"
    active = "active"
    over = "over"


class SensitivePeriodRead(BaseModel):
    """A sensitive period (敏感时期) of the policy, seen from today (local date)."""

    key: str
    name: str = Field(description="e.g. 全国两会, 春节.")
    starts_on: date
    ends_on: date = Field(description="Last local day of the window (included).")
    arrival: ArrivalOverrides = Field(description="Shorter arrival times in force in it.")
    daily_report: bool = Field(description="A situation report owed every day (日报告制度).")
    state: PeriodState
    active: bool = Field(description="Today is in the window.")
    days_left: int = Field(
        description="Days of the window still to come, today included (0 once it is over)."
    )


class SensitiveCaseFigures(BaseModel):
    """Cases received in the window whose origin is in the unit subtree."""

    received: int = Field(description="Cases received (信访总量).")
    collective: int = Field(description="Of those, collective (集体访).")
    skip_level: int = Field(description="Of those, skip-level (越级访, `intake.skip_levels`).")
    national: int = Field(description="Of those, taken to Beijing (进京访).")
    by_lodged_level: dict[str, int] = Field(
        description="Cases by where they were lodged (village … national); levels with none "
        "are left out."
    )


class SensitiveArrivalFigures(BaseModel):
    """Arrival deadlines (到位时限) of the subtree's officials falling due in the window."""

    due: int = Field(description="Arrival deadlines due in the window.")
    met: int = Field(description="Of those, arrived in time (按时到位).")
    missed: int = Field(description="Of those, missed (未按时到位).")


class ReportDay(BaseModel):
    """One day of the window's situation reports (日报告)."""

    day: date
    owed: int = Field(description="Report deadlines of the day (one per officer who owes).")
    filed: int = Field(description="Reports filed for the day, zero reports included.")
    zero: int = Field(description="Of those, zero reports (零报告), which count as filed.")
    late: int = Field(description="Of those, filed after the day ended.")
    missed: int = Field(description="Report deadlines of the day missed (漏报).")
    cases_received: int = Field(description="Cases received that day.")


class SensitiveReportFigures(BaseModel):
    """The window's situation reports, up to today."""

    owed: int = Field(description="Report deadlines due in the window so far.")
    filed: int = Field(description="Reports filed for days of the window, zero included.")
    zero: int = Field(description="Of those, zero reports (零报告).")
    late: int = Field(description="Of those, filed late.")
    missed: int = Field(description="Report deadlines missed (漏报, 每漏报1次扣1分).")
    per_day: list[ReportDay] = Field(
        description="Every day of the window from its first day up to today (or its last)."
    )


class PendingReporter(BaseModel):
    """An officer who owes today's situation report and has not filed it."""

    official_id: uuid.UUID
    official_name: str
    unit_id: uuid.UUID
    unit_name: str


class PeriodFigures(BaseModel):
    """A sensitive period's figures for a unit subtree."""

    cases: SensitiveCaseFigures
    arrivals: SensitiveArrivalFigures
    reports: SensitiveReportFigures
    not_reported_today: list[PendingReporter] = Field(
        description="Officers of the subtree who owe today's report (a report day of the "
        "period) and have not filed it, by unit; empty when today owes no daily report."
    )


class SensitivePeriodFigures(BaseModel):
    """`GET /v1/sensitive-periods/{key}/figures`: one period's figures for a unit subtree."""

    unit_id: uuid.UUID
    period: SensitivePeriodRead
    figures: PeriodFigures


class SensitiveFigures(BaseModel):
    """The dashboard's sensitive-period block (敏感时期): the period active today, else the
    last one overlapping the dashboard's days, with its figures over its whole window."""

    period: SensitivePeriodRead | None = Field(
        description="None when no period is active or overlaps the dashboard's days."
    )
    figures: PeriodFigures | None = Field(description="None with no period.")
