"""Finding a case (issue 21 §3): full-text search in Chinese, and likely repeats of a matter."""
