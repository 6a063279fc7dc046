"""The generic tools every room uses: the database base and session boundary, errors,
time, pagination, polls and metrics. Nothing here knows a domain."""
