"""Deadlines (时限): who must do what by when."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from api.kit.db import RecordModel


class DeadlineKind(enum.StrEnum):
    """What the deadline is for (SPEC §4)."""

    arrival = "arrival"
    transfer = "transfer"
    disposition = "disposition"
    acceptance_notice = "acceptance_notice"
    objection = "objection"
    first_resolution = "first_resolution"
    handling = "handling"
    review = "review"
    re_review = "re_review"
    report = "report"
    national_report = "national_report"
    follow_up = "follow_up"  # 回访: the petitioner called back after the reply
    screening = "screening"  # 矛盾纠纷排查: a screened dispute resolved by its deadline
    screening_round = "screening_round"  # 每周排查: a unit's weekly screening filed
    field_visit = "field_visit"  # 带案下访: a leader's monthly minimum of field visits
    appointment = "appointment"  # 约访: a leader meets a petitioner as agreed
    decision_assessment = "decision_assessment"  # 风险前置评估: assessed before the decision
    owner_leader = "owner_leader"  # 领导包案: a leader named to own the case
    supervision = "supervision"  # 督办: answered by the date a supervision notice sets
    # 事要解决: after the on-site reception (赴现场接待), the matter assigned at home with an
    # owner leader
    onsite_settlement = "onsite_settlement"
    # 四.三.1: the leader in charge signs off a reply several departments worked on
    notice_approval = "notice_approval"


class DeadlineStatus(enum.StrEnum):
    """Open until met, missed or cancelled."""

    open = "open"
    met = "met"
    missed = "missed"
    cancelled = "cancelled"


class Deadline(RecordModel):
    """A due time for one responsible official and unit, e.g. an ArrivalDeadline (到位时限)."""

    __tablename__ = "deadlines"
    __table_args__ = (
        Index("ix_deadlines_open_due", "due_at", postgresql_where=text("status = 'open'")),
        Index(
            "uq_deadlines_report_period",
            "official_id",
            "due_at",
            unique=True,
            postgresql_where=text("kind = 'report'"),
        ),
    )

    case_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[DeadlineKind] = mapped_column(Enum(DeadlineKind, name="deadline_kind"))
    role: Mapped[str] = mapped_column(String(32))
    official_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("officials.id"), index=True)
    unit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("units.id"), index=True)
    starts_at: Mapped[datetime]
    due_at: Mapped[datetime]
    status: Mapped[DeadlineStatus] = mapped_column(
        Enum(DeadlineStatus, name="deadline_status"), default=DeadlineStatus.open
    )
    closed_at: Mapped[datetime | None]
    flags: Mapped[list[str]] = mapped_column(default=list)
    # What a deadline without a case is about (a screened dispute, a leader's month), for
    # its messages and lists.
    subject: Mapped[str | None] = mapped_column(String(200))
