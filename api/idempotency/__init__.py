"""Idempotency-Key handling for retried writes."""
