"""Adapters: each speaks one real protocol and implements a port (or serves one endpoint).

Import the module you need (``foresight.adapters.prometheus``, ``foresight.adapters.remote_write``):
this package imports none of them, so reading Prometheus does not load FastAPI, and the
simulator-only demo loads neither.
"""
