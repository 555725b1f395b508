"""The pricing arithmetic: an amount of a currency in base units of a coin, rounded up so
a customer's payment never leaves the merchant short."""

from __future__ import annotations

import math
from decimal import ROUND_FLOOR, Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exchange.errors import ApplicationError
from rates.conversion import amount_decimal, base_units_due

prices = st.decimals(min_value=Decimal("1e-8"), max_value=Decimal("1e9"), places=8)
amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("1e7"), places=2)


@given(amount=amounts, price=prices.filter(lambda p: p > 0), decimals=st.sampled_from([8, 12]))
def test_the_amount_due_is_the_exact_figure_rounded_up(amount, price, decimals):
    exact = Fraction(amount) * 10**decimals / Fraction(price)

    due = base_units_due(amount=amount, price=price, decimals=decimals)

    assert due == math.ceil(exact)
    assert Fraction(due) / 10**decimals * Fraction(price) >= Fraction(amount)  # never short


@given(amount=amounts, price=prices.filter(lambda p: p > 0))
def test_an_inverse_pair_multiplies_instead_of_rounding_an_inverse_first(amount, price):
    due = base_units_due(amount=amount, price=price, decimals=8, inverted=True)

    assert due == math.ceil(Fraction(amount) * 10**8 * Fraction(price))


def test_a_payout_may_round_down_instead():
    assert base_units_due(amount=Decimal("100"), price=Decimal("60000"), decimals=8) == 166_667
    assert (
        base_units_due(
            amount=Decimal("100"), price=Decimal("60000"), decimals=8, rounding=ROUND_FLOOR
        )
        == 166_666
    )


def test_a_rate_that_is_not_positive_is_a_programming_error():
    with pytest.raises(ValueError, match="not a positive rate"):
        base_units_due(amount=Decimal("1"), price=Decimal("0"), decimals=8)


@pytest.mark.parametrize(("value", "expected"), [("19.99", "19.99"), (5, "5"), (" 1e2 ", "100")])
def test_an_amount_is_a_positive_decimal(value, expected):
    assert amount_decimal(value) == Decimal(expected)


@pytest.mark.parametrize("value", ["0", "-3", "NaN", "Infinity", "abc", ""])
def test_an_amount_that_is_not_positive_is_refused_by_field(value):
    with pytest.raises(ApplicationError) as caught:
        amount_decimal(value, field="price")

    assert caught.value.field == "price"


@pytest.mark.parametrize("value", [19.99, True, None])
def test_a_float_or_other_type_is_a_programming_error(value):
    with pytest.raises(TypeError):
        amount_decimal(value)
