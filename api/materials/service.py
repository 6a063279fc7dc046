"""Materials (附件): attach a file to a case or one of its events, list and read them, stream or
link their content, withdraw one (the row stays).

Who reads follows the case: its territory and the petition's confidentiality
(`CaseRepository.get_in_reach`: out of reach and complained-about officials see nothing, 404);
a confidential case's files only for those `Disclosure.reads_content` allows. Every download is
audited (the request boundary's audit row, `api.audit.service.READ_AUDITED`). An archived case
is read-only (409).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.permissions import Permission
from api.auth.principal import Principal
from api.cases.repository import CaseRepository
from api.kit.db import utcnow
from api.kit.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    PetitionDeskError,
    UnsupportedMediaType,
)
from api.kit.i18n import N_, Message
from api.kit.uow import unit_of
from api.materials import content
from api.materials.disposition import safe_name
from api.materials.repository import MaterialRepository
from api.materials.schemas import MaterialList, MaterialRead
from api.materials.storage import MATERIAL_STORE, Blob, BlobStore
from api.models.case import Case, CaseStatus
from api.models.material import Material, MaterialKind
from api.policies.materials import MaterialsPolicy
from api.privacy.service import disclosure
from api.timeline.repository import CaseEventRepository


class Gone(PetitionDeskError):
    """The material was withdrawn: its record stays, its content is no longer served."""

    status = 410
    slug = "gone"
    title = N_("Gone")


class UnsupportedType(UnsupportedMediaType):
    """The content is of a type the policy does not accept (by its bytes, not its name)."""


def store_of(session: AsyncSession) -> BlobStore:
    """The blob store the session was made with (`api.app`)."""
    store: BlobStore | None = unit_of(session).resources.get(MATERIAL_STORE)
    if store is None:
        raise RuntimeError("This database session was made without the material store.")
    return store


# --- reading ----------------------------------------------------------------------------


def to_read(material: Material, readable: bool) -> MaterialRead:
    """The API's view of a material; its name and note withheld when the reader may not read
    the case's content."""
    return MaterialRead(
        id=material.id,
        case_id=material.case_id,
        event_id=material.event_id,
        kind=MaterialKind(material.kind),
        filename=material.filename if readable else None,
        note=material.note if readable else None,
        content_type=material.content_type,
        size=material.size,
        sha256=material.sha256,
        width=material.width,
        height=material.height,
        has_thumbnail=material.thumbnail_sha256 is not None,
        uploaded_by=material.uploaded_by,
        created_at=material.created_at,
        withdrawn=material.withdrawn,
        withdrawn_at=material.withdrawn_at,
        withdrawn_by=material.withdrawn_by,
        withdrawn_reason=material.withdrawn_reason if readable else None,
        restricted=not readable,
    )


def _reads(session: AsyncSession, principal: Principal, case: Case) -> bool:
    return disclosure(session, principal).reads_content(case)


async def _case(
    session: AsyncSession, case_id: uuid.UUID, principal: Principal, *, for_update: bool = False
) -> Case:
    case = await CaseRepository(session).get_in_reach(case_id, principal, for_update=for_update)
    if case is None:
        raise NotFound(Message("Case {case_id} does not exist.", case_id=case_id))
    return case


async def list_for_case(
    session: AsyncSession, case_id: uuid.UUID, principal: Principal
) -> MaterialList:
    """The case's materials (withdrawn ones flagged), 404 out of reach."""
    case = await _case(session, case_id, principal)
    readable = _reads(session, principal, case)
    rows = await MaterialRepository(session).for_case(case.id)
    return MaterialList(
        items=[to_read(m, readable) for m in rows],
        total_bytes=sum(m.size for m in rows if not m.withdrawn),
    )


async def get(
    session: AsyncSession, material_id: uuid.UUID, principal: Principal
) -> tuple[Material, Case, bool]:
    """The material, its case and whether the reader reads its content; 404 out of reach."""
    found = await MaterialRepository(session).readable(material_id, principal)
    if found is None:
        raise NotFound(Message("Material {material_id} does not exist.", material_id=material_id))
    material, case = found
    return material, case, _reads(session, principal, case)


@dataclass(frozen=True)
class Download:
    """What a download streams: the content's chunks, its name, type and length."""

    chunks: AsyncIterator[bytes]
    filename: str
    content_type: str
    size: int | None


async def _servable(
    session: AsyncSession, material_id: uuid.UUID, principal: Principal
) -> Material:
    material, _case, readable = await get(session, material_id, principal)
    if not readable:
        raise Forbidden(
            Message(
                "The case is confidential (保密): its files are read by petition staff and "
                "the leaders named on it only."
            )
        )
    if material.withdrawn:
        raise Gone(
            Message(
                "Material {material_id} was withdrawn: {withdrawn_reason}",
                material_id=material_id,
                withdrawn_reason=material.withdrawn_reason,
            )
        )
    return material


async def download(session: AsyncSession, material_id: uuid.UUID, principal: Principal) -> Download:
    """The content of a material the reader may read (403 confidential, 410 withdrawn)."""
    material = await _servable(session, material_id, principal)
    store = store_of(session)
    return Download(
        store.open(material.sha256), material.filename, material.content_type, material.size
    )


async def thumbnail(
    session: AsyncSession, material_id: uuid.UUID, principal: Principal
) -> Download:
    """The image's thumbnail (a small JPEG); 404 when it has none."""
    material = await _servable(session, material_id, principal)
    if material.thumbnail_sha256 is None:
        raise NotFound(
            Message(
                "Material {material_id} has no thumbnail (it is not an image).",
                material_id=material_id,
            )
        )
    stem = material.filename.rsplit(".", 1)[0]
    return Download(
        store_of(session).open(material.thumbnail_sha256),
        f"{stem}.thumb.jpg",
        content.JPEG,
        None,
    )


# --- signed links -------------------------------------------------------------------------

_LINK = struct.Struct(">16s16sQ")


def _sign(secret: str, payload: bytes) -> bytes:
    return hmac.new(secret.encode(), b"material-link:" + payload, hashlib.sha256).digest()[:16]


def issue_link_token(
    secret: str, material_id: uuid.UUID, official_id: uuid.UUID, expires: datetime
) -> str:
    """A token naming the material, the official it was issued to and its expiry, signed."""
    payload = _LINK.pack(material_id.bytes, official_id.bytes, int(expires.timestamp()))
    return base64.urlsafe_b64encode(payload + _sign(secret, payload)).decode().rstrip("=")


def read_link_token(secret: str, token: str) -> tuple[uuid.UUID, uuid.UUID] | None:
    """The material and official of a valid, unexpired token; None otherwise."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except ValueError:
        return None
    if len(raw) != _LINK.size + 16:
        return None
    payload, signature = raw[: _LINK.size], raw[_LINK.size :]
    if not hmac.compare_digest(signature, _sign(secret, payload)):
        return None
    material, official, expires = _LINK.unpack(payload)
    if expires < int(datetime.now(UTC).timestamp()):
        return None
    return uuid.UUID(bytes=material), uuid.UUID(bytes=official)


async def link(
    session: AsyncSession,
    material_id: uuid.UUID,
    principal: Principal,
    policy: MaterialsPolicy,
    secret: str,
    base_url: str,
) -> tuple[str, datetime]:
    """A short-lived link to the content: the store's own signed URL where it has one (S3),
    else one of the API's (`/v1/material-links/{token}`)."""
    material = await _servable(session, material_id, principal)
    expires = utcnow() + timedelta(seconds=policy.link_seconds)
    url = await store_of(session).url(
        material.sha256,
        filename=material.filename,
        content_type=material.content_type,
        expires_seconds=policy.link_seconds,
    )
    if url is None:
        token = issue_link_token(secret, material.id, principal.id, expires)
        url = f"{base_url.rstrip('/')}/v1/material-links/{token}"
    return url, expires


# --- attaching ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Upload:
    """One file to attach and what the uploader said about it."""

    filename: str | None
    kind: MaterialKind = MaterialKind.other
    note: str | None = None
    event_id: uuid.UUID | None = None
    idempotency_key: str | None = None


def _writable(case: Case) -> None:
    if case.archived_at is not None or case.status == CaseStatus.archived:
        raise Conflict(
            Message("Case {case_id} is archived: its materials are read-only.", case_id=case.id)
        )


async def check_writable(
    session: AsyncSession, case_id: uuid.UUID, principal: Principal, upload: Upload
) -> Case:
    """The case the caller may attach to (404 out of reach, 409 archived) with the upload's
    fields checked (422)."""
    case = await _case(session, case_id, principal)
    _writable(case)
    if upload.note is not None and "\x00" in upload.note:
        raise InvalidInput(
            Message("Text may not contain the NUL character (U+0000)."), pointer="/note"
        )
    if upload.event_id is not None and not await MaterialRepository(session).event_of_case(
        upload.event_id, case.id
    ):
        raise InvalidInput(
            Message("Event {event_id} is not one of this case's.", event_id=upload.event_id),
            pointer="/event_id",
        )
    return case


@dataclass(frozen=True)
class Prepared:
    """A file checked and kept in the store: its type, blob, image size and thumbnail."""

    content_type: str
    blob: Blob
    width: int | None
    height: int | None
    thumbnail_sha256: str | None


async def prepare(
    store: BlobStore, data: bytes, policy: MaterialsPolicy, *, limit: int
) -> Prepared:
    """Check the content (size against `limit`, type by magic numbers), strip an image's
    metadata, keep it and its thumbnail in the store."""
    if len(data) > limit:
        raise PayloadTooLarge(Message("The file is over the limit of {limit} bytes.", limit=limit))
    if not data:
        raise InvalidInput(Message("The file is empty."), pointer="/file")
    mime = content.detect_all(data)
    if mime is None or mime not in policy.allowed_types:
        raise UnsupportedType(
            Message(
                "Files of type {value} (by their content) are not accepted; the policy "
                "allows {names}.",
                value=mime or "unknown",
                names=", ".join(policy.allowed_types),
            )
        )
    width = height = None
    thumb_sha = None
    if mime in content.IMAGES:
        data = content.strip_metadata(data, mime)
        size = content.image_size(data)
        if size is not None:
            width, height = size
        thumb = content.thumbnail(data)
        if thumb is not None:
            thumb_sha = (await store.put(thumb.data)).sha256
    blob = await store.put(data)
    return Prepared(mime, blob, width, height, thumb_sha)


async def attach(
    session: AsyncSession,
    case_id: uuid.UUID,
    principal: Principal,
    upload: Upload,
    prepared: Prepared,
    policy: MaterialsPolicy,
) -> tuple[Material, bool]:
    """Record the stored file as the case's material, or find the one a retry already made
    (the same Idempotency-Key of the same uploader, or the same content on the case): the
    material and whether it is new. The case row is locked so that concurrent uploads count
    the case's bytes one after the other."""
    repo = MaterialRepository(session)
    case = await _case(session, case_id, principal, for_update=True)
    _writable(case)
    if upload.idempotency_key is not None:
        kept = await repo.by_key(case.id, principal.id, upload.idempotency_key)
        if kept is not None:
            return kept, False
    same = await repo.by_hash(case.id, prepared.blob.sha256)
    if same is not None:
        return same, False
    held = await repo.case_bytes(case.id)
    if held + prepared.blob.size > policy.max_case_bytes:
        raise PayloadTooLarge(
            Message(
                "The case's files would hold {held} bytes, over the limit of {max_case_bytes}.",
                held=held + prepared.blob.size,
                max_case_bytes=policy.max_case_bytes,
            )
        )
    material = Material(
        id=uuid.uuid4(),
        case_id=case.id,
        event_id=upload.event_id,
        kind=upload.kind.value,
        note=upload.note,
        filename=safe_name(
            upload.filename or f"file.{content.KNOWN_TYPES.get(prepared.content_type, 'bin')}"
        ),
        content_type=prepared.content_type,
        size=prepared.blob.size,
        sha256=prepared.blob.sha256,
        width=prepared.width,
        height=prepared.height,
        thumbnail_sha256=prepared.thumbnail_sha256,
        uploaded_by=principal.id,
        idempotency_key=upload.idempotency_key,
    )
    repo.add(material)
    CaseEventRepository(session).record(
        case.id,
        "material_attached",
        actor_id=principal.id,
        data={
            "material_id": str(material.id),
            "kind": material.kind,
            "filename": material.filename,
            "content_type": material.content_type,
            "size": material.size,
            "sha256": material.sha256,
            **({"event_id": str(upload.event_id)} if upload.event_id else {}),
        },
    )
    await session.flush()
    return material, True


# --- withdrawing -----------------------------------------------------------------------


async def withdraw(
    session: AsyncSession, material_id: uuid.UUID, principal: Principal, reason: str
) -> tuple[Material, bool]:
    """撤回: the material stays on record with who withdrew it, when and why; its content is no
    longer served (410). The uploader or the petition office (`desk_cases`) may; an archived
    case is read-only (409), a material withdrawn already is 409."""
    found = await MaterialRepository(session).readable(material_id, principal, for_update=True)
    if found is None:
        raise NotFound(Message("Material {material_id} does not exist.", material_id=material_id))
    material, case = found
    if material.uploaded_by != principal.id and not principal.can(Permission.desk_cases):
        raise Forbidden(
            Message("Only the uploader or the petition office may withdraw a material.")
        )
    _writable(case)
    if material.withdrawn:
        raise Conflict(
            Message("Material {material_id} was already withdrawn.", material_id=material_id)
        )
    if "\x00" in reason:
        raise InvalidInput(
            Message("Text may not contain the NUL character (U+0000)."), pointer="/reason"
        )
    material.withdrawn_at = utcnow()
    material.withdrawn_by = principal.id
    material.withdrawn_reason = reason
    CaseEventRepository(session).record(
        case.id,
        "material_withdrawn",
        actor_id=principal.id,
        data={"material_id": str(material.id), "filename": material.filename, "reason": reason},
    )
    await session.flush()
    return material, _reads(session, principal, case)


def views(materials: Sequence[Material], readable: bool) -> list[MaterialRead]:
    """The views of several materials of one case."""
    return [to_read(m, readable) for m in materials]


async def download_by_link(session: AsyncSession, material_id: uuid.UUID) -> Download:
    """The content a signed link names (its reader was checked when it was issued); 410 once
    withdrawn since."""
    material = await MaterialRepository(session).get(material_id)
    if material is None:
        raise NotFound(Message("Material {material_id} does not exist.", material_id=material_id))
    if material.withdrawn:
        raise Gone(
            Message(
                "Material {material_id} was withdrawn: {withdrawn_reason}",
                material_id=material_id,
                withdrawn_reason=material.withdrawn_reason,
            )
        )
    return Download(
        store_of(session).open(material.sha256),
        material.filename,
        material.content_type,
        material.size,
    )
