"""The policy document's shape and defaults (every number from SPEC lives here)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal, cast

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    model_validator,
)

from api.kit.i18n import Message
from api.models.case import Channel, LodgedLevel
from api.models.official import Role
from api.models.unit import UnitLevel
from api.policies.base import StrictModel
from api.policies.decisions import DecisionPolicy
from api.policies.follow_up import FollowUpPolicy
from api.policies.materials import MaterialsPolicy
from api.policies.notices import NoticePolicy
from api.policies.reception import ReceptionPolicy
from api.policies.scoring import ScoringPolicy
from api.policies.screening import ScreeningPolicy
from api.policies.search import SearchPolicy
from api.policies.sensitive import SensitivePolicy
from api.policies.templates import FIELDS, check_template, placeholders
from shared.jsontypes import Distinct, IsoDuration, JsonInt

PositiveDuration = Annotated[IsoDuration, Field(gt=timedelta(0), description="ISO 8601 duration")]


class ConcernedUnitDuties(StrictModel):
    """Who of the unit the matter concerns (事涉单位) goes to a visit lodged at one level
    above the town: of the town the petitioners come from (the origin itself when it lies
    under no town) its petition staff, its deputy in charge and its chief from their headcounts,
    and the chief of the area between; each is summoned at once, and the deadline escalates
    like every arrival. The village chief's `arrival.chief` applies at the town and the county
    only."""

    within: PositiveDuration = Field(
        description="How long each has to be on the scene (where the petitioners are) and say "
        "so (到位)."
    )
    staff: StrictBool = Field(default=True, description="The town's petition staff go.")
    area_chief: StrictBool = Field(
        default=True, description="The chief of the area (管理区) between goes, if any."
    )
    deputy_from: JsonInt | None = Field(
        default=None,
        ge=1,
        le=100000,
        description="The town's deputy in charge goes from this "
        "headcount (1: always; null: never).",
    )
    chief_from: JsonInt | None = Field(
        default=None, ge=1, le=100000, description="The town's chief goes from this headcount."
    )


CONCERNED_DEFAULTS: dict[LodgedLevel, ConcernedUnitDuties] = {
    # seed 000 rule 3: 对到区以上上访的，管理区、信访办、街道分管领导要迅速到位 ("rapidly":
    # the staff time of seed 001 第二篇 (二).1, 30 minutes); seed 001 第一篇 (五).2: a
    # collective visit (5 people, `collective_headcount`) at the county gate brings the
    # unit's main leader (主要领导能及时赶到现场).
    LodgedLevel.county: ConcernedUnitDuties(
        within=timedelta(minutes=30), deputy_from=1, chief_from=5
    ),
    # seed 001 第二篇 (二).1: 事涉单位信访工作人员需在30分钟内到达上访地点; 集体访超过20人
    # 以上的, 事涉部门信访工作分管领导要亲自到上访地点.
    LodgedLevel.city: ConcernedUnitDuties(within=timedelta(minutes=30), deputy_from=21),
    # seed 001 第二篇 (七).2–3: 赴省集体访20人以上 the deputy in charge, 50人以上 the main
    # leader. The seeds give no time to reach the provincial capital: the county sets its own.
    LodgedLevel.province: ConcernedUnitDuties(
        within=timedelta(hours=12), deputy_from=20, chief_from=50
    ),
    # seed 001 第二篇 (八).2: 进京集体访5人以上 the deputy in charge goes to Beijing in person,
    # 20人以上 the main leader. No time is given to reach Beijing: the county sets its own.
    LodgedLevel.national: ConcernedUnitDuties(
        within=timedelta(hours=24), deputy_from=5, chief_from=20
    ),
}


class ArrivalPolicy(StrictModel):
    """On-scene arrival times and headcount thresholds (到位时限)."""

    chief: PositiveDuration = Field(
        default=timedelta(minutes=20),
        description="Village/area chief on the scene after the summons (seed 000 rule 3).",
    )
    staff: PositiveDuration = Field(
        default=timedelta(minutes=30),
        description="Petition staff of the unit concerned on the scene (seed 001 (二).1).",
    )
    leader: PositiveDuration = Field(
        default=timedelta(minutes=30),
        description="Deputy or chief of the lodged unit for large collective visits.",
    )
    deputy_headcount: JsonInt = Field(
        default=21, ge=1, description="From this headcount the deputy comes in person (>20)."
    )
    leader_headcount: JsonInt = Field(
        default=50,
        ge=1,
        description="From this headcount the main leader comes in person (a visit at the "
        "town: the town's chief).",
    )
    concerned: dict[LodgedLevel, ConcernedUnitDuties] = Field(
        default_factory=lambda: dict(CONCERNED_DEFAULTS),
        description="Visits lodged at the county or above (到区以上; seed 000 rule 3): who of "
        "the unit the matter concerns (事涉单位) is summoned, per lodged level (county, city, "
        "province, national). A level left out summons nobody of the unit concerned.",
    )

    @model_validator(mode="after")
    def _levels_above_the_town(self) -> ArrivalPolicy:
        below = {LodgedLevel.village, LodgedLevel.area, LodgedLevel.town} & set(self.concerned)
        if below:
            raise ValueError(
                Message(
                    "arrival.concerned is for visits at the county or above, not {names}",
                    names=", ".join(sorted(level.value for level in below)),
                )
            )
        return self


class Recipient(StrEnum):
    """Who an escalation step notifies, relative to the missed deadline."""

    responsible = "responsible"
    unit_deputy = "unit_deputy"
    unit_chief = "unit_chief"
    next_unit_chief = "next_unit_chief"
    county_petition_office = "county_petition_office"  # 县信访局
    discipline_office = "discipline_office"  # 纪检监察 (seed 002)


# A chain longer than this is a mistake in the policy, not a county's practice.
MAX_CHAIN_STEPS = 10


class EscalationStep(StrictModel):
    """One step of an escalation chain."""

    notify: Annotated[list[Recipient], Distinct] = Field(min_length=1, max_length=len(Recipient))
    after: IsoDuration = Field(
        default=timedelta(0), ge=timedelta(0), description="Delay after the previous step."
    )
    repeat: JsonInt = Field(
        default=0, ge=0, le=10, description="Notify the same people again this many times."
    )


def _step(*notify: Recipient, after: timedelta = timedelta(0)) -> EscalationStep:
    return EscalationStep(notify=list(notify), after=after)


class EscalationPolicy(StrictModel):
    """Escalation chains (SPEC §5): walked step by step until someone acknowledges."""

    arrival: list[EscalationStep] = Field(
        default_factory=lambda: [
            _step(Recipient.next_unit_chief),
            _step(Recipient.county_petition_office, after=timedelta(minutes=10)),
        ],
        min_length=1,
        max_length=MAX_CHAIN_STEPS,
    )
    default: list[EscalationStep] = Field(
        default_factory=lambda: [
            _step(Recipient.responsible, Recipient.unit_chief),
            _step(Recipient.next_unit_chief, after=timedelta(days=1)),
            _step(Recipient.county_petition_office, after=timedelta(days=1)),
            _step(Recipient.discipline_office, after=timedelta(days=2)),
        ],
        min_length=1,
        max_length=MAX_CHAIN_STEPS,
        description="Chain of every deadline kind other than arrival.",
    )
    renotify_after: IsoDuration | None = Field(
        default=timedelta(days=1),
        gt=timedelta(0),
        description="Remind whoever acknowledged while the matter stays unresolved.",
    )
    unanswered_after: IsoDuration = Field(
        default=timedelta(hours=1),
        gt=timedelta(0),
        description="After a chain's last step, how long until the county petition office "
        "hears that nobody acknowledged: a chain never ends in silence (a product rule, not "
        "a seed's number).",
    )
    ack_link_ttl: IsoDuration = Field(
        default=timedelta(days=1),
        gt=timedelta(0),
        description="How long a one-click acknowledgement link in a message works.",
    )
    discipline_unit_id: uuid.UUID | None = Field(
        default=None, description="The discipline office (纪委) unit; its chief is notified."
    )

    def chain(self, kind: str) -> list[EscalationStep]:
        """The chain a deadline of `kind` walks, each repeat spelled out as its own step."""
        steps = self.arrival if kind == "arrival" else self.default
        return [step for step in steps for _ in range(step.repeat + 1)]


Days = Annotated[JsonInt, Field(ge=1, le=3650)]


class DeadlinePolicy(StrictModel):
    """Day deadlines of the lifecycle (SPEC §4); working days follow the holiday calendar."""

    disposition_days: Days = Field(
        default=15, description="Registered and forwarded/assigned (条例 art. 22)."
    )
    acceptance_notice_days: Days = Field(
        default=15, description="Petitioner told whether it is accepted (条例 art. 23)."
    )
    transfer_days: Days = Field(
        default=2, description="A matter passed on to the handling unit (seed 003 五.四.1)."
    )
    objection_working_days: Days = Field(
        default=5, description="Assignee may object to a wrong assignment (条例 art. 23)."
    )
    first_resolution_working_days: Days = Field(
        default=7, description="Initial petitions settled (seed 000 rule 4: 5–7 working days)."
    )
    handling_days: Days = Field(default=60, description="Handled after acceptance (art. 34).")
    extension_max_days: Days = Field(default=30, description="The one extension (art. 34).")
    review_request_days: Days = Field(
        default=30, description="Petitioner may request a review after the answer (art. 35)."
    )
    review_answer_days: Days = Field(default=30, description="Review answered (art. 35).")
    re_review_request_days: Days = Field(
        default=30, description="Petitioner may request a re-review after the review (art. 36)."
    )
    re_review_answer_days: Days = Field(default=30, description="Re-review answered (art. 36).")
    national_report_months: JsonInt = Field(
        default=1, ge=1, le=24, description="Closing report of a case taken to Beijing."
    )
    owner_leader_working_days: Days = Field(
        default=1,
        description="A leader named to own (包案) a case that must have one, counted from its "
        "registration (seed 001 第二篇 (四).3: 逐件落实领导包案制度; (八).4: 进京访 …要落实有关"
        "领导包案处理; the seeds give no time: one working day).",
    )
    owner_leader_levels: Annotated[list[LodgedLevel], Distinct] = Field(
        default_factory=lambda: [LodgedLevel.province, LodgedLevel.national],
        max_length=7,
        description="Visits and letters lodged at these levels must have an owner leader: the "
        "matter taken in hand at home after the officials received the petitioners at the "
        "province or in Beijing (seed 001 第二篇 (七), (八).4).",
    )
    onsite_levels: Annotated[list[LodgedLevel], Distinct] = Field(
        default_factory=lambda: [LodgedLevel.province, LodgedLevel.national],
        max_length=7,
        description="A visit lodged at these levels opens an on-site reception duty (赴现场接待): "
        "the officials of the unit concerned (`arrival.concerned`) go and receive the "
        "petitioners in person, and the matter is settled at home (seed 001 第二篇 (七).2–3 赴省"
        "集体访 …到现场工作; (八).1–2 进京访 …进京工作).",
    )
    onsite_settle_working_days: Days = Field(
        default=3,
        description="After an on-site reception, the case assigned at home (交办) with an owner "
        "leader (包案) within these working days, counted from its registration (事要解决; "
        "seed 001 第二篇 (八).4 requires the owner leader and gives no time: the owner leader's "
        "one working day and two for the assignment).",
    )


class ReportPolicy(StrictModel):
    """Situation reports (零隐报, seed 002 第一篇 二): who files them and on which days."""

    days_of_month: list[Annotated[int, Field(ge=1, le=31)]] = Field(
        default_factory=lambda: [15, 30],
        min_length=1,
        max_length=4,
        description="Report days (the seed blanks them out; a day past a month's end is its "
        "last day).",
    )
    roles: Annotated[list[Role], Distinct] = Field(
        default_factory=lambda: [Role.info_officer],
        max_length=len(Role),
        description="Roles that owe a report each period.",
    )


class AlertPolicy(StrictModel):
    """Per-recipient limits. Past the rate limit, alerts wait and go out as one bundled
    message; past the SMS cap, a number gets no more SMS (OWASP API4: a stolen token must
    not run up the SMS bill) and the alert goes to the official's next contact instead."""

    max_per_window: JsonInt = Field(
        default=5, ge=1, le=1_000_000, description="Alerts one recipient gets alone per window."
    )
    window: PositiveDuration = Field(default=timedelta(minutes=10))
    sms_cap: JsonInt = Field(
        default=100, ge=1, le=1_000_000, description="SMS one number gets at most per cap window."
    )
    sms_cap_window: PositiveDuration = Field(default=timedelta(hours=24))


class IntakePolicy(StrictModel):
    """Registration rules: repeat petitions (重复访), skip-level petitions (越级访)."""

    repeat_window: PositiveDuration = Field(
        default=timedelta(days=180),
        description="Same petitioner and category within this window is a repeat petition.",
    )
    skip_levels: Annotated[list[LodgedLevel], Distinct] = Field(
        default_factory=lambda: [
            LodgedLevel.county,
            LodgedLevel.city,
            LodgedLevel.province,
            LodgedLevel.national,
        ],
        max_length=4,
        description="A petition lodged at one of these levels is skip-level (越级访) — at the "
        "county only when it skipped its town (the origin lies under one): seed 000 rule 2 "
        "(不准越级上访, problems solved where they arise) and rule 3 (越级上访 to the town or the "
        "district). Counted for the case at registration, under the policy of the day.",
    )

    @model_validator(mode="after")
    def _above_the_town(self) -> IntakePolicy:
        low = {LodgedLevel.village, LodgedLevel.area, LodgedLevel.town} & set(self.skip_levels)
        if low:
            raise ValueError(Message("intake.skip_levels are the county and above"))
        return self


TemplateName = Literal[
    "summons",
    "reminder",
    "deadline_missed",
    "report_missed",
    "bundle",
    "renotify",
    "arrival_missed",
    "duty_missed",
    "risk_alert",
    "reassigned",
    "dispute_expected",
]
ChannelName = Literal["sms", "dingtalk", "wecom", "webhook"]

# Robots (DingTalk, WeCom) show markdown: the heading is the alert's title, the link clickable.
ROBOT_MARKDOWN: dict[TemplateName, str] = {
    "summons": (
        "**{case_number}**:{headcount}人到{lodged}上访({title})\n\n"
        "> 请于 **{due_local}** 前({within}内)到场接访,到场后签到。"
    ),
    "reminder": (
        "**{case_number}**({title})\n\n"
        "> {deadline_name}已过{elapsed},剩余{remaining},将于 **{due_local}** 到期,请抓紧办理。"
    ),
    "deadline_missed": (
        "**{case_number}**({title})\n\n"
        "- 责任人:{official_name}({unit_name})\n"
        "- {deadline_name}:{due_local} 已超期\n\n"
        "请立即督促办理。[点此签收]({ack_link})"
    ),
    "arrival_missed": (
        "**{case_number}**:{headcount}人,{lodged}\n\n"
        "- 未按时到场:{official_name}({unit_name}{role_name})\n"
        "- 到位时限:{due_local}\n\n"
        "请立即督促处置。[点此签收]({ack_link})"
    ),
    "report_missed": (
        "{official_name}({unit_name})未在 **{due_local}** 前报送信访形势,零报告也须报送。\n\n"
        "[点此签收]({ack_link})"
    ),
    "duty_missed": (
        "**{deadline_name}超期**:{subject}\n\n"
        "- 责任人:{official_name}({unit_name})\n"
        "- 时限:{due_local}\n\n"
        "请立即督促落实。[点此签收]({ack_link})"
    ),
    "risk_alert": (
        "**{risk_name}稳定风险**({unit_name}):{subject}\n\n"
        "> 请您牵头化解稳控,时限 **{due_local}**。"
    ),
}


def _robot_defaults() -> dict[ChannelName, dict[TemplateName, str]]:
    return {"dingtalk": dict(ROBOT_MARKDOWN), "wecom": dict(ROBOT_MARKDOWN)}


class Templates(StrictModel):
    """Chinese message templates; fields in braces are filled from the case and deadline."""

    summons: str = Field(
        default=(
            "【到位通知】{case_number}:{headcount}人到{lodged}上访({title})。"
            "请您于{due_local}前({within}内)到场接访,到场后签到。"
        )
    )
    reminder: str = Field(
        default=(
            "【时限提醒】{case_number}({title}):{deadline_name}已过{elapsed},"
            "剩余{remaining},将于{due_local}到期,请抓紧办理。"
        )
    )
    deadline_missed: str = Field(
        default=(
            "【超期督办】{case_number}({title}):{official_name}({unit_name})"
            "的{deadline_name}已于{due_local}超期。请立即督促办理。签收:{ack_link}"
        )
    )
    report_missed: str = Field(
        default=(
            "【信息报送超期】{official_name}({unit_name})未在{due_local}前报送信访形势,"
            "零报告也须报送。签收:{ack_link}"
        )
    )
    duty_missed: str = Field(
        default=(
            "【履职超期督办】{official_name}({unit_name})的{deadline_name}已于{due_local}超期:"
            "{subject}。请立即督促落实。签收:{ack_link}"
        )
    )
    risk_alert: str = Field(
        default=(
            "【{risk_name}稳定风险预警】{unit_name}:{subject}。请您牵头化解稳控,时限{due_local}。"
        )
    )
    bundle: str = Field(
        default="【信访汇总】您有{count}条待办提醒,涉及{case_numbers},请登录信访系统查看并签收。"
    )
    renotify: str = Field(
        default="【督办回访】{case_number}({title}):督办事项已签收但尚未办结,请抓紧落实。"
    )
    dispute_expected: str = Field(
        default="【答复异议提示】{case_number}({title}):答复意见书{number}预计信访人有异议,"
        "请做好送达见证和复查准备。"
    )
    reassigned: str = Field(
        default="【改派通知】{case_number}({title})已改派由您承办,办理时限{time_limit}。"
    )
    arrival_missed: str = Field(
        default=(
            "【到位超时督办】{case_number}:{official_name}({unit_name}{role_name})"
            "未在{due_local}前到场接访({headcount}人,{lodged})。请立即督促处置。"
            "签收:{ack_link}"
        )
    )

    by_channel: dict[ChannelName, dict[TemplateName, str]] = Field(
        default_factory=_robot_defaults,
        description=(
            "Per channel (sms, dingtalk, wecom, webhook), templates that replace the ones above"
            " on that channel: the robots get markdown with a clickable acknowledgement link."
        ),
    )

    @model_validator(mode="after")
    def _known_placeholders(self) -> Templates:
        for name in FIELDS:
            check_template(name, getattr(self, name))
        for overrides in self.by_channel.values():
            for name, template in overrides.items():
                check_template(name, template)
        return self

    def pick(self, channel: str, name: str) -> str:
        """The template `name` as sent on `channel`."""
        overrides = self.by_channel.get(cast(ChannelName, channel), {})
        return overrides.get(cast(TemplateName, name)) or str(getattr(self, name))


COUNTY_OR_ABOVE = [LodgedLevel.county, LodgedLevel.city, LodgedLevel.province, LodgedLevel.national]


class VetoRule(StrictModel):
    """One condition of the one-vote veto (一票否决): a unit of `unit_level` with at least
    `at_least` collective visits in a year lodged at one of `lodged_levels` is vetoed."""

    key: str = Field(pattern=r"^[a-z0-9_]{1,40}$", description="Short name of the rule.")
    unit_level: UnitLevel = Field(
        description="A territorial unit answers for the visits from its territory (属地), a "
        "department for the visits whose case is assigned to it (归口办理)."
    )
    lodged_levels: Annotated[list[LodgedLevel], Distinct] = Field(
        min_length=1, max_length=len(LodgedLevel)
    )
    at_least: JsonInt = Field(ge=1, le=1000)
    description: str = Field(default="", max_length=500)


def _veto_rules() -> list[VetoRule]:
    rules = [
        (
            "area_town",
            UnitLevel.area,
            [LodgedLevel.town],
            3,
            "管理区年内累计到街道群体上访3次(含3次)以上",
        ),
        (
            "area_county",
            UnitLevel.area,
            [LodgedLevel.county],
            2,
            "管理区年内累计到区群体上访2次(含2次)以上",
        ),
        (
            "area_city",
            UnitLevel.area,
            [LodgedLevel.city, LodgedLevel.province, LodgedLevel.national],
            1,
            "管理区年内到市级(含市级)以上群体上访1次以上",
        ),
        ("village_county", UnitLevel.village, COUNTY_OR_ABOVE, 1, "村(居)到区以上群体上访1次"),
        (
            "department_county",
            UnitLevel.department,
            COUNTY_OR_ABOVE,
            1,
            "涉访部门造成群众到区以上(含区级)群体上访",
        ),
    ]
    return [
        VetoRule(
            key=key,
            unit_level=level,
            lodged_levels=levels,
            at_least=n,
            description=f"{text} (seed 000 rule 8)",
        )
        for key, level, levels, n, text in rules
    ]


class VetoPolicy(StrictModel):
    """The one-vote veto (一票否决, seed 000 rule 8, SPEC §6), counted per calendar year of
    receipt in Asia/Shanghai."""

    rules: list[VetoRule] = Field(default_factory=_veto_rules, max_length=50)

    @model_validator(mode="after")
    def _unique_keys(self) -> VetoPolicy:
        keys = [r.key for r in self.rules]
        if len(keys) != len(set(keys)):
            raise ValueError(Message("veto rule keys must be unique"))
        return self


BULLETIN_TITLE_FIELDS = frozenset({"unit", "year", "month"})


class BulletinPolicy(StrictModel):
    """The monthly bulletin (每月通报, seed 000 rule 9): its title, and who is praised. A unit
    of the bulletin (a child of the unit it is for) is praised (通报表扬) when all of these
    hold for the month; criticism (通报批评) names every missed arrival, every case overdue
    in the month and every unit vetoed in the year so far, whatever these numbers say."""

    title: str = Field(
        default="{unit}信访工作月度通报（{year}年{month}月）",
        min_length=1,
        max_length=200,
        description="Title row of the spreadsheet; placeholders {unit}, {year}, {month}.",
    )
    praise_min_cases: JsonInt = Field(
        default=1,
        ge=0,
        le=1_000_000,
        description="Praised only with at least this many cases received in the month "
        "(with none there is no handling to praise).",
    )
    praise_min_on_time_completion: StrictFloat = Field(
        default=0.9,
        ge=0,
        le=1,
        description="Praised only with an on-time completion rate (按期办结率) of the month's "
        "cases at least this; a unit none of whose handling deadlines has settled yet is "
        "judged on the other conditions.",
    )
    praise_max_missed_arrivals: JsonInt = Field(
        default=0,
        ge=0,
        le=1_000_000,
        description="Praised only with at most this many arrival deadlines (到位时限) in its "
        "subtree missed in the month.",
    )
    praise_max_overdue_cases: JsonInt = Field(
        default=0,
        ge=0,
        le=1_000_000,
        description="Praised only with at most this many cases of its subtree overdue "
        "(handling time limit passed) in the month.",
    )
    praise_excludes_vetoed: StrictBool = Field(
        default=True,
        description="A unit with a vetoed unit (一票否决) in its subtree this year is not "
        "praised (取消评优树先资格).",
    )

    @model_validator(mode="after")
    def _known_placeholders(self) -> BulletinPolicy:
        unknown = placeholders(self.title) - BULLETIN_TITLE_FIELDS
        if unknown:
            raise ValueError(
                Message("bulletin title: unknown placeholders {unknown}", unknown=sorted(unknown))
            )
        return self


class BureauPolicy(StrictModel):
    """What the petition bureaus above the counties (市、省信访局) read (属地管理、分级负责:
    a matter is the county's to handle; 条例 art. 31, seed 002)."""

    read_subtree_cases: StrictBool = Field(
        default=False,
        description="Whether the officials of a city's or a province's units read every case "
        "of their subtree. Default: only the cases of their own units (lodged with them, "
        "handed down by them); their figures (summary, ranking, veto, scores, bulletin, "
        "overdue deadlines) cover the whole subtree either way.",
    )


class Policy(StrictModel):
    """The whole policy document (`GET/PUT /v1/policies`)."""

    arrival: ArrivalPolicy = Field(default_factory=ArrivalPolicy)
    collective_headcount: JsonInt = Field(
        default=5, ge=2, description="A visit of at least this many people is collective (集体访)."
    )
    collective_visit_channels: Annotated[list[Channel], Distinct] = Field(
        default_factory=lambda: [Channel.visit],
        min_length=1,
        max_length=len(Channel),
        description="Channels of a collective petition that count as going somewhere in a group "
        "(群体上访) for the veto and the scores: a letter signed by many does not.",
    )
    max_representatives: JsonInt = Field(
        default=5, ge=1, description="Most representatives of a multi-person visit (条例 art. 20)."
    )
    deadlines: DeadlinePolicy = Field(default_factory=DeadlinePolicy)
    reminders: list[Annotated[float, Field(gt=0, lt=1)]] = Field(
        default_factory=lambda: [0.5, 0.8],
        max_length=5,
        description="Reminders to the responsible official at these fractions of a deadline.",
    )
    intake: IntakePolicy = Field(default_factory=IntakePolicy)
    alerts: AlertPolicy = Field(default_factory=AlertPolicy)
    reports: ReportPolicy = Field(default_factory=ReportPolicy)
    escalation: EscalationPolicy = Field(default_factory=EscalationPolicy)
    templates: Templates = Field(default_factory=Templates)
    veto: VetoPolicy = Field(default_factory=VetoPolicy)
    scoring: ScoringPolicy = Field(default_factory=ScoringPolicy)
    bulletin: BulletinPolicy = Field(default_factory=BulletinPolicy)
    follow_up: FollowUpPolicy = Field(default_factory=FollowUpPolicy)
    screening: ScreeningPolicy = Field(default_factory=ScreeningPolicy)
    sensitive_periods: SensitivePolicy = Field(default_factory=SensitivePolicy)
    reception: ReceptionPolicy = Field(default_factory=ReceptionPolicy)
    decisions: DecisionPolicy = Field(default_factory=DecisionPolicy)
    materials: MaterialsPolicy = Field(default_factory=MaterialsPolicy)
    notices: NoticePolicy = Field(default_factory=NoticePolicy)
    search: SearchPolicy = Field(default_factory=SearchPolicy)
    bureaus: BureauPolicy = Field(default_factory=BureauPolicy)

    @model_validator(mode="after")
    def _periods_only_shorten_arrivals(self) -> Policy:
        a = self.arrival
        self.sensitive_periods.check_tightens(a.chief, a.staff, a.leader)
        return self


class PolicyRead(BaseModel):
    """The current policy document with its version."""

    version: int
    policy: Policy


class PolicySource(BaseModel):
    """A value of a unit's policy set by that unit or one above it (every other value is the
    deployment's document's, or the built-in default)."""

    pointer: str = Field(description="JSON pointer of the value, e.g. `/arrival/chief`.")
    unit_id: uuid.UUID
    unit_name: str
    level: UnitLevel


class UnitPolicyRead(BaseModel):
    """The policy in force for a unit and where its values come from."""

    unit_id: uuid.UUID
    version: int = Field(description="The policy's generation (every change bumps it).")
    policy: Policy = Field(description="The policy in force for the unit's subtree.")
    override: dict[str, Any] | None = Field(
        description="What this unit itself sets (a partial document), if anything."
    )
    sources: list[PolicySource] = Field(
        description="Each value set by this unit or a unit above it, and by whom; the nearest "
        "unit's value wins."
    )
    deployment_saved: bool = Field(
        description="Whether the deployment's document was ever saved (else the other values "
        "are the built-in defaults)."
    )


class PolicyChangeRead(BaseModel):
    """One change of the policy (history)."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    version: int = Field(description="The generation the change made.")
    unit_id: uuid.UUID | None = Field(
        description="The unit whose override changed; null: the deployment's document."
    )
    document: dict[str, Any] | None = Field(
        description="What was set; null when a unit's override was removed."
    )
    changed_by: uuid.UUID | None
    created_at: datetime = Field(description="When.")
