"""What every channel implements, and how it says a delivery failed."""

from __future__ import annotations

from typing import Protocol

import httpx

from shared import tracing
from shared.contracts import AlertMessage

ADDRESSED_CHANNELS = frozenset({"webhook", "dingtalk", "wecom"})
"""Channels whose receiver's full URL and signing secret are read from the API at send time."""


class Outgoing(AlertMessage):
    """An alert as it leaves, for one attempt: on an addressed channel `to` is the receiver's
    full URL and `secret` what signs the request, both read from the API just now (so each
    retry signs with a fresh timestamp), never queued."""

    secret: str | None = None


class SendError(Exception):
    """A delivery attempt failed.

    `retry_after` (seconds) is the receiver's own wish (HTTP 429 / Retry-After) and overrides
    the backoff; `permanent` means retrying cannot help (HTTP 410 Gone, a rejected signature,
    an invalid number), so the delivery fails at once and the failure escalates; `gone` is
    a webhook receiver's 410: its subscription is disabled.
    """

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        permanent: bool = False,
        gone: bool = False,
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.permanent = permanent or gone
        self.gone = gone


class Sender(Protocol):
    """Delivers one message on one channel, or raises `SendError`."""

    async def send(self, message: Outgoing) -> None:
        """Deliver the message; `message.alert_id` is the stable id receivers dedupe on."""

    async def aclose(self) -> None:
        """Release connections."""


def pooled_client(timeout: float, connections: int) -> httpx.AsyncClient:
    """An HTTP client keeping `connections` connections alive: the worker has that many
    messages in flight, and httpx's default keeps only 20 (the rest reconnect every time)."""
    return httpx.AsyncClient(
        timeout=timeout,
        limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
        event_hooks=tracing.event_hooks(),
    )


def receiver_client(timeout: float, user_agent: str) -> httpx.AsyncClient:
    """An HTTP client for officials' own systems: no redirects (a receiver must not bounce
    an alert elsewhere), our user agent, and the request id on every call."""
    return httpx.AsyncClient(
        timeout=timeout,
        follow_redirects=False,
        headers={"user-agent": user_agent},
        event_hooks=tracing.event_hooks(),
    )
