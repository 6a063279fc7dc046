"""Login throttling: failed logins counted per user name, per client address, and per name
and address together in Redis; past the limit, that address is locked for a while, and so is
the name, for every address that has failed on it (OWASP brute-force defence).

A locked name does not lock its owner out: an address that has not failed on the name may
still try it (so nobody can lock `admin` for everyone by guessing at it), and a wrong password
from there locks that address for the name too. A guesser thus gets one try per address and
window on a locked name, and the per-address limit on top.

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
from api.kit.i18n import Message
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

    def _user(self, username: str) -> str:
        return f"{PREFIX}{self.namespace}:user:{username.lower()}"

    def _address(self, address: str) -> str:
        return f"{PREFIX}{self.namespace}:addr:{address}"

    def _pair(self, username: str, address: str) -> str:
        return f"{PREFIX}{self.namespace}:pair:{username.lower()}@{address}"

    async def check(self, username: str, address: str) -> None:
        """Raise 429 (with Retry-After) while the address is locked, or while the user name is
        locked and this address has failed on it."""
        keys = [self._address(address), self._user(username), self._pair(username, address)]
        try:
            by_address, by_user, by_pair = await self.redis.mget(keys)
            if by_address is not None and int(by_address) >= self.max_per_address:
                locked = keys[0]
            elif by_user is not None and int(by_user) >= self.max_per_user and by_pair:
                locked = keys[1]
            else:
                return
            ttl = await self.redis.ttl(locked)
        except RedisError:
            log.warning("login throttle: Redis unreachable; not counting", exc_info=True)
            return
        raise TooManyRequests(
            Message("Too many failed logins; try again later."), retry_after=max(int(ttl), 1)
        )

    async def failed(self, username: str, address: str) -> None:
        """Count a failed login against the user name and the address."""
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                for key in (
                    self._user(username),
                    self._address(address),
                    self._pair(username, address),
                ):
                    # the window starts at the first failure; INCR keeps the expiry
                    pipe.set(key, 0, ex=self.lockout_seconds, nx=True)
                    pipe.incr(key)
                await pipe.execute()
        except RedisError:
            log.warning("login throttle: Redis unreachable; failure not counted", exc_info=True)

    async def succeeded(self, username: str, address: str) -> None:
        """A right password clears the user name's failures and this address's on it (not
        the address's on the whole)."""
        try:
            await self.redis.delete(self._user(username), self._pair(username, address))
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
                Message(
                    "More than {per_minute} requests a minute; slow down.",
                    per_minute=self.per_minute,
                ),
                retry_after=max(1, 60 - int(time.time()) % 60),
            )
