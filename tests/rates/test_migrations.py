"""What 0005_snapshot_pairs does to the snapshots an upgraded database already holds: they
are the XMR/BTC history, read as such, and the selector's index is there."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from rates.cache import rate_cache_clear
from rates.models import RateSnapshot
from rates.selectors import rate_current

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("rates", "0004_quotes_liquidity_to_swaps")]
AFTER = [("rates", "0005_snapshot_pairs")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def _indexes() -> dict[str, list[str]]:
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, "rates_ratesnapshot")
    return {name: c["columns"] for name, c in constraints.items() if c["index"]}


def test_snapshots_written_before_pairs_are_the_xmr_btc_history():
    old_apps = _migrate(BEFORE)
    try:
        OldSnapshot = old_apps.get_model("rates", "RateSnapshot")
        old = OldSnapshot.objects.create(
            rate=Decimal("0.00291"),
            ok=True,
            sources={"kraken": {"value": "0.00291", "used": True, "error": None}},
        )
        failed = OldSnapshot.objects.create(ok=False, error="quorum not met: 0 of 2")
        assert "rates_snapshot_ok_created" in _indexes()
    finally:
        _migrate(AFTER)
    rate_cache_clear()

    assert RateSnapshot.objects.get(id=old.id).pair == "XMR/BTC"
    assert RateSnapshot.objects.get(id=failed.id).pair == "XMR/BTC"
    current = rate_current()
    assert (current.snapshot_id, current.rate, current.pair) == (
        old.id,
        Decimal("0.00291"),
        "XMR/BTC",
    )
    assert rate_current("BTC/XMR").snapshot_id == old.id
    indexes = _indexes()
    assert indexes["rates_snapshot_pair_ok_created"] == ["pair", "ok", "created_at"]
    assert "rates_snapshot_ok_created" not in indexes
