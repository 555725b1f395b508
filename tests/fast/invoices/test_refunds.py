"""How much a refund pays (invoices/services/refunds.py ``refund_amount``), by Greenfield's
variants: always whole base units, rounded down, and each refusal naming its field."""

from __future__ import annotations

from decimal import Decimal

import pytest

from exchange.errors import ApplicationError
from invoices.models import RefundVariant as V
from invoices.services.refunds import RefundAsk, refund_amount

# A prompt priced at 50,000 USD per BTC, 100,000 sat due, 120,000 sat paid.
PAID, DUE, RATE_THEN = 120_000, 100_000, Decimal("50000")
RATES_NOW = {"USD": Decimal("60000"), "EUR": Decimal("55000")}


def amount(variant, *, overpaid=False, paid=PAID, **ask):
    return refund_amount(
        RefundAsk(variant=variant, **ask),
        paid=paid,
        due=DUE,
        decimals=8,
        coin_code="BTC",
        invoice_currency="USD",
        rate_then=RATE_THEN,
        rate_now=RATES_NOW.__getitem__,
        overpaid=overpaid,
    )


def test_rate_then_refunds_what_was_paid_in_the_coin():
    assert amount(V.RATE_THEN) == PAID


def test_current_rate_refunds_the_value_paid_then_at_todays_rate():
    # 120,000 sat at 50,000 USD/BTC were 60 USD; at 60,000 USD/BTC that is 100,000 sat.
    assert amount(V.CURRENT_RATE) == 100_000


def test_current_rate_rounds_down():
    # 1 sat at 50,000 is 0.0005 USD: at 60,000 that is 0.83 sat, so 0.
    assert amount(V.CURRENT_RATE, paid=1) == 0
    assert amount(V.CURRENT_RATE, paid=7) == 5  # 5.83 sat


def test_the_overpaid_amount_is_what_was_paid_beyond_the_due():
    assert amount(V.OVERPAID, overpaid=True) == PAID - DUE


def test_the_overpaid_amount_of_an_invoice_not_overpaid_is_refused_on_the_variant():
    with pytest.raises(ApplicationError) as refused:
        amount(V.OVERPAID, overpaid=False)
    assert refused.value.field == "refundVariant"


def test_a_custom_amount_in_the_coin_is_taken_as_it_is():
    assert amount(V.CUSTOM, custom_amount=Decimal("0.0005"), custom_currency="btc") == 50_000


def test_a_custom_amount_in_a_fiat_currency_is_converted_at_todays_rate():
    # 11 EUR at 55,000 EUR/BTC is 20,000 sat.
    assert amount(V.CUSTOM, custom_amount=Decimal("11"), custom_currency="EUR") == 20_000


def test_a_custom_amount_finer_than_a_base_unit_rounds_down():
    assert amount(V.CUSTOM, custom_amount=Decimal("0.000000019"), custom_currency="BTC") == 1


@pytest.mark.parametrize(
    ("ask", "field"),
    [
        ({"custom_amount": Decimal(0), "custom_currency": "BTC"}, "customAmount"),
        ({"custom_amount": Decimal(-1), "custom_currency": "BTC"}, "customAmount"),
        ({"custom_currency": "BTC"}, "customAmount"),
        ({"custom_amount": Decimal(1)}, "customCurrency"),
    ],
)
def test_a_custom_refund_needs_a_positive_amount_and_a_currency(ask, field):
    with pytest.raises(ApplicationError) as refused:
        amount(V.CUSTOM, **ask)
    assert refused.value.field == field


@pytest.mark.parametrize(
    ("ask", "field"),
    [
        ({"custom_amount": Decimal(1)}, "customAmount"),
        ({"custom_currency": "BTC"}, "customCurrency"),
    ],
)
def test_custom_fields_are_refused_with_another_variant(ask, field):
    with pytest.raises(ApplicationError) as refused:
        amount(V.RATE_THEN, **ask)
    assert refused.value.field == field


def test_the_percentage_is_subtracted_and_the_rest_rounded_down():
    assert amount(V.RATE_THEN, subtract_percentage=Decimal("10")) == 108_000
    assert amount(V.RATE_THEN, subtract_percentage=Decimal("33.33")) == 80_004  # 80,004.0
    assert amount(V.RATE_THEN, subtract_percentage=Decimal("100")) == 0
    assert amount(V.RATE_THEN, paid=3, subtract_percentage=Decimal("50")) == 1  # 1.5


@pytest.mark.parametrize("percentage", ["-1", "100.01"])
def test_a_percentage_outside_0_to_100_is_refused(percentage):
    with pytest.raises(ApplicationError) as refused:
        amount(V.RATE_THEN, subtract_percentage=Decimal(percentage))
    assert refused.value.field == "subtractPercentage"


def test_an_unknown_variant_is_refused_on_the_variant():
    with pytest.raises(ApplicationError) as refused:
        amount("Fiat")
    assert refused.value.field == "refundVariant"
