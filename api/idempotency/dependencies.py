"""The `Idempotency-Key` header and answering a write once per key (`Once`)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth.dependencies import CurrentPrincipal
from api.idempotency.service import IdempotentResult, fingerprint, run_once
from api.kit.boundary import DbSession

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


@dataclass(frozen=True)
class AnswerOnce:
    """A write's answer, given once per caller and `Idempotency-Key` (offline clients retry):
    a retry with the same key and body gets the first answer again."""

    session: AsyncSession
    caller_id: uuid.UUID
    request: Request
    key: str | None

    @property
    def kept(self) -> bool:
        """Whether the answer is stored for retries (a request that carried a key)."""
        return self.key is not None

    async def __call__(
        self,
        body: BaseModel | None,
        status_code: int,
        produce: Callable[[], Awaitable[BaseModel]],
    ) -> JSONResponse:
        """Answer `produce()` with `status_code`, or replay the answer already given for this
        key and `body`."""
        result = await run_once(
            self.session,
            caller_id=self.caller_id,
            key=self.key,
            # a digest of the body only when a key asks for one: most writes carry none
            request_fingerprint=(
                fingerprint(self.request.method, self.request.url.path, body)
                if self.key is not None
                else ""
            ),
            status_code=status_code,
            produce=produce,
        )
        return respond(result)


async def answer_once(
    session: DbSession,
    principal: CurrentPrincipal,
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> AnswerOnce:
    """The request's `AnswerOnce`: its session, caller and `Idempotency-Key`."""
    return AnswerOnce(session, principal.id, request, idempotency_key)


Once = Annotated[AnswerOnce, Depends(answer_once)]
