"""Filling the Chinese message templates of the policy document."""

from __future__ import annotations

import string
from collections.abc import Mapping

from api.kit.i18n import Message
from api.models.official import Role

ROLE_NAMES: dict[str, str] = {
    Role.chief: "主要负责人",
    Role.deputy: "分管领导",
    Role.petition_staff: "信访干部",
    Role.info_officer: "信息员",
    Role.grid_worker: "网格员",
    Role.dept_head: "部门负责人",
    Role.viewer: "",
    Role.admin: "管理员",
    Role.it_admin: "系统管理员",
    Role.higher_office: "上级信访部门",
}

LEVEL_NAMES: dict[str, str] = {
    "village": "村(居)",
    "area": "管理区",
    "town": "镇(街道)",
    "county": "县(区)",
    "city": "市",
    "province": "省",
    "national": "北京",
}

DEADLINE_NAMES: dict[str, str] = {
    "arrival": "到位时限",
    "transfer": "转送时限",
    "disposition": "登记交办时限",
    "acceptance_notice": "受理告知时限",
    "objection": "异议时限",
    "first_resolution": "初信初访办结时限",
    "handling": "办理时限",
    "review": "复查时限",
    "re_review": "复核时限",
    "report": "信息报送时限",
    "national_report": "结案报告时限",
    "follow_up": "回访时限",
    "screening": "矛盾纠纷化解时限",
    "screening_round": "每周排查时限",
    "field_visit": "带案下访时限",
    "appointment": "约访时限",
    "decision_assessment": "决策风险评估时限",
    "owner_leader": "领导包案时限",
    "supervision": "督办时限",
    "onsite_settlement": "事要解决时限",
    "notice_approval": "答复审签时限",
}

# The placeholders each template may use.
FIELDS: dict[str, frozenset[str]] = {
    "reminder": frozenset(
        {
            "case_number",
            "title",
            "deadline_name",
            "due_local",
            "official_name",
            "elapsed",
            "remaining",
        }
    ),
    "bundle": frozenset({"count", "case_numbers"}),
    "reassigned": frozenset({"case_number", "title", "time_limit", "official_name"}),
    "dispute_expected": frozenset({"case_number", "title", "number", "official_name"}),
    "renotify": frozenset({"case_number", "title", "deadline_name", "official_name"}),
    "report_missed": frozenset({"due_local", "official_name", "unit_name", "ack_link"}),
    "duty_missed": frozenset(
        {"deadline_name", "subject", "due_local", "official_name", "unit_name", "ack_link"}
    ),
    "risk_alert": frozenset({"subject", "risk_name", "unit_name", "official_name", "due_local"}),
    "deadline_missed": frozenset(
        {
            "case_number",
            "title",
            "deadline_name",
            "due_local",
            "official_name",
            "unit_name",
            "ack_link",
        }
    ),
    "summons": frozenset(
        {"case_number", "headcount", "lodged", "title", "due_local", "within", "official_name"}
    ),
    "arrival_missed": frozenset(
        {
            "case_number",
            "headcount",
            "lodged",
            "title",
            "due_local",
            "official_name",
            "unit_name",
            "role_name",
            "ack_link",
        }
    ),
}


# The placeholders of the written notices (书面告知): a notice's number, and its wording.
NOTICE_NUMBER_FIELDS = frozenset({"county", "year", "seq"})
NOTICE_FIELDS = frozenset(
    {
        "case_number",
        "title",
        "petitioners",
        "received_date",
        "issued_date",
        "intake_unit",
        "handling_unit",
        "time_limit",
        "plan",
        "notice_text",
        "reply_text",
        "text",
        "documents",
    }
)


def check_fields(template: str, allowed: frozenset[str]) -> None:
    """Raise ValueError when a template uses a placeholder outside `allowed`."""
    unknown = placeholders(template) - allowed
    if unknown:
        raise ValueError(
            Message(
                "unknown placeholders {unknown}; allowed: {names}",
                unknown=sorted(unknown),
                names=", ".join(sorted(allowed)),
            )
        )


def placeholders(template: str) -> set[str]:
    """The field names a template refers to; ValueError when it is malformed."""
    names = set()
    for _, field, spec, conversion in string.Formatter().parse(template):
        if field is None:
            continue
        if not field.isidentifier() or spec or conversion:
            raise ValueError(Message("placeholder {{{field}}} must be a plain name", field=field))
        names.add(field)
    return names


def check_template(name: str, template: str) -> None:
    """Raise ValueError when a template uses a placeholder it is not given."""
    unknown = placeholders(template) - FIELDS[name]
    if unknown:
        allowed = ", ".join(sorted(FIELDS[name]))
        raise ValueError(
            Message(
                "unknown placeholders {unknown}; allowed: {allowed}",
                unknown=sorted(unknown),
                allowed=allowed,
            )
        )


def render(template: str, fields: Mapping[str, object]) -> str:
    """The template with its placeholders filled."""
    return template.format_map(dict(fields))
