"""A local Tencent Cloud SMS API speaking the real protocol: `SendSms` signed with TC3-HMAC-SHA256.

It verifies each request as TencentCloud API 3.0 does, independently of the sender's code: it
parses the `Authorization` header, rebuilds the canonical request from the headers it names
(lowercased keys and values) and the body it received, derives the key from the known SecretKey
and the credential scope's date, and answers `AuthFailure.SignatureFailure` (or
`AuthFailure.SecretIdNotFound`, `AuthFailure.SignatureExpire`, …) in `Response.Error` when
something does not hold. Accepted messages are recorded; it can be told to answer a per-number
frequency limit (`LimitExceeded.PhoneNumberThirtySecondLimit`) or a 5xx for the first N requests.
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

_AUTHORIZATION = re.compile(
    r"TC3-HMAC-SHA256 Credential=(?P<id>[^/]+)/(?P<date>\d{4}-\d{2}-\d{2})/(?P<service>[^/]+)"
    r"/tc3_request, SignedHeaders=(?P<signed>[^,]+), Signature=(?P<sig>[0-9a-f]{64})"
)
_E164_MAINLAND = re.compile(r"\+861[3-9][0-9]{9}")
_MAX_SKEW_SECONDS = 5 * 60


@dataclass
class TencentReceived:
    """One request the fake saw, its JSON body and the code it answered."""

    body: dict[str, Any]
    headers: dict[str, str]
    status: int
    code: str
    at: float


@dataclass
class FakeTencentSms:
    """`SendSms` for one key pair and app; `throttle_first` / `fail_first` requests are refused."""

    secret_id: str = "AKID-test-secret-id"
    secret_key: str = "test-secret-key"
    sdk_app_id: str = "1400000001"
    throttle_first: int = 0
    throttle_code: str = "LimitExceeded.PhoneNumberThirtySecondLimit"
    fail_first: int = 0
    fail_status: int = 502
    requests: list[TencentReceived] = field(default_factory=list)
    _failed: int = 0
    _throttled: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    @property
    def endpoint(self) -> str:
        """What to configure as `TencentSmsConfig.endpoint`."""
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FakeTencentSms:
        """Listen on a free loopback port in a background thread."""
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, answer = fake._handle(self.path, headers, body)
                payload = (
                    json.dumps(answer, ensure_ascii=False).encode()
                    if answer is not None
                    else b"<html>502 Bad Gateway</html>"
                )
                self.send_response(status)
                self.send_header(
                    "content-type", "application/json" if answer is not None else "text/html"
                )
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

    def delivered(self) -> list[dict[str, Any]]:
        """Bodies of the messages accepted (`Code` Ok)."""
        with self._lock:
            return [r.body for r in self.requests if r.code == "Ok"]

    def codes(self) -> list[str]:
        """The error or per-number code of every answer, in order."""
        with self._lock:
            return [r.code for r in self.requests]

    def _handle(
        self, path: str, headers: dict[str, str], raw: bytes
    ) -> tuple[int, dict[str, Any] | None]:
        with self._lock:
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                body = None
            if not isinstance(body, dict):
                body = {}
            if self._failed < self.fail_first:
                self._failed += 1
                self._record(body, headers, self.fail_status, "HTTP")
                return self.fail_status, None
            problem = self._authenticate(path, headers, raw)
            if problem is not None:
                return self._error(body, headers, *problem)
            if headers.get("x-tc-action") != "SendSms":
                return self._error(body, headers, "InvalidAction", "The action does not exist.")
            if headers.get("x-tc-version") != "2021-01-11":
                return self._error(body, headers, "NoSuchVersion", "The version does not exist.")
            if not headers.get("x-tc-region"):
                return self._error(body, headers, "MissingParameter", "Region is required.")
            if body.get("SmsSdkAppId") != self.sdk_app_id:
                return self._error(
                    body, headers, "InvalidParameterValue.SdkAppIdNotExist", "SdkAppId not exist."
                )
            numbers = body.get("PhoneNumberSet")
            if not isinstance(numbers, list) or not numbers:
                return self._error(
                    body, headers, "MissingParameter.EmptyPhoneNumberSet", "empty phone numbers"
                )
            if not body.get("TemplateId") or not body.get("SignName"):
                return self._error(body, headers, "MissingParameter", "TemplateId, SignName")
            statuses = [self._status(str(number), body) for number in numbers]
            self._record(body, headers, 200, statuses[0]["Code"])
            return 200, {"Response": {"SendStatusSet": statuses, "RequestId": str(uuid.uuid4())}}

    def _status(self, number: str, body: dict[str, Any]) -> dict[str, Any]:
        status: dict[str, Any] = {
            "SerialNo": "",
            "PhoneNumber": number,
            "Fee": 0,
            "SessionContext": body.get("SessionContext", ""),
            "IsoCode": "CN",
        }
        if not _E164_MAINLAND.fullmatch(number):
            return status | {
                "Code": "InvalidParameterValue.IncorrectPhoneNumber",
                "Message": "incorrect phone number",
                "IsoCode": "",
            }
        if self._throttled < self.throttle_first:
            self._throttled += 1
            return status | {"Code": self.throttle_code, "Message": "frequency limit"}
        return status | {
            "SerialNo": f"2645:{uuid.uuid4().int % 10**20}",
            "Fee": 1,
            "Code": "Ok",
            "Message": "send success",
        }

    def _authenticate(
        self, path: str, headers: dict[str, str], raw: bytes
    ) -> tuple[str, str] | None:
        match = _AUTHORIZATION.fullmatch(headers.get("authorization", ""))
        if match is None:
            return "AuthFailure.InvalidAuthorization", "Authorization is not TC3-HMAC-SHA256."
        if match["id"] != self.secret_id:
            return "AuthFailure.SecretIdNotFound", "The SecretId is not found."
        signed = match["signed"].split(";")
        if signed != sorted(signed) or not {"content-type", "host"} <= set(signed):
            return "AuthFailure.InvalidAuthorization", "content-type and host must be signed."
        if any(name not in headers for name in signed):
            return "AuthFailure.InvalidAuthorization", "A signed header is missing."
        try:
            timestamp = int(headers.get("x-tc-timestamp", ""))
        except ValueError:
            return "MissingParameter", "X-TC-Timestamp is required."
        if abs(time.time() - timestamp) > _MAX_SKEW_SECONDS:
            return "AuthFailure.SignatureExpire", "Signature expired."
        date = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
        if match["service"] != "sms" or match["date"] != date:
            return "AuthFailure.SignatureFailure", "The credential scope is wrong."
        canonical_headers = "".join(f"{name}:{headers[name].strip().lower()}\n" for name in signed)
        query = path.partition("?")[2]
        canonical_request = "\n".join(
            [
                "POST",
                "/",
                query,
                canonical_headers,
                ";".join(signed),
                hashlib.sha256(raw).hexdigest(),
            ]
        )
        string_to_sign = "\n".join(
            [
                "TC3-HMAC-SHA256",
                str(timestamp),
                f"{date}/sms/tc3_request",
                hashlib.sha256(canonical_request.encode()).hexdigest(),
            ]
        )
        key = hmac.new(f"TC3{self.secret_key}".encode(), date.encode(), hashlib.sha256).digest()
        key = hmac.new(key, b"sms", hashlib.sha256).digest()
        key = hmac.new(key, b"tc3_request", hashlib.sha256).digest()
        expected = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, match["sig"]):
            return (
                "AuthFailure.SignatureFailure",
                "The provided credentials could not be validated. "
                "Please check your signature is correct.",
            )
        return None

    def _error(
        self, body: dict[str, Any], headers: dict[str, str], code: str, message: str
    ) -> tuple[int, dict[str, Any]]:
        self._record(body, headers, 200, code)
        return 200, {
            "Response": {
                "Error": {"Code": code, "Message": message},
                "RequestId": str(uuid.uuid4()),
            }
        }

    def _record(
        self, body: dict[str, Any], headers: dict[str, str], status: int, code: str
    ) -> None:
        self.requests.append(
            TencentReceived(body=body, headers=headers, status=status, code=code, at=time.time())
        )
