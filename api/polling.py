"""Cheap polls (SPEC §6): every read answers an `ETag`; a poll with a matching
`If-None-Match` gets 304 without anything being computed.

The ETag is derived from a data version kept in Redis, bumped after every transaction that
changed data clients read (`api.db.DATA_CHANGED`), plus the request (path, query, caller)
and a short time bucket, so a bump lost to a Redis outage costs at most one bucket of
staleness.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from redis.exceptions import RedisError

from api.audit.service import PRINCIPAL_ID

if TYPE_CHECKING:
    from api.dependencies import AppState

log = logging.getLogger(__name__)

# Seconds an ETag stays valid without a version bump: the bound on staleness when a bump
# could not reach Redis.
ETAG_BUCKET_SECONDS = 30
POLL_RESPONSES: dict[int | str, dict[str, Any]] = {
    304: {"description": "Not modified since the `ETag` given in `If-None-Match`."}
}


def version_key(namespace: str) -> str:
    """The Redis key of the data version."""
    return f"{namespace}:data-version"


async def bump_version(state: AppState) -> None:
    """Note that data changed (after the commit: a poll must never pair the new version with
    the old data)."""
    try:
        await state.arq.incr(version_key(state.settings.arq_queue))
    except (RedisError, OSError):
        log.warning("data version not bumped (Redis away); ETags may lag one bucket")


@dataclass(frozen=True)
class Poll:
    """The ETag this request's answer gets, and whether the caller already has it."""

    etag: str | None
    fresh: bool

    def not_modified(self) -> Response:
        """The 304 answer."""
        return Response(status_code=304, headers=self.headers())

    def headers(self) -> dict[str, str]:
        """ETag and caching headers for the answer."""
        headers = {"Cache-Control": "private, no-cache"}
        if self.etag:
            headers["ETag"] = self.etag
        return headers

    def answer(self, body: Any, status_code: int = 200) -> JSONResponse:
        """The JSON answer with the ETag."""
        return JSONResponse(jsonable_encoder(body), status_code, headers=self.headers())


def _matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    tags = {t.strip() for t in header.split(",")}
    return "*" in tags or etag in tags or etag.removeprefix("W/") in tags


async def poll(request: Request) -> Poll:
    """The request's `Poll`: without a data version (Redis away) there is no ETag."""
    state: AppState = request.app.state.desk
    try:
        version = await state.arq.get(version_key(state.settings.arq_queue))
    except (RedisError, OSError):
        return Poll(None, False)
    caller = getattr(request.state, PRINCIPAL_ID, None)
    parts: Mapping[str, Any] = {
        "v": version or b"0",
        "t": int(time.time() // ETAG_BUCKET_SECONDS),
        "path": request.url.path,
        "query": sorted(request.query_params.multi_items()),
        "caller": str(caller),
    }
    digest = hashlib.blake2b(repr(sorted(parts.items())).encode(), digest_size=12).hexdigest()
    etag = f'W/"{digest}"'
    return Poll(etag, _matches(request.headers.get("if-none-match"), etag))


Polled = Annotated[Poll, Depends(poll)]
