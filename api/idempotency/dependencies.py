"""The `Idempotency-Key` header and turning an idempotent result into a response."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from api.idempotency.service import IdempotentResult, fingerprint, run_once

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        description="Retries with the same key and body get the first response (kept ≥ 7 days).",
    ),
]


def respond(result: IdempotentResult) -> JSONResponse:
    """The HTTP response; replays say so in `Idempotent-Replayed`."""
    headers = {"Idempotent-Replayed": "true"} if result.replayed else None
    return JSONResponse(result.body, status_code=result.status_code, headers=headers)


async def answer_once(
    session: AsyncSession,
    caller_id: uuid.UUID,
    request: Request,
    key: str | None,
    body: BaseModel | None,
    status_code: int,
    produce: Callable[[], Awaitable[BaseModel]],
) -> JSONResponse:
    """Answer `produce()` once per caller and `Idempotency-Key` (offline clients retry): a
    retry with the same key and body gets the first answer again."""
    result = await run_once(
        session,
        caller_id=caller_id,
        key=key,
        request_fingerprint=fingerprint(request.method, request.url.path, body),
        status_code=status_code,
        produce=produce,
    )
    return respond(result)
