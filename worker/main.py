"""arq worker: deferred deadline checks, alert delivery, and the APScheduler safety sweep.

Run with `arq worker.main.WorkerSettings`. It never touches the API's tables: it reads
Redis and calls the API through `shared.client.ApiClient`.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import httpx
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from arq import Retry
from arq.typing import WorkerCoroutine
from arq.worker import func

from shared import logs, tracing
from shared.client import ApiClient
from shared.contracts import (
    AlertAddress,
    AlertAddressQuery,
    AlertAttempt,
    AlertMessage,
    SweepRequest,
    deliver_alert_job_id,
)
from shared.jobs import ALERT_ADDRESSES, DELIVER_ALERT, DELIVER_ALERTS, JOBS, SWEEP, Job
from shared.redis_connect import worker_settings
from shared.settings import Settings, get_settings
from worker import alive
from worker.channels.base import ADDRESSED_CHANNELS, Outgoing, Sender, SendError
from worker.channels.registry import build_senders
from worker.reporting import AttemptReporter

log = logging.getLogger("worker")
REPORT_TRIES = 5
# How long after its start the worker takes an unreachable API for one still starting.
API_START_GRACE = 60.0
# A job that must run again at once (a full batch of flags) does so at most this many times in
# one run before it hands the rest to a retry of itself.
MAX_RUNS_AT_ONCE = 500


def backoff_seconds(attempt: int, base: float, ceiling: float) -> float:
    """Exponential backoff with a little jitter before attempt `attempt + 1`."""
    delay: float = min(base * 2 ** (attempt - 1), ceiling)
    return delay * random.uniform(1.0, 1.2)


async def _report(reporter: AttemptReporter, message: AlertMessage, attempt: AlertAttempt) -> None:
    # Retry the report itself so a short API hiccup does not resend an SMS already sent;
    # if the API stays away, the job is retried whole (receivers dedupe on the message id).
    for n in range(1, REPORT_TRIES + 1):
        try:
            await reporter.report(message.alert_id, attempt)
            return
        except (httpx.HTTPError, ConnectionError) as exc:
            if n == REPORT_TRIES:
                raise Retry(defer=5.0) from exc
            await asyncio.sleep(0.2 * n)


async def _addresses(ctx: dict[str, Any], alerts: list[AlertMessage]) -> dict[Any, AlertAddress]:
    """Where the alerts on addressed channels really go and how to sign them, read from the
    API for this attempt (never from the job: no secret is queued); the API unreachable, the
    job is tried again shortly."""
    wanted = [a.alert_id for a in alerts if a.channel in ADDRESSED_CHANNELS]
    if not wanted:
        return {}
    try:
        found = await ctx["api"].call(ALERT_ADDRESSES, AlertAddressQuery(alert_ids=wanted))
    except httpx.HTTPError as exc:
        raise Retry(defer=5.0) from exc
    return {a.alert_id: a for a in found.addresses}


def _outgoing(alert: AlertMessage, addresses: dict[Any, AlertAddress]) -> Outgoing | None:
    """The alert as it leaves; None when its receiver is gone (an addressed channel the API
    no longer knows an address for)."""
    if alert.channel not in ADDRESSED_CHANNELS:
        return Outgoing(**alert.model_dump())
    address = addresses.get(alert.alert_id)
    if address is None:
        return None
    return Outgoing(**{**alert.model_dump(), "to": address.to, "secret": address.secret})


async def _attempt(
    ctx: dict[str, Any], alert: AlertMessage, attempt: int, addresses: dict[Any, AlertAddress]
) -> Retry | None:
    """One delivery attempt and its report: None when done (sent, or declared failed), a
    `Retry` saying when to try again otherwise."""
    settings: Settings = ctx["settings"]
    sender: Sender = ctx["senders"][alert.channel]
    outgoing = _outgoing(alert, addresses)
    if outgoing is None:
        gone = AlertAttempt(ok=False, attempt=attempt, error="the receiver was removed", final=True)
        await _report(ctx["reporter"], alert, gone)
        return None
    try:
        async with ctx["send_slots"]:
            await sender.send(outgoing)
    except SendError as exc:
        final = exc.permanent or attempt >= settings.alert_max_attempts
        log.warning("alert %s attempt %d failed: %s", alert.alert_id, attempt, exc)
        report = AlertAttempt(ok=False, attempt=attempt, error=str(exc), final=final, gone=exc.gone)
        await _report(ctx["reporter"], alert, report)
        if final:
            return None
        if exc.retry_after is not None:
            return Retry(defer=min(exc.retry_after, settings.alert_retry_max_seconds))
        return _retry_later(attempt, settings)
    await _report(ctx["reporter"], alert, AlertAttempt(ok=True, attempt=attempt))
    return None


def job_budget(settings: Settings) -> float:
    """Seconds a job works before it hands what is left to a retry of itself.

    arq fails a job that reaches its timeout for good, so no job may: half the timeout for
    the work, and every single call it then starts is bounded by the other half."""
    return settings.worker_job_timeout_seconds / 2


async def deliver_alert(ctx: dict[str, Any], message: dict[str, Any]) -> str:
    """Deliver one alert on its channel; retried with backoff (or the receiver's Retry-After)
    until sent, declared failed after the last attempt, or failed at once when retrying
    cannot help."""
    alert = AlertMessage.model_validate(message)
    addresses = await _addresses(ctx, [alert])
    try:
        retry = await asyncio.wait_for(
            _attempt(ctx, alert, int(ctx.get("job_try", 1)), addresses),
            job_budget(ctx["settings"]),
        )
    except TimeoutError as exc:  # a hung gateway or API: again shortly (same message id)
        raise Retry(defer=1.0) from exc
    if retry is not None:
        raise retry
    return "done"


async def deliver_alerts(ctx: dict[str, Any], messages: list[dict[str, Any]]) -> int:
    """Deliver a batch of alerts committed together, side by side; one that must be tried
    again continues as its own `deliver_alert` job (its second attempt). Returns how many
    were settled in this job."""
    alerts = [AlertMessage.model_validate(m) for m in messages]
    addresses = await _addresses(ctx, alerts)
    tasks = [asyncio.ensure_future(_attempt(ctx, a, 1, addresses)) for a in alerts]
    try:
        _, late = await asyncio.wait(tasks, timeout=job_budget(ctx["settings"]))
    except BaseException:
        for task in tasks:
            task.cancel()
        raise  # cancelled: the whole batch runs again (receivers dedupe)
    for task in late:  # still sending or reporting: each goes on as its own job
        task.cancel()
    await asyncio.gather(*late, return_exceptions=True)
    settled = 0
    for alert, task in zip(alerts, tasks, strict=True):
        outcome = Retry(defer=1.0) if task.cancelled() else task.exception() or task.result()
        if outcome is None:
            settled += 1
            continue
        if not isinstance(outcome, Retry):
            log.error("alert %s: unexpected error", alert.alert_id, exc_info=outcome)
        defer_ms = outcome.defer_score if isinstance(outcome, Retry) else None
        await ctx["redis"].enqueue_job(
            DELIVER_ALERT,
            alert.model_dump(mode="json"),
            _job_id=deliver_alert_job_id(alert.alert_id),
            _job_try=2,
            _defer_by=timedelta(milliseconds=defer_ms or 1000),
            request_id=tracing.current(),
        )
    return settled


def _retry_later(attempt: int, settings: Settings) -> Retry:
    return Retry(
        defer=backoff_seconds(
            attempt, settings.alert_retry_base_seconds, settings.alert_retry_max_seconds
        )
    )


def api_job(job: Job[Any, Any]) -> Callable[..., Awaitable[str]]:
    """The worker's function of a job declared in `shared.jobs`: call the API with the job's
    body, run again as the answer asks (at once for a while, else as a retry), and when the
    API cannot be reached try again after the job's delay (the sweep recovers the rest)."""

    async def run(ctx: dict[str, Any], *args: Any) -> str:
        body = job.parse(args)
        loop = asyncio.get_running_loop()
        stop_at = loop.time() + job_budget(ctx["settings"])
        for _ in range(MAX_RUNS_AT_ONCE):
            try:
                answer = await ctx["api"].call(job, body)
            except httpx.HTTPError as exc:
                raise Retry(defer=job.unreachable_retry) from exc
            again = job.again(answer)
            if again is None:
                return str(answer.model_dump(mode="json"))
            if again > 0 or loop.time() >= stop_at:
                raise Retry(defer=again)
        raise Retry(defer=0.0)

    run.__name__ = run.__qualname__ = job.name
    run.__doc__ = job.summary
    return run


async def sweep(ctx: dict[str, Any]) -> None:
    """The safety net: let the API flag overdue deadlines and relay what was left behind."""
    tracing.request_id.set(tracing.new_request_id())  # APScheduler runs each in its own task
    try:
        report = await ctx["api"].call(SWEEP, SweepRequest())
    except Exception as exc:
        started = ctx.get("started_at")
        if (
            isinstance(exc, httpx.TransportError)
            and started is not None
            and time.monotonic() - started < API_START_GRACE
        ):
            # `make run` and a deploy start the worker beside the API: not yet answering is
            # how every start begins, not a failure to look into (said once, not every 2 s).
            if not ctx.get("waiting_said"):
                log.info("sweep: waiting for the API at %s", ctx["settings"].api_url)
                ctx["waiting_said"] = True
            return
        log.warning("sweep failed: %s", exc)
        return
    ctx.pop("started_at", None)  # the API answered: from now on a failure is a failure
    if (
        report.deadlines_missed
        or report.outbox_relayed
        or report.alerts_requeued
        or report.outbox_rows_purged
    ):
        log.info("sweep: %s", report.model_dump())


async def startup(ctx: dict[str, Any]) -> None:
    """Create the worker's resources: API client, SMS sender, sweep scheduler."""
    settings = get_settings()
    logs.configure(settings.log_level, settings.log_format)
    for noisy in ("apscheduler", "httpx"):  # a line per sweep would bury the alerts
        logging.getLogger(noisy).setLevel(logging.WARNING)
    arq_log = logging.getLogger("arq")  # arq's CLI gave it a handler already: no duplicates
    arq_log.propagate = False
    arq_log.setLevel(settings.log_level)
    ctx["settings"] = settings
    ctx["started_at"] = time.monotonic()
    ctx["api"] = ApiClient(settings.api_url, settings.worker_token, timeout=job_budget(settings))
    ctx["senders"] = build_senders(settings)
    ctx["send_slots"] = asyncio.Semaphore(settings.worker_send_concurrency)
    ctx["reporter"] = AttemptReporter(ctx["api"])
    ctx["reporter"].start()
    scheduler = AsyncIOScheduler(timezone="UTC")
    scheduler.add_job(
        sweep,
        "interval",
        seconds=settings.sweep_interval_seconds,
        args=[ctx],
        max_instances=1,
        coalesce=True,
        next_run_time=datetime.now(UTC),
    )
    scheduler.start()
    ctx["scheduler"] = scheduler
    if settings.worker_heartbeat_file:
        ctx["heartbeat"] = asyncio.create_task(
            alive.keep_beating(Path(settings.worker_heartbeat_file))
        )


async def shutdown(ctx: dict[str, Any]) -> None:
    """Release the worker's resources."""
    scheduler: AsyncIOScheduler | None = ctx.get("scheduler")
    if scheduler is not None:
        scheduler.shutdown(wait=False)
    heartbeat: asyncio.Task[None] | None = ctx.get("heartbeat")
    if heartbeat is not None:
        heartbeat.cancel()
        alive.stop_beating(Path(ctx["settings"].worker_heartbeat_file))
    if "reporter" in ctx:
        await ctx["reporter"].aclose()
    if "api" in ctx:
        await ctx["api"].aclose()
    for sender in ctx.get("senders", {}).values():
        await sender.aclose()


def traced(job: Callable[..., Awaitable[Any]]) -> WorkerCoroutine:
    """The job, run under the request id it was enqueued with (a fresh one when it came
    without), so its log lines and its calls to the API and providers carry it."""

    @functools.wraps(job)
    async def run(ctx: dict[str, Any], *args: Any, request_id: str | None = None, **kw: Any) -> Any:
        token = tracing.request_id.set(tracing.adopt(request_id))
        try:
            return await job(ctx, *args, **kw)
        finally:
            tracing.request_id.reset(token)

    return run


_settings = get_settings()


class WorkerSettings:
    """arq settings, read from the environment when the worker process starts."""

    functions: ClassVar[list[Any]] = [
        *(func(traced(api_job(job)), name=job.name, max_tries=job.max_tries) for job in JOBS),
        func(
            traced(deliver_alert),
            name=DELIVER_ALERT,
            max_tries=_settings.alert_max_attempts + 5,
        ),
        func(traced(deliver_alerts), name=DELIVER_ALERTS, max_tries=5),
    ]
    on_startup = startup
    on_shutdown = shutdown
    redis_settings = worker_settings(_settings)
    queue_name = _settings.arq_queue
    poll_delay = _settings.worker_poll_seconds
    max_jobs = 50
    job_timeout = _settings.worker_job_timeout_seconds
    # On SIGTERM take no new job and let those running finish (each is bounded by the job
    # timeout): a send cut off midway would be sent again by the next worker.
    job_completion_wait = int(_settings.worker_job_timeout_seconds) + 1
    keep_result = 3600
