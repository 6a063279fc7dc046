"""Local receivers that check what the webhook channels send, each on a free loopback port:
a Standard Webhooks endpoint (verifies signatures, dedupes on webhook-id), a DingTalk custom
robot (checks the timestamp and recomputes the sign) and a WeCom group robot (checks the key
and the markdown)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

from shared.webhooks import WebhookVerificationError, verify

Answer = tuple[int, dict[str, str], bytes]


@dataclass
class Request:
    """One request a fake saw, and what it answered."""

    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    status: int
    answer: dict[str, Any]
    at: float

    def json(self) -> Any:
        """The body as JSON."""
        return json.loads(self.body)


def _json_answer(status: int, answer: dict[str, Any], **headers: str) -> Answer:
    return status, {"content-type": "application/json", **headers}, json.dumps(answer).encode()


class _LocalServer:
    """A threading HTTP server on 127.0.0.1 that hands every POST to `respond`."""

    path = "/"
    _server: ThreadingHTTPServer | None = None

    def respond(
        self, path: str, query: dict[str, list[str]], headers: dict[str, str], body: bytes
    ) -> tuple[Answer, dict[str, Any]]:
        """The answer to one request, and the JSON summary to record with it."""
        raise NotImplementedError

    def record(self, request: Request) -> None:
        """Keep one request (called with the answer already decided)."""
        raise NotImplementedError

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:<port>`."""
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> Self:
        """Listen on a free loopback port in a background thread."""
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(length)
                parts = urlsplit(self.path)
                query = parse_qs(parts.query, keep_blank_values=True)
                headers = {name.lower(): value for name, value in self.headers.items()}
                (status, answer_headers, payload), summary = fake.respond(
                    parts.path, query, headers, body
                )
                fake.record(Request(parts.path, query, headers, body, status, summary, time.time()))
                self.send_response(status)
                for name, value in answer_headers.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop listening."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


@dataclass
class FakeWebhookReceiver(_LocalServer):
    """A Standard Webhooks endpoint: 401 unless `shared.webhooks.verify` accepts the request;
    a webhook-id already accepted is answered 200 again and recorded in `duplicates`; otherwise
    the first `fail_first` attempts of each id get `fail_status` (with `Retry-After:
    retry_after` when set), then 200."""

    secret: str
    fail_first: int = 0
    fail_status: int = 500
    retry_after: str | None = None
    requests: list[Request] = field(default_factory=list)
    accepted: dict[str, bytes] = field(default_factory=dict)
    duplicates: list[Request] = field(default_factory=list)
    _attempts: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        """Where to POST."""
        return self.base_url + "/hooks/petition-desk"

    def respond(
        self, path: str, query: dict[str, list[str]], headers: dict[str, str], body: bytes
    ) -> tuple[Answer, dict[str, Any]]:
        """Verify, dedupe, then fail or accept."""
        try:
            verify(self.secret, headers, body)
        except WebhookVerificationError as exc:
            return _json_answer(401, {"error": str(exc)}), {"verified": False, "error": str(exc)}
        msg_id = headers["webhook-id"]
        with self._lock:
            if msg_id in self.accepted:
                return _json_answer(200, {"ok": True}), {"verified": True, "duplicate": True}
            self._attempts[msg_id] += 1
            if self._attempts[msg_id] <= self.fail_first:
                extra = {"retry-after": self.retry_after} if self.retry_after else {}
                answer = _json_answer(self.fail_status, {"ok": False}, **extra)
                return answer, {"verified": True, "failed": True}
            self.accepted[msg_id] = body
        return _json_answer(200, {"ok": True}), {"verified": True}

    def record(self, request: Request) -> None:
        """Keep the request; duplicates also go to `duplicates`."""
        with self._lock:
            self.requests.append(request)
            if request.answer.get("duplicate"):
                self.duplicates.append(request)

    def delivered(self) -> list[Any]:
        """The JSON bodies accepted, once per webhook-id."""
        with self._lock:
            return [json.loads(body) for body in self.accepted.values()]


@dataclass
class FakeDingTalkRobot(_LocalServer):
    """A DingTalk custom robot at `/robot/send?access_token=…`: errcode 300001 for another
    token; with a `secret`, 310000 unless the timestamp is within an hour and the sign is
    `base64(HmacSHA256(secret, f"{timestamp}\\n{secret}"))`; the body must be a markdown
    message with a title and text. `fail_errcode` answers the first `fail_first` requests."""

    access_token: str = "fake-dingtalk-token"
    secret: str | None = None
    tolerance_ms: int = 3600 * 1000
    fail_first: int = 0
    fail_errcode: int = 130101
    requests: list[Request] = field(default_factory=list)
    _valid_seen: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        """The robot's webhook URL, as DingTalk shows it (without timestamp and sign)."""
        return f"{self.base_url}/robot/send?access_token={self.access_token}"

    def _check(self, path: str, query: dict[str, list[str]], body: bytes) -> tuple[int, str]:
        if path != "/robot/send" or query.get("access_token") != [self.access_token]:
            return 300001, "token is not exist"
        if self.secret is not None:
            timestamps, signs = query.get("timestamp", []), query.get("sign", [])
            if len(timestamps) != 1 or len(signs) != 1 or not timestamps[0].isdigit():
                return 310000, "sign not match (missing timestamp or sign)"
            timestamp = int(timestamps[0])
            if abs(time.time() * 1000 - timestamp) > self.tolerance_ms:
                return 310000, "sign not match (timestamp out of range)"
            digest = hmac.new(
                self.secret.encode(), f"{timestamp}\n{self.secret}".encode(), hashlib.sha256
            ).digest()
            if not hmac.compare_digest(base64.b64encode(digest).decode(), signs[0]):
                return 310000, "sign not match"
        try:
            message = json.loads(body.decode("utf-8"))
            markdown = message["markdown"]
            ok = message["msgtype"] == "markdown" and all(
                isinstance(markdown.get(key), str) and markdown[key] for key in ("title", "text")
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            ok = False
        if not ok:
            return 40035, "invalid markdown message"
        with self._lock:
            self._valid_seen += 1
            if self._valid_seen <= self.fail_first:
                return self.fail_errcode, "send too fast, exceed 20 times per minute"
        return 0, "ok"

    def respond(
        self, path: str, query: dict[str, list[str]], headers: dict[str, str], body: bytes
    ) -> tuple[Answer, dict[str, Any]]:
        """Always HTTP 200, the verdict in errcode/errmsg."""
        code, errmsg = self._check(path, query, body)
        answer = {"errcode": code, "errmsg": errmsg}
        return _json_answer(200, answer), answer

    def record(self, request: Request) -> None:
        """Keep the request."""
        with self._lock:
            self.requests.append(request)

    def delivered(self) -> list[dict[str, Any]]:
        """The markdown of every message the robot accepted."""
        with self._lock:
            return [r.json()["markdown"] for r in self.requests if r.answer["errcode"] == 0]


@dataclass
class FakeWeComRobot(_LocalServer):
    """A WeCom group robot at `/cgi-bin/webhook/send?key=…`: errcode 93000 for another key,
    40058 for markdown content over 4096 bytes, 40008 for another msgtype; `fail_errcode`
    answers the first `fail_first` requests."""

    key: str = "00000000-fake-4bc4-97a0-0ec2wecomkey"
    limit_bytes: int = 4096
    fail_first: int = 0
    fail_errcode: int = 45009
    requests: list[Request] = field(default_factory=list)
    _valid_seen: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        """The robot's webhook URL."""
        return f"{self.base_url}/cgi-bin/webhook/send?key={self.key}"

    def _check(self, path: str, query: dict[str, list[str]], body: bytes) -> tuple[int, str]:
        if path != "/cgi-bin/webhook/send" or query.get("key") != [self.key]:
            return 93000, "invalid webhook url"
        try:
            message = json.loads(body.decode("utf-8"))
        except ValueError:
            return 40058, "invalid Request Parameter (not UTF-8 JSON)"
        if not isinstance(message, dict) or message.get("msgtype") != "markdown":
            return 40008, "invalid message type"
        content = (message.get("markdown") or {}).get("content")
        if not isinstance(content, str) or not content:
            return 40058, "markdown.content missing"
        if len(content.encode("utf-8")) > self.limit_bytes:
            return 40058, f"markdown.content exceed max length {self.limit_bytes}"
        with self._lock:
            self._valid_seen += 1
            if self._valid_seen <= self.fail_first:
                return self.fail_errcode, "api freq out of limit"
        return 0, "ok"

    def respond(
        self, path: str, query: dict[str, list[str]], headers: dict[str, str], body: bytes
    ) -> tuple[Answer, dict[str, Any]]:
        """Always HTTP 200, the verdict in errcode/errmsg."""
        code, errmsg = self._check(path, query, body)
        answer = {"errcode": code, "errmsg": errmsg}
        return _json_answer(200, answer), answer

    def record(self, request: Request) -> None:
        """Keep the request."""
        with self._lock:
            self.requests.append(request)

    def delivered(self) -> list[str]:
        """The markdown content of every message the robot accepted."""
        with self._lock:
            return [
                r.json()["markdown"]["content"] for r in self.requests if r.answer["errcode"] == 0
            ]
