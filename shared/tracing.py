"""The request id (X-Request-ID) that follows one piece of work from the API request that
started it, through the outbox and the worker's jobs, to the provider call that delivers it.

The API adopts a caller's id (nginx sets one on every request) or makes one; jobs carry it as
their `request_id` argument; the worker's HTTP clients send it on; every log line shows it."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

import httpx

HEADER = "X-Request-ID"
JOB_KWARG = "request_id"
# What an id may look like: a proxy's hex, a UUID, a caller's token. Anything else (too long,
# spaces, control characters) is replaced, so a log line can never be forged through it.
_VALID = re.compile(r"[A-Za-z0-9._:\-]{1,64}")

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)


def new_request_id() -> str:
    """A fresh id: 32 hex digits."""
    return uuid.uuid4().hex


def adopt(value: str | bytes | None) -> str:
    """The caller's id when it is well formed, else a fresh one."""
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    if value is not None and _VALID.fullmatch(value):
        return value
    return new_request_id()


def current() -> str | None:
    """The id of the work this task is doing, if any."""
    return request_id.get()


async def send_request_id(request: httpx.Request) -> None:
    """httpx request hook: pass the current id on to whoever this call reaches."""
    rid = request_id.get()
    if rid is not None and HEADER not in request.headers:
        request.headers[HEADER] = rid


def event_hooks() -> dict[str, list[Callable[..., Any]]]:
    """`event_hooks` for an `httpx.AsyncClient` that sends the current id with every call."""
    return {"request": [send_request_id]}
