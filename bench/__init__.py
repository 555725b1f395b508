"""Benchmarks against a regtest stack of their own (see bench/env.py for the isolation)."""
