"""What each role may do: one table (`GRANTS`), checked on every endpoint.

Territory (属地管理) is checked separately: a permission lets an official act, their unit's
subtree says on what. Which lifecycle action needs which permission is in
`api.cases.actions.ACTIONS`.
"""

from __future__ import annotations

import enum

from api.models.official import Role


class Permission(enum.StrEnum):
    """One thing an official may do."""

    read_cases = "read_cases"  # cases, timelines, deadlines, escalations, alerts in reach
    register_cases = "register_cases"  # 登记
    record_arrival = "record_arrival"  # check oneself in at the scene (到位)
    record_others_arrival = "record_others_arrival"  # check in someone else
    desk_cases = "desk_cases"  # accept, assign, close, review … (信访工作机构)
    handle_cases = "handle_cases"  # reply, extend, object (承办单位)
    sign_off_cases = "sign_off_cases"  # 领导签批
    acknowledge_escalations = "acknowledge_escalations"  # 收到
    escalate_by_hand = "escalate_by_hand"  # 手动升级
    read_personal_data = "read_personal_data"  # unmasked ID and phone numbers
    file_reports = "file_reports"  # 信访形势报送 (who owes one is policy)
    read_reports = "read_reports"
    read_directory = "read_directory"  # units, officials, policy, calendar
    manage_directory = "manage_directory"  # create and change units and officials
    manage_policy = "manage_policy"  # the policy document and the calendar
    manage_webhooks = "manage_webhooks"
    manage_service_tokens = "manage_service_tokens"
    read_audit = "read_audit"
    screen_disputes = "screen_disputes"  # 矛盾纠纷排查: record and work screened disputes
    manage_reception = "manage_reception"  # 接访安排: duty roster, appointments (约访)
    lead_reception = "lead_reception"  # a leader's own: 批示, 带案下访, holding 约访
    assess_decisions = "assess_decisions"  # 重大决策社会稳定风险评估
    hand_down_cases = "hand_down_cases"  # a higher office's system: 转送、交办 (POST /v1/transfers)


P = Permission

_SEE = frozenset({P.read_cases, P.read_reports, P.read_directory})
_FIELD = _SEE | {
    P.register_cases,
    P.record_arrival,
    P.acknowledge_escalations,
    P.file_reports,
    P.screen_disputes,
}
_HANDLER = _FIELD | {P.handle_cases, P.read_personal_data, P.assess_decisions}
_DESK = _HANDLER | {P.desk_cases, P.escalate_by_hand, P.record_others_arrival, P.manage_reception}
_LEADER = _DESK | {P.sign_off_cases, P.lead_reception}

GRANTS: dict[Role, frozenset[Permission]] = {
    # an admin does everything but speak for a higher office (only that office's token does)
    Role.admin: frozenset(Permission) - {P.hand_down_cases},
    Role.chief: _LEADER,  # 主要负责人
    Role.deputy: _LEADER,  # 分管领导
    Role.petition_staff: _DESK,  # 信访干部
    Role.dept_head: _HANDLER,  # 部门负责人 (承办)
    Role.info_officer: _FIELD,  # 信息员
    Role.grid_worker: _FIELD,  # 网格员
    Role.viewer: _SEE,  # dashboards and read-only tools
    # 系统管理员: keeps the directory and the tokens of their territory, sees no case and no
    # petitioner
    Role.it_admin: frozenset({P.read_directory, P.manage_directory, P.manage_service_tokens}),
    # 上级信访部门的系统: hands cases down and reads back what became of them, nothing else
    Role.higher_office: frozenset({P.hand_down_cases}),
}

# Roles that administer other accounts: only an admin creates, changes, signs out or
# appoints them, or an it_admin could lock out an admin or promote themselves.
ADMIN_ROLES = frozenset({Role.admin, Role.it_admin})


def may(role: Role, permission: Permission) -> bool:
    """Whether `role` holds `permission`."""
    return permission in GRANTS[role]


def may_grant(granter: Role, role: Role, *, credential: bool) -> bool:
    """Whether an official of role `granter` may hand out `role`.

    For an official's account (`credential=False`) the rule is about `ADMIN_ROLES`: only an
    admin appoints, changes or signs out an admin or an it_admin, and an official who may
    manage the directory manages every other role. A credential (`credential=True`, a
    service token) goes straight to its creator, so it may hold no permission the creator
    lacks. An admin may grant anything.
    """
    if granter is Role.admin:
        return True
    if credential:
        return GRANTS[role] <= GRANTS[granter]
    return role not in ADMIN_ROLES
