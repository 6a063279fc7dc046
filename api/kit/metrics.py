"""Prometheus metrics of the API process.

Counters of what changed in the database move only once its transaction has committed
(`count_after_commit`), so a rolled-back request never shows as a flagged deadline or an
escalation that did not happen. Every API replica counts its own; Prometheus sums them."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import Counter, Gauge, Histogram
from sqlalchemy.ext.asyncio import AsyncSession

from api.kit.uow import unit_of

UNMATCHED = "-"  # the route label of a request no route matched (404s, refused bodies)

REQUEST_DURATION = Histogram(
    "petitiondesk_http_request_duration_seconds",
    "Time to answer a request, by method, route template and status",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
CASES_REGISTERED = Counter("petitiondesk_cases_registered_total", "Cases registered", ["channel"])
DEADLINES_MISSED = Counter(
    "petitiondesk_deadlines_missed_total", "Deadlines flagged missed", ["kind"]
)
DEADLINE_FLAG_LAG = Histogram(
    "petitiondesk_deadline_flag_lag_seconds",
    "From a deadline's due time (or its registration, when registered already overdue) to "
    "its being flagged missed",
    ["kind"],
    buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300),
)
ESCALATIONS = Counter(
    "petitiondesk_escalations_total", "Escalation steps opened", ["step", "reason"]
)
ESCALATIONS_UNANSWERED = Counter(
    "petitiondesk_escalations_unanswered_total",
    "Misses nobody answered: a chain that ran out unacknowledged, or a step with nobody to "
    "notify; each went to the county petition office",
    ["reason"],
)
ALERT_ATTEMPTS = Counter(
    "petitiondesk_alert_attempts_total",
    "Alert delivery attempts the worker reported, by channel and result",
    ["channel", "outcome"],
)
SMS_CAPPED = Counter(
    "petitiondesk_sms_capped_total", "SMS not sent: the number reached its SMS cap"
)
PIPELINE_QUEUE_DEPTH = Gauge("petitiondesk_queue_depth", "Jobs waiting in the arq queue")
PIPELINE_LAST_SWEEP = Gauge(
    "petitiondesk_worker_last_sweep_seconds", "Seconds since a worker last swept"
)
PIPELINE_OUTBOX_DEPTH = Gauge(
    "petitiondesk_outbox_undispatched", "Outbox rows not yet handed to Redis"
)
PIPELINE_OUTBOX_AGE = Gauge(
    "petitiondesk_outbox_oldest_undispatched_seconds", "Age of the oldest outbox row not in Redis"
)
PIPELINE_ALERT_AGE = Gauge(
    "petitiondesk_alert_oldest_pending_seconds", "Age of the oldest alert not yet delivered"
)


def count_after_commit(session: AsyncSession, record: Callable[[], None]) -> None:
    """Run `record` (a few `inc()`/`observe()` calls) once the transaction has committed."""

    async def recorded() -> None:
        record()

    unit_of(session).after_commit(recorded)
