"""Case request and response bodies."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator, model_validator

from api.deadlines.schemas import DeadlineRead
from api.kit.i18n import Message
from api.kit.pagination import ListQuery
from api.models.case import (
    CaseSource,
    CaseStatus,
    Channel,
    LodgedLevel,
    Outcome,
    RedirectTarget,
)
from api.models.follow_up import FollowUpMethod
from api.privacy.schemas import ID_NUMBER_PATTERN, PHONE_PATTERN, Petitioner, PetitionerRead
from api.units.schemas import Location
from shared.jsontypes import Distinct, IsoDateTime, JsonInt

# What must not travel in a title: it is quoted in the SMS alerts sent to officials.
_ID_NUMBER_IN_TEXT = re.compile(r"(?<![0-9])[0-9]{17}[0-9Xx](?![0-9])")
_MOBILE_IN_TEXT = re.compile(r"(?<![0-9])1[3-9][0-9]{9}(?![0-9])")


def no_numbers_in_title(value: str) -> str:
    """The title, refused when it holds an ID-card or mobile number (it goes out in SMS)."""
    if _ID_NUMBER_IN_TEXT.search(value) or _MOBILE_IN_TEXT.search(value):
        raise ValueError(Message("no ID-card or phone numbers in the title (it goes out in SMS)"))
    return value


# At most this many officials, units or readers named on one case.
MAX_NAMED = 20


class CaseCreate(BaseModel):
    """Registration of a petition (登记)."""

    model_config = ConfigDict(extra="forbid")

    channel: Channel
    origin_unit_id: uuid.UUID = Field(description="Where the petitioners live / the matter arose.")
    lodged_unit_id: uuid.UUID | None = Field(
        default=None, description="The unit whose office they came to (for visits)."
    )
    lodged_level: LodgedLevel | None = Field(
        default=None, description="Where they went; required when no lodged unit is given."
    )
    petitioners: list[Petitioner] = Field(min_length=1, max_length=500)
    headcount: JsonInt | None = Field(
        default=None, ge=1, le=100000, description="People present; defaults to petitioners."
    )
    is_collective: StrictBool | None = Field(
        default=None, description="Derived from headcount; if given it must agree."
    )
    category: str = Field(
        min_length=1,
        max_length=64,
        description="A code of the category vocabulary (`GET /v1/categories`), e.g. "
        "`land.acquisition` (征地补偿) or a top-level class such as `land`.",
    )
    category_text: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="The matter in the desk's own words: required with `other`.",
    )
    title: str = Field(
        min_length=1,
        max_length=200,
        description="Quoted in the alerts sent to officials: no ID-card or phone numbers.",
    )
    content: str = Field(min_length=1, max_length=20000, description="Facts (事实).")
    reasons: str | None = Field(default=None, max_length=20000)
    demands: str | None = Field(default=None, max_length=20000, description="诉求.")
    location: Location | None = None
    received_at: IsoDateTime | None = Field(
        default=None, description="When the petition was received (RFC 3339); default now."
    )
    complained_official_ids: Annotated[list[uuid.UUID], Distinct] = Field(
        default_factory=list,
        max_length=MAX_NAMED,
        description="Officials the petition complains about or reports (检举、揭发; 被反映人, "
        "信访工作条例 art. 45): they never read the case, handle it or hear of it; an alert "
        "meant for one goes to the next person up.",
    )
    complained_unit_ids: Annotated[list[uuid.UUID], Distinct] = Field(
        default_factory=list,
        max_length=MAX_NAMED,
        description="Units the petition complains about: every official of the unit is kept "
        "away from it as above, and the unit may not handle it.",
    )
    source: CaseSource = Field(
        default=CaseSource.own,
        description="How it came: own intake, transferred (转送) or assigned (交办) by a "
        "registered higher office, or a leader's written instruction (领导批示, with "
        "`instructed_by` and `instruction`).",
    )
    instructed_by: uuid.UUID | None = Field(
        default=None,
        description="For a leader's instruction: the leader (a chief or deputy) who gave it; "
        "they sign the case off at the end (谁批示谁签字), and it owes an owner leader.",
    )
    instruction: str | None = Field(
        default=None, min_length=1, max_length=5000, description="The instruction's words."
    )
    higher_office_id: uuid.UUID | None = Field(
        default=None, description="The higher office that handed it down (`/v1/higher-offices`)."
    )
    higher_reference: str | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        description="The office's reference number: one case per office and number.",
    )
    higher_due_at: IsoDateTime | None = Field(
        default=None, description="When the office wants the closing report (结案报告)."
    )
    wants_result: StrictBool = Field(
        default=False,
        description="The office wants the result back (要结果): the case must have an owner "
        "leader (包案) and a closing report by `higher_due_at` (or the policy's months).",
    )
    confidential: StrictBool = Field(
        default=False,
        description="保密: only petition staff and the leaders named on the case (its leader, "
        "handler, owning leader, registrar and `confidential_readers`) read its content; the "
        "rest of the territory sees that it exists and its deadlines.",
    )
    confidential_readers: Annotated[list[uuid.UUID], Distinct] = Field(
        default_factory=list,
        max_length=MAX_NAMED,
        description="Further leaders who may read a confidential case.",
    )

    @field_validator("title")
    @classmethod
    def _no_personal_numbers(cls, value: str) -> str:
        return no_numbers_in_title(value)


class CaseCorrection(BaseModel):
    """The desk's correction of a registration (不错登): the fields given replace those
    recorded; `reason` says why. A corrected receipt or origin moves the open deadlines
    counted from receipt; a corrected origin, headcount or receipt summons the officials a
    visit now requires and withdraws the summonses it no longer does."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=5000, description="Why it is corrected.")
    title: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="Quoted in the alerts sent to officials: no ID-card or phone numbers.",
    )
    content: str | None = Field(default=None, min_length=1, max_length=20000)
    reasons: str | None = Field(default=None, max_length=20000)
    demands: str | None = Field(default=None, max_length=20000)
    category: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="A code of the category vocabulary (`GET /v1/categories`).",
    )
    category_text: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="The matter in the desk's own words (with `other`).",
    )
    location: Location | None = None
    origin_unit_id: uuid.UUID | None = Field(
        default=None,
        description="Where the petitioners live / the matter arose: a territorial unit of the "
        "case's county; it or the place lodged in the caller's territory, as at registration.",
    )
    received_at: IsoDateTime | None = Field(
        default=None,
        description="When the petition was received (RFC 3339): not in the future, nor after "
        "the case was registered.",
    )
    petitioners: list[Petitioner] | None = Field(
        default=None,
        min_length=1,
        max_length=500,
        description="The petitioners as they should have been registered: the whole list.",
    )
    headcount: JsonInt | None = Field(
        default=None,
        ge=1,
        le=100000,
        description="People present; at least the petitioners listed. Decides whether the "
        "visit is collective and which leaders are summoned.",
    )

    @field_validator("title")
    @classmethod
    def _no_personal_numbers(cls, value: str | None) -> str | None:
        return no_numbers_in_title(value) if value is not None else None


class ConfidentialityWrite(BaseModel):
    """Whom the case complains about, and whether it is confidential (the desk's correction:
    set at registration, or later when the matter shows it)."""

    model_config = ConfigDict(extra="forbid")

    complained_official_ids: Annotated[list[uuid.UUID], Distinct] = Field(
        max_length=MAX_NAMED, description="被反映人: see `CaseCreate`."
    )
    complained_unit_ids: Annotated[list[uuid.UUID], Distinct] = Field(max_length=MAX_NAMED)
    confidential: StrictBool
    confidential_readers: Annotated[list[uuid.UUID], Distinct] = Field(max_length=MAX_NAMED)


class CaseUnitRead(BaseModel):
    """A unit handling the case: the lead, or a contributing department (联合办案)."""

    unit_id: uuid.UUID
    role: str


class CaseRead(BaseModel):
    """A case with its deadlines."""

    id: uuid.UUID
    number: str = Field(description="Human number, unique per county and year: XF-2026-000123.")
    status: CaseStatus
    channel: Channel
    origin_unit_id: uuid.UUID
    lodged_unit_id: uuid.UUID | None
    lodged_level: LodgedLevel
    petitioners: list[PetitionerRead]
    headcount: int
    is_collective: bool
    category: str = Field(description="Its code in the vocabulary (`GET /v1/categories`).")
    category_text: str | None = Field(description="The desk's words (with `other`).")
    title: str
    content: str
    reasons: str | None
    demands: str | None
    location: Location | None
    received_at: datetime
    registered_by: uuid.UUID | None
    intake_unit_id: uuid.UUID
    repeat_of_id: uuid.UUID | None = Field(description="The earlier case this repeats (重复访).")
    is_repeat: bool
    possible_duplicate_of_id: uuid.UUID | None = Field(
        description="A registration of the same visit to confirm or dismiss."
    )
    outcome: Outcome | None
    notice_text: str | None
    redirect_to: RedirectTarget | None
    assigned_unit_id: uuid.UUID | None
    leader_id: uuid.UUID | None
    handler_id: uuid.UUID | None
    plan: str | None
    time_limit: datetime | None
    owner_leader_id: uuid.UUID | None
    extended_days: int | None
    reply_text: str | None
    satisfied: bool | None
    feedback_comment: str | None
    instructed_by: uuid.UUID | None = Field(
        description="The leader whose instruction (批示) the case carries last."
    )
    instructed_at: datetime | None
    instruction: str | None = Field(description="The last leader's instruction (批示).")
    accepted_at: datetime | None
    assigned_at: datetime | None
    replied_at: datetime | None
    reviewed_at: datetime | None
    closed_at: datetime | None
    archived_at: datetime | None
    created_at: datetime
    updated_at: datetime
    source: CaseSource
    higher_office_id: uuid.UUID | None
    higher_reference: str | None
    higher_due_at: datetime | None
    wants_result: bool
    complained_official_ids: list[uuid.UUID] = Field(
        description="被反映人 (empty in a restricted view)."
    )
    complained_unit_ids: list[uuid.UUID]
    confidential: bool = Field(description="保密.")
    confidential_readers: list[uuid.UUID]
    restricted: bool = Field(
        default=False,
        description="A confidential case shown to someone who may not read its content: the "
        "title, content, petitioners, texts, location and named people are withheld; its "
        "status, units and deadlines are shown.",
    )
    allowed_actions: list[str] = Field(description="What may be done to the case now.")
    departments: list[CaseUnitRead] = Field(default_factory=list)
    deadlines: list[DeadlineRead] = Field(default_factory=list)


class CaseEventRead(BaseModel):
    """One event of a case's timeline."""

    id: uuid.UUID
    at: datetime
    actor_id: uuid.UUID | None
    action: str
    client: str | None
    data: dict[str, Any]


class ArrivalCreate(BaseModel):
    """A check-in at the scene (到位签到)."""

    model_config = ConfigDict(extra="forbid")

    official_id: uuid.UUID | None = Field(
        default=None,
        description="Who arrived; defaults to the caller. Staff may record it for someone else.",
    )
    location: Location | None = None


class ArrivalRead(BaseModel):
    """A recorded check-in and the deadlines it settled."""

    id: uuid.UUID
    case_id: uuid.UUID
    official_id: uuid.UUID
    arrived_at: datetime
    location: Location | None
    on_time: bool | None = Field(description="Null when the official had no arrival deadline.")
    deadlines: list[DeadlineRead]


class CaseRegistered(CaseRead):
    """A case just registered, with the petitioner's lookup secret."""

    lookup_secret: str = Field(
        description="查询码: hand it to the petitioner with the case number; with both they "
        "look up the progress (`POST /v1/public/case-lookup`). Shown only here (and in "
        "replays of this answer); the desk can issue a new one."
    )


class CaseQuery(ListQuery):
    """Filters of `GET /v1/cases`; each one given must match."""

    custom_filters: ClassVar[frozenset[str]] = frozenset(
        {
            "is_repeat",
            "id_number",
            "phone",
            "received_from",
            "received_to",
            "overdue",
            "category",
        }
    )

    status: CaseStatus | None = None
    channel: Channel | None = None
    origin_unit_id: uuid.UUID | None = None
    assigned_unit_id: uuid.UUID | None = Field(
        default=None, description="The unit or department that leads the handling (承办)."
    )
    lodged_level: LodgedLevel | None = None
    source: CaseSource | None = None
    higher_office_id: uuid.UUID | None = None
    wants_result: bool | None = None
    owner_leader_id: uuid.UUID | None = Field(
        default=None, description="The leader who owns the case (包案领导)."
    )
    received_from: IsoDateTime | None = Field(
        default=None, description="Received at or after this moment."
    )
    received_to: IsoDateTime | None = Field(
        default=None, description="Received before this moment."
    )
    overdue: bool | None = Field(
        default=None,
        description="Open cases past their handling time limit (超期未办结) now (true), or the "
        "others (false).",
    )
    instructed_by: uuid.UUID | None = Field(
        default=None,
        description="Cases carrying this leader's instruction (领导批示案件台账).",
    )
    category: str | None = Field(
        default=None,
        max_length=64,
        description="Cases of this class; a top-level code (`land`) takes the classes under it.",
    )
    is_repeat: bool | None = None
    id_number: str | None = Field(
        default=None,
        pattern=ID_NUMBER_PATTERN,
        description="Cases with a petitioner of exactly this ID-card number.",
    )
    phone: str | None = Field(
        default=None,
        pattern=PHONE_PATTERN,
        description="Cases with a petitioner of exactly this phone number (with both filters: "
        "the same petitioner).",
    )


class NoteBody(BaseModel):
    """An action that needs nothing but an optional note."""

    model_config = ConfigDict(extra="forbid")

    note: str | None = Field(default=None, max_length=5000)


class RejectBody(BaseModel):
    """Not accepted (不予受理), with the reason and the written notice to the petitioner."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=5000)
    notice_text: str = Field(min_length=1, max_length=20000, description="书面告知 text.")


class RedirectBody(BaseModel):
    """A matter for a court, arbitration or administrative review (导入法定途径)."""

    model_config = ConfigDict(extra="forbid")

    to: RedirectTarget
    reason: str = Field(min_length=1, max_length=5000)
    notice_text: str = Field(min_length=1, max_length=20000)


class AssignBody(BaseModel):
    """Assignment with the four fixes (四定): leader, handler, plan, time limit."""

    model_config = ConfigDict(extra="forbid")

    unit_id: uuid.UUID = Field(description="The handling unit or department (lead).")
    leader_id: uuid.UUID
    handler_id: uuid.UUID
    plan: str = Field(min_length=1, max_length=20000)
    time_limit_days: int = Field(ge=1, le=3650, description="Days from today to settle it.")


class ReassignBody(BaseModel):
    """改派: the desk moves an assigned case to another unit, leader or handler; its time
    limit stays (a leader's `extend` gives more time)."""

    model_config = ConfigDict(extra="forbid")

    unit_id: uuid.UUID = Field(description="The handling unit or department (lead).")
    leader_id: uuid.UUID
    handler_id: uuid.UUID
    reason: str = Field(min_length=1, max_length=5000)


class ObjectBody(BaseModel):
    """The assignee says the matter is not theirs (异议), within the objection window."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=5000)


class UnitBody(BaseModel):
    """A contributing department for joint handling."""

    model_config = ConfigDict(extra="forbid")

    unit_id: uuid.UUID


class OfficialBody(BaseModel):
    """The owning leader (包案领导)."""

    model_config = ConfigDict(extra="forbid")

    official_id: uuid.UUID


class ExtendBody(BaseModel):
    """The one extension of the handling time (延期), approved by a leader."""

    model_config = ConfigDict(extra="forbid")

    days: int = Field(ge=1, le=3650)
    approver_id: uuid.UUID
    reason: str = Field(min_length=1, max_length=5000)


class ReplyBody(BaseModel):
    """The written answer (书面答复)."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=50000)


class FeedbackBody(BaseModel):
    """The petitioner's opinion of the answer (满意度)."""

    model_config = ConfigDict(extra="forbid")

    satisfied: StrictBool
    comment: str | None = Field(default=None, max_length=5000)


class FollowUpBody(BaseModel):
    """One call back to the petitioner after the answer (回访): reached or not, and if reached
    whether they are satisfied (满意 / 不满意)."""

    model_config = ConfigDict(extra="forbid")

    method: FollowUpMethod = Field(description="phone 电话回访, visit 上门回访, sms 短信回访.")
    reached: StrictBool = Field(description="Whether the petitioner was reached (联系上).")
    satisfied: StrictBool | None = Field(
        default=None, description="Required when reached; must be left out when not."
    )
    comment: str | None = Field(default=None, max_length=5000)

    @model_validator(mode="after")
    def _satisfied_iff_reached(self) -> Self:
        if self.reached and self.satisfied is None:
            raise ValueError(Message("a petitioner reached is satisfied or not: give `satisfied`"))
        if not self.reached and self.satisfied is not None:
            raise ValueError(
                Message("a petitioner not reached gave no opinion: leave `satisfied` out")
            )
        return self


class FollowUpRead(BaseModel):
    """A call back to the petitioner as the API shows it."""

    id: uuid.UUID
    case_id: uuid.UUID
    official_id: uuid.UUID
    at: datetime
    method: FollowUpMethod
    reached: bool
    satisfied: bool | None
    comment: str | None


class InstructBody(BaseModel):
    """A leader's instruction on a case (领导批示): what is to be done, by whom."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=5000, description="The instruction (批示).")


class CloseBody(BaseModel):
    """Closing (办结): resolved, or stabilized without full resolution."""

    model_config = ConfigDict(extra="forbid")

    outcome: Literal["resolved", "stabilized"]
    note: str | None = Field(default=None, max_length=5000)


class SuperviseBody(BaseModel):
    """A supervision notice (督办) on an open case: answered by its date."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=5000, description="What the notice asks.")
    due_at: IsoDateTime = Field(description="By when the case must be answered; in the future.")
    reference: str | None = Field(
        default=None, max_length=100, description="The notice's own number (督办单号)."
    )


class RehandleBody(BaseModel):
    """A case sent back for re-handling (退回重办) by the office that assigned or transferred
    it: the answer did not hold (facts unclear, policy misapplied, evidence missing …)."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=5000)
    days: JsonInt = Field(
        ge=1, le=3650, description="Calendar days from now to answer again (办理时限)."
    )


class ReasonBody(BaseModel):
    """A request or decision that states its reason."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=5000)


class DecisionBody(BaseModel):
    """A review (复查) or re-review (复核) decision."""

    model_config = ConfigDict(extra="forbid")

    decision: Literal["upheld", "changed"]
    text: str = Field(min_length=1, max_length=50000)


class DuplicateBody(BaseModel):
    """A person's verdict on a possible duplicate registration."""

    model_config = ConfigDict(extra="forbid")

    is_duplicate: StrictBool
