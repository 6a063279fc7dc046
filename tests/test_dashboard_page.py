"""`/dashboard`: the page and its files are served with a strict CSP, revalidate by ETag,
stay out of the API contract, and nothing outside the fixed file list is reachable."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi import FastAPI

from api.dashboard.router import FILES, STATIC


async def test_the_page_loads_its_own_files_only_under_a_strict_csp(
    client: httpx.AsyncClient,
) -> None:
    resp = await client.get("/dashboard")
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "text/html; charset=utf-8"
    assert "信访工作态势" in resp.text
    csp = resp.headers["content-security-policy"]
    for directive in ("script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"):
        assert directive in csp
    assert "unsafe" not in csp
    # every script is a file of ours: no inline code, nothing from a CDN
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", resp.text, re.S)
    assert scripts
    for attrs, body in scripts:
        assert body.strip() == ""
        assert re.search(r'src="dashboard/static/[\w.]+"', attrs), attrs
    assert "http://" not in resp.text and "https://" not in resp.text


@pytest.mark.parametrize("name", sorted(set(FILES) - {"index.html"}))
async def test_static_files_revalidate_with_their_etag(
    client: httpx.AsyncClient, name: str
) -> None:
    resp = await client.get(f"/dashboard/static/{name}")
    assert resp.status_code == 200
    assert resp.content == (STATIC / name).read_bytes()
    assert resp.headers["content-type"] == FILES[name]
    assert resp.headers["cache-control"] == "no-cache"
    assert "content-security-policy" in resp.headers
    again = await client.get(
        f"/dashboard/static/{name}", headers={"If-None-Match": resp.headers["etag"]}
    )
    assert again.status_code == 304
    assert again.content == b""


@pytest.mark.parametrize(
    "name", ["index.html", "VENDORED.md", "..%2F__init__.py", "..%2Frouter.py", "nope.js"]
)
async def test_nothing_else_is_served(client: httpx.AsyncClient, name: str) -> None:
    resp = await client.get(f"/dashboard/static/{name}")
    assert resp.status_code == 404


async def test_the_page_is_not_part_of_the_api_contract(app: FastAPI) -> None:
    assert not [path for path in app.openapi()["paths"] if path.startswith("/dashboard")]
