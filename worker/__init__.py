"""Petition Desk worker: the clock (deadline checks, sweeps) and the messenger (alerts)."""
