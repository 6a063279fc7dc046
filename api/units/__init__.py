"""Units domain."""
