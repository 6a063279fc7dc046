"""Prometheus metrics of the API process."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

CASES_REGISTERED = Counter("petitiondesk_cases_registered_total", "Cases registered", ["channel"])
DEADLINES_MISSED = Counter(
    "petitiondesk_deadlines_missed_total", "Deadlines flagged missed", ["kind"]
)
ALERT_ATTEMPTS = Counter(
    "petitiondesk_alert_attempts_total", "Alert delivery attempts reported", ["outcome"]
)
SMS_CAPPED = Counter(
    "petitiondesk_sms_capped_total", "SMS not sent: the number reached its SMS cap"
)
PIPELINE_QUEUE_DEPTH = Gauge("petitiondesk_queue_depth", "Jobs waiting in the arq queue")
PIPELINE_LAST_SWEEP = Gauge(
    "petitiondesk_worker_last_sweep_seconds", "Seconds since a worker last swept"
)
PIPELINE_OUTBOX_AGE = Gauge(
    "petitiondesk_outbox_oldest_undispatched_seconds", "Age of the oldest outbox row not in Redis"
)
PIPELINE_ALERT_AGE = Gauge(
    "petitiondesk_alert_oldest_pending_seconds", "Age of the oldest alert not yet delivered"
)
