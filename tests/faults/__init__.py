"""Fault injection: the API and worker as real processes, on servers the suite owns, with
crashes, restarts and a misbehaving SMS receiver (`make test-faults`)."""
