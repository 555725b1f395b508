"""What a load run records and how it is reported.

A ``Recorder`` keeps every request's latency, status code and transport error;
``summary`` turns it into the figures the benchmarks write: throughput, p50/p95/p99, max,
mean, the status codes and the error count (transport errors, timeouts and non-2xx
answers). ``percentile`` is nearest-rank, ``ms`` rounds seconds to milliseconds.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field


@dataclass
class Recorder:
    latencies: list[float] = field(default_factory=list)  # seconds, answered requests
    status: Counter = field(default_factory=Counter)
    transport_errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    first_start: float | None = None
    last_end: float | None = None

    def answered(self, started: float, ended: float, latency: float, status: int) -> None:
        self.latencies.append(latency)
        self.status[str(status)] += 1
        self._span(started, ended)

    def failed(self, started: float, ended: float, what: str) -> None:
        self.transport_errors += 1
        self.status["error"] += 1
        if len(self.error_samples) < 5:
            self.error_samples.append(what)
        self._span(started, ended)

    def _span(self, started: float, ended: float) -> None:
        if self.first_start is None or started < self.first_start:
            self.first_start = started
        if self.last_end is None or ended > self.last_end:
            self.last_end = ended


def percentile(sorted_values: list[float], pct: float) -> float:
    """Nearest-rank percentile of sorted values (0.0 for none)."""
    if not sorted_values:
        return 0.0
    rank = min(len(sorted_values), max(1, math.ceil(pct / 100 * len(sorted_values))))
    return sorted_values[rank - 1]


def ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def summary(rec: Recorder, **about) -> dict:
    lat = sorted(rec.latencies)
    answered = len(lat)
    non_2xx = sum(n for code, n in rec.status.items() if code != "error" and code[0] != "2")
    span = (rec.last_end - rec.first_start) if rec.first_start is not None else 0.0
    out = dict(about)
    out.update(
        {
            "requests": answered + rec.transport_errors,
            "answered": answered,
            "seconds": round(span, 3),
            "throughput_rps": round(answered / span, 1) if span > 0 else None,
            "p50_ms": ms(percentile(lat, 50)),
            "p95_ms": ms(percentile(lat, 95)),
            "p99_ms": ms(percentile(lat, 99)),
            "max_ms": ms(lat[-1]) if lat else None,
            "mean_ms": ms(sum(lat) / answered) if answered else None,
            "status": dict(sorted(rec.status.items())),
            "non_2xx": non_2xx,
            "transport_errors": rec.transport_errors,
            "errors": non_2xx + rec.transport_errors,
            "error_samples": rec.error_samples,
        }
    )
    return out
