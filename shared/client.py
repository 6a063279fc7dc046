"""Typed HTTP client the worker uses to talk to the API's internal endpoints."""

from __future__ import annotations

import uuid

import httpx

from shared import tracing
from shared.contracts import (
    AlertAttemptBatch,
    AlertAttemptReport,
    AlertAttemptsRecorded,
    BundleOutcome,
    DeadlineEvaluation,
    EscalationAdvance,
    EscalationStart,
    EscalationStartReport,
    FlagDueReport,
    ReminderOutcome,
    SweepReport,
)


class ApiClient:
    """Calls the API as the worker; one instance per worker process, made in `on_startup`."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout,
            transport=transport,
            event_hooks=tracing.event_hooks(),
        )

    async def aclose(self) -> None:
        """Close the underlying connection pool."""
        await self._http.aclose()

    async def evaluate_deadline(self, deadline_id: uuid.UUID | str) -> DeadlineEvaluation:
        """Ask the API to flag the deadline missed if it is due and still open."""
        resp = await self._http.post(f"/v1/internal/deadlines/{deadline_id}/evaluate")
        resp.raise_for_status()
        return DeadlineEvaluation.model_validate(resp.json())

    async def flag_due(self) -> FlagDueReport:
        """Ask the API to flag one batch of deadlines past due."""
        resp = await self._http.post("/v1/internal/deadlines/flag-due")
        resp.raise_for_status()
        return FlagDueReport.model_validate(resp.json())

    async def remind_deadline(
        self, deadline_id: uuid.UUID | str, fraction: float
    ) -> ReminderOutcome:
        """Ask the API to send the reminder due at `fraction` of the deadline's span."""
        resp = await self._http.post(
            f"/v1/internal/deadlines/{deadline_id}/remind", params={"fraction": fraction}
        )
        resp.raise_for_status()
        return ReminderOutcome.model_validate(resp.json())

    async def advance_escalation(
        self, deadline_id: uuid.UUID | str, step: int
    ) -> EscalationAdvance:
        """Ask the API to open escalation step `step` unless the chain was stopped."""
        resp = await self._http.post(
            "/v1/internal/escalations/advance",
            params={"deadline_id": str(deadline_id), "step": step},
        )
        resp.raise_for_status()
        return EscalationAdvance.model_validate(resp.json())

    async def renotify_escalation(
        self, escalation_id: uuid.UUID | str, round_: int
    ) -> EscalationAdvance:
        """Ask the API to remind whoever acknowledged, if the matter is still unresolved."""
        resp = await self._http.post(
            f"/v1/internal/escalations/{escalation_id}/renotify", params={"round": round_}
        )
        resp.raise_for_status()
        return EscalationAdvance.model_validate(resp.json())

    async def flush_bundle(self, channel: str, recipient: str) -> BundleOutcome:
        """Ask the API to send a recipient's held alerts as one bundle."""
        resp = await self._http.post(
            "/v1/internal/alerts/bundles/flush",
            params={"channel": channel, "recipient": recipient},
        )
        resp.raise_for_status()
        return BundleOutcome.model_validate(resp.json())

    async def start_escalations(self, deadline_ids: list[str]) -> EscalationStartReport:
        """Ask the API to start the escalation chains of a chunk of missed deadlines."""
        body = EscalationStart.model_validate({"deadline_ids": deadline_ids})
        resp = await self._http.post(
            "/v1/internal/escalations/start", json=body.model_dump(mode="json")
        )
        resp.raise_for_status()
        return EscalationStartReport.model_validate(resp.json())

    async def report_alert_attempts(self, reports: list[AlertAttemptReport]) -> int:
        """Record the outcomes of many delivery attempts in one call; returns how many applied."""
        body = AlertAttemptBatch(attempts=reports)
        resp = await self._http.post(
            "/v1/internal/alerts/attempts", json=body.model_dump(mode="json")
        )
        resp.raise_for_status()
        return AlertAttemptsRecorded.model_validate(resp.json()).recorded

    async def sweep(self) -> SweepReport:
        """Run the safety-net sweep: overdue deadlines, undispatched outbox, stale alerts."""
        resp = await self._http.post("/v1/internal/sweep")
        resp.raise_for_status()
        return SweepReport.model_validate(resp.json())
