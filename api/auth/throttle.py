"""Login throttling: failed logins counted per user name and per client address in Redis;
past the limit, that name or address is locked for a while (OWASP brute-force defence).

With Redis unreachable the throttle lets logins through (and logs it): during a mass visit
officials must still be able to log in; the passwords stay argon2-slow to guess.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import RedisError

from api.kit.errors import TooManyRequests
from shared.settings import Settings

log = logging.getLogger(__name__)
PREFIX = "pd:login-failures:"


@dataclass(frozen=True)
class LoginThrottle:
    """Counts failures in a window of `lockout_seconds`; a key at its limit is locked until
    the window ends."""

    redis: Redis
    namespace: str  # one install's keys apart from another's on a shared Redis
    max_per_user: int
    max_per_address: int
    lockout_seconds: int

    @classmethod
    def from_settings(cls, redis: Redis, settings: Settings, scope: str = "") -> LoginThrottle:
        """The throttle with the settings' login limits; a `scope` (the public case lookup)
        counts apart from the logins."""
        return cls(
            redis=redis,
            namespace=f"{settings.arq_queue}:{scope}" if scope else settings.arq_queue,
            max_per_user=settings.login_max_failures,
            max_per_address=settings.login_max_failures_per_ip,
            lockout_seconds=settings.login_lockout_seconds,
        )

    def _keys(self, username: str, address: str) -> list[tuple[str, int]]:
        return [
            (f"{PREFIX}{self.namespace}:user:{username.lower()}", self.max_per_user),
            (f"{PREFIX}{self.namespace}:addr:{address}", self.max_per_address),
        ]

    async def check(self, username: str, address: str) -> None:
        """Raise 429 (with Retry-After) while the user name or the address is locked."""
        for key, limit in self._keys(username, address):
            try:
                failures = await self.redis.get(key)
                ttl = await self.redis.ttl(key) if failures is not None else 0
            except RedisError:
                log.warning("login throttle: Redis unreachable; not counting", exc_info=True)
                return
            if failures is not None and int(failures) >= limit:
                raise TooManyRequests(
                    "Too many failed logins; try again later.",
                    retry_after=max(int(ttl), 1),
                )

    async def failed(self, username: str, address: str) -> None:
        """Count a failed login against the user name and the address."""
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                for key, _ in self._keys(username, address):
                    # the window starts at the first failure; INCR keeps the expiry
                    pipe.set(key, 0, ex=self.lockout_seconds, nx=True)
                    pipe.incr(key)
                await pipe.execute()
        except RedisError:
            log.warning("login throttle: Redis unreachable; failure not counted", exc_info=True)

    async def succeeded(self, username: str) -> None:
        """A right password clears the user name's failures (not the address's)."""
        try:
            await self.redis.delete(f"{PREFIX}{self.namespace}:user:{username.lower()}")
        except RedisError:
            log.warning("login throttle: Redis unreachable; failures not cleared", exc_info=True)


@dataclass(frozen=True)
class RequestRate:
    """Requests per caller per minute (a stolen token cannot hammer the API: OWASP API4).
    Fixed one-minute windows in Redis; with Redis unreachable, requests go through."""

    redis: Redis
    namespace: str
    per_minute: int

    async def hit(self, caller: str) -> None:
        """Count one request of `caller`; 429 with Retry-After past the limit."""
        window = int(time.time() // 60)
        key = f"pd:rate:{self.namespace}:{caller}:{window}"
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.incr(key)
                pipe.expire(key, 120)
                count, _ = await pipe.execute()
        except RedisError:
            log.warning("request rate: Redis unreachable; not counting", exc_info=True)
            return
        if int(count) > self.per_minute:
            raise TooManyRequests(
                f"More than {self.per_minute} requests a minute; slow down.",
                retry_after=max(1, 60 - int(time.time()) % 60),
            )
