"""Agreeing on one pair's rate: the median of the providers' answers, without outliers, if
enough of them agree. Pure logic: no database, no network.

The same rules for every pair: the answers more than RATES_MAX_DEVIATION_PERCENT from the
median of all answers are dropped, and the rate is the median of the rest if at least the
quorum remain. The quorum is RATES_QUORUM, lowered to the number of providers that quote
the pair (a provider that does not quote a pair is not asked for it and does not count
against its quorum), and at least 1.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation, localcontext

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

# The stored precision of a rate (RateSnapshot.rate has 18 decimal places, 30 digits).
RATE_QUANTUM = Decimal("1e-18")
RATE_DIGITS = 30


@dataclass(frozen=True)
class SourceResult:
    """One provider's answer for one pair in one refresh: a value, or the error it gave."""

    provider: str
    value: Decimal | None
    error: str | None
    latency_ms: int


@dataclass(frozen=True)
class Aggregate:
    """What the answers for one pair in one refresh add up to."""

    rate: Decimal | None
    ok: bool
    error: str
    sources: dict[str, dict]


def effective_quorum(quoting: int) -> int:
    """RATES_QUORUM, lowered to the number of providers quoting the pair (and at least 1)."""
    return max(1, min(int(settings.RATES_QUORUM), quoting))


def max_deviation_percent() -> Decimal:
    """RATES_MAX_DEVIATION_PERCENT as a Decimal; a bad value raises ImproperlyConfigured."""
    raw = settings.RATES_MAX_DEVIATION_PERCENT
    try:
        value = Decimal(str(raw))
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite() or value < 0:
        raise ImproperlyConfigured(
            f"RATES_MAX_DEVIATION_PERCENT must be a non-negative decimal, not {raw!r}"
        )
    return value


def _median(values: Sequence[Decimal]) -> Decimal:
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def _problems(sources: dict[str, dict]) -> str:
    parts = []
    for name, entry in sources.items():
        if entry["error"]:
            parts.append(f"{name}: {entry['error']}")
        elif entry["dropped_reason"]:
            parts.append(f"{name}: dropped, {entry['dropped_reason']}")
    return "; ".join(parts)


def rates_aggregate(
    results: Sequence[SourceResult], *, max_deviation: Decimal, quorum: int
) -> Aggregate:
    """The median of the answers, without outliers, if at least ``quorum`` of them agree.

    Outliers are values more than ``max_deviation`` percent from the median of all
    answers; the rate is the median of the values kept, rounded to 18 decimal places.
    With no answers at all (no provider quotes the pair) nothing is agreed.
    """
    sources: dict[str, dict] = {
        r.provider: {
            "value": None if r.value is None else str(r.value),
            "error": r.error,
            "latency_ms": r.latency_ms,
            "used": False,
            "dropped_reason": None,
        }
        for r in results
    }
    if not results:
        return Aggregate(None, False, "no configured provider quotes this pair", sources)
    answered = [(r.provider, r.value) for r in results if r.value is not None]
    if not answered:
        return Aggregate(None, False, f"no provider answered: {_problems(sources)}", sources)
    with localcontext() as context:
        # Exact for any rate the column holds (12 integer digits, 18 decimals).
        context.prec = RATE_DIGITS + 10
        return _agree(answered, sources, max_deviation=max_deviation, quorum=quorum)


def _agree(
    answered: list[tuple[str, Decimal]],
    sources: dict[str, dict],
    *,
    max_deviation: Decimal,
    quorum: int,
) -> Aggregate:
    center = _median([value for _, value in answered])
    kept = []
    for name, value in answered:
        deviation = abs(value - center) / center * 100
        if deviation > max_deviation:
            sources[name]["dropped_reason"] = (
                f"{deviation:.2f}% from the median {center} (max {max_deviation}%)"
            )
        else:
            kept.append((name, value))
    if len(kept) < quorum:
        return Aggregate(
            None,
            False,
            f"quorum not met: {len(kept)} of {quorum} required sources agree; {_problems(sources)}",
            sources,
        )
    for name, _ in kept:
        sources[name]["used"] = True
    rate = _median([value for _, value in kept]).quantize(RATE_QUANTUM)
    return Aggregate(rate, True, "", sources)
