"""Ledger postings (ownership/services.py ``ledger_post``): legs balance or nothing is
written, money held never goes negative, and the rows are append-only."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction

from ownership.models import LedgerBalance, LedgerEntry, LedgerTransaction
from ownership.services import (
    EmptyPosting,
    LedgerError,
    NegativeBalance,
    UnbalancedPosting,
    is_held_account,
    ledger_post,
)

pytestmark = pytest.mark.django_db


def post(*legs, currency="BTC", memo="test posting"):
    return ledger_post(currency=currency, legs=list(legs), memo=memo)


def balance(account: str, currency: str = "BTC") -> int:
    row = LedgerBalance.objects.filter(currency=currency, account=account).first()
    return row.balance if row else 0


def test_a_balanced_posting_writes_one_debit_or_credit_per_leg():
    tx = post(("house", 700), ("platform:fees", 300), ("deposits", -1_000))

    entries = {e.account: (e.debit, e.credit) for e in tx.entries.all()}
    assert entries == {"house": (700, 0), "platform:fees": (300, 0), "deposits": (0, 1_000)}
    assert (balance("house"), balance("platform:fees")) == (700, 300)


@pytest.mark.parametrize(
    "legs",
    [
        [("house", 100), ("deposits", -99)],
        [("house", 100), ("deposits", -101)],
        [("house", 1)],
        [("house", 10**19), ("deposits", -(10**19 - 1))],
    ],
)
def test_legs_one_unit_off_balance_are_refused_and_nothing_is_written(legs):
    before = LedgerTransaction.objects.count()

    with pytest.raises(UnbalancedPosting):
        post(*legs)

    assert LedgerTransaction.objects.count() == before
    assert balance("house") == 0


@pytest.mark.parametrize("legs", [[], [("house", 0), ("deposits", 0)]])
def test_a_posting_of_nothing_is_refused(legs):
    with pytest.raises(EmptyPosting):
        post(*legs)


def test_zero_legs_are_dropped():
    tx = post(("house", 5), ("platform:fees", 0), ("deposits", -5))

    assert sorted(e.account for e in tx.entries.all()) == ["deposits", "house"]


@pytest.mark.parametrize(
    "legs",
    [
        [("house", 1.5), ("deposits", -1)],
        [("house", Decimal("1.5")), ("deposits", -1)],
        [("house", 2.5), ("deposits", -2.5)],
    ],
)
def test_a_leg_that_is_not_a_whole_number_of_base_units_is_refused(legs):
    with pytest.raises(LedgerError):
        post(*legs)

    assert balance("house") == 0


def test_a_whole_decimal_is_a_whole_number_of_base_units():
    post(("house", Decimal("5")), ("deposits", Decimal("-5")))

    assert balance("house") == 5


def test_money_held_may_reach_zero_but_not_go_below_it():
    post(("house", 100), ("deposits", -100))

    post(("house", -100), ("sent", 100))
    assert balance("house") == 0
    with pytest.raises(NegativeBalance):
        post(("house", -1), ("sent", 1))
    assert balance("house") == 0


def test_a_refused_posting_changes_no_other_balance():
    post(("vendor:1", 50), ("deposits", -50))

    with pytest.raises(NegativeBalance), transaction.atomic():
        post(("vendor:1", -50), ("escrow:order:1", -1), ("sent", 51))
    assert (balance("vendor:1"), balance("escrow:order:1")) == (50, 0)


def test_balances_are_kept_per_currency():
    post(("house", 100), ("deposits", -100), currency="BTC")

    with pytest.raises(NegativeBalance):
        post(("house", -100), ("sent", 100), currency="XMR")


def test_sources_and_sinks_may_go_negative_every_account_of_money_held_may_not():
    for account in ("deposits", "sent", "network:fees", "platform:losses"):
        assert not is_held_account(account)
    for account in (
        "house",
        "platform:fees",
        "platform:spread",
        "escrow:order:1",
        "buyer:1",
        "vendor:1",
        "customer:swap:1",
        "customer:refund:1",
        "merchant:1",
        "payout:1",
    ):
        assert is_held_account(account)


@pytest.mark.parametrize("code", ["BTC", "XMR"])
def test_the_largest_order_can_be_booked(code):
    largest = settings.ORDER_MAX_AMOUNT[code]

    post((f"escrow:order:{code}", largest), ("deposits", -largest), currency=code)

    assert balance(f"escrow:order:{code}", code) == largest


def test_ledger_entries_and_transactions_cannot_be_changed_or_deleted():
    tx = post(("house", 10), ("deposits", -10))
    entry = tx.entries.first()

    for change in (
        lambda: LedgerEntry.objects.filter(id=entry.id).update(debit=11),
        lambda: LedgerEntry.objects.filter(id=entry.id).delete(),
        lambda: LedgerTransaction.objects.filter(id=tx.id).update(memo="rewritten"),
    ):
        with pytest.raises(DatabaseError), transaction.atomic():
            change()


def test_an_entry_with_both_sides_or_neither_is_refused_by_the_database():
    tx = post(("house", 10), ("deposits", -10))

    for debit, credit in ((5, 5), (0, 0)):
        with pytest.raises(IntegrityError), transaction.atomic():
            LedgerEntry.objects.create(
                transaction=tx, currency="BTC", account="house", debit=debit, credit=credit
            )
