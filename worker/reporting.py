"""Delivery outcomes go back to the API in batches: during a storm one request carries the
reports of many deliveries instead of one each, and each delivery still waits until its own
report is recorded (so a job never ends with its outcome unknown to the API)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid

from shared.client import ApiClient
from shared.contracts import AlertAttempt, AlertAttemptBatch, AlertAttemptReport
from shared.jobs import REPORT_ATTEMPTS


class AttemptReporter:
    """Queues attempt reports and posts them together, a few batches in flight at a time.

    `linger` is how long a report waits for others to join its batch: a lone alert pays it
    once, a storm amortises one request over up to `max_batch` reports.
    """

    def __init__(
        self,
        api: ApiClient,
        *,
        max_batch: int = 200,
        linger: float = 0.02,
        in_flight: int = 2,
    ) -> None:
        self._api = api
        self._max_batch = max_batch
        self._linger = linger
        self._slots = asyncio.Semaphore(in_flight)
        self._pending: list[tuple[AlertAttemptReport, asyncio.Future[None]]] = []
        self._wake = asyncio.Event()
        self._posts: set[asyncio.Task[None]] = set()
        self._runner: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Begin posting (call from the worker's startup, inside its event loop)."""
        self._runner = asyncio.create_task(self._run())

    async def report(self, alert_id: uuid.UUID, attempt: AlertAttempt) -> None:
        """Record one attempt's outcome; returns once the API has it, raises what the batch's
        request raised (an `httpx.HTTPError`) if it could not be recorded."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append(
            (AlertAttemptReport(alert_id=alert_id, **attempt.model_dump()), future)
        )
        self._wake.set()
        await future

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            await asyncio.sleep(self._linger)
            await self._slots.acquire()
            batch = self._pending[: self._max_batch]
            del self._pending[: self._max_batch]
            if not self._pending:
                self._wake.clear()
            if not batch:
                self._slots.release()
                continue
            task = asyncio.create_task(self._post(batch))
            self._posts.add(task)
            task.add_done_callback(self._posts.discard)

    async def _post(self, batch: list[tuple[AlertAttemptReport, asyncio.Future[None]]]) -> None:
        try:
            await self._api.call(
                REPORT_ATTEMPTS, AlertAttemptBatch(attempts=[report for report, _ in batch])
            )
        except Exception as exc:
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
        else:
            for _, future in batch:
                if not future.done():
                    future.set_result(None)
        finally:
            self._slots.release()

    async def aclose(self) -> None:
        """Stop; reports still queued fail (their jobs are retried, receivers dedupe)."""
        if self._runner is not None:
            self._runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._runner
        if self._posts:
            await asyncio.gather(*self._posts, return_exceptions=True)
        for _, future in self._pending:
            if not future.done():
                future.set_exception(ConnectionError("worker shutting down"))
        self._pending.clear()
