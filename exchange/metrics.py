"""Prometheus series of the engine (served at /metrics)."""

from __future__ import annotations

from prometheus_client import Counter

NODE_CALLS = Counter("exchange_node_calls_total", "Calls made to a node", ["chain", "method"])
