"""Outgoing events: webhook subscriptions of other systems."""
