"""How big the account pool of a chain should be, and how long an empty one asks a client
to wait: pure arithmetic on counts the pool's services read (no database, no node).

Demand is the most accounts handed out in any window of ``window_minutes`` consecutive
minutes of the look-back (a day by default), from per-minute counts of ``assigned_at``.
The target is that peak times a safety factor, held between a floor (``POOL_MIN``) and a
ceiling (``POOL_MAX``), and never more than the active master wallets still have room for.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import ROUND_CEILING, Decimal


def demand_peak(per_minute: Mapping[int, int], *, window_minutes: int) -> int:
    """The largest sum of ``per_minute`` counts (keyed by minute number) over any
    ``window_minutes`` consecutive minutes; minutes absent from the map count 0."""
    if window_minutes < 1:
        raise ValueError("the demand window is at least one minute")
    best = running = 0
    minutes = sorted(per_minute)
    start = 0
    for minute in minutes:
        running += per_minute[minute]
        while minutes[start] <= minute - window_minutes:
            running -= per_minute[minutes[start]]
            start += 1
        best = max(best, running)
    return best


def pool_target(
    *, peak: int, factor: Decimal, floor: int, ceiling: int, room: int | None = None
) -> int:
    """``ceil(peak × factor)`` between ``floor`` and ``ceiling`` (a ceiling below the floor
    is the floor), and at most ``room``, the accounts the active master wallets can still
    take beyond the ones already pooled (None: unlimited)."""
    wanted = int((Decimal(peak) * factor).to_integral_value(rounding=ROUND_CEILING))
    target = min(max(wanted, floor), max(ceiling, floor))
    if room is not None:
        target = min(target, max(room, 0))
    return target


def refill_rate_per_minute(*, limit: int, measured: float | None) -> float | None:
    """Accounts a minute the automatic refill makes: the configured limit (0: none), or the
    node's measured pace if that is slower. None when neither is known."""
    rates = [r for r in (float(limit) if limit else None, measured) if r]
    return min(rates) if rates else None


def retry_after_seconds(
    *,
    position: int,
    waited_seconds: float,
    per_minute: float | None,
    longest: int,
) -> int:
    """Seconds a client refused by an empty pool should wait: the refill makes accounts at
    ``per_minute``; this client is the ``position``-th (1-based) refused since the pool ran
    dry ``waited_seconds`` ago, so its account is ready when the refill has made
    ``position`` of them. At least 1 s, at most ``longest`` (also the answer when the rate
    is unknown)."""
    if not per_minute or per_minute <= 0:
        return longest
    ready_in = position * 60.0 / per_minute - max(0.0, waited_seconds)
    return max(1, min(longest, math.ceil(ready_in)))
