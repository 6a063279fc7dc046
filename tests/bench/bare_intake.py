"""The intake benchmark's baseline: a bare Starlette app (no FastAPI, no validation, no auth)
with an asyncpg pool and one endpoint that parses the JSON body and does one INSERT.

    BARE_DATABASE_URL=postgresql://... uvicorn tests.bench.bare_intake:app --port 18500

Run under uvicorn exactly as the API is (`tests.bench.common.UVICORN_ARGS`). The table is
created at start-up.
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

pool: Any = None


def _dsn() -> str:
    url = to_asyncpg_url(os.environ["BARE_DATABASE_URL"])
    return "postgresql://" + url.removeprefix("postgresql+asyncpg://")


@asynccontextmanager
async def lifespan(_: Starlette) -> AsyncIterator[None]:
    """Open the pool (the API's size: 10 kept, 10 more on demand) and create the table."""
    global pool
    pool = await asyncpg.create_pool(_dsn(), min_size=10, max_size=20)
    async with pool.acquire() as conn:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS bare_cases (id uuid PRIMARY KEY, title text NOT NULL, "
            "body jsonb NOT NULL, created_at timestamptz NOT NULL DEFAULT now())"
        )
    yield
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


async def ready(_: Request) -> Response:
    """Answers once the pool is open."""
    return JSONResponse({"ready": pool is not None})


app = Starlette(
    routes=[Route("/cases", register, methods=["POST"]), Route("/readyz", ready)],
    lifespan=lifespan,
)
