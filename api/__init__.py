"""Petition Desk API: the only writer of the database."""
