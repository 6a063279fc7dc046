"""Typed HTTP client the worker uses to call the API's internal endpoints (`shared.jobs`)."""

from __future__ import annotations

from typing import TypeVar

import httpx
from pydantic import BaseModel

from shared import tracing
from shared.jobs import Call

Body = TypeVar("Body", bound=BaseModel)
Answer = TypeVar("Answer", bound=BaseModel)


class ApiClient:
    """Calls the API as the worker; one instance per worker process, made in `on_startup`."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout,
            transport=transport,
            event_hooks=tracing.event_hooks(),
        )

    async def aclose(self) -> None:
        """Close the underlying connection pool."""
        await self._http.aclose()

    async def call(self, call: Call[Body, Answer], body: Body) -> Answer:
        """`POST` the body to the call's endpoint and read its answer; an HTTP error (the API
        unreachable, or answering 4xx/5xx) raises `httpx.HTTPError`."""
        resp = await self._http.post(call.path, json=body.model_dump(mode="json"))
        resp.raise_for_status()
        return call.answer.model_validate(resp.json())
