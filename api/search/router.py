"""Finding a case: `GET /v1/search/cases`, and likely repeats of a matter before and after
registering it."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from api.auth.dependencies import CurrentPrincipal, needs
from api.auth.permissions import Permission
from api.kit.boundary import DbSession
from api.search import service
from api.search.schemas import SearchPage, SearchQuery, SimilarCase, SimilarDraft

router = APIRouter(tags=["search"])


@router.get("/v1/search/cases", **needs(Permission.read_cases))
async def search_cases(
    session: DbSession, principal: CurrentPrincipal, query: Annotated[SearchQuery, Query()]
) -> SearchPage:
    """Full-text search of the cases in the caller's territory, in Chinese: title, content,
    demands, petitioners' names and addresses, the case number and the higher office's
    reference number. Every term of `q` must match; best ranked first, then newest. A
    confidential case is found only by those who may read its content."""
    return await service.search(session, query, principal)


@router.post("/v1/search/similar", **needs(Permission.read_cases))
async def similar_to_draft(
    body: SimilarDraft, session: DbSession, principal: CurrentPrincipal
) -> list[SimilarCase]:
    """Likely repeats of a matter about to be registered (重复信访 by its content and place):
    cases of the same origin unit received within the policy's window whose title and content
    are similar enough, most similar first. Read by the desk before it registers; registering
    never computes it."""
    return await service.similar_to_draft(session, body, principal)


@router.get(
    "/v1/cases/{case_id}/similar",
    responses={403: {"description": "A confidential case whose content the caller may not read."}},
    **needs(Permission.read_cases),
)
async def similar_to_case(
    case_id: uuid.UUID, session: DbSession, principal: CurrentPrincipal
) -> list[SimilarCase]:
    """Likely repeats of a case's matter, most similar first (404 for a case outside the
    caller's territory)."""
    return await service.similar_to_case(session, case_id, principal)
