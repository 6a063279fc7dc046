"""The scoring rule tables (考评细则, seed 001): tables on their own scales, their sections,
and the rules that deduct points for what the system records of how the officials served
(came, answered, served notices, solved, on time). No rule counts petitioners or where they
went: a collective visit lodged above the county (the 8 events of 第一篇 (五)) is counted
against the units it arose in, as it always was, and every other rule reads the officials'
own deadlines, actions and registers."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Protocol

from pydantic import Field, StrictBool, StrictFloat, model_validator

from api.kit.i18n import Message
from api.models.case import CaseSource, Channel, LodgedLevel
from api.models.deadline import DeadlineKind
from api.models.official import Role
from api.models.unit import UnitLevel
from api.policies.base import StrictModel
from shared.jsontypes import Distinct


class ScoreEvent(StrEnum):
    """What a rule of the scoring table (考评细则) deducts for, as the data can tell it."""

    # 来县委、县政府门口集体上访初访: the origin's chiefs summoned were on the scene in time
    # (no chief arrival deadline missed), taken as "劝返、人员及时疏散".
    county_collective_first_dispersed = "county_collective_first_dispersed"
    # The same, but a chief's arrival deadline was missed (or none was opened), taken as
    # "人员滞留1个小时以上": the case does not record when the crowd left.
    county_collective_first_stayed = "county_collective_first_stayed"
    county_collective_repeat = "county_collective_repeat"  # 重复集体上访 at the county
    city_collective = "city_collective"  # 到市信访接待中心 / 市委、市政府门口集体上访
    province_collective_dispersed = "province_collective_dispersed"  # 赴省集体上访,及时疏散
    province_collective_registered = "province_collective_registered"  # 赴省集体上访被登记
    national_collective = "national_collective"  # 赴京集体上访被登记
    report_missed = "report_missed"  # 漏报: a situation report deadline missed
    # A deadline of one of the rule's `deadline_kinds` missed (超期): the duty was not done by
    # its time, whether it was done later or never.
    deadline_missed = "deadline_missed"
    # A deadline of one of the rule's `deadline_kinds` met after it fell due (迟报、逾期办理).
    deadline_late = "deadline_late"
    # 退回重办: an answer sent back for re-handling (the action `return_for_rehandling`).
    case_returned = "case_returned"
    # A screened dispute (矛盾纠纷排查台账) without its resolution plan (化解方案) or its
    # containment measures (稳控措施): one occurrence per part missing.
    screening_incomplete = "screening_incomplete"
    # A reception day (接访日) that passed with no duty leader on the unit's roster (接访日程表).
    roster_day_uncovered = "roster_day_uncovered"


# Events read from deadlines: a rule of one of these names the deadline kinds it counts.
DEADLINE_EVENTS = frozenset({ScoreEvent.deadline_missed, ScoreEvent.deadline_late})
# Events that are no case's: a case filter would never let one through.
CASELESS_EVENTS = frozenset(
    {
        ScoreEvent.report_missed,
        ScoreEvent.screening_incomplete,
        ScoreEvent.roster_day_uncovered,
    }
)


class CaseTraits(Protocol):
    """What a rule's case filter looks at in a case."""

    @property
    def lodged_level(self) -> LodgedLevel: ...

    @property
    def channel(self) -> Channel: ...

    @property
    def source(self) -> CaseSource: ...

    @property
    def is_collective(self) -> bool: ...


class ScoreCases(StrictModel):
    """Which cases a rule's facts must belong to; an empty list lets every value through."""

    lodged_levels: Annotated[list[LodgedLevel], Distinct] = Field(
        default_factory=list, max_length=len(LodgedLevel), description="Where it was lodged."
    )
    channels: Annotated[list[Channel], Distinct] = Field(
        default_factory=list, max_length=len(Channel), description="How it came in."
    )
    sources: Annotated[list[CaseSource], Distinct] = Field(
        default_factory=list,
        max_length=len(CaseSource),
        description="Own intake, or transferred (转送) or assigned (交办) by a higher office.",
    )
    collective: StrictBool | None = Field(
        default=None, description="Only collective petitions (true), only others (false)."
    )

    def admits(self, case: CaseTraits | None) -> bool:
        """Whether a fact of this case counts (a fact of no case never does)."""
        if case is None:
            return False
        return (
            (not self.lodged_levels or case.lodged_level in self.lodged_levels)
            and (not self.channels or case.channel in self.channels)
            and (not self.sources or case.source in self.sources)
            and (self.collective is None or case.is_collective is self.collective)
        )


class ScoreTable(StrictModel):
    """A rule table on its own scale (seed 001 has one of 100 points and one of 2 points): a
    unit's score in it is the sum of its sections."""

    key: str = Field(min_length=1, max_length=20)
    name: str = Field(min_length=1, max_length=100)
    description: str = Field(default="", max_length=500)


class ScoreSection(StrictModel):
    """A section of a table with its maximum; deductions stop at zero (扣完为止)."""

    key: str = Field(min_length=1, max_length=20, description="Unique across the tables.")
    name: str = Field(min_length=1, max_length=100)
    maximum: StrictFloat = Field(gt=0, le=10000)
    table: str = Field(
        default="一",
        min_length=1,
        max_length=20,
        description="The key of the table it belongs to (default 一: seed 001 第一篇).",
    )


RULE_KEY = r"^[a-z0-9_]{1,60}$"


class ScoreRule(StrictModel):
    """Points deducted from a section for each occurrence of an event (每次 / 每件次 /
    每批次), up to the rule's cap for one unit in a year."""

    key: str = Field(
        pattern=RULE_KEY,
        description="Unique name of the rule (a document without one takes the event's name).",
    )
    event: ScoreEvent
    deadline_kinds: Annotated[list[DeadlineKind], Distinct] = Field(
        default_factory=list,
        max_length=len(DeadlineKind),
        description="For deadline_missed and deadline_late: the kinds of deadline counted.",
    )
    roles: Annotated[list[Role], Distinct] = Field(
        default_factory=list,
        max_length=len(Role),
        description="For deadline_missed and deadline_late: only deadlines owed in these roles "
        "(empty: any).",
    )
    cases: ScoreCases | None = Field(
        default=None,
        description="Only facts of cases like these (null: every fact, of a case or not).",
    )
    section: str = Field(min_length=1, max_length=20)
    points: StrictFloat = Field(ge=0, le=10000, description="Deducted per occurrence.")
    cap: StrictFloat | None = Field(
        default=None,
        ge=0,
        le=10000,
        description="The most the rule deducts from one unit in a year (null: up to the "
        "section's maximum).",
    )
    description: str = Field(default="", max_length=500)

    @model_validator(mode="before")
    @classmethod
    def _key_from_event(cls, data: Any) -> Any:
        # Documents stored before rules had keys named each rule by its event (one per event).
        if isinstance(data, dict) and "key" not in data and isinstance(data.get("event"), str):
            return {"key": data["event"], **data}
        return data

    @model_validator(mode="after")
    def _fields_of_the_event(self) -> ScoreRule:
        if self.event in DEADLINE_EVENTS:
            if not self.deadline_kinds:
                raise ValueError(
                    Message("a {event} rule names its deadline_kinds", event=self.event.value)
                )
        elif self.deadline_kinds or self.roles:
            raise ValueError(
                Message(
                    "deadline_kinds and roles are for deadline rules, not {event}", event=self.event
                )
            )
        if self.event in CASELESS_EVENTS and self.cases is not None:
            raise ValueError(
                Message("{event} is no case's: it takes no cases filter", event=self.event.value)
            )
        return self

    def counts_deadline(self, kind: DeadlineKind, role: str, case: CaseTraits | None) -> bool:
        """Whether a deadline of this kind, owed in this role, of this case, is the rule's."""
        return (
            kind in self.deadline_kinds
            and (not self.roles or role in {r.value for r in self.roles})
            and self.admits(case)
        )

    def admits(self, case: CaseTraits | None) -> bool:
        """Whether the rule's case filter lets a fact of this case (or of none) through."""
        return self.cases is None or self.cases.admits(case)


# --- defaults: seed 001 ------------------------------------------------------------------

FIRST = "一"  # 第一篇: 双节两会信访稳定工作考评细则, 100 points
SECOND = "二"  # 第二篇: 信访工作考评细则, 2 points


def _score_tables() -> list[ScoreTable]:
    return [
        ScoreTable(
            key=FIRST,
            name="信访稳定工作考评细则(100分)",
            description="seed 001 第一篇: sections (一)–(五), points of 100.",
        ),
        ScoreTable(
            key=SECOND,
            name="信访工作考评细则(2分)",
            description="seed 001 第二篇: 信访工作考评分值为2分,实行减分制; sections (一)–(八).",
        ),
    ]


def _score_sections() -> list[ScoreSection]:
    first = [
        ("一", "领导重视程度", 5.0),
        ("二", "矛盾纠纷排查化解", 5.0),
        ("三", "党政领导轮流接访", 5.0),
        ("四", "值班及信息报告", 5.0),
        ("五", "来县及越级上访", 80.0),
    ]
    second = [
        ("二(一)", "信访基础工作", 0.5),
        ("二(二)", "信访接待、调处及答复工作", 0.3),
        ("二(三)", "来信、网上投诉工作", 0.2),
        ("二(四)", "转办、交办、督查、督办案件的办案工作", 0.2),
        ("二(五)", "信访案件的复查、复核、终结工作", 0.15),
        ("二(六)", "信访工作责任追究制度", 0.15),
        ("二(七)", "赴省访处置", 0.2),
        ("二(八)", "进京访处置", 0.3),
    ]
    return [ScoreSection(key=k, name=n, maximum=m, table=FIRST) for k, n, m in first] + [
        ScoreSection(key=k, name=n, maximum=m, table=SECOND) for k, n, m in second
    ]


E = ScoreEvent
K = DeadlineKind
# A case's lodged levels below the province: visits at the county gate or the city's reception
# centre, and the letters and calls that came in here (seed 001 第二篇 (二) as against (七), (八)).
BELOW_PROVINCE = [
    LodgedLevel.village,
    LodgedLevel.area,
    LodgedLevel.town,
    LodgedLevel.county,
    LodgedLevel.city,
]
HANDED_DOWN = [CaseSource.transferred, CaseSource.assigned]  # 转送、交办 by a higher office
LETTERS = [Channel.letter, Channel.online]  # 来信、网上投诉
NOT_LETTERS = [Channel.visit, Channel.phone, Channel.grid]


def _rule(
    key: str,
    event: ScoreEvent,
    section: str,
    points: float,
    source: str,
    text: str,
    *,
    kinds: list[DeadlineKind] | None = None,
    roles: list[Role] | None = None,
    cases: ScoreCases | None = None,
    cap: float | None = None,
) -> ScoreRule:
    return ScoreRule(
        key=key,
        event=event,
        deadline_kinds=kinds or [],
        roles=roles or [],
        cases=cases,
        section=section,
        points=points,
        cap=cap,
        description=f"{text} (seed 001 {source})",
    )


def _first_table_rules() -> list[ScoreRule]:
    visits = [
        (
            E.county_collective_first_dispersed,
            5.0,
            "来县集体上访初访,主要领导及时赶到、人员及时疏散",
        ),
        (E.county_collective_first_stayed, 20.0, "来县集体上访初访,人员滞留1个小时以上"),
        (E.county_collective_repeat, 30.0, "来县委、县政府门口重复集体上访,每批次"),
        (E.city_collective, 30.0, "到市信访接待中心或市委、市政府门口集体上访,每批次"),
        (E.province_collective_dispersed, 40.0, "赴省集体上访,人员及时疏散,每批次"),
        (E.province_collective_registered, 60.0, "赴省集体上访被登记,每批次"),
        (E.national_collective, 80.0, "赴京集体上访被登记,每批次"),
    ]
    return [
        *(_rule(e.value, e, "五", p, "第一篇 (五).2", t) for e, p, t in visits),
        _rule(E.report_missed.value, E.report_missed, "四", 1.0, "第一篇 (四).2", "每漏报1次"),
        _rule(
            "screening_round_missed",
            E.deadline_missed,
            "二",
            2.0,
            "第一篇 (二).1",
            "上报矛盾纠纷排查化解统计表,按时上报得2分,否则不得分: a weekly screening round "
            "(每周排查) not filed by its deadline",
            kinds=[K.screening_round],
            cap=2.0,
        ),
        _rule(
            "screening_incomplete",
            E.screening_incomplete,
            "二",
            1.0,
            "第一篇 (二).2",
            "对排查出的矛盾纠纷落实包案领导、化解方案和稳控措施,否则每缺1项扣1分: the owning "
            "leader is required at registration; each plan or measures missing costs 1",
            cap=3.0,
        ),
        _rule(
            "roster_day_uncovered",
            E.roster_day_uncovered,
            "三",
            1.0,
            "第一篇 (三).1",
            "轮流接访日程表公示得1分,否则不得分: a reception day that passed with no duty "
            "leader on the roster",
            cap=1.0,
        ),
        _rule(
            "appointment_missed",
            E.deadline_missed,
            "三",
            1.0,
            "第一篇 (三).2",
            "领导轮流接访登记记录标准得1分,否则不得分: an appointment (约访) not recorded as "
            "held (no 接访记录) by its time",
            kinds=[K.appointment],
            cap=1.0,
        ),
    ]


def _second_table_rules() -> list[ScoreRule]:
    s = SECOND
    own_levels = ScoreCases(lodged_levels=BELOW_PROVINCE)
    province = ScoreCases(lodged_levels=[LodgedLevel.province])
    national = ScoreCases(lodged_levels=[LodgedLevel.national])
    letters = ScoreCases(channels=LETTERS, sources=HANDED_DOWN)
    handed_down = ScoreCases(channels=NOT_LETTERS, sources=HANDED_DOWN)
    chiefs = [Role.chief, Role.dept_head]
    return [
        _rule(
            "t2_decision_assessment_missed",
            E.deadline_missed,
            s + "(一)",
            0.5,
            "第二篇 (一).2",
            "建立信访稳定风险评估工作机制…未开展的不得分: a decision's risk assessment "
            "(风险前置评估) not done by its deadline",
            kinds=[K.decision_assessment],
            cap=0.5,
        ),
        _rule(
            "t2_screening_round_missed",
            E.deadline_missed,
            s + "(一)",
            0.03,
            "第二篇 (一).3",
            "按规定时限报送排查稳控化解情况…每少报一次扣0.03分 (a round filed after its "
            "deadline is missed too)",
            kinds=[K.screening_round],
            cap=0.15,
        ),
        _rule(
            "t2_screening_round_late",
            E.deadline_late,
            s + "(一)",
            0.01,
            "第二篇 (一).3",
            "迟报一次扣0.01分",
            kinds=[K.screening_round],
            cap=0.15,
        ),
        _rule(
            "t2_staff_arrival_missed",
            E.deadline_missed,
            s + "(二)",
            0.02,
            "第二篇 (二).1",
            "事涉单位信访工作人员需在30分钟内到达上访地点…未按规定时限到达现场工作的每次扣0.02分",
            kinds=[K.arrival],
            roles=[Role.petition_staff],
            cases=own_levels,
        ),
        _rule(
            "t2_deputy_arrival_missed",
            E.deadline_missed,
            s + "(二)",
            0.05,
            "第二篇 (二).1",
            "集体访超过20人以上的,事涉部门信访工作分管领导要亲自到上访地点…未按规定时限到达"
            "现场工作的每次扣0.05分",
            kinds=[K.arrival],
            roles=[Role.deputy],
            cases=own_levels,
        ),
        _rule(
            "t2_acceptance_notice_missed",
            E.deadline_missed,
            s + "(二)",
            0.01,
            "第二篇 (二).2",
            "未按时出具实体性受理告知单的每件次扣0.01分",
            kinds=[K.acceptance_notice],
        ),
        _rule(
            "t2_acceptance_notice_late",
            E.deadline_late,
            s + "(二)",
            0.01,
            "第二篇 (二).2",
            "受理告知单出具迟于时限,每件次扣0.01分",
            kinds=[K.acceptance_notice],
        ),
        _rule(
            "t2_reply_missed",
            E.deadline_missed,
            s + "(二)",
            0.02,
            "第二篇 (二).2",
            "未按时出具答复意见的每件次扣0.02分 (the handling deadline, met by the reply)",
            kinds=[K.handling],
        ),
        _rule(
            "t2_reply_late",
            E.deadline_late,
            s + "(二)",
            0.02,
            "第二篇 (二).2",
            "答复意见出具迟于时限,每件次扣0.02分",
            kinds=[K.handling],
        ),
        _rule(
            "t2_first_resolution_missed",
            E.deadline_missed,
            s + "(二)",
            0.02,
            "第二篇 (二).3",
            "未按照规定要求办理有效初信和未反馈落实情况的,单访每次扣0.02分",
            kinds=[K.first_resolution],
            cases=ScoreCases(collective=False),
        ),
        _rule(
            "t2_first_resolution_collective_missed",
            E.deadline_missed,
            s + "(二)",
            0.05,
            "第二篇 (二).3",
            "…集体访每次扣0.05分",
            kinds=[K.first_resolution],
            cases=ScoreCases(collective=True),
        ),
        _rule(
            "t2_letter_acceptance_missed",
            E.deadline_missed,
            s + "(三)",
            0.05,
            "第二篇 (三).1",
            "市级以上信访机构转送和交办的来信、网上投诉信访事项,事涉单位未按期及时受理的每件次"
            "扣0.05分",
            kinds=[K.acceptance_notice],
            cases=letters,
        ),
        _rule(
            "t2_letter_report_missed",
            E.deadline_missed,
            s + "(三)",
            0.1,
            "第二篇 (三).1",
            "转交办的来信、网上投诉未按规定时限出具…结案报告和相关汇报处理卷宗的每件次扣0.1分",
            kinds=[K.national_report],
            cases=letters,
        ),
        _rule(
            "t2_letter_report_late",
            E.deadline_late,
            s + "(三)",
            0.05,
            "第二篇 (三).1",
            "迟报每件次扣0.05分",
            kinds=[K.national_report],
            cases=letters,
        ),
        _rule(
            "t2_letter_handling_missed",
            E.deadline_missed,
            s + "(三)",
            0.15,
            "第二篇 (三).1",
            "转交办的来信、网上投诉未按期办结的每件次扣0.15分",
            kinds=[K.handling],
            cases=letters,
        ),
        _rule(
            "t2_handed_down_report_missed",
            E.deadline_missed,
            s + "(四)",
            0.03,
            "第二篇 (四).1",
            "对转办、交办的信访案件,未按规定时限上报…结案报告和相关汇报处理卷宗的,每件次扣"
            "0.03分 (letters and online complaints: (三).1)",
            kinds=[K.national_report],
            cases=handed_down,
        ),
        _rule(
            "t2_handed_down_report_late",
            E.deadline_late,
            s + "(四)",
            0.01,
            "第二篇 (四).1",
            "迟报每件次扣0.01分",
            kinds=[K.national_report],
            cases=handed_down,
        ),
        _rule(
            "t2_returned_for_rehandling",
            E.case_returned,
            s + "(四)",
            0.03,
            "第二篇 (四).2",
            "因事实不清、适用政策法规不当、处理意见不妥、佐证材料缺乏等原因被退回重新办理的每件"
            "次扣0.03分",
        ),
        _rule(
            "t2_owner_leader_missed",
            E.deadline_missed,
            s + "(四)",
            0.03,
            "第二篇 (四).3",
            "对上级要结果的转交办案件…要逐件落实领导包案制度,少包案一件扣0.03分 (Beijing "
            "cases: (八).4)",
            kinds=[K.owner_leader],
            cases=ScoreCases(lodged_levels=[*BELOW_PROVINCE, LodgedLevel.province]),
        ),
        _rule(
            "t2_supervision_missed",
            E.deadline_missed,
            s + "(四)",
            0.03,
            "第二篇 (四).5",
            "按规定时限办理督办的信访事项…超期未办理的每件加扣0.03分",
            kinds=[K.supervision],
        ),
        _rule(
            "t2_review_missed",
            E.deadline_missed,
            s + "(五)",
            0.03,
            "第二篇 (五).1",
            "复查复核委员会办公室交办、转办的信访案件,未按规定时限完成部门代拟稿的每件次扣"
            "0.03分 (the review and re-review answers)",
            kinds=[K.review, K.re_review],
        ),
        _rule(
            "t2_province_deputy_missed",
            E.deadline_missed,
            s + "(七)",
            0.06,
            "第二篇 (七).2",
            "赴省集体访20人以上的,事涉部门分管领导未到现场工作的,每次扣0.06分",
            kinds=[K.arrival],
            roles=[Role.deputy],
            cases=province,
        ),
        _rule(
            "t2_province_chief_missed",
            E.deadline_missed,
            s + "(七)",
            0.1,
            "第二篇 (七).3",
            "赴省集体访50人以上的,事涉部门主要领导未及时到现场工作,每次扣0.1分",
            kinds=[K.arrival],
            roles=chiefs,
            cases=province,
        ),
        _rule(
            "t2_national_staff_missed",
            E.deadline_missed,
            s + "(八)",
            0.1,
            "第二篇 (八).1",
            "凡发生进京访的事涉部门未进京工作的,每次扣0.1分 (its petition staff did not "
            "report reaching the petitioners in time)",
            kinds=[K.arrival],
            roles=[Role.petition_staff],
            cases=national,
        ),
        _rule(
            "t2_national_deputy_missed",
            E.deadline_missed,
            s + "(八)",
            0.2,
            "第二篇 (八).2",
            "进京集体访5人以上的,事涉部门分管领导未亲自进京工作的,每次扣0.2分",
            kinds=[K.arrival],
            roles=[Role.deputy],
            cases=national,
        ),
        _rule(
            "t2_national_chief_missed",
            E.deadline_missed,
            s + "(八)",
            0.3,
            "第二篇 (八).2",
            "20人以上的,事涉部门主要领导未亲自进京工作的每次扣0.3分",
            kinds=[K.arrival],
            roles=chiefs,
            cases=national,
        ),
        _rule(
            "t2_national_owner_leader_missed",
            E.deadline_missed,
            s + "(八)",
            0.1,
            "第二篇 (八).4",
            "凡是进京访反映的问题,事涉部门要落实有关领导包案处理,未包案的1件扣0.1分",
            kinds=[K.owner_leader],
            cases=national,
        ),
        _rule(
            "t2_national_report_missed",
            E.deadline_missed,
            s + "(八)",
            0.2,
            "第二篇 (八).5",
            "凡是进京访反映的信访问题,一个月内件件上报结案报告和相关汇报处理卷宗等佐证材料,"
            "少报一件扣0.2分",
            kinds=[K.national_report],
            cases=national,
        ),
    ]


def _score_rules() -> list[ScoreRule]:
    return _first_table_rules() + _second_table_rules()


class ScoringPolicy(StrictModel):
    """The scoring rule tables (考评细则, seed 001): each table on its own scale (第一篇 of
    100 points, 第二篇 of 2), its sections with maxima, and the rules deducting points per
    occurrence (capped per rule); a unit scores the sum of a table's sections, each floored at
    zero. The first table is the one the scores answer unless another is asked for."""

    tables: list[ScoreTable] = Field(default_factory=_score_tables, min_length=1, max_length=10)
    sections: list[ScoreSection] = Field(
        default_factory=_score_sections, min_length=1, max_length=30
    )
    rules: list[ScoreRule] = Field(default_factory=_score_rules, max_length=100)
    unit_levels: Annotated[list[UnitLevel], Distinct] = Field(
        max_length=len(UnitLevel),
        default_factory=lambda: [
            UnitLevel.town,
            UnitLevel.area,
            UnitLevel.village,
            UnitLevel.department,
        ],
        min_length=1,
        description="Levels of the units scored (考评范围).",
    )

    @model_validator(mode="after")
    def _consistent(self) -> ScoringPolicy:
        tables = [t.key for t in self.tables]
        if len(tables) != len(set(tables)):
            raise ValueError(Message("score table keys must be unique"))
        keys = [s.key for s in self.sections]
        if len(keys) != len(set(keys)):
            raise ValueError(Message("score section keys must be unique"))
        orphans = sorted({s.table for s in self.sections} - set(tables))
        if orphans:
            raise ValueError(
                Message("score sections name unknown tables: {names}", names=", ".join(orphans))
            )
        rules = [r.key for r in self.rules]
        twice = sorted({k for k in rules if rules.count(k) > 1})
        if twice:
            raise ValueError(
                Message("score rule keys must be unique: {names}", names=", ".join(twice))
            )
        unknown = sorted({r.section for r in self.rules} - set(keys))
        if unknown:
            raise ValueError(
                Message("score rules name unknown sections: {names}", names=", ".join(unknown))
            )
        return self

    def table_of(self, section: str) -> str:
        """The key of the table a section belongs to."""
        return next(s.table for s in self.sections if s.key == section)
