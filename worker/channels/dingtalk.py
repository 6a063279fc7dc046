"""DingTalk (钉钉) custom group robot: a markdown message to the robot's webhook URL.

With the robot's 加签 security setting, each request carries `timestamp` (ms) and
`sign = urlEncode(base64(HmacSHA256(key=secret, msg=f"{timestamp}\\n{secret}")))`; DingTalk
rejects timestamps more than an hour off. DingTalk answers HTTP 200 with `{"errcode": 0}` on
success and a non-zero errcode otherwise.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from shared.webhooks import json_body
from worker.channels.base import Outgoing, SendError, receiver_client
from worker.channels.webhook import USER_AGENT, failure_for_status, guard_url, post_capped

ERR_SECURITY = 310000  # sign not match / keywords not in content / IP not in whitelist
ERR_TOKEN = 300001  # token is not exist: the robot was removed or the URL is wrong
ERR_TOO_FAST = 130101  # send too fast, exceed 20 times per minute
# DingTalk's robot doc: more than 20 messages a minute and the robot is throttled for 10
# minutes, so an earlier retry would only be refused again.
THROTTLE_SECONDS = 600.0
PERMANENT_ERRCODES = frozenset({ERR_SECURITY, ERR_TOKEN})


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """The base64 HMAC-SHA256 of `"{timestamp}\\n{secret}"` keyed with the secret (not yet
    URL-encoded)."""
    digest = hmac.new(
        secret.encode("utf-8"), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256
    ).digest()
    return base64.b64encode(digest).decode("ascii")


def signed_url(url: str, secret: str, timestamp_ms: int) -> str:
    """The robot URL with `timestamp` and the URL-encoded `sign` (replacing any already there)."""
    parts = urlsplit(url)
    query = [
        (name, value)
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
        if name not in ("timestamp", "sign")
    ]
    query += [("timestamp", str(timestamp_ms)), ("sign", dingtalk_sign(secret, timestamp_ms))]
    return urlunsplit(parts._replace(query=urlencode(query)))


def markdown_message(title: str | None, text: str) -> dict[str, Any]:
    """The robot's markdown body; the title is what the chat list shows, so it is repeated as
    a heading for the message itself."""
    heading = title or text.strip().split("\n", 1)[0][:64] or "通知"
    shown = f"#### {title}\n\n{text}" if title else text
    return {"msgtype": "markdown", "markdown": {"title": heading, "text": shown}}


def robot_answer(body: bytes) -> tuple[int, str]:
    """`(errcode, errmsg)` of a robot's JSON answer; a retryable `SendError` when unreadable."""
    try:
        answer = json.loads(body)
        code = answer["errcode"]
    except (ValueError, TypeError, KeyError) as exc:
        raise SendError(f"unreadable robot answer: {body[:200]!r}") from exc
    if not isinstance(code, int):
        raise SendError(f"unreadable robot answer: {body[:200]!r}")
    return code, str(answer.get("errmsg", ""))


class DingTalkSender:
    """Posts markdown to a DingTalk custom robot, signing when `message.secret` is set."""

    def __init__(self, *, timeout: float = 5.0, allow_private: bool = False) -> None:
        self.allow_private = allow_private
        self._http = receiver_client(timeout, USER_AGENT)

    async def send(self, message: Outgoing) -> None:
        """Deliver once; errcode 0 is success, anything else raises `SendError`."""
        await guard_url(message.to, allow_private=self.allow_private)
        url = message.to
        if message.secret:
            url = signed_url(url, message.secret, int(time.time() * 1000))
        body = json_body(markdown_message(message.title, message.text))
        headers = {"content-type": "application/json; charset=utf-8"}
        response, answer = await post_capped(self._http, url, content=body, headers=headers)
        if not response.is_success:
            raise failure_for_status(response, answer)
        code, errmsg = robot_answer(answer)
        if code == 0:
            return
        failure = f"dingtalk errcode {code}: {errmsg}"
        if code in PERMANENT_ERRCODES:
            raise SendError(failure, permanent=True)
        if code == ERR_TOO_FAST:
            raise SendError(failure, retry_after=THROTTLE_SECONDS)
        raise SendError(failure)

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()
