"""What each group of operations is for, in Chinese first and English: the headings of
`/docs` and `/redoc` and of every client generated from the contract."""

from __future__ import annotations

from typing import Any

DESCRIPTION = """
信访事项与督办升级服务：登记信访事项，按法定时限督促办理，到位超时即时提醒上一级领导。

Case and escalation service for citizen petition work (信访) in a county: cases, their
statutory time limits, and escalation to the next leader up when an official does not come.

所有 `/v1` 接口需先以 `POST /v1/auth/token` 取得令牌（Bearer）。错误以 RFC 9457
`application/problem+json` 返回，`Accept-Language` 可选中文或英文。时间为带时区偏移的
RFC 3339；按日计算的时限以北京时间（Asia/Shanghai）为准。`/v1/internal/*` 仅供后台进程使用。

All `/v1` endpoints need a bearer token from `POST /v1/auth/token`. Errors are RFC 9457
`application/problem+json`. Timestamps are RFC 3339 with offset; day arithmetic is done in
Asia/Shanghai. `/v1/internal/*` is for the worker only.
"""

TAGS: list[dict[str, Any]] = [
    {
        "name": "auth",
        "description": "登录、令牌续期与服务令牌。Login, token refresh, service tokens for "
        "other systems.",
    },
    {
        "name": "units",
        "description": "辖区：县、乡镇、管理区、村的层级。The territory: county, towns, areas, "
        "villages.",
    },
    {
        "name": "officials",
        "description": "干部与岗位（书记、主任、信访专干、网格员……）。Officials and the posts "
        "they hold.",
    },
    {
        "name": "cases",
        "description": "信访事项：登记、受理、交办、答复、办结、复查复核、更正。Cases: "
        "registration and the whole lifecycle, arrivals on the scene, corrections.",
    },
    {
        "name": "categories",
        "description": "信访事项分类（两级，代码与中文名）。The category vocabulary: codes "
        "and Chinese names on two levels.",
    },
    {
        "name": "materials",
        "description": "附件材料：上传（含断点续传）、下载、一次性链接。Files attached to cases.",
    },
    {
        "name": "notices",
        "description": "书面告知与送达回证。Written notices to petitioners and their proof "
        "of service.",
    },
    {
        "name": "deadlines",
        "description": "时限：到位、受理告知、办理、答复……。Deadlines of every kind and their "
        "state.",
    },
    {
        "name": "escalations",
        "description": "督办升级：逐级提醒，签收。Escalation chains and their acknowledgement.",
    },
    {
        "name": "alerts",
        "description": "短信与推送记录及其送达情况。Messages sent to officials and their delivery.",
    },
    {
        "name": "reception",
        "description": "领导接访、下访与约访，现场值守。Leaders' receptions, field visits, "
        "appointments, onsite duty.",
    },
    {
        "name": "screening",
        "description": "矛盾纠纷排查化解台账。Screening of disputes and their resolution.",
    },
    {
        "name": "reports",
        "description": "信息员报告与每月通报。Situation reports and the monthly bulletin.",
    },
    {
        "name": "decisions",
        "description": "重大决策社会稳定风险评估（先评估后决策）。Risk assessment before "
        "major decisions.",
    },
    {
        "name": "sensitive periods",
        "description": "敏感时期（两会等）的加密时限。Sensitive periods and their tighter limits.",
    },
    {
        "name": "stats",
        "description": "仪表盘指标：总量、按时率、满意率、排名、考核。The dashboard's figures, "
        "rankings and scores.",
    },
    {
        "name": "search",
        "description": "查找信访事项与疑似重复件。Finding cases and likely repeats.",
    },
    {
        "name": "lookup",
        "description": "群众凭编号与查询码查询办理进度。The petitioner's own progress lookup.",
    },
    {
        "name": "transfers",
        "description": "上级转送、交办的信访事项。Cases handed down by higher offices.",
    },
    {
        "name": "higher offices",
        "description": "上级信访部门名录。The registry of higher petition offices.",
    },
    {
        "name": "webhooks",
        "description": "其他系统的事件订阅。Event subscriptions of other systems.",
    },
    {
        "name": "policies",
        "description": "政策参数表：所有时限与规则及其出处。The policy table: every limit "
        "and rule with its source.",
    },
    {
        "name": "calendar",
        "description": "工作日历（法定节假日与调休）。Working days, holidays and make-up days.",
    },
    {
        "name": "audit",
        "description": "操作审计记录。The audit trail.",
    },
    {
        "name": "inbound",
        "description": "短信回复与送达回执。Replies and delivery reports from SMS providers.",
    },
    {
        "name": "internal",
        "description": "仅供后台进程（时钟与信使）使用。For the worker only.",
    },
    {
        "name": "health",
        "description": "存活、就绪与监控指标。Liveness, readiness, metrics.",
    },
]
