"""The petition case (信访事项), its number counter, timeline and arrivals."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Enum,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    and_,
    false,
    func,
    not_,
    or_,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import InstrumentedAttribute, Mapped, mapped_column

from api.kit.db import Base, RecordModel, among, id_array, utcnow
from api.models.higher_office import HigherOffice


class Channel(enum.StrEnum):
    """How the petition arrived."""

    visit = "visit"  # 来访
    letter = "letter"  # 来信
    phone = "phone"  # 来电
    online = "online"  # 网上信访
    grid = "grid"  # 网格员上报


class LodgedLevel(enum.StrEnum):
    """Where the petitioners went; above `county` is a skip-level petition (越级访)."""

    village = "village"
    area = "area"
    town = "town"
    county = "county"
    city = "city"
    province = "province"
    national = "national"


class CaseSource(enum.StrEnum):
    """How the case came to the county."""

    own = "own"  # 本级受理: petitioners came, wrote, called or were found by a grid worker
    transferred = "transferred"  # 上级转送: a higher office passed it on
    assigned = "assigned"  # 上级交办: a higher office (or a leader) assigned it, with a due date
    leader_instruction = "leader_instruction"  # 领导批示: a leader's written instruction


class CaseStatus(enum.StrEnum):
    """Lifecycle state of a case (SPEC §3)."""

    registered = "registered"  # 登记
    accepted = "accepted"  # 受理
    assigned = "assigned"  # 交办, with the four fixes (四定)
    replied = "replied"  # 答复
    closed = "closed"  # 办结 (resolved | stabilized), or not accepted / redirected
    review = "review"  # 复查 requested
    reviewed = "reviewed"
    re_review = "re_review"  # 复核 requested
    re_reviewed = "re_reviewed"
    terminated = "terminated"  # 终结
    archived = "archived"  # signed off, read-only


DONE_STATUSES = frozenset({CaseStatus.closed, CaseStatus.terminated, CaseStatus.archived})
"""States in which the case's matter is over: nothing is owed on it any more."""


class Outcome(enum.StrEnum):
    """How a case ended."""

    resolved = "resolved"  # 解决
    stabilized = "stabilized"  # 稳控 / 息访
    rejected = "rejected"  # 不予受理
    redirected = "redirected"  # 导入诉讼、仲裁、行政复议
    terminated = "terminated"  # 终结
    duplicate = "duplicate"  # the same petition registered twice


class RedirectTarget(enum.StrEnum):
    """Where a matter outside petition work belongs (seed 003 四.1.3)."""

    court = "court"
    arbitration = "arbitration"
    administrative_review = "administrative_review"


# What stands for a confidential case's title where its content may not go (alerts, the
# restricted view, the bulletin).
CONFIDENTIAL_TITLE = "（保密）"


class Case(RecordModel):
    """A registered petition with its number, parties and place in the territory."""

    __tablename__ = "cases"
    __table_args__ = (
        UniqueConstraint("county_id", "number", name="uq_cases_county_number"),
        UniqueConstraint(
            "higher_office_id", "higher_reference", name="uq_cases_higher_office_reference"
        ),
        Index("ix_cases_petitioners", "petitioners", postgresql_using="gin"),
        Index("ix_cases_search_tokens", "search_tokens", postgresql_using="gin"),
    )

    number: Mapped[str] = mapped_column(String(32))
    county_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("units.id"))
    channel: Mapped[Channel] = mapped_column(Enum(Channel, name="case_channel"))
    status: Mapped[CaseStatus] = mapped_column(
        Enum(CaseStatus, name="case_status"), default=CaseStatus.registered, index=True
    )
    origin_unit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("units.id"), index=True)
    lodged_unit_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("units.id"))
    lodged_level: Mapped[LodgedLevel] = mapped_column(Enum(LodgedLevel, name="lodged_level"))
    petitioners: Mapped[list[dict[str, Any]]]
    headcount: Mapped[int] = mapped_column(Integer)
    is_collective: Mapped[bool]
    category: Mapped[str] = mapped_column(String(64), ForeignKey("categories.code"))
    category_text: Mapped[str | None] = mapped_column(
        String(200), doc="The desk's own words where the code is `other` (or a transfer's)."
    )
    title: Mapped[str] = mapped_column(String(200))
    content: Mapped[str] = mapped_column(Text)
    reasons: Mapped[str | None] = mapped_column(Text)
    demands: Mapped[str | None] = mapped_column(Text)
    lat: Mapped[float | None]
    lon: Mapped[float | None]
    received_at: Mapped[datetime] = mapped_column(index=True)
    registered_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("officials.id"))
    intake_unit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("units.id"))
    repeat_of_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("cases.id"), index=True)
    possible_duplicate_of_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("cases.id"))
    outcome: Mapped[Outcome | None] = mapped_column(Enum(Outcome, name="case_outcome"))
    notice_text: Mapped[str | None] = mapped_column(Text)
    redirect_to: Mapped[RedirectTarget | None] = mapped_column(
        Enum(RedirectTarget, name="redirect_target")
    )
    assigned_unit_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("units.id"), index=True)
    leader_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("officials.id"))
    handler_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("officials.id"))
    plan: Mapped[str | None] = mapped_column(Text)
    time_limit: Mapped[datetime | None]
    owner_leader_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("officials.id"))
    extended_days: Mapped[int | None]
    reply_text: Mapped[str | None] = mapped_column(Text)
    satisfied: Mapped[bool | None]
    feedback_comment: Mapped[str | None] = mapped_column(Text)
    accepted_at: Mapped[datetime | None]
    assigned_at: Mapped[datetime | None]
    replied_at: Mapped[datetime | None]
    reviewed_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    archived_at: Mapped[datetime | None]
    # Keyed hash of the lookup secret the petitioner got at registration (查询码, 条例 art. 21).
    lookup_secret_hash: Mapped[str | None] = mapped_column(String(64))
    # The last leader's instruction (领导批示); every one is on the timeline.
    instructed_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("officials.id"), index=True)
    instructed_at: Mapped[datetime | None]
    instruction: Mapped[str | None] = mapped_column(Text)
    # Whom the petition complains about or reports (检举、揭发; 被反映人, 信访工作条例 art. 45):
    # those officials, and every official of those units, never read the case, handle it or
    # hear of it.
    complained_official_ids: Mapped[list[uuid.UUID]] = mapped_column(
        ARRAY(Uuid), default=list, server_default="{}"
    )
    complained_unit_ids: Mapped[list[uuid.UUID]] = mapped_column(
        ARRAY(Uuid), default=list, server_default="{}"
    )
    source: Mapped[CaseSource] = mapped_column(
        Enum(CaseSource, name="case_source"), default=CaseSource.own, server_default="own"
    )
    # The higher office that handed it down, its reference number (unique per office: the
    # same transfer twice is one case), its due date and whether it wants the result back.
    higher_office_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("higher_offices.id"), index=True
    )
    higher_reference: Mapped[str | None] = mapped_column(String(100))
    higher_due_at: Mapped[datetime | None]
    wants_result: Mapped[bool] = mapped_column(default=False, server_default=false())
    # 越级访: lodged at a skip level of the policy of the day it was registered
    # (`intake.skip_levels`; at the county only when it skipped its town).
    skip_level: Mapped[bool] = mapped_column(default=False, server_default=false())
    # 保密: only petition staff and the leaders named on the case read its content; the rest
    # of the territory sees that it exists and its deadlines.
    confidential: Mapped[bool] = mapped_column(default=False, server_default=false())
    confidential_readers: Mapped[list[uuid.UUID]] = mapped_column(
        ARRAY(Uuid), default=list, server_default="{}"
    )
    # What the case is found by (`api.cases.search_tokens`): bigrams of its text, its
    # petitioners' names and addresses as keyed hashes; written with the case, never read back.
    search_tokens: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list, server_default="{}")

    def complains_about(self, official_id: uuid.UUID, unit_id: uuid.UUID | None) -> bool:
        """Whether the petition complains about this official or their unit (被反映人)."""
        return official_id in self.complained_official_ids or (
            unit_id is not None and unit_id in self.complained_unit_ids
        )

    def alert_title(self) -> str:
        """The title as alerts quote it: a confidential case's stays in the system."""
        return CONFIDENTIAL_TITLE if self.confidential else self.title

    def named_readers(self) -> set[uuid.UUID]:
        """The leaders named on the case, who read it even when it is confidential."""
        named = {self.leader_id, self.handler_id, self.owner_leader_id, self.registered_by}
        return {i for i in named if i is not None} | set(self.confidential_readers)


class CaseUnit(Base):
    """A unit handling a case jointly (联合办案): one lead, others contributing."""

    __tablename__ = "case_units"

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    unit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("units.id"), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))
    added_at: Mapped[datetime] = mapped_column(default=utcnow)


class CaseNumberCounter(Base):
    """Last number handed out per county and year; bumped atomically on each registration."""

    __tablename__ = "case_number_counters"

    county_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("units.id"), primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True)
    last: Mapped[int] = mapped_column(default=0)


class CaseEvent(Base):
    """One entry of a case's timeline: who did what, when, from which client."""

    __tablename__ = "case_events"
    __table_args__ = (Index("ix_case_events_case_at", "case_id", "at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    seq: Mapped[int] = mapped_column(BigInteger, Identity(always=True), unique=True)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())
    actor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("officials.id"))
    action: Mapped[str] = mapped_column(String(64))
    client: Mapped[str | None] = mapped_column(String(200))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Arrival(Base):
    """An official's check-in at the scene (到位签到)."""

    __tablename__ = "arrivals"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"), index=True)
    official_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("officials.id"))
    arrived_at: Mapped[datetime] = mapped_column(default=utcnow)
    lat: Mapped[float | None]
    lon: Mapped[float | None]
    recorded_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("officials.id"))


class Reader(Protocol):
    """Who reads a case: an official (or a service token) with a unit and a territory."""

    @property
    def id(self) -> uuid.UUID: ...

    @property
    def unit_id(self) -> uuid.UUID | None: ...

    @property
    def reach(self) -> frozenset[uuid.UUID] | None: ...

    @property
    def case_reach(self) -> frozenset[uuid.UUID] | None: ...

    @property
    def bureau(self) -> frozenset[uuid.UUID] | None: ...


def complains_about(reader: Reader) -> ColumnElement[bool]:
    """Cases that complain about the reader or the reader's unit (被反映人): hidden from them
    wherever the case shows, whatever their territory or role."""
    about = [Case.complained_official_ids.any_() == reader.id]
    if reader.unit_id is not None:
        about.append(Case.complained_unit_ids.any_() == reader.unit_id)
    return or_(*about)


def readable_by(reader: Reader) -> ColumnElement[bool]:
    """Cases the reader may see: in their territory (a bureau above the counties: its own
    units' and those its office handed down, `Principal.case_reach`) and not about them."""
    reach = in_reach(reader.case_reach)
    if reader.bureau:
        offices = select(HigherOffice.id).where(among(HigherOffice.unit_id, reader.bureau))
        reach = or_(reach, Case.higher_office_id.in_(offices))
    return and_(reach, not_(complains_about(reader)))


def hidden_case(
    reader: Reader,
    case_id: ColumnElement[uuid.UUID | None] | InstrumentedAttribute[uuid.UUID | None],
) -> ColumnElement[bool]:
    """Rows (deadlines, escalations, alerts …) of a case that complains about the reader."""
    return select(Case.id).where(Case.id == case_id, complains_about(reader)).exists()


def in_reach(reach: frozenset[uuid.UUID] | None) -> ColumnElement[bool]:
    """Cases a territory may see: where it arose, was lodged or registered, or is handled
    (alone or jointly) by a unit in it. `None` reaches everything."""
    if reach is None:
        return true()
    units = id_array(reach)
    joint = select(CaseUnit.case_id).where(
        CaseUnit.case_id == Case.id, among(CaseUnit.unit_id, units)
    )
    return or_(
        among(Case.origin_unit_id, units),
        among(Case.lodged_unit_id, units),
        among(Case.intake_unit_id, units),
        among(Case.assigned_unit_id, units),
        joint.exists(),
    )
