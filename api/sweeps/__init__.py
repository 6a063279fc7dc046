"""Safety-net sweeps the worker triggers."""
