"""Alerts domain."""
