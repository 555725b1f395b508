"""Swap amounts, rounding and limits (rates/quotes.py): what the customer sends rounds up,
what they get rounds down, never past the exact figure."""

from __future__ import annotations

import math
from datetime import timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from django.utils import timezone
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from exchange.errors import ApplicationError
from rates.models import RateSnapshot
from rates.selectors import CurrentRate
from swaps import quotes
from swaps.models import QuoteKind
from swaps.quotes import swap_amounts, swap_limits

RATE = Decimal("0.0028")  # 1 XMR in BTC
DIRECTIONS = [("BTC", "XMR"), ("XMR", "BTC")]
DECIMALS = {"BTC": 8, "XMR": 12}


def exact_per_unit(from_currency: str, to_currency: str, rate: Decimal, spread: int) -> Fraction:
    """To-currency base units per from-currency base unit, as an exact fraction."""
    price = Fraction(rate) if from_currency == "XMR" else 1 / Fraction(rate)
    scale = Fraction(10) ** (DECIMALS[to_currency] - DECIMALS[from_currency])
    return price * Fraction(10_000 - spread, 10_000) * scale


def amounts(from_currency, to_currency, *, rate=RATE, spread=50, fee=0, **amount):
    return swap_amounts(
        from_currency=from_currency,
        to_currency=to_currency,
        xmr_btc=rate,
        spread_bps=spread,
        network_fee=fee,
        **amount,
    )


def test_one_xmr_at_the_rate_with_no_spread_is_its_price_in_satoshi():
    got = amounts("XMR", "BTC", spread=0, amount_from=10**12)

    assert got.amount_to_gross == 280_000
    assert got.market_equivalent == 280_000
    assert got.rate == RATE


def test_the_spread_comes_off_what_the_customer_gets_and_the_fee_after_it():
    got = amounts("XMR", "BTC", spread=50, fee=10_000, amount_from=10**12)

    assert got.amount_to_gross == 278_600  # 280_000 × 0.995
    assert got.amount_to == 268_600
    assert got.market_equivalent == 280_000


def test_what_the_customer_gets_rounds_down_by_the_whole_fraction():
    # 1 BTC at 0.0028 is 357.142857142857… XMR: the last piconero's fraction is the house's.
    got = amounts("BTC", "XMR", spread=0, amount_from=10**8)

    assert got.amount_to_gross == 357_142_857_142_857
    assert got.market_equivalent == 357_142_857_142_857


def test_an_amount_too_small_to_pay_its_fee_gets_nothing_not_a_negative_amount():
    got = amounts("XMR", "BTC", fee=10_000, amount_from=1)

    assert got.amount_to_gross == 0
    assert got.amount_to == 0


def test_the_customer_rate_is_floored_at_18_places():
    got = amounts("BTC", "XMR", spread=50, amount_from=10**8)

    assert got.rate == Decimal("355.357142857142857142")
    assert got.rate <= Fraction(1) / Fraction(RATE) * Fraction(9_950, 10_000)


@pytest.mark.parametrize("wanted", [63_000_000, 42_000_000])
def test_a_division_landing_on_a_whole_number_delivers_what_was_asked_for_no_more_charge(wanted):
    # 1/0.21 is cut at 60 digits: wanted ÷ that lands a hair either side of 1323 (882).
    got = amounts("BTC", "XMR", rate=Decimal("0.21"), spread=0, amount_to=wanted)

    assert got.amount_to >= wanted
    assert got.amount_from - wanted * 21 // 1_000_000 in (0, 1)
    one_less = amounts(
        "BTC", "XMR", rate=Decimal("0.21"), spread=0, amount_from=got.amount_from - 1
    )
    assert one_less.amount_to < wanted


rates = st.decimals(
    min_value=Decimal("0.00001"), max_value=Decimal("10"), places=8, allow_nan=False
)
spreads = st.integers(min_value=0, max_value=2_000)
fees = st.integers(min_value=0, max_value=10**10)


@hypothesis_settings(max_examples=400, deadline=None)
@given(
    st.sampled_from(DIRECTIONS),
    rates,
    spreads,
    fees,
    st.integers(min_value=1, max_value=10**19),
)
def test_sending_an_amount_never_pays_more_than_the_exact_figure(
    direction, rate, spread, fee, sent
):
    source, target = direction
    got = amounts(source, target, rate=rate, spread=spread, fee=fee, amount_from=sent)

    # At most one base unit below the exact figure (60 digits of 1/rate), never above it.
    exact = math.floor(sent * exact_per_unit(source, target, rate, spread))
    assert exact - 1 <= got.amount_to_gross <= exact
    assert got.amount_to == max(0, got.amount_to_gross - fee)
    assert got.amount_to_gross <= got.market_equivalent
    market = math.floor(sent * exact_per_unit(source, target, rate, 0))
    assert market - 1 <= got.market_equivalent <= market


@hypothesis_settings(max_examples=400, deadline=None)
@given(
    st.sampled_from(DIRECTIONS),
    rates,
    spreads,
    fees,
    st.integers(min_value=1, max_value=10**16),
)
def test_asking_for_an_amount_charges_the_least_that_delivers_it(
    direction, rate, spread, fee, wanted
):
    source, target = direction
    got = amounts(source, target, rate=rate, spread=spread, fee=fee, amount_to=wanted)

    assert got.amount_to >= wanted
    assert got.amount_to_gross - fee == got.amount_to
    if got.amount_from > 1:
        one_less = amounts(
            source, target, rate=rate, spread=spread, fee=fee, amount_from=got.amount_from - 1
        )
        assert one_less.amount_to < wanted


# --- limits --------------------------------------------------------------------------


@pytest.fixture
def liquidity(monkeypatch):
    """What one swap may take of the house's liquidity, per currency (rates/liquidity.py
    is the integration tier's)."""
    available = {"BTC": 50_000_000, "XMR": 20 * 10**12}
    monkeypatch.setattr(quotes, "liquidity_public", lambda *, currency: available[currency])
    return available


def limits(source, target, *, kind=QuoteKind.FIXED, fee=None):
    from django.conf import settings

    return swap_limits(
        from_currency=source,
        to_currency=target,
        xmr_btc=RATE,
        spread_bps=50,
        network_fee=settings.SWAP_NETWORK_FEE[target] if fee is None else fee,
        kind=kind,
    )


@pytest.mark.parametrize(("source", "target"), DIRECTIONS)
def test_the_smallest_swap_pays_out_at_least_the_smallest_payout_and_one_unit_less_does_not(
    liquidity, settings, source, target
):
    fee = settings.SWAP_NETWORK_FEE[target]
    low, _ = limits(source, target)

    assert low >= settings.ORDER_MIN_AMOUNT[source]
    got = amounts(source, target, fee=fee, amount_from=low)
    assert got.amount_to >= settings.ORDER_MIN_AMOUNT[target]
    if low > settings.ORDER_MIN_AMOUNT[source]:
        short = amounts(source, target, fee=fee, amount_from=low - 1)
        assert short.amount_to < settings.ORDER_MIN_AMOUNT[target]


@pytest.mark.parametrize(("source", "target"), DIRECTIONS)
def test_the_largest_swap_stays_within_the_liquidity_one_swap_may_take(liquidity, source, target):
    _, high = limits(source, target)

    gross = amounts(source, target, amount_from=high).amount_to_gross
    assert gross <= liquidity[target]
    # The largest amount whose exact worth fits: one base unit more does not.
    assert (high + 1) * exact_per_unit(source, target, RATE, 50) > liquidity[target]


@pytest.mark.parametrize(("source", "target"), DIRECTIONS)
def test_a_floating_swap_at_its_largest_reserves_no_more_than_the_liquidity(
    liquidity, settings, source, target
):
    margin = settings.SWAP_FLOATING_RESERVE_MARGIN_BPS
    _, fixed_high = limits(source, target)
    _, high = limits(source, target, kind=QuoteKind.FLOATING)

    gross = amounts(source, target, amount_from=high).amount_to_gross
    assert high < fixed_high
    assert gross * (10_000 + margin) // 10_000 <= liquidity[target]


def test_with_no_liquidity_the_largest_swap_is_zero(monkeypatch):
    monkeypatch.setattr(quotes, "liquidity_public", lambda *, currency: 0)

    assert limits("BTC", "XMR")[1] == 0


# --- quote_create: the checks around the arithmetic ----------------------------------


@pytest.fixture
def fresh_rate(db, monkeypatch):
    snapshot = RateSnapshot.objects.create(rate=RATE, ok=True)
    current = CurrentRate(
        rate=RATE,
        fetched_at=timezone.now() - timedelta(seconds=5),
        age_seconds=5.0,
        sources=("static",),
        snapshot_id=snapshot.id,
    )
    monkeypatch.setattr(quotes, "rate_current", lambda: current)
    return current


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"from_currency": "ETH", "to_currency": "BTC", "amount_from": 1}, "from_currency"),
        ({"from_currency": "BTC", "to_currency": "BTC", "amount_from": 1}, "to_currency"),
        ({"from_currency": "BTC", "to_currency": "DOGE", "amount_from": 1}, "to_currency"),
        ({"from_currency": "BTC", "to_currency": "XMR"}, "amount_from"),
        (
            {"from_currency": "BTC", "to_currency": "XMR", "amount_from": 1, "amount_to": 1},
            "amount_from",
        ),
        ({"from_currency": "BTC", "to_currency": "XMR", "amount_from": 0}, "amount_from"),
        ({"from_currency": "BTC", "to_currency": "XMR", "amount_from": -5}, "amount_from"),
        ({"from_currency": "BTC", "to_currency": "XMR", "amount_to": -5}, "amount_to"),
    ],
)
def test_a_malformed_quote_request_is_refused_naming_the_field(
    fresh_rate, liquidity, fields, field
):
    with pytest.raises(ApplicationError) as refused:
        quotes.quote_create(kind=QuoteKind.FIXED, **fields)

    assert refused.value.field == field


@pytest.mark.parametrize(("source", "target"), DIRECTIONS)
def test_a_quote_at_each_limit_is_made_and_one_unit_beyond_is_refused(
    fresh_rate, liquidity, source, target
):
    low, high = limits(source, target)

    at_low = quotes.quote_create(
        from_currency=source, to_currency=target, kind=QuoteKind.FIXED, amount_from=low
    )
    at_high = quotes.quote_create(
        from_currency=source, to_currency=target, kind=QuoteKind.FIXED, amount_from=high
    )
    assert (at_low.min_from, at_low.max_from) == (low, high)
    assert at_high.amount_from == high
    assert at_high.amount_to_gross <= liquidity[target]

    for outside, says_liquidity in ((low - 1, False), (high + 1, True)):
        with pytest.raises(ApplicationError) as refused:
            quotes.quote_create(
                from_currency=source, to_currency=target, kind=QuoteKind.FIXED, amount_from=outside
            )
        assert refused.value.extra == {"min_from": str(low), "max_from": str(high)}
        assert ("liquidity" in str(refused.value)) is says_liquidity
