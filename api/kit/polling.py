"""Cheap polls (SPEC §6): every read under `/v1` answers an `ETag`, and a poll whose
`If-None-Match` matches gets 304 before anything runs: no token check, no database.

The ETag is a digest of data versions kept in Redis, the request (path, query, `Accept`, the
bearer token) and a short time bucket. A 304 only tells the holder of a token that what it
fetched with that token is still current; a revoked token's polls stop matching within one
bucket, and a version bump lost to a Redis outage costs at most one bucket of staleness.

**Versions per county** (issue 24: one deployment for a city or province). Redis keeps

- one version per county (`…:data-version:county:<id>`), bumped after a transaction that
  changed that county's data (`api.kit.uow.DataChanges`: cases carry their county, the rows
  hanging off a case or a unit are found through them, `api.timeline.owners`);
- the install-wide version (`…:data-version`), bumped by a change no county owns (the
  directory, the policy, categories …) or one whose county could not be told: every ETag
  carries it, so such a change reaches every poller;
- the "any change" version (`…:data-version:any`), bumped with every change: what the
  deployment's pollers (the deployment's admin, a province bureau of more counties than
  `SCOPE_COUNTIES_MAX`) compare.

All of one transaction's bumps go in one pipelined MULTI after its commit.

**How the scope travels to the 304, which runs before auth.** The auth dependency already
has, from its one statement, the counties the caller's unit lies in or holds
(`auth.repository.TokenRepository.caller_of_login`, and for a service token, such as a
county's dashboard, `units.repository.UnitRepository.reach_of`: the county above a village
worker's village, a county official's county, a city's counties; no statement of its own). It leaves
them on the request (`note_caller`); when a 200 is answered the middleware stores them in
Redis under a hash of the `Authorization` header (`…:poll-scope:<hash>`, a TTL). A poll
reads that scope and its versions in one round trip (a small Lua script: GET the scope, MGET
the install-wide, "any" and county versions) and compares the ETag of that scope. A token's
first answer, or one whose scope Redis lost, compares the "any change" version (always safe:
every bump bumps it); the answer that stores a new scope reads the scope's versions in the
same script and uses them only if the "any" version did not move since the app began reading
(else the "any" ETag: a version must never be paired with older data). A poll matching the
"any" ETag is answered 304 too (nothing changed anywhere). Redis away: no ETag, full answers.
A scope gone stale (an official moved) lasts at most one bucket: the bucket's next 200
stores the new one.
"""

from __future__ import annotations

import hashlib
import logging
import time
import uuid
from collections.abc import Collection
from dataclasses import dataclass

from redis.exceptions import RedisError
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.kit.boundary import AppState
from api.kit.uow import UnitOfWork

log = logging.getLogger(__name__)

# Seconds an ETag stays valid without a version bump: the bound on staleness when a bump
# could not reach Redis, and on how long a revoked token's polls still match.
ETAG_BUCKET_SECONDS = 30
# A poll reads one version per county of its scope: a caller holding more counties than this
# (a province's bureau) compares the "any change" version instead, as precise in practice for
# one who sees most of the deployment, and each poll's read stays a few dozen keys.
SCOPE_COUNTIES_MAX = 32
# How long Redis keeps a token's scope after the answer that stored it: long enough that a
# dashboard polling all day rewrites it once an hour (one 200 more), short enough that the
# scopes of ended tokens do not pile up. Not a staleness bound (the bucket is).
SCOPE_TTL_SECONDS = 3600
CACHE_CONTROL = (b"cache-control", b"private, no-cache")
EVERYTHING = "*"
# request.state attribute: the scope label of the authenticated caller (`note_caller`).
CALLER_SCOPE = "poll_scope"

# KEYS[1]: the token's scope; ARGV[1]: the versions' key prefix; ARGV[2]: a scope to store
# (empty: read the stored one); ARGV[3]: its TTL. Answers the scope ('' when unknown), then
# the install-wide, "any change" and (a county scope) each county's version.
_READ_VERSIONS = """
local scope
if ARGV[2] ~= '' then
  redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
  scope = ARGV[2]
else
  scope = redis.call('GET', KEYS[1]) or ''
end
local keys = {ARGV[1], ARGV[1] .. ':any'}
if scope ~= '' and scope ~= '*' then
  for county in string.gmatch(scope, '[^,]+') do
    keys[#keys + 1] = ARGV[1] .. ':county:' .. county
  end
end
local values = redis.call('MGET', unpack(keys))
local out = {scope}
for i = 1, #keys do out[i + 1] = values[i] or '0' end
return out
"""


def version_key(namespace: str) -> str:
    """The Redis key of the install-wide data version (every ETag carries it)."""
    return f"{namespace}:data-version"


def any_version_key(namespace: str) -> str:
    """The Redis key of the version bumped by every change, whoever's."""
    return f"{version_key(namespace)}:any"


def county_version_key(namespace: str, county_id: uuid.UUID | str) -> str:
    """The Redis key of one county's data version."""
    return f"{version_key(namespace)}:county:{county_id}"


def scope_key(namespace: str, authorization: bytes) -> str:
    """The Redis key of the scope of the token in an `Authorization` header (by its hash:
    Redis never holds a token)."""
    return f"{namespace}:poll-scope:{hashlib.blake2b(authorization, digest_size=16).hexdigest()}"


def scope_label(counties: Collection[uuid.UUID] | None) -> str:
    """How a scope is written: its counties' ids in order, or `*` for everything."""
    if not counties or len(counties) > SCOPE_COUNTIES_MAX:
        return EVERYTHING
    return ",".join(sorted(str(c) for c in counties))


def note_caller(request: Request, counties: Collection[uuid.UUID] | None) -> None:
    """Tell the middleware whose versions cover what the authenticated caller reads: its
    counties, None for everything."""
    setattr(request.state, CALLER_SCOPE, scope_label(counties))


async def bump_versions(state: AppState, counties: Collection[uuid.UUID] | None) -> None:
    """Note that data changed, in these counties (None: anywhere, the install-wide version),
    in one round trip; after the commit: a poll must never pair the new version with the old
    data."""
    namespace = state.settings.arq_queue
    keys = [any_version_key(namespace)]
    if counties is None:
        keys.append(version_key(namespace))
    else:
        keys += [county_version_key(namespace, c) for c in sorted(counties)]
    try:
        async with state.arq.pipeline(transaction=True) as pipe:
            for key in keys:
                pipe.incr(key)
            await pipe.execute()
    except (RedisError, OSError):
        log.warning("data version not bumped (Redis away); ETags may lag one bucket")


async def bump_version(state: AppState) -> None:
    """Note that data changed everywhere."""
    await bump_versions(state, None)


async def bump_if_changed(state: AppState, unit: UnitOfWork) -> None:
    """After-commit hook: bump the versions of the counties the transaction changed (all of
    them when it changed data no county owns)."""
    if unit.data_changed:
        await bump_versions(state, unit.changes.counties_to_bump(unit.caller_counties))


@dataclass(frozen=True)
class Versions:
    """A token's scope and the versions it compares, as read at one instant."""

    scope: bytes  # b"" when Redis holds none for the token, b"*", or county ids
    install: bytes
    any: bytes
    counties: tuple[bytes, ...]

    def scoped(self) -> bytes:
        """What the scope's ETag digests."""
        if self.scope in (b"", EVERYTHING.encode()):
            return self.everywhere()
        return b"|".join((self.scope, self.install, *self.counties))

    def everywhere(self) -> bytes:
        """What the "any change" ETag digests (valid for every scope)."""
        return b"|".join((EVERYTHING.encode(), self.install, self.any))


async def read_versions(state: AppState, authorization: bytes, store: str = "") -> Versions:
    """The token's scope and its versions in one round trip, storing `store` as its scope
    first when given."""
    namespace = state.settings.arq_queue
    script = state.arq.register_script(_READ_VERSIONS)
    found = await script(
        keys=[scope_key(namespace, authorization)],
        args=[version_key(namespace), store, SCOPE_TTL_SECONDS],
    )
    scope, install, any_, *counties = (_bytes(v) for v in found)
    return Versions(scope=scope, install=install, any=any_, counties=tuple(counties))


def _bytes(value: object) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode()


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
        authorization = headers.get(b"authorization")
        if authorization is None or state is None:
            await self.app(scope, receive, send)
            return
        try:
            before = await read_versions(state, authorization)
        except (RedisError, OSError):
            await self.app(scope, receive, send)  # no version, no ETag: always the full answer
            return
        wide = etag_of(before.everywhere(), scope, headers)
        scoped = etag_of(before.scoped(), scope, headers)
        for etag in dict.fromkeys((scoped, wide)):
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
        # the auth dependency leaves the caller's scope here (`note_caller`)
        request_state: dict[str, object] = scope.setdefault("state", {})

        async def tagged(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 200:
                names = {name.lower() for name, _ in message.get("headers", [])}
                if b"etag" not in names:
                    # a route's own caching rule stands (a petitioner's file: no-store)
                    caller = request_state.get(CALLER_SCOPE)
                    etag = await answer_etag(state, scope, headers, before, caller)
                    extra = [(b"etag", etag)]
                    if CACHE_CONTROL[0] not in names:
                        extra.append(CACHE_CONTROL)
                    message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, tagged)


async def answer_etag(
    state: AppState,
    scope: Scope,
    headers: dict[bytes, bytes],
    before: Versions,
    caller: object,
) -> bytes:
    """The ETag of a 200: of the caller's scope when Redis held it as the request began,
    else of the "any change" version read then, unless storing the caller's scope (the
    next polls compare it) finds that nothing changed anywhere since."""
    wide = etag_of(before.everywhere(), scope, headers)
    if not isinstance(caller, str) or caller == EVERYTHING:
        if caller == EVERYTHING and before.scope not in (b"", EVERYTHING.encode()):
            await _store(state, headers, caller)  # no longer the county scope Redis holds
        return wide
    if caller.encode() == before.scope:
        return etag_of(before.scoped(), scope, headers)
    after = await _store(state, headers, caller)
    if after is None or after.any != before.any:
        return wide  # something changed meanwhile: the scope's versions may be newer than the data
    return etag_of(after.scoped(), scope, headers)


async def _store(state: AppState, headers: dict[bytes, bytes], caller: str) -> Versions | None:
    try:
        return await read_versions(state, headers[b"authorization"], store=caller)
    except (RedisError, OSError):
        return None
