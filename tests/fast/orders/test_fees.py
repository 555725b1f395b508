"""The platform fee on escrow (basis points, rounded down on each share) and the network
fee a payout pays out of its amount (orders/services/escrow/, settings)."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.db import IntegrityError

from funding.fees import platform_fee
from orders.models import EscrowOrder
from orders.services import order_apply_deposits, order_create, order_dispute, order_release
from orders.services.escrow import order_split
from orders.services.vendors import vendor_payout_address_set
from ownership.models import LedgerEntry
from tests.fast.fake_chain import fake_chain
from wallets.chains.registry import COINS
from wallets.models import Payout
from wallets.services import deposits_scan
from wallets.services.pool import pool_refill

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("amount", "bps", "fee"),
    [
        (20_000, 100, 200),
        (20_099, 100, 200),  # rounded down: the fraction of a satoshi is not taken
        (20_100, 100, 201),
        (99, 100, 0),
        (1, 10_000, 1),
        (21_000_000 * 10**8, 100, 21_000_000 * 10**6),
        (10**19 - 1, 100, 10**17 - 1),
        (12_345, 0, 0),
    ],
)
def test_the_fee_is_the_amounts_basis_points_rounded_down(amount, bps, fee):
    assert platform_fee(amount, bps) == fee


def test_fees_on_the_shares_of_a_split_never_exceed_the_fee_on_the_whole():
    order = EscrowOrder(fee_bps=100)
    for whole in (20_000, 20_199, 123_456_789):
        for share in (0, 1, 99, 101, whole // 3, whole - 1, whole):
            assert platform_fee(share, order.fee_bps) + platform_fee(
                whole - share, order.fee_bps
            ) <= platform_fee(whole, order.fee_bps)
            assert 0 <= platform_fee(share, order.fee_bps) <= share


@pytest.mark.parametrize("code", [c.code for c in COINS])
def test_the_smallest_order_pays_its_vendor_more_than_a_payouts_network_fee(settings, code):
    smallest = settings.ORDER_MIN_AMOUNT[code]
    platform_fee = smallest * settings.PLATFORM_FEE_BPS // 10_000

    assert smallest - platform_fee > settings.SWAP_NETWORK_FEE[code]
    assert settings.ORDER_MIN_AMOUNT[code] <= settings.ORDER_MAX_AMOUNT[code]


# --- through the services, on the in-memory chain ------------------------------------


@pytest.fixture
def chain():
    with fake_chain("bitcoin") as fake:
        yield fake


def _user(name: str, **fields):
    return get_user_model().objects.create_user(username=name, password=None, **fields)


@pytest.fixture
def people(chain):
    buyer, vendor = _user("fee-buyer"), _user("fee-vendor")
    vendor_payout_address_set(user=vendor, currency="BTC", address="fake1vendor")
    return buyer, vendor


def _escrowed(chain, settings, buyer, amount):
    settings.CONFIRMATIONS_REQUIRED = {**settings.CONFIRMATIONS_REQUIRED, "bitcoin": [(None, 1)]}
    pool_refill(chain="bitcoin", batch_size=1, target=1)
    order = order_create(buyer=buyer, vendor_username="fee-vendor", currency="BTC", amount=amount)
    chain.pay(order.account.address, amount)
    chain.mine(1)
    deposits_scan(chain="bitcoin")
    return order_apply_deposits(order_id=order.id)


# A fee below bitcoin's dust (546 sat) would not stay behind as change: it is not taken.
@pytest.mark.parametrize(
    ("amount", "fee"), [(60_000, 600), (60_099, 600), (60_100, 601), (54_699, 546), (54_599, 0)]
)
def test_an_order_stores_its_fee_and_its_release_books_exactly_that(
    chain, settings, people, amount, fee
):
    settings.PLATFORM_FEE_BPS = 100
    buyer, vendor = people
    order = _escrowed(chain, settings, buyer, amount)
    assert (order.fee_bps, order.fee_amount) == (100, fee)

    order_release(order_id=order.id, actor=buyer, reason="")

    legs = {
        e.account: e.debit - e.credit
        for e in LedgerEntry.objects.filter(
            transaction__owner_kind="order",
            transaction__owner_id=order.id,
            transaction__memo__endswith="release to the vendor",
        )
    }
    expected = {
        f"escrow:order:{order.id}": -amount,
        f"vendor:{vendor.id}": amount - fee,
        "platform:fees": fee,
    }
    assert legs == {account: amount for account, amount in expected.items() if amount}
    payout = Payout.objects.get(owner_kind="order", owner_id=order.id)
    assert payout.amount == amount - fee  # the network fee comes out of this, at the node


def test_a_fee_above_the_whole_amount_is_refused_by_the_database(chain, settings, people):
    settings.PLATFORM_FEE_BPS = 10_001
    pool_refill(chain="bitcoin", batch_size=1, target=1)

    with pytest.raises(IntegrityError):
        order_create(buyer=people[0], vendor_username="fee-vendor", currency="BTC", amount=20_000)


def test_a_split_takes_the_fee_on_the_vendors_share_only(chain, settings, people):
    settings.PLATFORM_FEE_BPS = 100
    buyer, vendor = people
    staff = _user("fee-staff", is_staff=True, is_superuser=True)
    order = _escrowed(chain, settings, buyer, 90_001)
    order.refund_address = "fake1buyer"
    EscrowOrder.objects.filter(id=order.id).update(refund_address="fake1buyer")
    order_dispute(order_id=order.id, actor=buyer, reason="not as described")

    order_split(
        order_id=order.id, actor=staff, vendor_amount=60_099, buyer_amount=29_902, reason=""
    )

    paid = dict(
        Payout.objects.filter(owner_kind="order", owner_id=order.id).values_list("kind", "amount")
    )
    assert paid == {"split_vendor": 60_099 - 600, "split_buyer": 29_902}
    fees = LedgerEntry.objects.filter(
        transaction__owner_kind="order", transaction__owner_id=order.id, account="platform:fees"
    )
    assert sum(e.debit - e.credit for e in fees) == 600
