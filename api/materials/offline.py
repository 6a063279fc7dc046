"""An offline report (离线上报): a grid worker's phone registers the case and attaches the
photos and letter it took, in one request and one transaction, when the link comes back."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.principal import Principal
from api.cases import views
from api.cases.schemas import CaseCreate
from api.kit.errors import InvalidInput, PetitionDeskError
from api.kit.i18n import Message
from api.materials.schemas import OfflineReportRegistered
from api.materials.service import Prepared, Upload, attach, get, prepare, store_of, to_read
from api.models.material import MaterialKind
from api.policies.service import current_policy


@dataclass(frozen=True)
class ReportFile:
    """One file of the report as received: its name, what it is, its bytes."""

    filename: str | None
    kind: MaterialKind
    data: bytes


class ReportFingerprint(BaseModel):
    """What a retry must repeat to replay the first answer: the case and each file's content,
    kind and name (the bytes themselves are not kept with the answer)."""

    case: CaseCreate
    files: list[tuple[str, str, str]]


def fingerprint_of(case: CaseCreate, files: list[ReportFile]) -> ReportFingerprint:
    """The body an `Idempotency-Key` retry is compared by."""
    return ReportFingerprint(
        case=case,
        files=[(hashlib.sha256(f.data).hexdigest(), f.kind.value, f.filename or "") for f in files],
    )


def _text_without_nul(value: object, pointer: str) -> None:
    """The case's text fields came inside a form the guard does not search for NUL (its
    files may hold anything); PostgreSQL's text cannot hold it."""
    if isinstance(value, str):
        if "\x00" in value:
            raise InvalidInput(
                Message("Text may not contain the NUL character (U+0000)."), pointer=pointer
            )
    elif isinstance(value, dict):
        for key, item in value.items():
            _text_without_nul(item, f"{pointer}/{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _text_without_nul(item, f"{pointer}/{index}")


def _at(index: int, exc: PetitionDeskError) -> PetitionDeskError:
    """The error of one file, saying which."""
    exc.detail = Message("File {number}: {detail}", number=index + 1, detail=exc.detail)
    if "errors" not in exc.extensions:
        exc.extensions["errors"] = [{"pointer": f"/files/{index}", "detail": exc.detail}]
    return exc


async def register_with_files(
    session: AsyncSession,
    case: CaseCreate,
    files: list[ReportFile],
    principal: Principal,
    *,
    kept: bool,
) -> OfflineReportRegistered:
    """Check every file (size, type by content, image metadata stripped), register the case
    as `POST /v1/cases` does, and attach the files to it; any refusal leaves nothing
    registered (the request's one transaction)."""
    _text_without_nul(case.model_dump(), "/case")
    policy = (await current_policy(session)).policy.materials
    if not files:
        raise InvalidInput(
            Message("An offline report carries at least one file."), pointer="/files"
        )
    if len(files) > policy.max_report_files:
        raise InvalidInput(
            Message(
                "An offline report carries at most {max_report_files} files (policy "
                "`materials.max_report_files`); attach the rest to the case after.",
                max_report_files=policy.max_report_files,
            ),
            pointer="/files",
        )
    store = store_of(session)
    prepared: list[Prepared] = []
    for index, file in enumerate(files):
        try:
            prepared.append(await prepare(store, file.data, policy, limit=policy.max_file_bytes))
        except PetitionDeskError as exc:
            raise _at(index, exc) from None
    registered = await views.register(session, case, principal, kept=kept)
    materials = []
    for index, (file, ready) in enumerate(zip(files, prepared, strict=True)):
        try:
            material, _ = await attach(
                session, registered.id, principal, Upload(file.filename, file.kind), ready, policy
            )
        except PetitionDeskError as exc:
            raise _at(index, exc) from None
        _, _, readable = await get(session, material.id, principal)
        materials.append(to_read(material, readable))
    return OfflineReportRegistered(case=registered, materials=materials)
