"""Every HTML page the service serves works with no way out (issue 23): Swagger UI and ReDoc
from the app's own files, and no page names an address outside the service."""

from __future__ import annotations

import re
import uuid
from typing import Any
from urllib.parse import urljoin

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute

from api.docs.router import DOC_FILES, problem_types
from api.kit.errors import PetitionDeskError
from api.kit.i18n import Message, translate

BASE = "http://test"  # the conftest client's own address
URL = re.compile(r"https?://[^\s\"'<>)]+")
ASSET = re.compile(r"""(?:src|href|spec-url)\s*=\s*["']([^"']+)["']|\burl\s*:\s*["']([^"']+)["']""")


def _routes(routes: list[Any], prefix: str = "") -> list[tuple[str, APIRoute]]:
    """Every endpoint of the app with its full path (FastAPI keeps an included router as one
    entry holding the router it was given)."""
    found: list[tuple[str, APIRoute]] = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append((prefix + route.path, route))
        elif (router := getattr(route, "original_router", None)) is not None:
            found += _routes(router.routes, prefix + getattr(route, "prefix", ""))
    return found


def _html_pages(app: FastAPI) -> list[str]:
    """Every GET route, with a made-up value for each path parameter (a page must answer even
    an unknown token with a page); the test keeps those that answer HTML."""
    routes = _routes(list(app.routes))
    assert len(routes) > 100  # the walk found the API's endpoints, not only the app's own
    return [
        re.sub(r"\{[^}]+\}", uuid.uuid4().hex, path)
        for path, route in routes
        if "GET" in (route.methods or ())
    ]


async def test_no_page_names_an_address_outside_the_service(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    pages: dict[str, str] = {}
    for path in _html_pages(app):
        resp = await client.get(path)
        if resp.headers.get("content-type", "").startswith("text/html"):
            pages[path] = resp.text
    # the pages a user opens: both documentations, the dashboard, an acknowledgement link
    assert {"/docs", "/redoc", "/dashboard", "/docs/oauth2-redirect"} <= set(pages)
    assert any(p.startswith("/a/") for p in pages)
    for path, text in pages.items():
        outside = [u for u in URL.findall(text) if not u.startswith(BASE)]
        assert outside == [], f"{path} names {outside}"


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_the_documentation_loads_everything_from_the_service(
    client: httpx.AsyncClient, page: str
) -> None:
    resp = await client.get(page)
    assert resp.status_code == 200
    assert "fonts.googleapis" not in resp.text and "cdn." not in resp.text
    assets = [a or b for a, b in ASSET.findall(resp.text)]
    assert any(a.endswith(".js") for a in assets), assets
    assert "/openapi.json" in assets
    for asset in assets:
        assert asset.startswith("/"), asset  # the service's own path
        got = await client.get(asset)
        assert got.status_code == 200, asset
        assert got.content


@pytest.mark.parametrize("name", sorted(DOC_FILES.files))
async def test_documentation_files_come_from_the_package_and_revalidate(
    client: httpx.AsyncClient, name: str
) -> None:
    resp = await client.get(f"/docs/static/{name}")
    assert resp.status_code == 200
    assert resp.content == (DOC_FILES.directory / name).read_bytes()
    assert resp.headers["content-type"] == DOC_FILES.files[name]
    again = await client.get(
        f"/docs/static/{name}", headers={"If-None-Match": resp.headers["etag"]}
    )
    assert again.status_code == 304


async def test_nothing_else_is_reachable_under_the_documentation_files(
    client: httpx.AsyncClient,
) -> None:
    for name in ("../core.py", "..%2Fcore.py", "core.py", "index.html"):
        resp = await client.get(f"/docs/static/{name}")
        assert resp.status_code == 404, name
        assert resp.headers["content-type"] == "application/problem+json"


async def test_every_problem_type_resolves_to_a_page_the_service_serves(
    client: httpx.AsyncClient,
) -> None:
    """Issue 23: a problem's `type` (a reference relative to the request) names a page here
    that explains it; an unknown one is 404."""
    answered = await client.get(f"/v1/cases/{uuid.uuid4()}")  # a real refusal: 401
    problem = answered.json()
    assert answered.status_code == 401 and problem["type"] == "/problems/unauthorized"
    types = problem_types()
    assert {"unauthorized", "not-found", "validation", "conflict", "internal"} <= set(types)
    for slug, cls in types.items():
        error = cls.__new__(cls)
        PetitionDeskError.__init__(
            error, Message("x")
        )  # some subclasses take more; the type is the same
        url = urljoin(f"{BASE}/v1/cases/x", error.to_problem("/v1/cases/x")["type"])
        assert url == f"{BASE}/problems/{slug}"
        page = await client.get(url)
        assert page.status_code == 200, slug
        assert page.headers["content-type"].startswith("text/html")
        assert cls.title in page.text and str(cls.status) in page.text
        assert translate(cls.title, "zh") in page.text  # Chinese first, English too
        assert translate(cls.title, "zh") != cls.title, slug
        assert URL.findall(page.text) == []
    index = await client.get("/problems")
    assert all(f"/problems/{slug}" in index.text for slug in types)
    unknown = await client.get("/problems/no-such-problem")
    assert unknown.status_code == 404
    assert unknown.headers["content-type"] == "application/problem+json"
