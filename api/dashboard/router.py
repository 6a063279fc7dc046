"""`/dashboard`: the county dashboard page and its static files.

The page is plain files (HTML, ES module, CSS and a vendored ECharts build); it logs in like
any client and reads `/v1/stats/*`, `/v1/escalations` and `/v1/units`. Nothing here needs a
token: the files hold no data. The routes stay out of the OpenAPI contract, like any page.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Header
from fastapi.responses import Response

from api.kit.errors import NotFound
from api.kit.i18n import Message
from api.kit.static import FixedFiles

STATIC = Path(__file__).resolve().parent / "static"

# Only these files are served: a fixed list, so no request path ever reaches the file system.
FILES = {
    "index.html": "text/html; charset=utf-8",
    "dashboard.js": "text/javascript; charset=utf-8",
    "dashboard.css": "text/css; charset=utf-8",
    "echarts.min.js": "text/javascript; charset=utf-8",
}

router = APIRouter(tags=["dashboard"], include_in_schema=False)


PAGE_FILES = FixedFiles(STATIC, FILES, what=Message("dashboard"))


@router.get("/dashboard")
async def dashboard_page(
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    """The dashboard page (HTML). Options in the query: `unit_id`, `from`, `to`, `poll`
    (seconds); a token may be handed over as `#token=…`."""
    return PAGE_FILES.serve("index.html", if_none_match)


@router.get("/dashboard/static/{name}")
async def dashboard_asset(
    name: str, if_none_match: Annotated[str | None, Header()] = None
) -> Response:
    """One of the page's script and style files; anything else is 404."""
    if name == "index.html":  # the page has its own address
        raise NotFound(Message("No dashboard file {name!r}.", name=name))
    return PAGE_FILES.serve(name, if_none_match)
