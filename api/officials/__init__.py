"""Officials domain."""
