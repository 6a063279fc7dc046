"""The benchmark's SMS gateway: the generic gateway protocol (`POST /` with `{"message_id",
"to", "text"}`, any 2xx is success) served by uvicorn in a process of its own, so neither the
worker nor the bare sender shares an interpreter with it.

    python -m tests.bench.receiver --port 18999

`GET /received` answers every accepted message as `[message_id, unix time]` pairs.
"""

from __future__ import annotations

import argparse
import time

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

received: list[tuple[str, float]] = []


async def accept(request: Request) -> Response:
    """Accept one message, as a gateway does."""
    body = await request.json()
    received.append((str(body["message_id"]), time.time()))
    return JSONResponse({"code": "OK", "message_id": body["message_id"]})


async def listing(_: Request) -> Response:
    """Everything accepted so far."""
    return JSONResponse(received)


async def count(_: Request) -> Response:
    """How many were accepted so far."""
    return JSONResponse(len(received))


app = Starlette(
    routes=[
        Route("/", accept, methods=["POST"]),
        Route("/received", listing, methods=["GET"]),
        Route("/received/count", count, methods=["GET"]),
    ]
)


def main() -> None:
    """Serve until terminated."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
