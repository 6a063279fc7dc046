"""The `Idempotency-Key` header and turning an idempotent result into a response."""

from __future__ import annotations

from typing import Annotated

from fastapi import Header
from fastapi.responses import JSONResponse

from api.idempotency.service import IdempotentResult

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
