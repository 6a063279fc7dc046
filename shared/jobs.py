"""Every call the worker makes into the API, and every job it runs, declared once.

A `Call` is one internal endpoint: `POST {path}` with a `body` model, answered with an `answer`
model. A `Job` is a call the API records in its outbox (with the change that causes it) and the
worker runs when it is due: its positional arguments are the body's fields in order (plain
JSON: ids, numbers, short strings, never a secret), and it says how often it is tried and
when it must run again. From these declarations come the worker's functions and
`WorkerSettings.functions` (`worker.main`), the client's calls (`shared.client.ApiClient.call`)
and the API's `/v1/internal/*` routes (`api.internal.router`).

The two delivery jobs (`deliver_alert`, `deliver_alerts`) are the worker's own work: they send
messages and report the outcomes through `REPORT_ATTEMPTS`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from shared.contracts import (
    AlertAddresses,
    AlertAddressQuery,
    AlertAttemptBatch,
    AlertAttemptsRecorded,
    BundleDue,
    BundleOutcome,
    EscalationAdvance,
    EscalationDue,
    EscalationStart,
    EscalationStartReport,
    FlagDue,
    FlagDueReport,
    ReminderDue,
    ReminderOutcome,
    RenotifyDue,
    SweepReport,
    SweepRequest,
)

Body = TypeVar("Body", bound=BaseModel)
Answer = TypeVar("Answer", bound=BaseModel)


@dataclass(frozen=True)
class Call(Generic[Body, Answer]):
    """One internal endpoint of the API, called by the worker only."""

    name: str
    path: str
    body: type[Body]
    answer: type[Answer]
    summary: str


def _never(_answer: Any) -> float | None:
    return None


@dataclass(frozen=True)
class Job(Call[Body, Answer]):
    """A call the API schedules through its outbox and the worker runs when it is due.

    `unreachable_retry`: seconds before trying again when the API cannot be reached (the
    sweep also recovers what is missed). `again`: from the API's answer, after how many
    seconds the job must run again (0: at once), or None when it is done."""

    max_tries: int = 1000
    unreachable_retry: float = 5.0
    again: Callable[[Answer], float | None] = field(default=_never)

    def args(self, body: Body) -> list[Any]:
        """The job's positional arguments: the body's fields in order, as plain JSON."""
        dumped = body.model_dump(mode="json")
        return [dumped[name] for name in self.body.model_fields]

    def parse(self, args: Sequence[Any]) -> Body:
        """The body from the job's positional arguments (as many as were given)."""
        return self.body.model_validate(dict(zip(self.body.model_fields, args, strict=False)))


def _more_at_once(report: FlagDueReport) -> float | None:
    return 0.0 if report.more else None


def _when_due(outcome: ReminderOutcome) -> float | None:
    # Woke early (an extension moved the deadline later, or clock skew): back at remind_at.
    if outcome.status != "early":
        return None
    return max((outcome.remind_at - datetime.now(UTC)).total_seconds(), 0.05)


FLAG_DUE: Job[FlagDue, FlagDueReport] = Job(
    name="flag_due",
    path="/v1/internal/deadlines/flag-due",
    body=FlagDue,
    answer=FlagDueReport,
    summary="Flag one batch of open deadlines past due missed (the clock's tick).",
    unreachable_retry=1.0,
    again=_more_at_once,
)
START_ESCALATIONS: Job[EscalationStart, EscalationStartReport] = Job(
    name="start_escalations",
    path="/v1/internal/escalations/start",
    body=EscalationStart,
    answer=EscalationStartReport,
    summary="Start the escalation chains of a chunk of missed deadlines (exactly once each).",
    unreachable_retry=1.0,
)
REMIND_DEADLINE: Job[ReminderDue, ReminderOutcome] = Job(
    name="remind_deadline",
    path="/v1/internal/deadlines/remind",
    body=ReminderDue,
    answer=ReminderOutcome,
    summary="Send the reminder due at a fraction of a deadline's span (once).",
    again=_when_due,
)
ADVANCE_ESCALATION: Job[EscalationDue, EscalationAdvance] = Job(
    name="advance_escalation",
    path="/v1/internal/escalations/advance",
    body=EscalationDue,
    answer=EscalationAdvance,
    summary="A step's delay has passed: open it unless someone acknowledged.",
)
RENOTIFY_ESCALATION: Job[RenotifyDue, EscalationAdvance] = Job(
    name="renotify_escalation",
    path="/v1/internal/escalations/renotify",
    body=RenotifyDue,
    answer=EscalationAdvance,
    summary="Remind whoever acknowledged, while the matter stays unresolved.",
)
FLUSH_BUNDLE: Job[BundleDue, BundleOutcome] = Job(
    name="flush_bundle",
    path="/v1/internal/alerts/bundles/flush",
    body=BundleDue,
    answer=BundleOutcome,
    summary="The rate-limit window ended: send the held alerts as one bundle.",
)

REPORT_ATTEMPTS: Call[AlertAttemptBatch, AlertAttemptsRecorded] = Call(
    name="report_attempts",
    path="/v1/internal/alerts/attempts",
    body=AlertAttemptBatch,
    answer=AlertAttemptsRecorded,
    summary="Record the outcomes of many delivery attempts at once (an alert unknown here "
    "is skipped, not an error: the batch is still recorded).",
)
ALERT_ADDRESSES: Call[AlertAddressQuery, AlertAddresses] = Call(
    name="alert_addresses",
    path="/v1/internal/alerts/addresses",
    body=AlertAddressQuery,
    answer=AlertAddresses,
    summary="Where to send these alerts and how to sign them, read at send time: the "
    "receivers' full URLs and signing secrets never travel in a job.",
)
SWEEP: Call[SweepRequest, SweepReport] = Call(
    name="sweep",
    path="/v1/internal/sweep",
    body=SweepRequest,
    answer=SweepReport,
    summary="The safety net: flag overdue deadlines, relay the outbox, re-enqueue stale alerts.",
)

JOBS: tuple[Job[Any, Any], ...] = (
    FLAG_DUE,
    START_ESCALATIONS,
    REMIND_DEADLINE,
    ADVANCE_ESCALATION,
    RENOTIFY_ESCALATION,
    FLUSH_BUNDLE,
)
"""The jobs the worker runs by calling the API."""

CALLS: tuple[Call[Any, Any], ...] = (*JOBS, REPORT_ATTEMPTS, ALERT_ADDRESSES, SWEEP)
"""Every internal endpoint, one route each."""

# The worker's own jobs: alerts committed together travel as one `deliver_alerts` job (the
# queue's cost is per job, not per message); one that must be tried again continues as its
# own `deliver_alert` job.
DELIVER_ALERT = "deliver_alert"
DELIVER_ALERTS = "deliver_alerts"
