"""Deadlines domain."""
