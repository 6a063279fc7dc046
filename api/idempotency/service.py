"""Idempotency-Key semantics: same key and body → the stored response; same key, other body →
422; same key while the first request is still running → 409."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from api.idempotency.repository import IdempotencyRepository
from api.kit.errors import Conflict, InvalidInput
from api.kit.i18n import Message
from api.models.idempotency import IdempotencyRecord


@dataclass(frozen=True)
class IdempotentResult:
    """A response body and status, fresh or replayed."""

    status_code: int
    body: Any
    replayed: bool


def fingerprint(method: str, path: str, body: BaseModel | None) -> str:
    """A digest of what the request asks for, to tell a retry from a different request."""
    payload = body.model_dump(mode="json", exclude_unset=True) if body is not None else None
    canonical = json.dumps([method, path, payload], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


async def run_once(
    session: AsyncSession,
    *,
    caller_id: uuid.UUID,
    key: str | None,
    request_fingerprint: str,
    status_code: int,
    produce: Callable[[], Awaitable[BaseModel]],
) -> IdempotentResult:
    """Run `produce` unless this caller already got a response for `key`.

    The stored response is written in the same transaction as the change it describes, so a
    retry after a crash either finds both or neither.
    """
    if key is None:
        result = await produce()
        return IdempotentResult(status_code, result.model_dump(mode="json"), replayed=False)
    repo = IdempotencyRepository(session)
    if not await repo.try_lock(caller_id, key):
        raise Conflict(
            Message("A request with this Idempotency-Key is still being processed; retry later."),
            header="Idempotency-Key",
        )
    stored = await repo.get(caller_id, key)
    if stored is not None:
        if stored.fingerprint != request_fingerprint:
            raise InvalidInput(
                Message("This Idempotency-Key was used for a different request."),
                errors=[
                    {
                        "in": "header",
                        "name": "Idempotency-Key",
                        "detail": Message("This key was used for a different request."),
                    }
                ],
            )
        return IdempotentResult(stored.status_code, stored.body, replayed=True)
    result = await produce()
    body = result.model_dump(mode="json")
    repo.add(
        IdempotencyRecord(
            caller_id=caller_id,
            key=key,
            fingerprint=request_fingerprint,
            status_code=status_code,
            body=body,
        )
    )
    await session.flush()
    return IdempotentResult(status_code, body, replayed=False)
