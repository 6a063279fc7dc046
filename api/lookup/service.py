"""The petitioner's own lookup of a case (条例 art. 21: 信访人可以查询办理情况) by its
number and the short secret handed out at registration (查询码)."""

from __future__ import annotations

import secrets
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.principal import Principal
from api.auth.throttle import LoginThrottle
from api.cases.repository import CaseRepository
from api.categories.service import vocabulary
from api.deadlines.repository import DeadlineRepository
from api.kit.errors import NotFound
from api.kit.i18n import Message
from api.lookup.repository import LookupRepository
from api.lookup.schemas import CaseProgress, LookupRequest, LookupSecret, ProgressStep
from api.models.case import Case
from api.models.deadline import DeadlineKind, DeadlineStatus
from api.privacy.secrets import issue_secret
from api.privacy.service import vault_of
from api.timeline.repository import CaseEventRepository

STATUS_NAMES = {
    "registered": "已登记",
    "accepted": "已受理",
    "assigned": "办理中",
    "replied": "已答复",
    "closed": "已办结",
    "review": "复查中",
    "reviewed": "已复查",
    "re_review": "复核中",
    "re_reviewed": "已复核",
    "terminated": "已终结",
    "archived": "已归档",
}

# The timeline entries a petitioner is told of, with what they were owed in writing there.
STEPS: dict[str, tuple[str, str | None]] = {
    "registered": ("已登记", None),
    "accept": ("已受理", None),
    "reject": ("不予受理", "notice_text"),
    "redirect": ("导入法定途径", "notice_text"),
    "assign": ("已交办", None),
    "extend": ("办理期限延长", None),
    "reply": ("已书面答复", "reply_text"),
    "close": ("已办结", None),
    "request_review": ("已申请复查", None),
    "review_decision": ("复查意见", "text"),
    "request_re_review": ("已申请复核", None),
    "re_review_decision": ("复核意见", "text"),
    "terminate": ("已终结", None),
}

# What the petitioner waits for next, by the kind of the deadline that owes it.
OWED = {
    DeadlineKind.acceptance_notice: "受理告知",
    DeadlineKind.handling: "书面答复",
    DeadlineKind.review: "复查意见",
    DeadlineKind.re_review: "复核意见",
}


async def reissue(session: AsyncSession, case_id: uuid.UUID, principal: Principal) -> LookupSecret:
    """A new secret for a petitioner who lost theirs (the desk hands it over in person)."""
    case = await CaseRepository(session).get_in_reach(case_id, principal, for_update=True)
    if case is None:
        raise NotFound(Message("Case {case_id} does not exist.", case_id=case_id))
    secret = await issue_secret(session, case)
    CaseEventRepository(session).record(
        case.id, "lookup_secret_reissued", actor_id=principal.id, client=principal.client
    )
    await session.flush()
    return LookupSecret(number=case.number, lookup_secret=secret)


async def lookup(
    session: AsyncSession, body: LookupRequest, address: str, throttle: LoginThrottle
) -> CaseProgress:
    """The progress of the case with this number and secret; 404 alike for a wrong number or
    a wrong secret, and 429 after repeated misses for the number from one address, or from
    the address at all."""
    number = body.number.upper()
    # Numbers restart in every county: misses count per number *and* address, so guessing at
    # one petitioner's number cannot lock out another county's petitioner of that number.
    guesser = f"{number}@{address}"
    await throttle.check(guesser, address)
    vault = vault_of(session)
    repo = LookupRepository(session)
    case = next(
        (
            c
            for c in await repo.by_number(number)
            if c.lookup_secret_hash is not None
            and secrets.compare_digest(
                c.lookup_secret_hash, vault.lookup_digest(str(c.id), body.secret)
            )
        ),
        None,
    )
    if case is None:
        await throttle.failed(guesser, address)
        raise NotFound(Message("No case has this number and lookup secret."))
    return await _progress(session, repo, case)


async def _progress(session: AsyncSession, repo: LookupRepository, case: Case) -> CaseProgress:
    steps = []
    for event in await CaseEventRepository(session).for_case(case.id):
        told = STEPS.get(event.action)
        if told is None:
            continue
        name, field = told
        # Notices and the answer live on the case; a review's decision in its event.
        text = getattr(case, field, None) if field else None
        if field == "text":
            text = (event.data or {}).get("text")
        steps.append(ProgressStep(at=event.at, step=event.action, name=name, text=text))
    owed = [
        d
        for d in await DeadlineRepository(session).for_case(case.id)
        if d.status is DeadlineStatus.open and d.kind in OWED
    ]
    next_due = min(owed, key=lambda d: d.due_at) if owed else None
    handling = case.assigned_unit_id
    return CaseProgress(
        number=case.number,
        title=case.title,
        category=case.category,
        category_name=(await vocabulary(session)).name(case.category),
        status=case.status,
        status_name=STATUS_NAMES[case.status.value],
        received_at=case.received_at,
        handling_unit=await repo.unit_name(handling) if handling else None,
        due_at=next_due.due_at if next_due else None,
        due_name=OWED[next_due.kind] if next_due else None,
        outcome=case.outcome,
        steps=steps,
    )
