"""WeCom (企业微信) group robot: a markdown message to `…/cgi-bin/webhook/send?key=…`.

The robot answers HTTP 200 with `{"errcode": 0, "errmsg": "ok"}` on success. Markdown content
is at most 4096 bytes of UTF-8, and a robot may send 20 messages a minute.
"""

from __future__ import annotations

from shared.webhooks import json_body
from worker.channels.base import Outgoing, SendError, receiver_client
from worker.channels.dingtalk import robot_answer
from worker.channels.webhook import USER_AGENT, failure_for_status, guard_url, post_capped

MARKDOWN_LIMIT_BYTES = 4096
TRUNCATION_MARK = "…"
ERR_FREQ = 45009  # api freq out of limit
ERR_INVALID_URL = 93000  # invalid webhook url: wrong or deleted key
ERR_INVALID_MSGTYPE = 40008
ERR_INVALID_PARAMETER = 40058  # e.g. markdown.content exceed max length 4096
THROTTLE_SECONDS = 60.0
PERMANENT_ERRCODES = frozenset({ERR_INVALID_URL, ERR_INVALID_MSGTYPE, ERR_INVALID_PARAMETER})


def truncate_utf8(text: str, limit: int, mark: str = TRUNCATION_MARK) -> str:
    """`text` when its UTF-8 fits in `limit` bytes, else its longest prefix that fits together
    with `mark`, never cutting a character in two."""
    encoded = text.encode("utf-8")
    if len(encoded) <= limit:
        return text
    room = limit - len(mark.encode("utf-8"))
    if room < 0:
        raise ValueError("the limit is smaller than the truncation mark")
    # A cut inside a multi-byte sequence leaves an incomplete tail, which "ignore" drops.
    return encoded[:room].decode("utf-8", errors="ignore") + mark


def markdown_content(title: str | None, text: str) -> str:
    """The markdown the robot posts: the title as a heading, truncated to the robot's limit."""
    content = f"### {title}\n{text}" if title else text
    return truncate_utf8(content, MARKDOWN_LIMIT_BYTES)


class WeComSender:
    """Posts markdown to a WeCom group robot."""

    def __init__(self, *, timeout: float = 5.0, allow_private: bool = False) -> None:
        self.allow_private = allow_private
        self._http = receiver_client(timeout, USER_AGENT)

    async def send(self, message: Outgoing) -> None:
        """Deliver once; errcode 0 is success, anything else raises `SendError`."""
        await guard_url(message.to, allow_private=self.allow_private)
        payload = {
            "msgtype": "markdown",
            "markdown": {"content": markdown_content(message.title, message.text)},
        }
        headers = {"content-type": "application/json; charset=utf-8"}
        response, answer = await post_capped(
            self._http, message.to, content=json_body(payload), headers=headers
        )
        if not response.is_success:
            raise failure_for_status(response, answer)
        code, errmsg = robot_answer(answer)
        if code == 0:
            return
        failure = f"wecom errcode {code}: {errmsg}"
        if code in PERMANENT_ERRCODES or "invalid webhook url" in errmsg.lower():
            raise SendError(failure, permanent=True)
        if code == ERR_FREQ:
            raise SendError(failure, retry_after=THROTTLE_SECONDS)
        raise SendError(failure)

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()
