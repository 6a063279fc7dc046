"""`/docs` and `/redoc`: the API's documentation pages, Swagger UI and ReDoc, served from the
app's own files so they work on a government intranet with no way out (FastAPI's defaults
load them from a public CDN, and ReDoc its fonts from Google).

The scripts and styles come from the PyPI package `fastapi-offline`, which ships the current
Swagger UI 5 and ReDoc 2 builds; only its files are used, not its app factory. The pages name
no address outside the service. They stay out of the OpenAPI contract, like any page.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import fastapi_offline
from fastapi import APIRouter, Header, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse, Response

from api.kit.static import FixedFiles

ASSETS = "/docs/static"
OAUTH2_REDIRECT = "/docs/oauth2-redirect"

DOC_FILES = FixedFiles(
    Path(fastapi_offline.__file__).resolve().parent / "static",
    {
        "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
        "swagger-ui.css": "text/css; charset=utf-8",
        "redoc.standalone.js": "text/javascript; charset=utf-8",
        "favicon.png": "image/png",
    },
    what="documentation",
)

router = APIRouter(tags=["docs"], include_in_schema=False)


def _root(request: Request) -> str:
    return str(request.scope.get("root_path", ""))


@router.get("/docs")
async def swagger_ui(request: Request) -> HTMLResponse:
    """The API's interactive documentation (Swagger UI): try every endpoint with a token."""
    root = _root(request)
    return get_swagger_ui_html(
        openapi_url=f"{root}{request.app.openapi_url}",
        title=f"{request.app.title} — 接口文档 API",
        oauth2_redirect_url=f"{root}{OAUTH2_REDIRECT}",
        swagger_js_url=f"{root}{ASSETS}/swagger-ui-bundle.js",
        swagger_css_url=f"{root}{ASSETS}/swagger-ui.css",
        swagger_favicon_url=f"{root}{ASSETS}/favicon.png",
        # No badge fetched from the public validator: the contract is checked in CI.
        swagger_ui_parameters={"validatorUrl": None},
    )


@router.get(OAUTH2_REDIRECT)
async def swagger_ui_redirect() -> HTMLResponse:
    """Swagger UI's OAuth2 redirect page."""
    return get_swagger_ui_oauth2_redirect_html()


@router.get("/redoc")
async def redoc(request: Request) -> HTMLResponse:
    """The API's reference documentation (ReDoc), for reading."""
    root = _root(request)
    return get_redoc_html(
        openapi_url=f"{root}{request.app.openapi_url}",
        title=f"{request.app.title} — 接口参考 API reference",
        redoc_js_url=f"{root}{ASSETS}/redoc.standalone.js",
        redoc_favicon_url=f"{root}{ASSETS}/favicon.png",
        with_google_fonts=False,
    )


@router.get(ASSETS + "/{name}")
async def doc_asset(name: str, if_none_match: Annotated[str | None, Header()] = None) -> Response:
    """One of the documentation pages' scripts, styles or icon; anything else is 404."""
    return DOC_FILES.serve(name, if_none_match)
