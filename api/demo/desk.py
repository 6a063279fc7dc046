"""Who acts in the demo, through which door: the app in-process, the officials' tokens."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from shared.settings import Settings

Script = AsyncIterator[datetime]
"""A story told step by step: each step done, it yields when the next one is due."""


def clock() -> datetime:
    """Now, as the demo's frozen clock stands."""
    return datetime.now(UTC)


class DemoError(RuntimeError):
    """The API refused a step of the demo: the plan and the API disagree."""


@dataclass
class Loaded:
    """What the load did."""

    county_id: str
    units: int
    officials: int
    cases: int
    by_channel: dict[str, int]
    by_category: dict[str, int]
    seconds: float
    steps: int = 0


@dataclass
class Desk:
    """The app in-process, who is who, and the tokens of those who act."""

    http: httpx.AsyncClient
    settings: Settings
    passwords: dict[str, str]
    people: dict[str, dict[str, Any]] = field(default_factory=dict)  # key → official
    units: dict[str, dict[str, Any]] = field(default_factory=dict)  # name → unit
    tokens: dict[str, dict[str, str]] = field(default_factory=dict)
    steps: int = 0
    say: Callable[[str], None] = print
    cases: dict[str, list[str]] = field(default_factory=dict)  # town → its cases' ids

    def key_of(self, official_id: str | None) -> str | None:
        """The key of an official by id (None for someone outside the demo's posts)."""
        return next((k for k, p in self.people.items() if p["id"] == official_id), None)

    async def headers(self, key: str) -> dict[str, str]:
        """The Authorization header of an official (`admin` or a `plan.Person.key`)."""
        if key not in self.tokens:
            username = "admin" if key == "admin" else self.people[key]["username"]
            resp = await self.http.post(
                "/v1/auth/token", data={"username": username, "password": self.passwords[key]}
            )
            self.check(resp, 200, f"log in as {username}")
            self.tokens[key] = {"Authorization": f"Bearer {resp.json()['access_token']}"}
        return self.tokens[key]

    async def call(
        self,
        method: str,
        path: str,
        who: str,
        *,
        expect: int | tuple[int, ...] = 200,
        **kwargs: Any,
    ) -> Any:
        """One request as `who` (or the worker, `who="worker"`); the JSON answer. `expect`
        is the status it must answer, or the statuses it may."""
        if who == "worker":
            headers = {"Authorization": f"Bearer {self.settings.worker_token}"}
        else:
            headers = await self.headers(who)
        resp = await self.http.request(method, path, headers=headers, **kwargs)
        self.steps += 1
        self.check(resp, expect, f"{method} {path}")
        return resp.json() if resp.content else None

    @staticmethod
    def check(resp: httpx.Response, expect: int | tuple[int, ...], what: str) -> None:
        if resp.status_code not in (expect if isinstance(expect, tuple) else (expect,)):
            raise DemoError(f"{what}: {resp.status_code} {resp.text[:500]}")
