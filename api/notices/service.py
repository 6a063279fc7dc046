"""Written notices (书面告知): issued on a case from the county's templates, rendered as Word and
PDF, served (送达) with the proof; the acceptance notice's deadline is met by its service, not
by a text typed into the case (条例 art. 32: 15 days to notify in writing)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from api.alerts.service import alert_official
from api.auth.permissions import Permission
from api.auth.principal import Principal
from api.calendar.service import due_after_working_days
from api.cases.repository import CaseRepository, CaseUnitRepository
from api.cases.steps import staff_of
from api.deadlines import service as deadlines
from api.kit.db import utcnow
from api.kit.errors import Conflict, Forbidden, InvalidInput, NotFound
from api.kit.i18n import Message
from api.kit.timeutil import local
from api.materials.repository import MaterialRepository
from api.materials.service import Prepared, Upload, attach, store_of
from api.models.case import Case, CaseStatus, Outcome
from api.models.deadline import DeadlineKind, DeadlineStatus
from api.models.material import MaterialKind
from api.models.notice import Notice, NoticeKind, ServiceMethod
from api.models.unit import Unit
from api.notices import render
from api.notices.repository import NoticeRepository
from api.notices.schemas import (
    NoticeIssue,
    NoticeProof,
    NoticeQuery,
    NoticeRead,
    NoticeService,
)
from api.officials.repository import OfficialRepository
from api.policies.notices import NoticePolicy
from api.policies.service import current_policy
from api.policies.templates import render as fill
from api.privacy.service import disclosure
from api.timeline.repository import CaseEventRepository

K = DeadlineKind
# The deadlines a notice's service meets: the written notice of acceptance or not (条例 art.
# 32), and the written reply within the handling time (art. 35) where the policy says so.
MET_BY_SERVICE: dict[NoticeKind, tuple[DeadlineKind, ...]] = {
    NoticeKind.acceptance: (K.acceptance_notice,),
    NoticeKind.rejection: (K.acceptance_notice,),
    NoticeKind.reply: (K.handling, K.first_resolution),
}


def met_by_service(kind: NoticeKind, policy: NoticePolicy) -> tuple[DeadlineKind, ...]:
    """The deadlines serving a notice of this kind meets under the county's policy."""
    if kind is NoticeKind.reply and not policy.reply_met_by_service:
        return ()
    return MET_BY_SERVICE.get(kind, ())


def _ready(case: Case, kind: NoticeKind) -> bool:
    """Whether the case has reached the step whose notice this is."""
    match kind:
        case NoticeKind.acceptance:
            return case.accepted_at is not None
        case NoticeKind.rejection:
            return case.outcome in (Outcome.rejected, Outcome.redirected)
        case NoticeKind.transfer:
            return case.assigned_unit_id is not None
        case NoticeKind.reply:
            return case.replied_at is not None
        case NoticeKind.review:
            return case.reviewed_at is not None
        case NoticeKind.re_review:
            return case.status in (CaseStatus.re_reviewed, CaseStatus.terminated)
        case NoticeKind.receipt:
            return True


def _permission(kind: NoticeKind) -> Permission:
    """The handling unit writes its reply (承办单位); the petition office every other notice."""
    return Permission.handle_cases if kind is NoticeKind.reply else Permission.desk_cases


def _date(at: datetime) -> str:
    day = local(at)
    return f"{day.year}年{day.month}月{day.day}日"


async def _unit_name(session: AsyncSession, unit_id: uuid.UUID | None) -> str:
    unit = await session.get(Unit, unit_id) if unit_id else None
    return unit.name if unit else ""


async def _fields(
    session: AsyncSession,
    case: Case,
    kind: NoticeKind,
    body: NoticeIssue,
    policy: NoticePolicy,
    number: str,
    now: datetime,
) -> dict[str, Any]:
    """The filled notice as it is stored: every value a file of it shows."""
    earlier = await NoticeRepository(session).of_case(case.id)
    values = {
        "case_number": case.number,
        "title": case.title,
        "petitioners": "、".join(str(p.get("name", "")) for p in case.petitioners) or "信访人",
        "received_date": _date(case.received_at),
        "issued_date": _date(now),
        "intake_unit": await _unit_name(session, case.intake_unit_id),
        "handling_unit": await _unit_name(session, case.assigned_unit_id),
        "time_limit": _date(case.time_limit) if case.time_limit else "",
        "plan": case.plan or "",
        "notice_text": case.notice_text or "",
        "reply_text": case.reply_text or "",
        "text": body.text or "",
        "documents": "、".join(
            f"{n.fields['title']}({n.number})" for n in earlier if n.superseded_at is None
        ),
    }
    template = policy.template(kind)
    return {
        "header": policy.header,
        "title": template.title,
        "number": number,
        "body": fill(template.body, values),
        "seal": policy.seal,
        "issued_date": values["issued_date"],
    }


def _sheet(notice: Notice) -> render.Sheet:
    return render.Sheet.of(notice.fields, notice.issued_at)


async def _files(notice: Notice, font: Path) -> dict[str, bytes]:
    sheet = _sheet(notice)
    docx = await asyncio.to_thread(render.to_docx, sheet)
    pdf = await asyncio.to_thread(render.to_pdf, sheet, font)
    return {"docx": docx, "pdf": pdf}


async def file_away(
    session: AsyncSession, notice: Notice, files: Mapping[str, bytes], principal: Principal
) -> None:
    """A notice's rendered files become materials of its case (kind `notice`, 书面告知), kept
    once by their hash in the blob store; the notice records both hashes, and a download makes
    the same bytes again from its record (checked against them)."""
    notice.docx_sha256 = render.sha256(files["docx"])
    notice.pdf_sha256 = render.sha256(files["pdf"])
    store = store_of(session)
    limits = (await current_policy(session)).policy.materials
    title = str(notice.fields.get("title", ""))
    for fmt, mime in render.MEDIA.items():
        # the office's own document: kept whatever types the policy accepts from uploads
        kept = Prepared(mime, await store.put(files[fmt]), None, None, None)
        upload = Upload(
            filename=f"{title}{notice.number}.{fmt}",
            kind=MaterialKind.notice,
            note=f"{notice.number} v{notice.version}",
        )
        await attach(session, notice.case_id, principal, upload, kept, limits)


async def _proof(session: AsyncSession, case: Case, material_id: uuid.UUID, pointer: str) -> str:
    """A material of the case, not withdrawn, as the proof of a service (422 otherwise)."""
    material = await MaterialRepository(session).get(material_id)
    if material is None or material.case_id != case.id or material.withdrawn:
        raise InvalidInput(
            Message("Material {material_id} is not one of this case's.", material_id=material_id),
            pointer=pointer,
        )
    return str(material.id)


def to_read(notice: Notice) -> NoticeRead:
    """The API view of a notice."""
    return NoticeRead.model_validate(
        {
            c: getattr(notice, c)
            for c in NoticeRead.model_fields
            if c not in ("title", "proof_material_id")
        }
        | {"title": str(notice.fields.get("title", "")), "proof_material_id": notice.proof_ref}
    )


async def _case(
    session: AsyncSession, case_id: uuid.UUID, principal: Principal, *, for_update: bool = False
) -> Case:
    """The case in the caller's reach whose content they may read (404 otherwise)."""
    case = await CaseRepository(session).get_in_reach(case_id, principal, for_update=for_update)
    if case is None or not disclosure(session, principal).reads_content(case):
        raise NotFound(Message("Case {case_id} does not exist.", case_id=case_id))
    return case


async def _notice(
    session: AsyncSession, notice_id: uuid.UUID, principal: Principal, *, for_update: bool = False
) -> tuple[Notice, Case]:
    notice = await NoticeRepository(session).get(notice_id, for_update=for_update)
    if notice is None:
        raise NotFound(Message("Notice {notice_id} does not exist.", notice_id=notice_id))
    try:
        case = await _case(session, notice.case_id, principal, for_update=for_update)
    except NotFound:
        raise NotFound(Message("Notice {notice_id} does not exist.", notice_id=notice_id)) from None
    return notice, case


async def issue(
    session: AsyncSession, case_id: uuid.UUID, body: NoticeIssue, principal: Principal, font: Path
) -> Notice:
    """Issue a notice of `body.kind` on the case: a new number the first time, the next version
    of the same number after; the earlier version is superseded."""
    case = await _case(session, case_id, principal, for_update=True)
    kind = body.kind
    if not principal.can(_permission(kind)):
        raise Forbidden(
            Message(
                "Role {role} may not issue a {kind} notice.",
                role=principal.role.value,
                kind=kind.value,
            )
        )
    if not _ready(case, kind):
        raise Conflict(
            Message(
                "A case in state {case_status!r} has no {kind} notice to give.",
                case_status=case.status.value,
                kind=kind.value,
            ),
            current_status=case.status.value,
        )
    if body.expect_dispute and kind is not NoticeKind.reply:
        raise InvalidInput(
            Message("Only a reply is expected to be disputed."), pointer="/expect_dispute"
        )
    read = await current_policy(session)
    policy, now = read.policy.notices, utcnow()
    notices = NoticeRepository(session)
    same = [n for n in await notices.of_case(case.id) if n.kind == kind.value]
    if same:
        number, version = same[-1].number, same[-1].version + 1
        for earlier in same:
            earlier.superseded_at = earlier.superseded_at or now
    else:
        year = local(now).year
        seq = await notices.next_number(case.county_id, year, kind.value)
        number = fill(
            policy.template(kind).number, {"county": policy.county, "year": year, "seq": seq}
        )
        version = 1
    owed = await deadlines.open_of_case(session, case.id, met_by_service(kind, policy))
    unit_id = (
        case.assigned_unit_id or case.intake_unit_id
        if kind is NoticeKind.reply
        else case.intake_unit_id
    )
    notice = Notice(
        id=uuid.uuid4(),
        case_id=case.id,
        kind=kind.value,
        number=number,
        version=version,
        policy_version=read.version,
        fields=await _fields(session, case, kind, body, policy, number, now),
        unit_id=unit_id,
        issued_at=now,
        issued_by=principal.id,
        due_at=min((d.due_at for d in owed), default=None),
        needs_approval=False,
        expect_dispute=body.expect_dispute,
    )
    await file_away(session, notice, await _files(notice, font), principal)
    if kind is NoticeKind.reply and len(await CaseUnitRepository(session).for_case(case.id)) > 1:
        await _owe_approval(session, case, notice, policy, now)
    if body.expect_dispute:
        await _tell_petition_office(session, case, notice)
    NoticeRepository(session).add(notice)
    CaseEventRepository(session).record(
        case.id,
        "notice_issued",
        actor_id=principal.id,
        client=principal.client,
        data={
            "notice_id": str(notice.id),
            "kind": kind.value,
            "number": number,
            "version": version,
            "needs_approval": notice.needs_approval,
            "expect_dispute": notice.expect_dispute,
        },
        at=now,
    )
    await session.flush()
    return notice


async def _tell_petition_office(session: AsyncSession, case: Case, notice: Notice) -> None:
    """A reply the petitioner is expected to dispute: the petition office that took the case in
    hears of it before it is served (seed 003 四.三.2: 告知信访部门), to prepare the witness and
    the review."""
    desk = await staff_of(session, case.intake_unit_id)
    if desk is None:
        return
    await alert_official(
        session,
        desk,
        purpose="dispute_expected",
        template="dispute_expected",
        fields={
            "case_number": case.number,
            "title": case.alert_title(),
            "number": notice.number,
            "official_name": desk.name,
        },
        case_id=case.id,
    )


async def _owe_approval(
    session: AsyncSession, case: Case, notice: Notice, policy: NoticePolicy, now: datetime
) -> None:
    """A reply several departments worked on waits for the leader in charge to sign it off
    (seed 003 四.三.1), within the policy's working days."""
    notice.needs_approval = True
    leader = await OfficialRepository(session).get(case.leader_id) if case.leader_id else None
    due, flags = await due_after_working_days(session, now, policy.approval_working_days)
    reminders = (await current_policy(session)).policy.reminders
    deadlines.open_deadline(
        session,
        case_id=case.id,
        kind=K.notice_approval,
        role=leader.role.value if leader else "unit",
        official_id=leader.id if leader else None,
        unit_id=notice.unit_id,
        starts_at=now,
        due_at=due,
        flags=flags,
        reminders=reminders,
        subject=notice.number,
    )


async def list_of_case(
    session: AsyncSession, case_id: uuid.UUID, principal: Principal
) -> list[NoticeRead]:
    """The notices of a case the caller may read."""
    case = await _case(session, case_id, principal)
    return [to_read(n) for n in await NoticeRepository(session).of_case(case.id)]


async def list_notices(
    session: AsyncSession, query: NoticeQuery, principal: Principal
) -> tuple[list[NoticeRead], str | None]:
    """A page of the notices of the caller's territory (not of cases about them)."""
    rows, cursor = await NoticeRepository(session).list(query, principal, utcnow())
    return [to_read(n) for n in rows], cursor


async def get(session: AsyncSession, notice_id: uuid.UUID, principal: Principal) -> NoticeRead:
    """One notice."""
    notice, _ = await _notice(session, notice_id, principal)
    return to_read(notice)


async def document(
    session: AsyncSession, notice_id: uuid.UUID, principal: Principal, fmt: str, font: Path
) -> tuple[bytes, str]:
    """A notice's file in `fmt` and its Chinese file name."""
    notice, case = await _notice(session, notice_id, principal)
    sheet = _sheet(notice)
    data = await asyncio.to_thread(render.render, sheet, fmt, font)
    name = f"{case.number}-{sheet.title}-v{notice.version}.{fmt}"
    return data, name


async def approve(session: AsyncSession, notice_id: uuid.UUID, principal: Principal) -> Notice:
    """The leader in charge (or the case's owner leader) signs off a reply (审签)."""
    notice, case = await _notice(session, notice_id, principal, for_update=True)
    if not notice.needs_approval or notice.approved_at is not None:
        raise Conflict(Message("This notice awaits no sign-off."))
    if principal.id not in (case.leader_id, case.owner_leader_id):
        raise Forbidden(Message("The leader in charge of the case signs its reply off."))
    now = utcnow()
    notice.approved_at, notice.approved_by = now, principal.id
    await deadlines.close_open(
        session, case.id, (K.notice_approval,), DeadlineStatus.met, now, principal.id
    )
    _record(session, case, notice, principal, "notice_approved", {}, now)
    await session.flush()
    return notice


def _record(
    session: AsyncSession,
    case: Case,
    notice: Notice,
    principal: Principal,
    action: str,
    data: dict[str, Any],
    at: datetime,
) -> None:
    CaseEventRepository(session).record(
        case.id,
        action,
        actor_id=principal.id,
        client=principal.client,
        data={"notice_id": str(notice.id), "number": notice.number, **data},
        at=at,
    )


async def serve(
    session: AsyncSession, notice_id: uuid.UUID, body: NoticeService, principal: Principal
) -> Notice:
    """Record the notice's service; the deadline it answers is met when it was served."""
    notice, case = await _notice(session, notice_id, principal, for_update=True)
    if not principal.can(_permission(NoticeKind(notice.kind))):
        raise Forbidden(
            Message("Role {role} may not serve this notice.", role=principal.role.value)
        )
    now = utcnow()
    if body.method is ServiceMethod.post and not body.tracking_number:
        raise InvalidInput(
            Message("A notice sent by post has its tracking number."), pointer="/tracking_number"
        )
    served_at = body.served_at
    if served_at > now or served_at < notice.issued_at:
        raise InvalidInput(
            Message("A notice is served after it was issued and not in the future."),
            pointer="/served_at",
        )
    if notice.served_at is not None:
        raise Conflict(Message("This notice was already served."))
    if notice.superseded_at is not None:
        raise Conflict(Message("A later version of this notice was issued: serve that one."))
    if notice.needs_approval and notice.approved_at is None:
        raise Conflict(Message("The leader in charge has not signed this reply off yet (审签)."))
    notice.served_at, notice.served_by = served_at, principal.id
    notice.service_method, notice.recipient = body.method.value, body.recipient
    notice.tracking_number, notice.witness = body.tracking_number, body.witness
    if body.proof_material_id is not None:
        notice.proof_ref = await _proof(session, case, body.proof_material_id, "/proof_material_id")
        notice.proof_at = now
    policy = (await current_policy(session)).policy.notices
    met = await deadlines.close_open(
        session,
        case.id,
        met_by_service(NoticeKind(notice.kind), policy),
        DeadlineStatus.met,
        served_at,
        principal.id,
    )
    _record(
        session,
        case,
        notice,
        principal,
        "notice_served",
        {
            "method": body.method.value,
            "served_at": served_at.isoformat(),
            "met": [str(d.id) for d in met],
        },
        now,
    )
    await session.flush()
    return notice


async def prove(
    session: AsyncSession, notice_id: uuid.UUID, body: NoticeProof, principal: Principal
) -> Notice:
    """Record the proof of a served notice: the signed receipt (送达回证) or opinion."""
    notice, case = await _notice(session, notice_id, principal, for_update=True)
    if not principal.can(_permission(NoticeKind(notice.kind))):
        raise Forbidden(
            Message("Role {role} may not record this notice's proof.", role=principal.role.value)
        )
    if notice.served_at is None:
        raise Conflict(Message("Record the notice's service first."))
    now = utcnow()
    notice.proof_ref = await _proof(session, case, body.proof_material_id, "/proof_material_id")
    notice.proof_at = now
    proved = {"proof_material_id": notice.proof_ref}
    _record(session, case, notice, principal, "notice_proved", proved, now)
    await session.flush()
    return notice
