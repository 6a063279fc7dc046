"""The worker starts beside the API: while the API is not yet answering, its 2-second sweep
says so once, at INFO; once the API has answered (or after the grace), a failure is a WARNING
each time (issue 23 §6: the log a newcomer reads is the SMS lines, not a start-up race)."""

from __future__ import annotations

import logging
import socket
import time
from typing import Any

import pytest

from shared.client import ApiClient
from shared.settings import Settings
from worker import main as worker


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again when the block ends: nobody listens


async def _ctx(started_at: float | None) -> dict[str, Any]:
    url = f"http://127.0.0.1:{_closed_port()}"
    ctx: dict[str, Any] = {
        "settings": Settings(api_url=url),
        "api": ApiClient(url, "token", timeout=2.0),
    }
    if started_at is not None:
        ctx["started_at"] = started_at
    return ctx


def _lines(caplog: pytest.LogCaptureFixture) -> list[tuple[int, str]]:
    return [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "worker"]


async def test_an_api_still_starting_is_said_once_at_info(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ctx = await _ctx(time.monotonic())
    caplog.set_level(logging.INFO, logger="worker")
    try:
        for _ in range(3):
            await worker.sweep(ctx)
    finally:
        await ctx["api"].aclose()
    url = ctx["settings"].api_url
    assert _lines(caplog) == [(logging.INFO, f"sweep: waiting for the API at {url}")]


async def test_an_api_gone_after_it_answered_or_after_the_grace_is_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    for started_at in (None, time.monotonic() - worker.API_START_GRACE - 1):
        caplog.clear()
        ctx = await _ctx(started_at)
        caplog.set_level(logging.INFO, logger="worker")
        try:
            await worker.sweep(ctx)
            await worker.sweep(ctx)
        finally:
            await ctx["api"].aclose()
        levels = [level for level, _ in _lines(caplog)]
        assert levels == [logging.WARNING, logging.WARNING], _lines(caplog)
        assert all("sweep failed" in text for _, text in _lines(caplog))
