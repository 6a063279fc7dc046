"""`/docs` and `/redoc`: the API's documentation pages (and `/problems/{slug}`, the page each
problem's `type` names), Swagger UI and ReDoc, served from the
app's own files so they work on a government intranet with no way out (FastAPI's defaults
load them from a public CDN, and ReDoc its fonts from Google).

The scripts and styles come from the PyPI package `fastapi-offline`, which ships the current
Swagger UI 5 and ReDoc 2 builds; only its files are used, not its app factory. The pages name
no address outside the service. They stay out of the OpenAPI contract, like any page.
"""

from __future__ import annotations

import base64
import hashlib
import re
from html import escape
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

from api.kit.errors import PROBLEM_BASE, NotFound, PetitionDeskError
from api.kit.i18n import Message, translate
from api.kit.static import FixedFiles, plain_page

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
    what=Message("documentation"),
)

router = APIRouter(tags=["docs"], include_in_schema=False)

_INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.DOTALL)


def with_csp(page: HTMLResponse) -> HTMLResponse:
    """`page` with a Content-Security-Policy that lets it run its own files and exactly the
    inline scripts it carries (by their SHA-256: Swagger UI starts from one), nothing else.
    Styles may be inline: both UIs set them from their scripts; ReDoc renders in a worker."""
    hashes = "".join(
        f" 'sha256-{base64.b64encode(hashlib.sha256(script).digest()).decode()}'"
        for script in _INLINE_SCRIPT.findall(bytes(page.body))
    )
    page.headers["content-security-policy"] = (
        f"default-src 'none'; script-src 'self'{hashes}; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
        "worker-src 'self' blob:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
    return page


def _root(request: Request) -> str:
    return str(request.scope.get("root_path", ""))


@router.get("/docs")
async def swagger_ui(request: Request) -> HTMLResponse:
    """The API's interactive documentation (Swagger UI): try every endpoint with a token."""
    root = _root(request)
    page = get_swagger_ui_html(
        openapi_url=f"{root}{request.app.openapi_url}",
        title=f"{request.app.title} — 接口文档 API",
        oauth2_redirect_url=f"{root}{OAUTH2_REDIRECT}",
        swagger_js_url=f"{root}{ASSETS}/swagger-ui-bundle.js",
        swagger_css_url=f"{root}{ASSETS}/swagger-ui.css",
        swagger_favicon_url=f"{root}{ASSETS}/favicon.png",
        # No badge fetched from the public validator: the contract is checked in CI.
        swagger_ui_parameters={"validatorUrl": None},
    )
    return with_csp(page)


@router.get(OAUTH2_REDIRECT)
async def swagger_ui_redirect() -> HTMLResponse:
    """Swagger UI's OAuth2 redirect page."""
    return with_csp(get_swagger_ui_oauth2_redirect_html())


@router.get("/redoc")
async def redoc(request: Request) -> HTMLResponse:
    """The API's reference documentation (ReDoc), for reading."""
    root = _root(request)
    page = get_redoc_html(
        openapi_url=f"{root}{request.app.openapi_url}",
        title=f"{request.app.title} — 接口参考 API reference",
        redoc_js_url=f"{root}{ASSETS}/redoc.standalone.js",
        redoc_favicon_url=f"{root}{ASSETS}/favicon.png",
        with_google_fonts=False,
    )
    return with_csp(page)


# What the base class's docstring cannot say for its own type.
ABOUT = {
    "internal": "The service failed on its side; nothing of the request was kept. Retry later; "
    "the log has the details under the answer's X-Request-ID.",
}


def _both(title: str) -> str:
    """A problem's title in Chinese, then English (the catalogue's)."""
    chinese = translate(title, "zh")
    return title if chinese == title else f"{chinese} {title}"


def problem_types() -> dict[str, type[PetitionDeskError]]:
    """Every problem type the service answers with, by its slug (the first class to name it)."""
    found: dict[str, type[PetitionDeskError]] = {}
    pending: list[type[PetitionDeskError]] = [PetitionDeskError]
    while pending:
        cls = pending.pop(0)
        found.setdefault(cls.slug, cls)
        pending += cls.__subclasses__()
    return found


@router.get("/problems")
async def problem_index() -> HTMLResponse:
    """Every problem type of the API's errors (问题类型), each linking to its page."""
    items = "".join(
        f"<li><a href='{PROBLEM_BASE}{escape(slug)}'>{escape(_both(cls.title))}</a>"
        f" ({cls.status})</li>"
        for slug, cls in sorted(problem_types().items(), key=lambda kv: kv[1].status)
    )
    return plain_page("Problem types 错误类型", f"<h1>Problem types 错误类型</h1><ul>{items}</ul>")


@router.get(PROBLEM_BASE + "{slug}")
async def problemplain_page(slug: str) -> HTMLResponse:
    """The page a problem's `type` names: what the error means and what to do."""
    cls = problem_types().get(slug)
    if cls is None:
        raise NotFound(Message("No problem type {slug!r}.", slug=slug))
    about = ABOUT.get(slug) or " ".join((cls.__doc__ or cls.title).split())
    body = (
        f"<h1>{escape(_both(cls.title))}</h1>"
        f"<p>HTTP {cls.status} · <code>{escape(slug)}</code></p>"
        f"<p>{escape(about)}</p>"
        "<p>The answer is <code>application/problem+json</code> (RFC 9457): <code>title</code> "
        "names this type, <code>detail</code> says what happened to this request, "
        "<code>instance</code> is its path, and <code>errors</code> (when present) points at "
        "each field refused. 返回内容为 problem+json：detail 说明本次请求的具体问题，errors "
        "指出被拒绝的字段。</p>"
        f"<p><a href='{PROBLEM_BASE.rstrip('/')}'>All problem types 全部错误类型</a></p>"
    )
    return plain_page(f"{_both(cls.title)} — Petition Desk", body)


@router.get(ASSETS + "/{name}")
async def doc_asset(name: str, if_none_match: Annotated[str | None, Header()] = None) -> Response:
    """One of the documentation pages' scripts, styles or icon; anything else is 404."""
    return DOC_FILES.serve(name, if_none_match)
