"""One pair's answers agreed on: the XMR/BTC rules, for a fiat pair's magnitudes too."""

from __future__ import annotations

from decimal import Decimal

import pytest

from rates.aggregation import SourceResult, effective_quorum, rates_aggregate


def _results(**values):
    return [
        SourceResult(name, None if v is None else Decimal(v), None if v else "unavailable", 5)
        for name, v in values.items()
    ]


def test_a_fiat_pair_is_agreed_exactly_to_the_stored_precision():
    # Large prices with 18 decimals: more digits than Decimal's default 28.
    aggregate = rates_aggregate(
        _results(a="999999999999.123456789012345678", b="999999999999.123456789012345680"),
        max_deviation=Decimal("5"),
        quorum=2,
    )

    assert aggregate.ok
    assert aggregate.rate == Decimal("999999999999.123456789012345679")


def test_outliers_and_quorum_work_the_same_on_a_fiat_pair():
    aggregate = rates_aggregate(
        _results(a="60000", b="60010", c="66000", d=None), max_deviation=Decimal("5"), quorum=2
    )

    assert aggregate.ok
    assert aggregate.rate == Decimal("60005")
    assert aggregate.sources["c"]["used"] is False
    assert "% from the median 60010" in aggregate.sources["c"]["dropped_reason"]
    assert aggregate.sources["d"]["error"] == "unavailable"


def test_a_pair_nobody_quotes_is_not_agreed():
    aggregate = rates_aggregate([], max_deviation=Decimal("5"), quorum=1)

    assert (aggregate.ok, aggregate.rate, aggregate.sources) == (False, None, {})
    assert aggregate.error == "no configured provider quotes this pair"


@pytest.mark.parametrize(("configured", "quoting", "quorum"), [(2, 4, 2), (2, 1, 1), (3, 2, 2)])
def test_the_quorum_is_lowered_to_the_providers_quoting_the_pair(
    settings, configured, quoting, quorum
):
    settings.RATES_QUORUM = configured

    assert effective_quorum(quoting) == quorum
