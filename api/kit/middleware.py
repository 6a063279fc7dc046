"""What every request passes through: its id and timing, a body size limit, security headers."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.kit.errors import PROBLEM_JSON, InvalidInput, PayloadTooLarge, language_headers
from api.kit.i18n import ZH, negotiate
from api.kit.i18n import Message as Text
from api.kit.metrics import REQUEST_DURATION, UNMATCHED
from shared import tracing

# What every answer carries: no MIME sniffing, no framing, no referrer leaking case ids.
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
]
# Pages the service renders itself (acknowledgement links) load nothing from elsewhere.
PAGE_CSP = (b"content-security-policy", b"default-src 'self'; frame-ancestors 'none'")
# The dashboard: its own files only, no inline or eval'd code, data only from this API; the
# login form is sent by script, so a form submitted without it goes nowhere.
DASHBOARD_CSP = (
    b"content-security-policy",
    b"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    b"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
)


# NUL (U+0000) as a request can carry it: `%00` in a URL or a form, a raw byte, or `\u0000` in
# JSON (an escaped backslash before "u0000" is text, not NUL). PostgreSQL's text cannot hold it.
_NUL_IN_URL = re.compile(rb"%00|\x00")
_NUL_IN_JSON = re.compile(rb"\x00|(?<!\\)(?:\\\\)*\\u0000")
FORM = b"application/x-www-form-urlencoded"


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replayed() -> Message:
        return pending.pop(0) if pending else await receive()

    return replayed


def _problem(limit: int, path: str, language: str) -> bytes:
    error = PayloadTooLarge(
        Text("The request body is over the limit of {limit} bytes.", limit=limit)
    )
    return json.dumps(error.to_problem(path, language)).encode()


def _nul_problem(where: str, path: str, language: str) -> bytes:
    error = InvalidInput(
        Text("Text may not contain the NUL character (U+0000)."), errors=[{"in": where}]
    )
    return json.dumps(error.to_problem(path, language)).encode()


# Bodies of files: their bytes may hold anything, NUL included.
FILE_BODIES = (b"multipart/form-data", b"application/offset+octet-stream")


class Guard:
    """Refuses bodies over `max_body_bytes` (413 problem+json, before the app sees them: by
    Content-Length, or by reading a body up to the limit first) and requests carrying NUL in
    their path, query or body (422), and adds the security headers to every response.

    A file upload (a multipart or `application/offset+octet-stream` body to a path matching
    `upload_paths`) may be up to `max_upload_bytes` and is not searched for NUL (the route
    checks its text fields itself)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        upload_paths: re.Pattern[str] | None = None,
        max_upload_bytes: int | None = None,
        default_language: str = ZH,
    ) -> None:
        self.app = app
        self.limit = max_body_bytes
        self.upload_paths = upload_paths
        self.upload_limit = max(max_upload_bytes or max_body_bytes, max_body_bytes)
        self.default_language = default_language

    def _is_upload(self, path: str, headers: dict[bytes, bytes]) -> bool:
        return (
            self.upload_paths is not None
            and self.upload_paths.fullmatch(path) is not None
            and headers.get(b"content-type", b"").lower().startswith(FILE_BODIES)
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """ASGI entry point."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if _NUL_IN_URL.search(scope.get("raw_path") or b"") or "\x00" in path:
            await self._refuse(send, scope, 422, lambda lang: _nul_problem("path", path, lang))
            return
        if _NUL_IN_URL.search(scope.get("query_string", b"")):
            await self._refuse(send, scope, 422, lambda lang: _nul_problem("query", path, lang))
            return
        headers = dict(scope.get("headers", []))
        upload = self._is_upload(path, headers)
        limit = self.upload_limit if upload else self.limit
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._refuse(
                send, scope, PayloadTooLarge.status, lambda lang: _problem(limit, path, lang)
            )
            return
        if scope.get("method") in ("POST", "PUT", "PATCH"):
            # Read the body here, up to the limit (a chunked one declares no length), look at
            # it, then replay it to the app.
            buffered: list[Message] = []
            size = 0
            while True:
                message = await receive()
                buffered.append(message)
                if message["type"] != "http.request":
                    break
                size += len(message.get("body", b""))
                if size > limit:
                    await self._refuse(
                        send,
                        scope,
                        PayloadTooLarge.status,
                        lambda lang: _problem(limit, path, lang),
                    )
                    return
                if not message.get("more_body", False):
                    break
            body = (
                b""
                if upload
                else b"".join(m.get("body", b"") for m in buffered if m["type"] == "http.request")
            )
            nul = (
                _NUL_IN_URL if headers.get(b"content-type", b"").startswith(FORM) else _NUL_IN_JSON
            )
            if not upload and nul.search(body):
                await self._refuse(send, scope, 422, lambda lang: _nul_problem("body", path, lang))
                return
            del body
            receive = _replay(buffered, receive)

        async def secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                extra = list(SECURITY_HEADERS)
                if path.startswith("/a/"):
                    extra.append(PAGE_CSP)
                elif path == "/dashboard" or path.startswith("/dashboard/"):
                    extra.append(DASHBOARD_CSP)
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, secured)

    async def _refuse(
        self, send: Send, scope: Scope, status: int, problem: Callable[[str], bytes]
    ) -> None:
        given = next((v for k, v in scope["headers"] if k == b"accept-language"), b"")
        language = negotiate(given.decode("latin-1"), self.default_language)
        body = problem(language)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", PROBLEM_JSON.encode()),
                    (b"content-length", str(len(body)).encode()),
                    *(
                        (k.lower().encode(), v.encode())
                        for k, v in language_headers(language).items()
                    ),
                    *SECURITY_HEADERS,
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class RequestContext:
    """Outermost: gives the request its id (the caller's `X-Request-ID` when well formed,
    else a new one) for every log line and job it causes, returns it in `X-Request-ID`, and
    times the request by route for `/metrics`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """ASGI entry point."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next((v for k, v in scope["headers"] if k == b"x-request-id"), None)
        rid = tracing.adopt(given)
        token = tracing.request_id.set(rid)
        started = time.perf_counter()
        status = 500  # what the client sees when the app fails before answering

        async def stamped(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {
                    **message,
                    "headers": [*message.get("headers", []), (b"x-request-id", rid.encode())],
                }
            await send(message)

        try:
            await self.app(scope, receive, stamped)
        finally:
            route = scope.get("route")
            REQUEST_DURATION.labels(
                scope["method"], getattr(route, "path", UNMATCHED), str(status)
            ).observe(time.perf_counter() - started)
            tracing.request_id.reset(token)
