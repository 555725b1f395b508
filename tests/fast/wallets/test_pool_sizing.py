"""The pool's size follows demand, and an empty pool's Retry-After follows the refill rate:
the arithmetic (``wallets.pool_sizing``) and the services that feed it database rows."""

import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from exchange.redis import get_redis
from tests.fast.fake_chain import fake_chain
from wallets.models import AccountState, WalletAccount
from wallets.pool_sizing import (
    demand_peak,
    pool_target,
    refill_rate_per_minute,
    retry_after_seconds,
)
from wallets.services.master_wallets import master_wallet_ensure
from wallets.services.pool import PoolEmpty, allocate_account
from wallets.services.pool_target import pool_target_compute

# --- pure ---------------------------------------------------------------------------------


def test_the_demand_peak_is_the_busiest_run_of_minutes_wherever_it_starts():
    per_minute = {0: 5, 5: 10, 9: 3, 10: 7, 30: 1}

    # Minutes 1-10 (10 + 3 + 7): a burst across a round ten minutes is counted whole.
    assert demand_peak(per_minute, window_minutes=10) == 20
    assert demand_peak(per_minute, window_minutes=1) == 10
    assert demand_peak(per_minute, window_minutes=60) == 26
    assert demand_peak({}, window_minutes=10) == 0
    with pytest.raises(ValueError):
        demand_peak(per_minute, window_minutes=0)


def test_the_target_is_the_peak_times_the_factor_between_floor_and_ceiling():
    sizes = {"factor": Decimal("1.5"), "floor": 20, "ceiling": 2000}

    assert pool_target(peak=1000, **sizes) == 1500
    assert pool_target(peak=7, **sizes) == 20  # the floor
    assert pool_target(peak=0, **sizes) == 20
    assert pool_target(peak=1999, **sizes) == 2000  # the ceiling
    assert pool_target(peak=15, factor=Decimal("1.5"), floor=5, ceiling=100) == 23  # rounded up
    assert pool_target(peak=1000, factor=Decimal(1), floor=20, ceiling=10) == 20
    # Never more than the master wallets still have room for.
    assert pool_target(peak=1000, room=300, **sizes) == 300


def test_the_refill_rate_is_the_limit_or_the_node_pace_if_slower():
    assert refill_rate_per_minute(limit=1200, measured=2400.0) == 1200
    assert refill_rate_per_minute(limit=1200, measured=200.0) == 200.0
    assert refill_rate_per_minute(limit=0, measured=200.0) == 200.0
    assert refill_rate_per_minute(limit=120, measured=None) == 120
    assert refill_rate_per_minute(limit=0, measured=None) is None


def test_retry_after_is_the_time_the_refill_takes_to_reach_the_client():
    # 1,200 a minute is 20 a second: the 100th client refused is served in 5 s.
    assert retry_after_seconds(position=100, waited_seconds=0, per_minute=1200, longest=300) == 5
    # The refill has been running since the pool ran dry.
    assert retry_after_seconds(position=100, waited_seconds=3, per_minute=1200, longest=300) == 2
    assert retry_after_seconds(position=1, waited_seconds=0, per_minute=1200, longest=300) == 1
    assert retry_after_seconds(position=5, waited_seconds=9, per_minute=60, longest=300) == 1
    assert retry_after_seconds(position=10_000, waited_seconds=0, per_minute=60, longest=300) == 300
    assert retry_after_seconds(position=1, waited_seconds=0, per_minute=None, longest=30) == 30
    # A clock read a little before the pool's dry-since mark (rounding) is no wait at all.
    assert retry_after_seconds(position=1, waited_seconds=-0.01, per_minute=60, longest=30) == 1


# --- from the database --------------------------------------------------------------------

in_db = pytest.mark.django_db(transaction=False)


def _assigned(wallet, n: int, at) -> None:
    start = WalletAccount.objects.count()
    WalletAccount.objects.bulk_create(
        WalletAccount(
            master_wallet=wallet,
            chain=wallet.chain,
            account_index=10_000 + start + i,
            node_name=f"demand-{start + i}",
            address=f"demand-address-{start + i}",
            state=AccountState.ASSIGNED,
            owner_kind="order",
            owner_id=start + i,
            assigned_at=at + timedelta(seconds=i % 50),
        )
        for i in range(n)
    )


@in_db
def test_the_target_follows_the_busiest_ten_minutes_of_the_last_day(settings):
    settings.POOL_MIN, settings.POOL_MAX = 5, 100
    settings.POOL_DEMAND_FACTOR = Decimal("1.5")
    wallet = master_wallet_ensure(chain="bitcoin")
    now = timezone.now()

    assert pool_target_compute(chain="bitcoin") == {"target": 5, "peak": 0}
    _assigned(wallet, 12, now - timedelta(hours=3))  # a burst three hours ago
    _assigned(wallet, 8, now - timedelta(minutes=30))
    _assigned(wallet, 90, now - timedelta(hours=30))  # older than a day: forgotten
    assert pool_target_compute(chain="bitcoin") == {"target": 18, "peak": 12}
    _assigned(wallet, 80, now - timedelta(minutes=2))
    assert pool_target_compute(chain="bitcoin") == {"target": 100, "peak": 80}  # the ceiling
    # A master wallet with room for 40 more accounts holds the target at 40.
    wallet.capacity = WalletAccount.objects.filter(master_wallet=wallet).count() + 40
    wallet.save()
    assert pool_target_compute(chain="bitcoin")["target"] == 40


@in_db
def test_an_empty_pool_tells_each_client_refused_when_its_account_will_be_ready(settings):
    settings.POOL_REFILL_PER_MINUTE = {**settings.POOL_REFILL_PER_MINUTE, "bitcoin": 60}
    get_redis().delete("pool:pace:bitcoin", "pool:refused:bitcoin", "pool:dry-since:bitcoin")
    with fake_chain("bitcoin"):
        waits = []
        for owner_id in range(3):
            with pytest.raises(PoolEmpty) as refused:
                allocate_account(chain="bitcoin", owner_kind="order", owner_id=owner_id)
            waits.append(int(refused.value.headers["Retry-After"]))
    get_redis().delete("pool:refused:bitcoin", "pool:dry-since:bitcoin")

    # One account a second: the first refused is served in 1 s, the third in 3 s.
    assert waits == [1, 2, 3]
    assert refused.value.status_code == 503


@in_db
def test_pool_status_shows_each_chain_target_and_refill_rate(settings):
    settings.POOL_MIN = 7
    settings.POOL_REFILL_PER_MINUTE = {**settings.POOL_REFILL_PER_MINUTE, "monero": 90}
    get_redis().delete("pool:pace:monero")
    out = io.StringIO()

    call_command("pool_status", stdout=out)

    monero = next(line for line in out.getvalue().splitlines() if line.startswith("monero"))
    # pooled creating assigned retired, then target, demand peak, refill a minute.
    assert monero.split()[-4:] == ["7", "0", "90", "LOW"]
