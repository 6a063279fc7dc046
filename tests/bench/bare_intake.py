"""The intake benchmark's baselines: a bare Starlette app (no FastAPI, no validation, no auth)
with an asyncpg pool and two endpoints.

* `POST /cases` parses the JSON body and does one INSERT into a table of its own (issue 7's
  baseline: what a request costs at all);
* `POST /fair-cases` sends, for the same body, the statements the API's registration sends, on
  one connection in one transaction against the API's tables, with the same rows, then marks
  the outbox rows dispatched (issue 22's fair baseline, `tests.bench.fair_intake`).

    BARE_DATABASE_URL=postgresql://... FAIR_COUNTY_ID=... FAIR_TOWN_ID=... FAIR_STAFF_ID=... \
        FAIR_LOGIN_ID=... uvicorn tests.bench.bare_intake:app --port 18500

Run under uvicorn exactly as the API is (`tests.bench.common.UVICORN_ARGS`), on the API's
migrated database. The one-INSERT table is created at start-up; without the FAIR_* variables
(the bench's territory: its county and town, the town's petition staff and their login)
`/fair-cases` answers 503.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from shared.settings import to_asyncpg_url
from tests.bench import fair_intake

pool: Any = None
marks: fair_intake.DispatchMarks | None = None
territory = fair_intake.Territory.from_env(os.environ)


def _dsn() -> str:
    url = to_asyncpg_url(os.environ["BARE_DATABASE_URL"])
    return "postgresql://" + url.removeprefix("postgresql+asyncpg://")


@asynccontextmanager
async def lifespan(_: Starlette) -> AsyncIterator[None]:
    """Open the pool (the API's size: 10 kept, 10 more on demand) and create the table."""
    global pool, marks
    pool = await asyncpg.create_pool(_dsn(), min_size=10, max_size=20)
    marks = fair_intake.DispatchMarks(pool)
    async with pool.acquire() as conn:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS bare_cases (id uuid PRIMARY KEY, title text NOT NULL, "
            "body jsonb NOT NULL, created_at timestamptz NOT NULL DEFAULT now())"
        )
    yield
    await marks.flush()
    await pool.close()


async def register(request: Request) -> Response:
    """Insert the posted case; answer its id."""
    body = await request.json()
    case_id = uuid.uuid4()
    assert pool is not None
    await pool.execute(
        "INSERT INTO bare_cases (id, title, body) VALUES ($1, $2, $3::jsonb)",
        case_id,
        body["title"],
        json.dumps(body, ensure_ascii=False),
    )
    return JSONResponse({"id": str(case_id), "title": body["title"]}, status_code=201)


async def register_fair(request: Request) -> Response:
    """Register the posted case as the API does (`tests.bench.fair_intake`); answer its id and
    number."""
    if territory is None:
        return JSONResponse({"detail": "FAIR_* territory variables not set"}, status_code=503)
    raw = await request.body()
    registration = fair_intake.Registration(
        body=json.loads(raw),
        raw=raw,
        key=request.headers.get("idempotency-key"),
        client=request.headers.get("user-agent"),
        ip=request.client.host if request.client else None,
        path=request.url.path,
    )
    assert pool is not None and marks is not None
    async with pool.acquire() as conn:
        answer = await fair_intake.register(conn, registration, territory, marks)
    if answer is None:
        return JSONResponse({"detail": "Idempotency-Key in use"}, status_code=409)
    return JSONResponse(answer, status_code=201)


async def ready(_: Request) -> Response:
    """Answers once the pool is open."""
    return JSONResponse({"ready": pool is not None})


app = Starlette(
    routes=[
        Route("/cases", register, methods=["POST"]),
        Route("/fair-cases", register_fair, methods=["POST"]),
        Route("/readyz", ready),
    ],
    lifespan=lifespan,
)
