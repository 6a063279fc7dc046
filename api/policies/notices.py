"""The written notices (书面告知) the county issues: their wording, header, seal and numbering,
which the county edits as it edits any policy value (issue 21 §2)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

from api.kit.i18n import Message
from api.models.notice import NoticeKind
from api.policies.base import StrictModel
from api.policies.templates import (
    NOTICE_FIELDS,
    NOTICE_NUMBER_FIELDS,
    check_fields,
    placeholders,
)
from shared.jsontypes import JsonInt

Text = Annotated[str, Field(min_length=1, max_length=4000)]
Line = Annotated[str, Field(min_length=1, max_length=200)]


class NoticeTemplate(StrictModel):
    """One kind of notice: its title, number pattern and body, with fields in braces filled
    from the case."""

    title: Line
    number: Line = Field(
        description="The numbering pattern (文号): {county} the county's short name, {year}, "
        "{seq} the next number of this kind in the county and year."
    )
    body: Text = Field(
        description="The wording, fields in braces filled from the case: "
        + ", ".join(sorted(NOTICE_FIELDS))
    )

    @model_validator(mode="after")
    def _known_placeholders(self) -> NoticeTemplate:
        check_fields(self.number, NOTICE_NUMBER_FIELDS)
        if "seq" not in placeholders(self.number):
            raise ValueError(Message("a notice number must contain {{seq}}"))
        check_fields(self.body, NOTICE_FIELDS)
        check_fields(self.title, frozenset())
        return self


_GREETING = "{petitioners}:\n"
_CASE = "你(们)于{received_date}提出的信访事项(编号:{case_number},{title})"
_DEFAULTS: dict[NoticeKind, NoticeTemplate] = {
    NoticeKind.acceptance: NoticeTemplate(
        title="信访事项受理告知书",
        number="{county}信受告〔{year}〕{seq}号",
        body=_GREETING + "    " + _CASE + "已收悉。根据《信访工作条例》第三十一条、第三十二条"
        "的规定,本机关决定予以受理,将依法在规定期限内办理,并将办理结果书面答复你(们)。\n"
        "    特此告知。",
    ),
    NoticeKind.rejection: NoticeTemplate(
        title="信访事项不予受理告知书",
        number="{county}信不受告〔{year}〕{seq}号",
        body=_GREETING + "    " + _CASE + "已收悉。经审查,{notice_text}\n"
        "    根据《信访工作条例》第三十一条的规定,本机关决定不予受理。\n    特此告知。",
    ),
    NoticeKind.transfer: NoticeTemplate(
        title="信访事项转送交办单",
        number="{county}信转〔{year}〕{seq}号",
        body="{handling_unit}:\n    现将信访事项(编号:{case_number},{title})转送(交办)"
        "你单位,请依法依规办理,于{time_limit}前将办理结果书面答复信访人,并将答复意见书、"
        "送达回证报送本机关。\n    办理要求:{plan}",
    ),
    NoticeKind.reply: NoticeTemplate(
        title="信访事项答复意见书",
        number="{county}信答〔{year}〕{seq}号",
        body=_GREETING + "    " + _CASE + ",本机关已依法受理并办理。现答复如下:\n"
        "    {reply_text}\n    如对本答复意见不服,可以自收到本意见书之日起30日内向原办理机关的"
        "上一级机关请求复查。",
    ),
    NoticeKind.review: NoticeTemplate(
        title="信访事项复查意见书",
        number="{county}信复查〔{year}〕{seq}号",
        body=_GREETING + "    你(们)对信访事项(编号:{case_number},{title})的答复意见不服"
        "请求复查,本机关复查意见如下:\n    {text}\n    如对本复查意见不服,可以自收到本意见书"
        "之日起30日内向复查机关的上一级机关请求复核。",
    ),
    NoticeKind.re_review: NoticeTemplate(
        title="信访事项复核意见书",
        number="{county}信复核〔{year}〕{seq}号",
        body=_GREETING + "    你(们)对信访事项(编号:{case_number},{title})的复查意见不服"
        "请求复核,本机关复核意见如下:\n    {text}\n    本复核意见为最终意见,你(们)仍以同一"
        "事实和理由提出信访的,信访工作机构不再受理。",
    ),
    NoticeKind.receipt: NoticeTemplate(
        title="送达回证",
        number="{county}信送〔{year}〕{seq}号",
        body="案件编号:{case_number}\n送达文书:{documents}\n受送达人:{petitioners}\n"
        "送达方式:__________  送达地点:__________\n"
        "受送达人签名:__________    年  月  日\n"
        "送达人签名:__________  见证人签名:__________    年  月  日",
    ),
}


def _templates() -> dict[NoticeKind, NoticeTemplate]:
    return {kind: template.model_copy() for kind, template in _DEFAULTS.items()}


class NoticePolicy(StrictModel):
    """The county's written notices: header, seal, and per kind the title, number and wording
    (seed 001 第二篇 (二).2 deducts for notices not in the standard form)."""

    county: Line = Field(
        default="××", description="The county's short name in a notice's number ({county})."
    )
    header: Line = Field(
        default="××县人民政府信访局", description="The issuing office's name atop every notice."
    )
    seal: Line = Field(
        default="××县人民政府信访局(印章)",
        description="The seal's text, printed where the office stamps the notice.",
    )
    templates: dict[NoticeKind, NoticeTemplate] = Field(
        default_factory=_templates,
        description="Per kind of notice its title, number pattern and wording; a kind left out "
        "keeps the default.",
    )
    approval_working_days: Annotated[JsonInt, Field(ge=1, le=30)] = Field(
        default=3,
        description="A reply several departments worked on is signed off by the leader in "
        "charge before it is served (seed 003 四.三.1, which sets no time): within this many "
        "working days, a limit chosen to leave the handling time room to serve it.",
    )

    reply_met_by_service: bool = Field(
        default=True,
        description="The handling time limit (办理期限, 条例 art. 35: 60 days) and the first "
        "resolution are met when the reply notice (答复意见书) is served on the petitioner, not "
        "when the answer is typed in: the regulation counts a written reply given. False "
        "meets them by the `reply` action, as before the written notices existed.",
    )

    def template(self, kind: NoticeKind) -> NoticeTemplate:
        """The template of `kind`: the county's, else the default."""
        return self.templates.get(kind) or _DEFAULTS[kind]
