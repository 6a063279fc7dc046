"""`/docs` and `/redoc` render in a real browser under their Content-Security-Policy, from
the service's own files only (issue 23 §2): no request leaves the service, no script or style
is refused by the policy, and each page shows the API's operations."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from playwright.async_api import Browser, ConsoleMessage, Request

from tests.browser.conftest import Api

# Chromium's note of a load the policy refused: "Loading the image 'https://…' violates …"
BLOCKED_OUTSIDE = re.compile(r"'(https?://[^']+)' violates the following Content Security Policy")


async def _open(browser: Browser, api: Api, path: str, ready: str) -> tuple[list[str], list[str]]:
    """Load `path`, wait for `ready` to be visible; what went wrong on the way, and the
    outside addresses the policy refused."""
    page = await browser.new_page(viewport={"width": 1400, "height": 900}, locale="zh-CN")
    problems: list[str] = []
    blocked: list[str] = []
    own = urlsplit(api.url).netloc

    def on_console(message: ConsoleMessage) -> None:
        refused = BLOCKED_OUTSIDE.search(message.text)
        if refused is not None:
            # ReDoc's bundle shows Redocly's logo from its CDN: the policy refuses it (and
            # `on_request` checks that nothing went out), which is what it is for.
            blocked.append(refused.group(1))
        elif message.type == "error" or "Content Security Policy" in message.text:
            problems.append(f"console {message.type}: {message.text}")

    outside: list[str] = []

    def on_request(request: Request) -> None:
        where = urlsplit(request.url)
        if where.scheme in ("http", "https") and where.netloc != own:
            outside.append(request.url)

    def on_failed(request: Request) -> None:
        # Chromium's reason for a load the policy stopped: "csp" (net::ERR_BLOCKED_BY_CSP)
        if request.failure in ("csp", "net::ERR_BLOCKED_BY_CSP") and request.url in outside:
            outside.remove(request.url)  # stopped in the browser by the policy: never sent

    page.on("console", on_console)
    page.on("request", on_request)
    page.on("requestfailed", on_failed)
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    try:
        answer = await page.goto(f"{api.url}{path}")
        assert answer is not None and answer.status == 200
        assert "script-src 'self'" in (await answer.all_headers())["content-security-policy"]
        await page.locator(ready).first.wait_for(state="visible", timeout=30_000)
    finally:
        await page.close()
    return problems + [f"outside request: {url}" for url in outside], blocked


async def test_swagger_ui_runs_under_its_policy(browser: Browser, api: Api) -> None:
    # an operation block of the contract, rendered by Swagger UI's inline start-up script
    problems, blocked = await _open(browser, api, "/docs", ".swagger-ui .opblock-summary")
    assert (problems, blocked) == ([], [])


async def test_redoc_runs_under_its_policy(browser: Browser, api: Api) -> None:
    # ReDoc's menu of operation groups, rendered from /openapi.json
    problems, blocked = await _open(browser, api, "/redoc", ".menu-content li")
    assert problems == []
    assert all(urlsplit(url).hostname == "cdn.redoc.ly" for url in blocked), blocked
