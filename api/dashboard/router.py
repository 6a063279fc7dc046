"""`/dashboard`: the county dashboard page and its static files.

The page is plain files (HTML, ES module, CSS and a vendored ECharts build); it logs in like
any client and reads `/v1/stats/*`, `/v1/escalations` and `/v1/units`. Nothing here needs a
token: the files hold no data. The routes stay out of the OpenAPI contract, like any page.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Header
from fastapi.responses import Response

from api.kit.errors import NotFound

STATIC = Path(__file__).resolve().parent / "static"

# Only these files are served: a fixed list, so no request path ever reaches the file system.
FILES = {
    "index.html": "text/html; charset=utf-8",
    "dashboard.js": "text/javascript; charset=utf-8",
    "dashboard.css": "text/css; charset=utf-8",
    "echarts.min.js": "text/javascript; charset=utf-8",
}

router = APIRouter(tags=["dashboard"], include_in_schema=False)


@lru_cache(maxsize=len(FILES) * 2)
def _load(name: str, mtime_ns: int) -> tuple[bytes, str]:
    """The file's bytes and strong ETag (keyed by mtime, so an edited file is read again)."""
    body = (STATIC / name).read_bytes()
    return body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _serve(name: str, if_none_match: str | None) -> Response:
    path = STATIC / name
    body, etag = _load(name, path.stat().st_mtime_ns)
    # Revalidate on every load (cheap: a 304), so a deploy shows on the next reload.
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if if_none_match is not None and etag in {t.strip() for t in if_none_match.split(",")}:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=FILES[name], headers=headers)


@router.get("/dashboard")
async def dashboard_page(
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    """The dashboard page (HTML). Options in the query: `unit_id`, `from`, `to`, `poll`
    (seconds); a token may be handed over as `#token=…`."""
    return _serve("index.html", if_none_match)


@router.get("/dashboard/static/{name}")
async def dashboard_asset(
    name: str, if_none_match: Annotated[str | None, Header()] = None
) -> Response:
    """One of the page's script and style files; anything else is 404."""
    if name not in FILES or name == "index.html":
        raise NotFound(f"No dashboard file {name!r}.")
    return _serve(name, if_none_match)
