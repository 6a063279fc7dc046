"""`/v1/cases/{case_id}/materials` and `/v1/materials`: files attached to cases (附件)."""

from __future__ import annotations

import uuid
from email.utils import format_datetime
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, Response, UploadFile
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import Json

from api.auth.dependencies import CurrentPrincipal, needs
from api.auth.permissions import Permission
from api.cases.schemas import CaseCreate
from api.idempotency.dependencies import IdempotencyKey, Once
from api.kit.boundary import CALLER_ID, DbSession, state_of
from api.kit.errors import InvalidInput, NotFound, PetitionDeskError
from api.kit.i18n import N_, Message
from api.materials import offline, resumable, service
from api.materials.disposition import content_disposition
from api.materials.schemas import (
    MaterialLink,
    MaterialList,
    MaterialRead,
    OfflineReportRegistered,
    WithdrawBody,
)
from api.models.material import MaterialKind
from api.policies.service import current_policy

router = APIRouter(tags=["materials"])
# The most files any policy lets an offline report carry (`materials.max_report_files` ≤ it).
MAX_REPORT_FILES = 100
UnsupportedType = service.UnsupportedType


class TusVersionMismatch(PetitionDeskError):
    """The client speaks another tus version (or none)."""

    status = 412
    slug = "precondition-failed"
    title = N_("Precondition failed")


INVALID: dict[int | str, dict[str, Any]] = {
    422: {"description": "Invalid input, with a JSON pointer to each bad field."}
}
UPLOAD_ERRORS: dict[int | str, dict[str, Any]] = {
    409: {"description": "The case is archived: its materials are read-only."},
    413: {"description": "Over the policy's limit per file or per case."},
    415: {"description": "A type the policy does not accept, by the content's magic numbers."},
    **INVALID,
}
CONTENT_ERRORS: dict[int | str, dict[str, Any]] = {
    410: {"description": "The material was withdrawn; its record stays."},
}
STREAMED = {
    "description": "The content, streamed, named by `Content-Disposition` (RFC 6266; the "
    "UTF-8 name in `filename*`, RFC 5987).",
    # whatever the file is (its type as read from its bytes: image/jpeg, application/pdf …)
    "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
}


def _stream(download: service.Download, *, inline: bool = False) -> StreamingResponse:
    headers = {
        "Content-Disposition": content_disposition(
            download.filename, "inline" if inline else "attachment"
        ),
        "Cache-Control": "private, no-store",
    }
    if download.size is not None:
        headers["Content-Length"] = str(download.size)
    return StreamingResponse(download.chunks, media_type=download.content_type, headers=headers)


@router.post(
    "/v1/cases/{case_id}/materials",
    status_code=201,
    response_model=MaterialRead,
    responses={
        200: {"description": "Already attached (a retry): the same material."},
        **UPLOAD_ERRORS,
    },
    **needs(Permission.register_cases),
)
async def upload_material(
    case_id: uuid.UUID,
    session: DbSession,
    principal: CurrentPrincipal,
    response: Response,
    file: Annotated[UploadFile, File(description="The file; its type is read from its bytes.")],
    kind: Annotated[MaterialKind, Form()] = MaterialKind.other,
    note: Annotated[str | None, Form(max_length=2000)] = None,
    event_id: Annotated[uuid.UUID | None, Form()] = None,
    idempotency_key: IdempotencyKey = None,
) -> MaterialRead:
    """Attach one file to the case (a scanned letter, a photo, a PDF, a Word file, the audio of
    a call), optionally to one of its timeline events (`event_id`: a reply, a closing, a
    follow-up). Up to the policy's `materials.max_file_bytes` (default 10 MB; larger files go
    by the resumable upload, `POST /v1/cases/{case_id}/uploads`); the type is read from the
    content (magic numbers), never the name; an image's metadata (EXIF, GPS included) is
    stripped and a thumbnail made. The bytes are kept once by SHA-256. A retry (the same
    `Idempotency-Key`, or the same content on the same case) answers the material already
    attached with 200. 409 when the case is archived."""
    upload = service.Upload(file.filename, kind, note, event_id, idempotency_key)
    await service.check_writable(session, case_id, principal, upload)
    policy = (await current_policy(session)).policy.materials
    data = await file.read(policy.max_file_bytes + 1)
    prepared = await service.prepare(
        service.store_of(session), data, policy, limit=policy.max_file_bytes
    )
    material, created = await service.attach(session, case_id, principal, upload, prepared, policy)
    if not created:
        response.status_code = 200
    _, _case, readable = await service.get(session, material.id, principal)
    return service.to_read(material, readable)


@router.post(
    "/v1/offline-reports",
    status_code=201,
    response_model=OfflineReportRegistered,
    responses={
        409: {"description": "Not allowed in the case's state (as `POST /v1/cases`)."},
        413: UPLOAD_ERRORS[413],
        415: UPLOAD_ERRORS[415],
        **INVALID,
    },
    **needs(Permission.register_cases),
)
async def register_offline_report(
    session: DbSession,
    principal: CurrentPrincipal,
    once: Once,
    case: Annotated[
        Json[CaseCreate],
        Form(description="The case, as the JSON body of `POST /v1/cases`."),
    ],
    files: Annotated[
        list[UploadFile],
        File(
            description="The report's files (photos, the scanned letter, audio …), up to the "
            "policy's `materials.max_report_files`.",
            max_length=MAX_REPORT_FILES,
        ),
    ],
    kinds: Annotated[
        list[MaterialKind] | None,
        Form(
            description="What each file is, in the order of `files` (default `other`).",
            max_length=MAX_REPORT_FILES,
        ),
    ] = None,
) -> JSONResponse:
    """Register a case with the files of an offline report (离线上报) in one request: what a
    grid worker's phone took while out of coverage, sent when the link returns. Every file is
    checked as `POST /v1/cases/{case_id}/materials` checks it (the policy's size, its type by
    content, image metadata stripped); one refused refuses the whole report and nothing is
    registered. A retry with the same `Idempotency-Key`, case and files gets the first answer."""
    policy = (await current_policy(session)).policy.materials
    given = kinds or []
    if len(given) > len(files):
        raise InvalidInput(Message("More kinds than files."), pointer="/kinds")
    received = [
        offline.ReportFile(
            file.filename,
            given[index] if index < len(given) else MaterialKind.other,
            await file.read(policy.max_file_bytes + 1),
        )
        for index, file in enumerate(files)
    ]

    async def produce() -> OfflineReportRegistered:
        return await offline.register_with_files(session, case, received, principal, kept=once.kept)

    return await once(offline.fingerprint_of(case, received), 201, produce)


@router.get("/v1/cases/{case_id}/materials", **needs(Permission.read_cases))
async def list_materials(
    case_id: uuid.UUID, session: DbSession, principal: CurrentPrincipal
) -> MaterialList:
    """The case's materials, withdrawn ones too (flagged), oldest first (404 out of reach).
    Of a confidential case a reader who may not read its content sees no names."""
    return await service.list_for_case(session, case_id, principal)


@router.get("/v1/materials/{material_id}", **needs(Permission.read_cases))
async def get_material(
    material_id: uuid.UUID, session: DbSession, principal: CurrentPrincipal
) -> MaterialRead:
    """A material's record: name, type, size, hash, who attached it, whether it was withdrawn
    (404 when its case is out of reach)."""
    material, _case, readable = await service.get(session, material_id, principal)
    return service.to_read(material, readable)


@router.get(
    "/v1/materials/{material_id}/content",
    response_class=StreamingResponse,
    responses={200: STREAMED, **CONTENT_ERRORS},
    **needs(Permission.read_cases),
)
async def download_material(
    material_id: uuid.UUID, session: DbSession, principal: CurrentPrincipal
) -> StreamingResponse:
    """The file, streamed, byte for byte as kept, with its name in `Content-Disposition`
    (an ASCII fallback and the UTF-8 name, RFC 6266/5987). Every download is audited. 403 for
    a confidential case the reader may not read in full, 410 once withdrawn."""
    return _stream(await service.download(session, material_id, principal))


@router.get(
    "/v1/materials/{material_id}/thumbnail",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "A JPEG at most 320 px on its long side.",
            "content": {"image/jpeg": {"schema": {"type": "string", "format": "binary"}}},
        },
        **CONTENT_ERRORS,
    },
    **needs(Permission.read_cases),
)
async def material_thumbnail(
    material_id: uuid.UUID, session: DbSession, principal: CurrentPrincipal
) -> StreamingResponse:
    """An image's thumbnail for lists and the app (404 for a file that is not an image)."""
    return _stream(await service.thumbnail(session, material_id, principal), inline=True)


@router.post(
    "/v1/materials/{material_id}/link",
    response_model=MaterialLink,
    responses=CONTENT_ERRORS,
    **needs(Permission.read_cases),
)
async def link_material(
    material_id: uuid.UUID, session: DbSession, principal: CurrentPrincipal, request: Request
) -> MaterialLink:
    """A short-lived signed link to download the file without the bearer token (the policy's
    `materials.link_seconds`, default 5 minutes): the object store's own presigned URL with
    the S3 backend, else `/v1/material-links/{token}` of this API. Issuing it is audited, and
    so is each download through an API link."""
    policy = (await current_policy(session)).policy.materials
    settings = state_of(request).settings
    url, expires = await service.link(
        session, material_id, principal, policy, settings.jwt_secret, settings.public_base_url
    )
    return MaterialLink(url=url, expires_at=expires)


@router.get(
    "/v1/material-links/{token}",
    response_class=StreamingResponse,
    responses={200: STREAMED, 404: {"description": "Unknown or expired link."}, **CONTENT_ERRORS},
)
async def follow_material_link(
    token: str, session: DbSession, request: Request
) -> StreamingResponse:
    """Download through a signed link (no bearer token: the link is the credential, good for
    minutes, naming the official it was issued to, who the audit records)."""
    settings = state_of(request).settings
    found = service.read_link_token(settings.jwt_secret, token)
    if found is None:
        raise NotFound(Message("This link is unknown or has expired."))
    material_id, official_id = found
    setattr(request.state, CALLER_ID, official_id)
    return _stream(await service.download_by_link(session, material_id))


@router.delete(
    "/v1/materials/{material_id}",
    response_model=MaterialRead,
    responses={
        403: {"description": "Neither the uploader nor the petition office."},
        409: {"description": "The case is archived, or the material was withdrawn already."},
        **INVALID,
    },
    **needs(Permission.register_cases),
)
async def withdraw_material(
    material_id: uuid.UUID, body: WithdrawBody, session: DbSession, principal: CurrentPrincipal
) -> MaterialRead:
    """撤回: withdraw a material with a reason. The record stays (listed, flagged, with who
    withdrew it and why) and the timeline says so; its content is no longer served (410). The
    uploader or the petition office may."""
    material, readable = await service.withdraw(session, material_id, principal, body.reason)
    return service.to_read(material, readable)


# --- resumable uploads (tus 1.0: core + creation) ----------------------------------------

TUS_HEADERS = {"Tus-Resumable": resumable.TUS_VERSION}
TUS_ERRORS: dict[int | str, dict[str, Any]] = {
    409: {"description": "`Upload-Offset` is not where the upload stands (it is in `offset`)."},
    412: {"description": "`Tus-Resumable` is missing or not 1.0.0."},
    **UPLOAD_ERRORS,
}


def _header(name: str, schema: dict[str, Any], description: str, *, required: bool = True) -> Any:
    return {
        "name": name,
        "in": "header",
        "required": required,
        "schema": schema,
        "description": description,
    }


TUS_RESUMABLE = _header("Tus-Resumable", {"type": "string", "enum": ["1.0.0"]}, "tus version.")


def _tus_route(*headers: Any, body: dict[str, Any] | None = None) -> dict[str, Any]:
    """Route options of a tus operation: the permission, and the tus headers it reads (parsed
    by the route: a wrong `Tus-Resumable` is tus's 412) in the contract."""
    granted = needs(Permission.register_cases)
    extra = {**granted["openapi_extra"], "parameters": [TUS_RESUMABLE, *headers]}
    if body is not None:
        extra["requestBody"] = body
    return {"dependencies": granted["dependencies"], "openapi_extra": extra}


def _tus(request: Request) -> None:
    if request.headers.get("tus-resumable") != resumable.TUS_VERSION:
        mismatch = TusVersionMismatch(
            Message("This server speaks tus 1.0.0 (Tus-Resumable: 1.0.0).")
        )
        mismatch.headers["Tus-Version"] = resumable.TUS_VERSION
        raise mismatch


def _int_header(request: Request, name: str) -> int:
    value = request.headers.get(name, "")
    if not value.isdigit():
        raise InvalidInput(
            Message("{name} must be a non-negative integer.", name=name), pointer=f"/{name}"
        )
    return int(value)


@router.options(
    "/v1/cases/{case_id}/uploads",
    status_code=204,
    response_class=Response,
    **needs(Permission.register_cases),
)
async def upload_options(case_id: uuid.UUID, session: DbSession) -> Response:
    """tus discovery: the protocol versions and extensions spoken, and the largest file the
    policy takes (`materials.max_resumable_bytes`)."""
    del case_id
    limits = (await current_policy(session)).policy.materials
    return Response(
        status_code=204,
        headers={
            **TUS_HEADERS,
            "Tus-Version": resumable.TUS_VERSION,
            "Tus-Extension": "creation,expiration",
            "Tus-Max-Size": str(limits.max_resumable_bytes),
        },
    )


@router.post(
    "/v1/cases/{case_id}/uploads",
    status_code=201,
    response_class=Response,
    responses=TUS_ERRORS,
    **_tus_route(
        _header("Upload-Length", {"type": "integer", "minimum": 1}, "The file's size in bytes."),
        _header(
            "Upload-Metadata",
            {"type": "string", "maxLength": 4000},
            "`filename`, `kind`, `note`: each `key base64(value)`, comma-separated.",
            required=False,
        ),
    ),
)
async def create_upload(
    case_id: uuid.UUID, request: Request, session: DbSession, principal: CurrentPrincipal
) -> Response:
    """Open a resumable upload (tus 1.0 creation) for a file too large or a link too weak for
    one request: `Upload-Length` in bytes, `Upload-Metadata` with `filename`, `kind` and `note`
    (base64, tus's format). Answers its `Location` and `Upload-Expires` (tus expiration: an
    upload left without a piece for the policy's `materials.upload_hours` is gone); send the
    bytes there with `PATCH`, ask how far it got with `HEAD`. The finished file is checked and
    attached as `POST /v1/cases/{case_id}/materials` does."""
    _tus(request)
    length = _int_header(request, "Upload-Length")
    metadata = resumable.parse_metadata(request.headers.get("upload-metadata"))
    upload = await resumable.create(session, case_id, principal, length, metadata)
    return Response(
        status_code=201,
        headers={
            **TUS_HEADERS,
            "Location": f"/v1/cases/{case_id}/uploads/{upload.id}",
            "Upload-Expires": format_datetime(upload.expires_at, usegmt=True),
        },
    )


@router.head(
    "/v1/cases/{case_id}/uploads/{upload_id}",
    response_class=Response,
    responses=TUS_ERRORS,
    **_tus_route(),
)
async def upload_offset(
    case_id: uuid.UUID,
    upload_id: uuid.UUID,
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
) -> Response:
    """How much of the upload arrived (`Upload-Offset`) of `Upload-Length`: go on from there."""
    _tus(request)
    upload = await resumable.status(session, case_id, upload_id, principal)
    return Response(
        status_code=200,
        headers={
            **TUS_HEADERS,
            "Upload-Offset": str(upload.offset),
            "Upload-Length": str(upload.length),
            "Cache-Control": "no-store",
        },
    )


@router.patch(
    "/v1/cases/{case_id}/uploads/{upload_id}",
    status_code=204,
    response_class=Response,
    responses=TUS_ERRORS,
    **_tus_route(
        _header("Upload-Offset", {"type": "integer", "minimum": 0}, "Where the piece starts."),
        body={
            "required": True,
            "content": {
                "application/offset+octet-stream": {
                    "schema": {"type": "string", "format": "binary"}
                }
            },
        },
    ),
)
async def upload_piece(
    case_id: uuid.UUID,
    upload_id: uuid.UUID,
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
) -> Response:
    """A piece of the file at `Upload-Offset` (`Content-Type: application/offset+octet-stream`);
    answers the new `Upload-Offset`. With the last piece the file becomes a material, named in
    `Material-Location`."""
    _tus(request)
    offset = _int_header(request, "Upload-Offset")
    if request.headers.get("content-type") != "application/offset+octet-stream":
        raise UnsupportedType(Message("A piece is sent as application/offset+octet-stream."))
    upload = await resumable.append(
        session, case_id, upload_id, principal, offset, request.stream()
    )
    headers = {**TUS_HEADERS, "Upload-Offset": str(upload.offset)}
    if upload.material_id is not None:
        headers["Material-Location"] = f"/v1/materials/{upload.material_id}"
    else:
        headers["Upload-Expires"] = format_datetime(upload.expires_at, usegmt=True)
    return Response(status_code=204, headers=headers)
