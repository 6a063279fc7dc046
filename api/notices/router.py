"""Written notices (书面告知): issued on a case, printed as Word or PDF, served (送达)."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from api.auth.dependencies import CurrentPrincipal, needs
from api.auth.permissions import Permission
from api.kit.boundary import AppState, DbSession, get_state
from api.kit.errors import ServiceUnavailable
from api.kit.i18n import Message
from api.kit.pagination import Page
from api.materials.disposition import content_disposition
from api.notices import render, service
from api.notices.schemas import (
    DocumentFormat,
    NoticeIssue,
    NoticeProof,
    NoticeQuery,
    NoticeRead,
    NoticeService,
)
from shared.fonts import FontUnavailable, ensure_font, font_dir

router = APIRouter(tags=["notices"])

ERRORS: dict[int | str, dict[str, Any]] = {
    409: {"description": "Not possible in the case's or the notice's state."},
    422: {"description": "Invalid input, with a JSON pointer to each bad field."},
}


async def notice_font(state: Annotated[AppState, Depends(get_state)]) -> Path:
    """The project's CJK font, installed on first use."""
    try:
        return await asyncio.to_thread(ensure_font, font_dir(state.settings.font_dir))
    except FontUnavailable as exc:
        raise ServiceUnavailable(
            Message("The notices' font is not installed: {exc}", exc=exc)
        ) from exc


Font = Annotated[Path, Depends(notice_font)]


@router.post(
    "/v1/cases/{case_id}/notices",
    status_code=201,
    responses=ERRORS,
    **needs(Permission.handle_cases),
)
async def issue_notice(
    case_id: uuid.UUID,
    body: NoticeIssue,
    session: DbSession,
    principal: CurrentPrincipal,
    font: Font,
) -> NoticeRead:
    """Issue a written notice on the case from the county's template (policy `notices`), with
    the case's data filled in: its number (per county, year and kind), version and the
    template version are recorded. A reply is the handling unit's; every other notice the
    petition office's. Issuing again gives the next version under the same number. A reply
    several departments worked on waits for the leader in charge's sign-off (审签)."""
    return service.to_read(await service.issue(session, case_id, body, principal, font))


@router.get("/v1/cases/{case_id}/notices", **needs(Permission.read_cases))
async def list_notices(
    case_id: uuid.UUID, session: DbSession, principal: CurrentPrincipal
) -> list[NoticeRead]:
    """The notices issued on a case, in the order they were issued."""
    return await service.list_of_case(session, case_id, principal)


@router.get("/v1/notices", **needs(Permission.read_cases))
async def list_all_notices(
    session: DbSession, principal: CurrentPrincipal, query: Annotated[NoticeQuery, Query()]
) -> Page[NoticeRead]:
    """The notices of the caller's territory, newest first; `lapse` finds those not served by
    their date or served without proof (seed 001 第二篇 (二).2), as the dashboard counts them."""
    items, next_cursor = await service.list_notices(session, query, principal)
    return Page(items=items, next_cursor=next_cursor)


@router.get("/v1/notices/{notice_id}", **needs(Permission.read_cases))
async def get_notice(
    notice_id: uuid.UUID, session: DbSession, principal: CurrentPrincipal
) -> NoticeRead:
    """A notice and its service."""
    return await service.get(session, notice_id, principal)


@router.get(
    "/v1/notices/{notice_id}/document",
    response_class=Response,
    responses={
        200: {
            "description": "The notice as a Word document or a PDF with its fonts embedded.",
            "content": {render.DOCX: {}, render.PDF: {}},
        }
    },
    **needs(Permission.read_cases),
)
async def notice_document(
    notice_id: uuid.UUID,
    session: DbSession,
    principal: CurrentPrincipal,
    font: Font,
    format: Annotated[DocumentFormat, Query()] = "pdf",
) -> Response:
    """The notice's file, made again byte for byte from its record: `docx` to edit, `pdf` to
    print. The file name is Chinese (RFC 6266 `filename*`, with an ASCII fallback)."""
    data, name = await service.document(session, notice_id, principal, format, font)
    return Response(
        data,
        media_type=render.MEDIA[format],
        headers={"Content-Disposition": content_disposition(name)},
    )


@router.post("/v1/notices/{notice_id}/approval", responses=ERRORS, **needs(Permission.handle_cases))
async def approve_notice(
    notice_id: uuid.UUID, session: DbSession, principal: CurrentPrincipal
) -> NoticeRead:
    """审签: the leader in charge of the case signs off a reply several departments worked on
    (seed 003 四.三.1); it may be served after."""
    return service.to_read(await service.approve(session, notice_id, principal))


@router.post("/v1/notices/{notice_id}/service", responses=ERRORS, **needs(Permission.handle_cases))
async def serve_notice(
    notice_id: uuid.UUID, body: NoticeService, session: DbSession, principal: CurrentPrincipal
) -> NoticeRead:
    """送达: how, when and by whom the notice reached the petitioner (in person, by post with
    its tracking number, by an SMS link, electronically), the witness and the proof. The
    acceptance notice's deadline (受理告知) is met at the time it was served."""
    return service.to_read(await service.serve(session, notice_id, body, principal))


@router.post("/v1/notices/{notice_id}/proof", responses=ERRORS, **needs(Permission.handle_cases))
async def prove_notice(
    notice_id: uuid.UUID, body: NoticeProof, session: DbSession, principal: CurrentPrincipal
) -> NoticeRead:
    """The proof of a served notice, given after its service: the signed receipt (送达回证) or
    the petitioner's signed opinion."""
    return service.to_read(await service.prove(session, notice_id, body, principal))
