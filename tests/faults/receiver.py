"""An SMS gateway (the generic protocol: `POST` JSON `{"message_id", "to", "text"}`, any 2xx
is success) whose behaviour the test switches while the worker sends: answer 200, answer
500, hang (never answer: the sender times out), or answer 200 slowly."""

from __future__ import annotations

import enum
import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Mode(enum.StrEnum):
    """How the receiver answers."""

    ok = "ok"
    error = "error"  # 500, nothing accepted
    hang = "hang"  # no answer until the mode changes, then the connection is dropped
    slow = "slow"  # 200 after `slow_seconds`


class FaultyReceiver:
    """Records every message id it accepted (answered 2xx), with how often."""

    def __init__(self, slow_seconds: float = 2.0) -> None:
        self.mode = Mode.ok
        self.slow_seconds = slow_seconds
        self._accepted: Counter[str] = Counter()
        self._by_mode: Counter[Mode] = Counter()
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        """Where to POST."""
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/sms"

    def switch(self, mode: Mode) -> None:
        """Answer in `mode` from now on (requests hanging in `hang` are released)."""
        with self._changed:
            self.mode = mode
            self._changed.notify_all()

    def accepted(self) -> Counter[str]:
        """Message id → how many times it was accepted."""
        with self._lock:
            return Counter(self._accepted)

    def requests(self) -> Counter[Mode]:
        """How many requests arrived in each mode."""
        with self._lock:
            return Counter(self._by_mode)

    def _handle(self, body: dict[str, Any]) -> int | None:
        """The status to answer, None to drop the connection without an answer."""
        with self._changed:
            mode = self.mode
            self._by_mode[mode] += 1
            if mode is Mode.hang:
                self._changed.wait_for(lambda: self.mode is not Mode.hang, timeout=120)
                return None  # the sender gave up long ago
        if mode is Mode.error:
            return 500
        if mode is Mode.slow:
            time.sleep(self.slow_seconds)
        with self._lock:
            self._accepted[str(body.get("message_id"))] += 1
        return 200

    def start(self) -> FaultyReceiver:
        """Listen on a free loopback port in a background thread."""
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw) if len(raw) == length else {}
                except ValueError:
                    body = {}
                # A sender killed mid-request leaves headers without a whole body: no message.
                status = receiver._handle(body) if "message_id" in body else 400
                if status is None:
                    self.close_connection = True
                    return
                payload = json.dumps({"ok": status == 200}).encode()
                try:
                    self.send_response(status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:  # the sender timed out meanwhile: it will try again
                    self.close_connection = True

            def log_message(self, format: str, *args: Any) -> None:
                return

        class Server(ThreadingHTTPServer):
            request_queue_size = 512
            daemon_threads = True

        self._server = Server(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """Release hanging requests and stop listening."""
        self.switch(Mode.ok)
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
