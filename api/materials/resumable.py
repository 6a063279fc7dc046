"""Resumable uploads by tus 1.0 (core + creation): a grid worker's phone on a weak link sends a
large file in pieces and, after a break, asks how much arrived and goes on from there.

Why tus rather than S3 multipart: it is one open protocol for both backends (the phone never
talks to the bucket, so no store credentials or presigned part URLs leave the county's network),
maintained clients exist for Android, iOS and the browser, and the API can check the file's type
and strip its metadata before it becomes a material, as for a plain upload. The parts are kept
on the API's own disk (`BlobStore.spool`), truncated to the recorded offset before each piece,
so a piece whose transaction failed is simply sent again.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import os
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.principal import Principal
from api.kit.db import utcnow
from api.kit.errors import Conflict, InvalidInput, NotFound, PayloadTooLarge
from api.kit.i18n import Message
from api.kit.uow import unit_of
from api.materials.repository import MaterialRepository
from api.materials.service import Upload, attach, check_writable, prepare, store_of
from api.models.material import MaterialKind, MaterialUpload
from api.policies.service import current_policy

TUS_VERSION = "1.0.0"


def parse_metadata(header: str | None) -> dict[str, str]:
    """`Upload-Metadata`: comma-separated `key base64value` pairs (tus 1.0 creation)."""
    found: dict[str, str] = {}
    for pair in (header or "").split(","):
        if not pair.strip():
            continue
        key, _, value = pair.strip().partition(" ")
        try:
            found[key] = base64.b64decode(value, validate=True).decode() if value else ""
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise InvalidInput(
                Message("Upload-Metadata {key!r} is not base64 of UTF-8 text.", key=key),
                pointer="/Upload-Metadata",
            ) from exc
    return found


def _part(spool: Path, upload_id: uuid.UUID) -> Path:
    return spool / "uploads" / f"{upload_id}.part"


async def create(
    session: AsyncSession,
    case_id: uuid.UUID,
    principal: Principal,
    length: int,
    metadata: dict[str, str],
) -> MaterialUpload:
    """Open a resumable upload of `length` bytes onto the case (its name and kind from the
    metadata); 413 over the policy's `materials.max_resumable_bytes`."""
    try:
        kind = MaterialKind(metadata.get("kind", MaterialKind.other.value))
    except ValueError as exc:
        raise InvalidInput(
            Message("Unknown kind in Upload-Metadata."), pointer="/Upload-Metadata"
        ) from exc
    filename = metadata.get("filename") or "file"
    note = metadata.get("note") or None
    await check_writable(session, case_id, principal, Upload(filename, kind, note))
    limits = (await current_policy(session)).policy.materials
    if length <= 0:
        raise InvalidInput(
            Message("Upload-Length must be a positive number."), pointer="/Upload-Length"
        )
    if length > limits.max_resumable_bytes:
        raise PayloadTooLarge(
            Message(
                "The file is over the limit of {max_resumable_bytes} bytes.",
                max_resumable_bytes=limits.max_resumable_bytes,
            )
        )
    upload = MaterialUpload(
        id=uuid.uuid4(),
        case_id=case_id,
        uploaded_by=principal.id,
        length=length,
        offset=0,
        filename=filename[:255],
        kind=kind.value,
        note=note,
        expires_at=utcnow() + timedelta(hours=limits.upload_hours),
    )
    MaterialRepository(session).add(upload)
    await session.flush()
    return upload


async def status(
    session: AsyncSession, case_id: uuid.UUID, upload_id: uuid.UUID, principal: Principal
) -> MaterialUpload:
    """The uploader's own upload on this case (404 for anyone else's, or once expired)."""
    upload = await MaterialRepository(session).upload(upload_id, principal.id)
    if upload is None or upload.case_id != case_id or upload.expires_at <= utcnow():
        raise NotFound(Message("Upload {upload_id} does not exist.", upload_id=upload_id))
    return upload


def _write(path: Path, offset: int, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "ab") as fh:
        fh.truncate(offset)  # drop what a piece left whose transaction did not commit
        fh.seek(offset)
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


async def append(
    session: AsyncSession,
    case_id: uuid.UUID,
    upload_id: uuid.UUID,
    principal: Principal,
    offset: int,
    body: AsyncIterator[bytes],
) -> MaterialUpload:
    """Add a piece at `offset` (409 when it is not where the upload stands); once the last
    byte arrived, the file is checked and attached as a material, as a plain upload is."""
    repo = MaterialRepository(session)
    upload = await repo.upload(upload_id, principal.id, for_update=True)
    if upload is None or upload.case_id != case_id or upload.expires_at <= utcnow():
        raise NotFound(Message("Upload {upload_id} does not exist.", upload_id=upload_id))
    if upload.material_id is not None:
        raise Conflict(Message("The upload is complete."), offset=upload.offset)
    if offset != upload.offset:
        raise Conflict(
            Message(
                "Upload-Offset {offset} is not where the upload stands ({offset2}).",
                offset=offset,
                offset2=upload.offset,
            ),
            offset=upload.offset,
        )
    room = upload.length - upload.offset
    data = bytearray()
    async for chunk in body:
        data += chunk
        if len(data) > room:
            raise PayloadTooLarge(
                Message("More bytes than the {length} announced.", length=upload.length)
            )
    store = store_of(session)
    path = _part(store.spool, upload.id)
    await asyncio.to_thread(_write, path, upload.offset, bytes(data))
    upload.offset += len(data)
    limits = (await current_policy(session)).policy.materials
    upload.expires_at = utcnow() + timedelta(hours=limits.upload_hours)
    if upload.offset == upload.length:
        whole = await asyncio.to_thread(path.read_bytes)
        prepared = await prepare(store, whole, limits, limit=limits.max_resumable_bytes)
        kind = MaterialKind(upload.kind)
        material, _ = await attach(
            session,
            case_id,
            principal,
            Upload(upload.filename, kind, upload.note, upload.event_id),
            prepared,
            limits,
        )
        upload.material_id = material.id

        async def _discard() -> None:
            await asyncio.to_thread(path.unlink, True)

        unit_of(session).after_commit(_discard)
    await session.flush()
    return upload
