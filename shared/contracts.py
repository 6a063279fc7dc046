"""Payloads exchanged between the API and the worker (job arguments and internal calls)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, StrictBool

from shared.jsontypes import JsonInt

# Alerts committed together travel as one `deliver_alerts` job of at most this many.
DELIVERY_BATCH = 50
# Deadlines falling due within one tick share one flag job: the clock ticks, not each deadline.
FLAG_DUE_TICK_MS = 100


def flag_due_tick(due_at: datetime) -> datetime:
    """The end of the tick `due_at` falls in: when that tick's flag job runs."""
    ms = int(due_at.timestamp() * 1000)
    end = (ms // FLAG_DUE_TICK_MS + 1) * FLAG_DUE_TICK_MS
    return datetime.fromtimestamp(end / 1000, tz=due_at.tzinfo)


def flag_due_job_id(due_at: datetime) -> str:
    """arq job id of the flag job of `due_at`'s tick: one job for all deadlines due in it."""
    return f"flag-due:{int(flag_due_tick(due_at).timestamp() * 1000)}"


def remind_deadline_job_id(deadline_id: uuid.UUID | str, fraction: float) -> str:
    """arq job id of one reminder of a deadline."""
    return f"remind-deadline:{deadline_id}:{fraction:g}"


def advance_escalation_job_id(deadline_id: uuid.UUID | str, step: int) -> str:
    """arq job id of the due time of one escalation step."""
    return f"advance-escalation:{deadline_id}:{step}"


def start_escalations_job_id(first_deadline_id: uuid.UUID | str) -> str:
    """arq job id of a chunk of chains to start (a deadline is flagged, hence in a chunk, once)."""
    return f"start-escalations:{first_deadline_id}"


def renotify_escalation_job_id(escalation_id: uuid.UUID | str, round_: int) -> str:
    """arq job id of one re-notification round of an acknowledged escalation."""
    return f"renotify-escalation:{escalation_id}:{round_}"


def flush_bundle_job_id(channel: str, recipient: str, window_end: int) -> str:
    """arq job id of one recipient's bundle for the window ending at `window_end` (epoch s)."""
    return f"flush-bundle:{channel}:{recipient}:{window_end}"


def deliver_alerts_job_id(first_alert_id: uuid.UUID | str) -> str:
    """arq job id of a batch of alerts, named after its first (an alert is in one batch)."""
    return f"deliver-alerts:{first_alert_id}"


def deliver_alert_job_id(alert_id: uuid.UUID | str) -> str:
    """arq job id of an alert's delivery: one per alert."""
    return f"deliver-alert:{alert_id}"


class AlertMessage(BaseModel):
    """What the worker needs to deliver one alert; `alert_id` is the stable message id."""

    alert_id: uuid.UUID
    channel: Literal["sms", "webhook", "dingtalk", "wecom"]
    to: str = Field(
        description="Phone number (sms), or the receiver's URL as shown (webhook, dingtalk, "
        "wecom: without its query, which may hold a token): where a receiver really is, and "
        "the secret to sign with, are read from the API at send time (`ALERT_ADDRESSES`)."
    )
    text: str
    title: str | None = Field(default=None, description="Heading for markdown channels.")
    event: str | None = Field(default=None, description="Event type, e.g. deadline.missed.")
    payload: dict[str, Any] | None = Field(
        default=None, description="The JSON body of a webhook delivery."
    )


class AlertAttempt(BaseModel):
    """The outcome of one delivery attempt, reported back to the API."""

    ok: StrictBool
    attempt: JsonInt = Field(ge=1, le=1000)
    error: str | None = None
    final: StrictBool = Field(default=False, description="No further attempt will be made.")
    gone: StrictBool = Field(default=False, description="The receiver answered 410 Gone.")


class ReminderOutcome(BaseModel):
    """What the API did with a reminder the worker asked it to send."""

    status: Literal["sent", "skipped", "early"]
    remind_at: datetime = Field(description="When the reminder is (or was) due.")


class EscalationAdvance(BaseModel):
    """What the API did when asked to advance an escalation chain or re-notify."""

    status: Literal["created", "stopped", "exists", "end"]
    escalation_id: uuid.UUID | None = None


class EscalationStart(BaseModel):
    """A chunk of missed deadlines whose escalation chains the worker asks the API to start."""

    deadline_ids: list[uuid.UUID] = Field(min_length=1, max_length=1000)


class EscalationStartReport(BaseModel):
    """How many chains of the chunk this call started (the rest had started already)."""

    started: int


class AlertAttemptReport(AlertAttempt):
    """One attempt's outcome inside a batch report."""

    alert_id: uuid.UUID


class AlertAttemptBatch(BaseModel):
    """Outcomes of many delivery attempts, reported in one call."""

    attempts: list[AlertAttemptReport] = Field(min_length=1, max_length=1000)


class AlertAttemptsRecorded(BaseModel):
    """How many reports of a batch applied to a known alert."""

    recorded: int


class BundleOutcome(BaseModel):
    """The bundle alert a flush created, if any alerts were held."""

    bundle_alert_id: uuid.UUID | None


class FlagDueReport(BaseModel):
    """One batch of overdue deadlines flagged missed."""

    flagged: int
    more: bool = Field(description="The batch was full: there may be more to flag.")


class SweepReport(BaseModel):
    """What one safety-net sweep did."""

    deadlines_missed: int
    outbox_relayed: int
    alerts_requeued: int
    idempotency_keys_purged: int = 0
    outbox_rows_purged: int = 0
    jobs_handed_out_again: int = Field(
        default=0,
        description="Jobs Redis had lost (it came back empty, or a failover lost the last "
        "writes), handed out again.",
    )
    report_deadlines_opened: int = 0
    duty_deadlines_opened: int = 0


class FlagDue(BaseModel):
    """A tick in which deadlines fell due: flag everything past due."""

    for_deadline: uuid.UUID | None = Field(
        default=None, description="The deadline that scheduled the tick (for tracing only)."
    )


class ReminderDue(BaseModel):
    """A reminder of a deadline falls due at this fraction of its span."""

    deadline_id: uuid.UUID
    fraction: float = Field(gt=0, lt=1)


class EscalationDue(BaseModel):
    """The delay before step `step` of a deadline's chain has passed."""

    deadline_id: uuid.UUID
    step: JsonInt = Field(ge=1, le=1000)


class RenotifyDue(BaseModel):
    """Round `round` of re-notifying an acknowledged escalation is due."""

    escalation_id: uuid.UUID
    round: JsonInt = Field(ge=1, le=100000)


class BundleDue(BaseModel):
    """A recipient's rate-limit window ended: the alerts held for them go as one bundle."""

    channel: Literal["sms", "webhook", "dingtalk", "wecom"]
    recipient: str = Field(min_length=1, max_length=2000)


class SweepRequest(BaseModel):
    """The periodic safety net (nothing to say: it looks at everything)."""


class AlertAddressQuery(BaseModel):
    """Alerts about to be sent on a channel that needs a full address or a signature."""

    alert_ids: list[uuid.UUID] = Field(min_length=1, max_length=1000)


class AlertAddress(BaseModel):
    """Where one alert really goes and what signs it, for this attempt only (never queued)."""

    alert_id: uuid.UUID
    to: str = Field(description="The receiver's full URL (a robot's token included).")
    secret: str | None = Field(
        default=None, description="Signing secret of a webhook or robot (whsec_…, SEC…)."
    )


class AlertAddresses(BaseModel):
    """The addresses found; an alert whose receiver is gone (the contact or subscription was
    removed) is left out."""

    addresses: list[AlertAddress]
