import pytest
from django.db import DatabaseError, transaction

from ownership.models import LedgerEntry, LedgerTransaction
from ownership.selectors import ledger_balance, ledger_unbalanced_transactions
from ownership.services import EmptyPosting, UnbalancedPosting, ledger_post


@pytest.mark.django_db
def test_a_posting_must_balance():
    with pytest.raises(UnbalancedPosting):
        ledger_post(currency="BTC", legs=[("escrow:order:1", 100), ("deposits", -99)], memo="x")
    assert not LedgerTransaction.objects.filter(memo="x").exists()


@pytest.mark.django_db
def test_zero_legs_are_dropped_and_an_empty_posting_refused():
    tx = ledger_post(
        currency="XMR", legs=[("escrow:order:9", 5), ("buyer:1", 0), ("deposits", -5)], memo="y"
    )
    assert tx.entries.count() == 2
    with pytest.raises(EmptyPosting):
        ledger_post(currency="XMR", legs=[("a", 0)], memo="z")


@pytest.mark.django_db
def test_balances_derive_from_the_entries():
    ledger_post(currency="BTC", legs=[("escrow:order:77", 500), ("deposits", -500)], memo="in")
    ledger_post(
        currency="BTC",
        legs=[("escrow:order:77", -500), ("vendor:3", 495), ("platform:fees", 5)],
        memo="release",
    )
    assert ledger_balance(currency="BTC", account="escrow:order:77") == 0
    assert ledger_balance(currency="BTC", account="vendor:3") == 495
    assert ledger_unbalanced_transactions() == []


@pytest.mark.django_db
def test_the_database_refuses_edits_deletes_and_two_sided_entries():
    tx = ledger_post(currency="BTC", legs=[("escrow:order:5", 10), ("deposits", -10)], memo="w")
    entry = tx.entries.first()

    with pytest.raises(DatabaseError), transaction.atomic():
        LedgerEntry.objects.filter(id=entry.id).update(debit=11)
    with pytest.raises(DatabaseError), transaction.atomic():
        LedgerEntry.objects.filter(id=entry.id).delete()
    with pytest.raises(DatabaseError), transaction.atomic():
        LedgerEntry.objects.create(transaction=tx, currency="BTC", account="a", debit=1, credit=1)
    with pytest.raises(DatabaseError), transaction.atomic():
        LedgerEntry.objects.create(transaction=tx, currency="BTC", account="a", debit=0, credit=0)
