"""`/v1/internal/*`: the worker's calls into the API, one route per call of `shared.jobs`."""
