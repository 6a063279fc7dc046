"""Browser tests: the dashboard page in headless Chromium (`make test-browser`)."""
