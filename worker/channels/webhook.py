"""Signed webhooks (Standard Webhooks), and the HTTP plumbing every URL-based channel shares:
the SSRF guard, the capped POST, Retry-After and the status-code policy."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

from shared.webhooks import (
    check_http_url,
    check_public_url,
    ensure_public_url,
    headers_for,
    json_body,
)
from worker.channels.base import Outgoing, SendError, receiver_client

__all__ = [
    "MAX_RESPONSE_BYTES",
    "MAX_RETRY_AFTER_SECONDS",
    "USER_AGENT",
    "WebhookSender",
    "check_public_url",
    "ensure_public_url",
    "failure_for_status",
    "guard_url",
    "parse_retry_after",
    "post_capped",
]

USER_AGENT = "petition-desk-webhooks/1"
MAX_RESPONSE_BYTES = 64 * 1024
MAX_RETRY_AFTER_SECONDS = 24 * 3600.0

_DELAY_SECONDS = re.compile(r"[0-9]{1,10}")


async def guard_url(url: str, *, allow_private: bool) -> None:
    """Raise `SendError` for a URL a channel must not call: permanent for a refused URL,
    retryable when the host does not resolve. `allow_private` skips only the address checks."""
    try:
        if allow_private:
            check_http_url(url)
        else:
            await ensure_public_url(url)
    except ValueError as exc:
        raise SendError(f"refused URL: {exc}", permanent=True) from exc
    except OSError as exc:
        raise SendError(f"cannot resolve the URL's host: {exc}") from exc


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delay-seconds or an HTTP date), capped at a
    day; None when absent or unreadable."""
    if value is None:
        return None
    value = value.strip()
    if _DELAY_SECONDS.fullmatch(value):
        return min(float(value), MAX_RETRY_AFTER_SECONDS)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    delay = (when - (now or datetime.now(UTC))).total_seconds()
    return min(max(delay, 0.0), MAX_RETRY_AFTER_SECONDS)


def failure_for_status(response: httpx.Response, body: bytes = b"") -> SendError:
    """The `SendError` for a non-2xx answer: 410 and other 4xx (but 408 and 429) and 3xx are
    permanent; 429 and 503 carry Retry-After; 5xx and the rest are retryable."""
    status = response.status_code
    snippet = body[:200].decode("utf-8", errors="replace")
    message = f"receiver answered {status}: {snippet}".rstrip(": ")
    if status == 410:
        return SendError(f"{message} (gone: the receiver unsubscribed)", gone=True)
    if status in (429, 503):
        return SendError(
            message, retry_after=parse_retry_after(response.headers.get("retry-after"))
        )
    if 300 <= status < 400:
        # Redirects are not followed: the target was never checked against the SSRF guard,
        # and the same URL will redirect again, so the subscription's URL has to be updated.
        return SendError(f"{message} (redirects are not followed)", permanent=True)
    if 400 <= status < 500 and status != 408:
        return SendError(message, permanent=True)
    return SendError(message)


async def post_capped(
    client: httpx.AsyncClient, url: str, *, content: bytes, headers: dict[str, str]
) -> tuple[httpx.Response, bytes]:
    """POST and read at most `MAX_RESPONSE_BYTES` of the answer; transport errors become a
    retryable `SendError`. Error texts never carry the URL, which may hold a token."""
    try:
        async with client.stream("POST", url, content=content, headers=headers) as response:
            received = bytearray()
            async for chunk in response.aiter_bytes():
                received += chunk
                if len(received) >= MAX_RESPONSE_BYTES:
                    break
            return response, bytes(received[:MAX_RESPONSE_BYTES])
    except httpx.HTTPError as exc:
        raise SendError(f"{type(exc).__name__}: {exc}") from exc


class WebhookSender:
    """POSTs `message.payload` signed per Standard Webhooks; `webhook-id` is the alert id."""

    def __init__(self, *, timeout: float = 5.0, allow_private: bool = False) -> None:
        self.allow_private = allow_private
        self._http = receiver_client(timeout, USER_AGENT)

    async def send(self, message: Outgoing) -> None:
        """Deliver once; 2xx is success, anything else raises `SendError`."""
        if not message.secret:
            raise SendError("the webhook has no signing secret", permanent=True)
        if message.payload is None:
            raise SendError("the webhook message has no payload", permanent=True)
        await guard_url(message.to, allow_private=self.allow_private)
        body = json_body(message.payload)
        try:
            # The timestamp is the attempt's (fresh on every retry, as receivers reject stale
            # ones); the id stays the alert's, so receivers can dedupe retries.
            headers = headers_for(message.secret, str(message.alert_id), int(time.time()), body)
        except ValueError as exc:
            raise SendError(f"cannot sign: {exc}", permanent=True) from exc
        headers["content-type"] = "application/json"
        response, answer = await post_capped(self._http, message.to, content=body, headers=headers)
        if not response.is_success:
            raise failure_for_status(response, answer)

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()
