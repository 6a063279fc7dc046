"""What the API and the worker both import: settings, payload contracts, the API client."""
