"""Cheap polls (SPEC §6): every read under `/v1` answers an `ETag`, and a poll whose
`If-None-Match` matches gets 304 before anything runs: no token check, no database.

The ETag is a digest of a data version kept in Redis (bumped after every transaction that
changed data clients read, `api.kit.uow.UnitOfWork.data_changed`), the request (path, query,
`Accept`, the bearer token) and a short time bucket. A 304 only tells the holder of a token
that what it fetched with that token is still current; a revoked token's polls stop matching
within one bucket, and a version bump lost to a Redis outage costs at most one bucket of
staleness.
"""

from __future__ import annotations

import hashlib
import logging
import time

from redis.exceptions import RedisError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.kit.boundary import AppState
from api.kit.uow import UnitOfWork

log = logging.getLogger(__name__)

# Seconds an ETag stays valid without a version bump: the bound on staleness when a bump
# could not reach Redis, and on how long a revoked token's polls still match.
ETAG_BUCKET_SECONDS = 30
CACHE_CONTROL = (b"cache-control", b"private, no-cache")


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


async def bump_if_changed(state: AppState, unit: UnitOfWork) -> None:
    """After-commit hook: bump the data version when the transaction wrote data clients read."""
    if unit.data_changed:
        await bump_version(state)


def polled(method: str, path: str) -> bool:
    """Whether a request is a read that revalidates: GETs of the API, not the worker's
    routes and not logins."""
    return (
        method in ("GET", "HEAD")
        and path.startswith("/v1/")
        and not path.startswith(("/v1/internal/", "/v1/auth/"))
    )


def etag_of(version: bytes, scope: Scope, headers: dict[bytes, bytes]) -> bytes:
    """The ETag of this request's answer at this data version."""
    digest = hashlib.blake2b(digest_size=12)
    for part in (
        version,
        str(int(time.time() // ETAG_BUCKET_SECONDS)).encode(),
        scope["path"].encode(),
        scope.get("query_string", b""),
        headers.get(b"accept", b""),
        headers.get(b"authorization", b""),
    ):
        digest.update(len(part).to_bytes(4, "big") + part)
    return b'W/"' + digest.hexdigest().encode() + b'"'


def matches(header: bytes | None, etag: bytes) -> bool:
    """Whether `If-None-Match` names the ETag (weak comparison, as RFC 9110 asks for GET)."""
    if not header:
        return False
    tags = {t.strip().removeprefix(b"W/") for t in header.split(b",")}
    return b"*" in tags or etag.removeprefix(b"W/") in tags


class Revalidation:
    """Answers 304 to a poll that finds nothing new, and puts the ETag on 200 answers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """ASGI entry point."""
        if scope["type"] != "http" or not polled(scope["method"], scope["path"]):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        state: AppState | None = getattr(scope["app"].state, "desk", None)
        if b"authorization" not in headers or state is None:
            await self.app(scope, receive, send)
            return
        try:
            version = await state.arq.get(version_key(state.settings.arq_queue)) or b"0"
        except (RedisError, OSError):
            await self.app(scope, receive, send)  # no version, no ETag: always the full answer
            return
        etag = etag_of(version, scope, headers)
        if matches(headers.get(b"if-none-match"), etag):
            await send(
                {
                    "type": "http.response.start",
                    "status": 304,
                    "headers": [(b"etag", etag), CACHE_CONTROL],
                }
            )
            await send({"type": "http.response.body", "body": b""})
            return

        async def tagged(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 200:
                names = {name.lower() for name, _ in message.get("headers", [])}
                if b"etag" not in names:
                    # a route's own caching rule stands (a petitioner's file: no-store)
                    extra = [(b"etag", etag)]
                    if CACHE_CONTROL[0] not in names:
                        extra.append(CACHE_CONTROL)
                    message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, tagged)
