"""Greenfield's invoice JSON from rows that are never saved: decimal strings, what was
paid (exactly, across coins), the statuses a store may mark, payments' statuses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest

from greenfield.invoice_json import (
    decimal_string,
    fraction_string,
    invoice_data,
    payment_methods_data,
    payment_status,
)
from invoices.models import Invoice, PaymentPrompt
from invoices.selectors import PromptPaid, invoice_statuses, manual_marking
from stores.models import Store
from wallets.models import Deposit, WalletAccount

CREATED = datetime(2026, 1, 2, 3, 4, 5, 678_000, tzinfo=UTC)


def _invoice(**fields) -> Invoice:
    fields = {
        "public_id": "Inv1",
        "store": Store(public_id="Store1", name="s"),
        "amount": Decimal("30.010000000000"),
        "currency": "USD",
        "speed_policy": "MediumSpeed",
        "created_at": CREATED,
        "expires_at": CREATED + timedelta(minutes=15),
        "monitoring_expires_at": CREATED + timedelta(minutes=15 + 1440),
        "metadata": {"orderId": "A"},
        **fields,
    }
    return Invoice(**fields)


def _paid(currency: str, due: int, *amounts: int, rate: str = "60000", address="fake1a"):
    account = WalletAccount(id=hash(currency) % 1000 + 1, address=address)
    prompt = PaymentPrompt(currency=currency, due=due, rate=Decimal(rate), account=account)
    deposits = [
        Deposit(txid=f"tx{i}", output_key=str(i), amount=amount, first_seen_at=CREATED)
        for i, amount in enumerate(amounts)
    ]
    return PromptPaid(prompt, deposits)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("30.010000000000"), "30.01"),
        (Decimal("100"), "100"),
        (Decimal("1E+2"), "100"),
        (Decimal("0.000000000000"), "0"),
        (Decimal("60000.000000000000000000"), "60000"),
    ],
)
def test_decimals_are_plain_strings(value, text):
    assert decimal_string(value) == text


def test_fractions_are_cut_toward_zero_never_rounded_up():
    assert fraction_string(Fraction(2, 3), 2) == "0.66"
    assert fraction_string(Fraction(-2, 3), 2) == "-0.66"
    assert fraction_string(Fraction(3001, 100), 2) == "30.01"
    assert fraction_string(Fraction(0), 8) == "0.00000000"


def test_an_invoice_as_greenfield_has_it():
    data = invoice_data(_invoice(), [_paid("BTC", 50_017)], checkout_link="https://x/i/Inv1")

    assert data["amount"] == "30.01"
    assert data["paidAmount"] == "0.00"
    assert data["createdTime"] == int(CREATED.timestamp())
    assert data["expirationTime"] - data["createdTime"] == 900
    assert data["checkout"]["expirationMinutes"] == 15
    assert data["checkout"]["monitoringMinutes"] == 1440
    assert data["checkout"]["paymentMethods"] == ["BTC-CHAIN"]
    assert data["checkout"]["redirectURL"] is None
    assert (data["storeId"], data["type"], data["receipt"]) == ("Store1", "Standard", {})
    assert "paymentMethods" not in data


def test_paid_amount_is_the_share_paid_across_coins_exactly():
    """Half the price in BTC and half in XMR pay the whole price: 30.01, not 30.00."""
    paid = [_paid("BTC", 50_000, 24_000, 1_000), _paid("XMR", 1_000, 500, rate="168")]
    assert invoice_data(_invoice(), paid, checkout_link="")["paidAmount"] == "30.01"
    btc, xmr = payment_methods_data(paid)
    assert btc["paymentMethodPaid"] == "0.00025000"
    assert (btc["totalPaid"], btc["due"]) == ("0.00050000", "0.00000000")
    assert (xmr["paymentMethodPaid"], xmr["totalPaid"]) == ("0.000000000500", "0.000000001000")


def test_a_share_that_does_not_end_is_cut():
    paid = [_paid("BTC", 3, 1, rate="1")]
    assert invoice_data(_invoice(), paid, checkout_link="")["paidAmount"] == "10.00"


def test_an_overpaid_prompt_has_a_negative_due():
    [method] = payment_methods_data([_paid("BTC", 1_000, 1_500, rate="1")])
    assert (method["amount"], method["totalPaid"], method["due"]) == (
        "0.00001000",
        "0.00001500",
        "-0.00000500",
    )
    assert method["paymentLink"] == "bitcoin:fake1a?amount=0.00001"


def test_a_prompt_without_an_account_is_not_activated():
    item = _paid("BTC", 1_000)
    item.prompt.account = None
    [method] = payment_methods_data([item])
    assert (method["activated"], method["destination"], method["paymentLink"]) == (False, None, "")


def test_payments_are_settled_once_credited_and_invalid_once_dropped():
    seen = Deposit(amount=1)
    credited = Deposit(amount=1, credited_at=CREATED)
    dropped = Deposit(amount=1, credited_at=CREATED, dropped=True)
    assert [payment_status(d) for d in (seen, credited, dropped)] == [
        "Processing",
        "Settled",
        "Invalid",
    ]


def test_dropped_payments_are_shown_only_when_asked_and_never_count():
    item = _paid("BTC", 1_000, 400, 600, rate="1")
    item.deposits[1].dropped = True
    [accounted] = payment_methods_data([item])
    [everything] = payment_methods_data([item], only_accounted=False)
    assert [p["id"] for p in accounted["payments"]] == ["tx0-0"]
    assert [p["status"] for p in everything["payments"]] == ["Processing", "Invalid"]
    assert accounted["totalPaid"] == everything["totalPaid"] == "0.00000400"


@pytest.mark.parametrize(
    ("status", "additional", "available"),
    [
        ("New", "None", ["Settled", "Invalid"]),
        ("Processing", "PaidOver", ["Settled", "Invalid"]),
        ("Expired", "PaidPartial", ["Settled", "Invalid"]),
        ("Invalid", "None", ["Settled"]),
        ("Invalid", "Marked", ["Settled"]),
        ("Settled", "None", []),
        # BTCPay offers Invalid here; the engine has paid the store and refuses it.
        ("Settled", "Marked", []),
    ],
)
def test_statuses_available_for_manual_marking(status, additional, available):
    assert manual_marking(status=status, additional=additional) == available


def test_status_filter_names_in_any_case_and_older_ones():
    assert invoice_statuses(["new", "PAID", "complete", "Confirmed", "nonsense", "New"]) == [
        "New",
        "Processing",
        "Settled",
    ]
