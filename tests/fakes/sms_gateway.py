"""A local SMS gateway speaking the generic protocol: `POST /` with JSON, records everything."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    """One request the gateway saw, and what it answered."""

    body: dict[str, Any]
    status: int
    at: float
    request_id: str | None = None  # the X-Request-ID header


@dataclass
class FakeSmsGateway:
    """Answers 200, or `fail_status` for the first `fail_first` requests of each message id."""

    fail_first: int = 0
    fail_status: int = 500
    requests: list[Received] = field(default_factory=list)
    _seen: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        """Where to POST."""
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/sms"

    def start(self) -> FakeSmsGateway:
        """Listen on a free loopback port in a background thread."""
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as real gateways do

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                with gateway._lock:
                    mid = str(body.get("message_id"))
                    gateway._seen[mid] += 1
                    failing = gateway._seen[mid] <= gateway.fail_first
                    status = gateway.fail_status if failing else 200
                    gateway.requests.append(
                        Received(
                            body=body,
                            status=status,
                            at=time.time(),
                            request_id=self.headers.get("x-request-id"),
                        )
                    )
                payload = json.dumps({"ok": status == 200}).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                return

        class Server(ThreadingHTTPServer):
            request_queue_size = 256  # bursts of concurrent senders
            daemon_threads = True

        self._server = Server(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop listening."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def delivered(self) -> list[dict[str, Any]]:
        """Bodies of the requests answered 2xx."""
        with self._lock:
            return [r.body for r in self.requests if 200 <= r.status < 300]

    def attempts_for(self, message_id: str) -> list[Received]:
        """Every request for one message id."""
        with self._lock:
            return [r for r in self.requests if r.body.get("message_id") == message_id]
