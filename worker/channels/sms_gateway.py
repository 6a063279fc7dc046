"""SMS through the generic HTTP gateway, and to the log on machines without one."""

from __future__ import annotations

import logging

import httpx

from worker.channels.base import Outgoing, SendError, pooled_client

log = logging.getLogger("worker.sms")


def e164(number: str) -> str:
    """A mainland number in E.164 form (`+86…`); numbers with a `+` are kept."""
    digits = number.strip().replace(" ", "").replace("-", "")
    return digits if digits.startswith("+") else "+86" + digits.removeprefix("0086")


def retry_after_seconds(resp: httpx.Response) -> float | None:
    """The `Retry-After` of a response in seconds (delta form), if any."""
    value = resp.headers.get("retry-after", "")
    return float(value) if value.replace(".", "", 1).isdigit() else None


class HttpGatewaySender:
    """`POST {url}` with `{"message_id", "to", "text"}`; any 2xx is success."""

    def __init__(self, url: str, timeout: float, *, connections: int = 50) -> None:
        self.url = url
        self._http = pooled_client(timeout, connections)

    async def send(self, message: Outgoing) -> None:
        """Send through the gateway; non-2xx and transport errors raise `SendError`."""
        body = {"message_id": str(message.alert_id), "to": e164(message.to), "text": message.text}
        try:
            resp = await self._http.post(self.url, json=body)
        except httpx.HTTPError as exc:
            raise SendError(f"{type(exc).__name__}: {exc}") from exc
        if resp.status_code == 429:
            raise SendError("gateway rate limit", retry_after=retry_after_seconds(resp))
        if not resp.is_success:
            raise SendError(f"gateway answered {resp.status_code}: {resp.text[:200]}")

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()


class LogSender:
    """Writes messages to the worker's log (the `make run` default, no gateway)."""

    async def send(self, message: Outgoing) -> None:
        """Log the message as if sent."""
        log.info("SMS %s to %s: %s", message.alert_id, e164(message.to), message.text)

    async def aclose(self) -> None:
        """Nothing to release."""
