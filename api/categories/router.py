"""`/v1/categories`: the category vocabulary (信访事项分类)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from api.auth.dependencies import CurrentPrincipal, needs
from api.auth.permissions import Permission
from api.categories import service
from api.categories.schemas import CategoryList, CategoryPut, CategoryRead
from api.kit.boundary import DbSession
from api.models.category import CODE_PATTERN

router = APIRouter(prefix="/v1/categories", tags=["categories"])

Code = Annotated[str, Path(pattern=CODE_PATTERN, max_length=64, description="The class's code.")]


@router.get("", **needs(Permission.read_directory))
async def list_categories(session: DbSession, _: CurrentPrincipal) -> CategoryList:
    """The whole vocabulary, retired classes too (`active` false): each top-level class
    (大类) followed by the classes under it (小类), with their Chinese names. What
    registration accepts, what `category` filters take (a top-level code matches the classes
    under it) and how dashboards and bulletins name a case's category."""
    vocabulary = await service.vocabulary(session)
    return CategoryList(items=list(vocabulary.classes.values()))


@router.get("/{code}", **needs(Permission.read_directory))
async def get_category(code: Code, session: DbSession, _: CurrentPrincipal) -> CategoryRead:
    """One class of the vocabulary."""
    return await service.get(session, code)


@router.put(
    "/{code}",
    responses={
        201: {"description": "The class was added.", "model": CategoryRead},
        409: {"description": "A class the service files cases under cannot be retired."},
    },
    **needs(Permission.manage_policy),
)
async def put_category(
    code: Code,
    body: CategoryPut,
    session: DbSession,
    principal: CurrentPrincipal,
    response: Response,
) -> CategoryRead:
    """Add a class (a code under an existing top-level class, `land.quarry`, or a new
    top-level one), rename it, reorder it, or retire it (`active` false: no new case is filed
    under it, and the cases already filed keep it and its name). Codes are never deleted. The
    vocabulary is the whole deployment's: its admin's to change (403 for a unit's admin)."""
    read, created = await service.put(session, code, body, principal)
    if created:
        response.status_code = 201
    return read
