"""Prometheus metrics of the API process."""

from __future__ import annotations

from prometheus_client import Counter

CASES_REGISTERED = Counter("petitiondesk_cases_registered_total", "Cases registered", ["channel"])
DEADLINES_MISSED = Counter(
    "petitiondesk_deadlines_missed_total", "Deadlines flagged missed", ["kind"]
)
ALERT_ATTEMPTS = Counter(
    "petitiondesk_alert_attempts_total", "Alert delivery attempts reported", ["outcome"]
)
