from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from orders.models import VendorProfile
from ownership.models import LedgerEntry
from ownership.selectors import ledger_unbalanced_transactions, owner_held
from tests.chain import CHAIN_OF, receiver
from wallets.models import Deposit
from wallets.services import balances_sync


@dataclass
class Person:
    user: object
    api: APIClient


def make_person(*, staff: bool = False) -> Person:
    user = get_user_model().objects.create_user(
        username=f"p-{uuid.uuid4().hex[:10]}", password="x", is_staff=staff
    )
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return Person(user, api)


@pytest.fixture
def buyer(live_db):
    return make_person()


@pytest.fixture
def staff(live_db):
    return make_person(staff=True)


@pytest.fixture
def stranger(live_db):
    return make_person()


@pytest.fixture
def vendor(wallets):
    """A vendor paid into fresh accounts of the customer wallet (one per chain)."""
    person = make_person()
    person.receivers = {"BTC": receiver(CHAIN_OF["BTC"]), "XMR": receiver(CHAIN_OF["XMR"])}
    VendorProfile.objects.create(
        user=person.user,
        btc_payout_address=person.receivers["BTC"].address,
        xmr_payout_address=person.receivers["XMR"].address,
    )
    return person


def assert_books_match(order) -> None:
    """The ledger balances, and what it says the order's account holds is what the node
    holds (plus deposits not credited yet)."""
    assert ledger_unbalanced_transactions() == []
    chain = CHAIN_OF[order.currency]
    balances_sync(chain=chain)
    account = order.account
    account.refresh_from_db()
    uncredited = Deposit.objects.filter(account=account, dropped=False, credited_at__isnull=True)
    if chain == "monero":
        uncredited = uncredited.filter(height__isnull=False)
    held = owner_held(owner_kind="order", owner_id=order.id, currency=order.currency)
    legs = list(
        LedgerEntry.objects.filter(
            transaction__owner_kind="order", transaction__owner_id=order.id
        ).values_list("transaction__memo", "account", "debit", "credit")
    )
    assert account.node_balance == held + sum(d.amount for d in uncredited), legs
    assert account.drift == 0
