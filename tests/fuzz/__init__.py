"""Fuzzing the HTTP contract with schemathesis (`make test-fuzz`)."""
