"""A local Alibaba Cloud dysmsapi speaking the real protocol: `SendSms` signed with ACS3.

It verifies each request (ACS3-HMAC-SHA256) as the gateway does, independently of the sender's
code: it parses the `Authorization` header, rebuilds the canonical request from what it received
(decoded and re-encoded query, the signed headers' values, the SHA-256 of the body), recomputes
the signature with the known secret and answers the gateway's error (`SignatureDoesNotMatch`,
`InvalidAccessKeyId.NotFound`, `SignatureNonceUsed`, `InvalidTimeStamp.Expired`, ...) when
something does not hold. Accepted messages are recorded; it can be told to answer throttling
(`isv.BUSINESS_LIMIT_CONTROL`) or a 5xx for the first N requests.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

_AUTHORIZATION = re.compile(
    r"ACS3-HMAC-SHA256 Credential=(?P<cred>[^,]+),SignedHeaders=(?P<signed>[^,]+),"
    r"Signature=(?P<sig>[0-9a-f]{64})"
)
_REQUIRED_SIGNED = {
    "host",
    "x-acs-action",
    "x-acs-content-sha256",
    "x-acs-date",
    "x-acs-signature-nonce",
    "x-acs-version",
}
_MAINLAND_MOBILE = re.compile(r"1[3-9][0-9]{9}")
_MAX_SKEW_SECONDS = 15 * 60


@dataclass
class AliyunReceived:
    """One request the fake saw, its SendSms parameters and the code it answered."""

    params: dict[str, str]
    headers: dict[str, str]
    status: int
    code: str
    at: float


@dataclass
class FakeAliyunSms:
    """`SendSms` for one AccessKey pair; `throttle_first` / `fail_first` requests are refused."""

    access_key_id: str = "LTAI-test-access-key"
    access_key_secret: str = "test-access-key-secret"
    throttle_first: int = 0
    throttle_message: str = "触发分钟级流控Permits:1"
    fail_first: int = 0
    fail_status: int = 503
    requests: list[AliyunReceived] = field(default_factory=list)
    _nonces: set[str] = field(default_factory=set)
    _failed: int = 0
    _throttled: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    @property
    def endpoint(self) -> str:
        """What to configure as `AliyunSmsConfig.endpoint`."""
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FakeAliyunSms:
        """Listen on a free loopback port in a background thread."""
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, answer = fake._handle(self.path, headers, body)
                payload = json.dumps(answer, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json;charset=utf-8")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        # A short poll interval so that stop() returns quickly (the default waits up to 0.5 s).
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        """Stop listening."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def delivered(self) -> list[dict[str, str]]:
        """Parameters of the messages accepted (`Code` OK)."""
        with self._lock:
            return [r.params for r in self.requests if r.code == "OK"]

    def codes(self) -> list[str]:
        """The `Code` of every answer, in order."""
        with self._lock:
            return [r.code for r in self.requests]

    def _handle(
        self, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, Any]]:
        with self._lock:
            if self._failed < self.fail_first:
                self._failed += 1
                return self._answer({}, headers, self.fail_status, "ServiceUnavailable", "busy")
            parts = urlsplit(path)
            query = parse_qsl(parts.query, keep_blank_values=True)
            params = dict(query)
            if headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
                params.update(parse_qsl(body.decode(), keep_blank_values=True))
            problem = self._authenticate(parts.path, query, headers, body)
            if problem is not None:
                return self._answer(params, headers, *problem)
            if (
                headers.get("x-acs-action") != "SendSms"
                or headers.get("x-acs-version") != "2017-05-25"
            ):
                return self._answer(params, headers, 404, "InvalidApi.NotFound", "no such api")
            for name in ("PhoneNumbers", "SignName", "TemplateCode"):
                if not params.get(name):
                    return self._answer(
                        params, headers, 400, f"Missing{name}", f"{name} is mandatory"
                    )
            if not _MAINLAND_MOBILE.fullmatch(params["PhoneNumbers"]):
                return self._answer(params, headers, 200, "isv.MOBILE_NUMBER_ILLEGAL", "非法手机号")
            try:
                template_param = json.loads(params.get("TemplateParam") or "{}")
            except ValueError:
                template_param = None
            if not isinstance(template_param, dict):
                return self._answer(
                    params, headers, 200, "isv.INVALID_JSON_PARAM", "JSON参数不合法"
                )
            if self._throttled < self.throttle_first:
                self._throttled += 1
                return self._answer(
                    params, headers, 200, "isv.BUSINESS_LIMIT_CONTROL", self.throttle_message
                )
            return self._answer(params, headers, 200, "OK", "OK")

    def _authenticate(
        self, path: str, query: list[tuple[str, str]], headers: dict[str, str], body: bytes
    ) -> tuple[int, str, str] | None:
        match = _AUTHORIZATION.fullmatch(headers.get("authorization", ""))
        if match is None:
            return (
                400,
                "IncompleteSignature",
                "The request signature does not conform to standards.",
            )
        if match["cred"] != self.access_key_id:
            return 404, "InvalidAccessKeyId.NotFound", "Specified access key is not found."
        signed = match["signed"].split(";")
        if signed != sorted(signed) or not set(signed) >= _REQUIRED_SIGNED:
            return 400, "IncompleteSignature", "Required headers are not signed."
        if any(name not in headers for name in signed):
            return 400, "IncompleteSignature", "A signed header is missing."
        try:
            sent = datetime.strptime(headers["x-acs-date"], "%Y-%m-%dT%H:%M:%SZ").replace(
                tzinfo=UTC
            )
        except ValueError:
            return 400, "InvalidTimeStamp.Format", "Specified time stamp is not well formatted."
        if abs(time.time() - sent.timestamp()) > _MAX_SKEW_SECONDS:
            return 400, "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired."
        canonical_query = "&".join(
            f"{k}={v}" for k, v in sorted((_encode(k), _encode(v)) for k, v in query)
        )
        canonical_headers = "".join(f"{name}:{headers[name].strip()}\n" for name in signed)
        canonical_request = "\n".join(
            [
                "POST",
                path or "/",
                canonical_query,
                canonical_headers,
                ";".join(signed),
                hashlib.sha256(body).hexdigest(),
            ]
        )
        string_to_sign = (
            "ACS3-HMAC-SHA256\n" + hashlib.sha256(canonical_request.encode()).hexdigest()
        )
        expected = hmac.new(
            self.access_key_secret.encode(), string_to_sign.encode(), hashlib.sha256
        ).hexdigest()
        if headers["x-acs-content-sha256"] != hashlib.sha256(body).hexdigest() or not (
            hmac.compare_digest(expected, match["sig"])
        ):
            return (
                400,
                "SignatureDoesNotMatch",
                f"Specified signature is not matched with our calculation. "
                f"server string to sign is:{string_to_sign}",
            )
        nonce = headers["x-acs-signature-nonce"]
        if nonce in self._nonces:
            return 400, "SignatureNonceUsed", "Specified signature nonce was used already."
        self._nonces.add(nonce)
        return None

    def _answer(
        self, params: dict[str, str], headers: dict[str, str], status: int, code: str, message: str
    ) -> tuple[int, dict[str, Any]]:
        self.requests.append(
            AliyunReceived(params=params, headers=headers, status=status, code=code, at=time.time())
        )
        answer: dict[str, Any] = {"RequestId": str(uuid.uuid4()).upper(), "Code": code}
        answer["Message"] = message
        if code == "OK":
            answer["BizId"] = f"{int(time.time() * 1000)}^0"
        return status, answer


def _encode(value: str) -> str:
    return quote(value, safe="-_.~")
