"""Escrow orders through their services against the in-memory chain: confirmations by
the size of what arrived, crediting once, refunds of what is owed, expiry by when a
deposit was first seen, splits and holds, with no node."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from exchange.errors import ApplicationError
from funding.models import FundingState
from orders.models import EscrowOrder, OrderState, VendorPayoutAddress
from orders.services import (
    order_apply_deposits,
    order_create,
    order_dispute,
    order_refund,
    order_release,
    order_split,
    orders_expire,
)
from orders.services.vendors import vendor_payout_address_set
from ownership.models import LedgerTransaction
from tests.fast.fake_chain import fake_chain
from wallets.models import Deposit, Payout
from wallets.services import deposits_scan
from wallets.services.pool import pool_refill

pytestmark = pytest.mark.django_db

# Up to 100,000 sat one confirmation, above it three.
TIERS = [(100_000, 1), (None, 3)]


@pytest.fixture
def chain(settings):
    settings.CONFIRMATIONS_REQUIRED = {**settings.CONFIRMATIONS_REQUIRED, "bitcoin": TIERS}
    with fake_chain("bitcoin") as fake:
        pool_refill(chain="bitcoin", batch_size=4, target=4)
        yield fake


@pytest.fixture
def people():
    users = get_user_model().objects
    buyer = users.create_user(username="buyer", password=None)
    vendor = users.create_user(username="vendor", password=None)
    staff = users.create_superuser(username="staff", password=None, email="")
    vendor_payout_address_set(user=vendor, currency="BTC", address="fake1vendor")
    return buyer, vendor, staff


def _order(people, amount: int, **kwargs) -> EscrowOrder:
    return order_create(
        buyer=people[0], vendor_username="vendor", currency="BTC", amount=amount, **kwargs
    )


def _step(chain, order: EscrowOrder, blocks: int = 0) -> EscrowOrder:
    if blocks:
        chain.mine(blocks)
    deposits_scan(chain="bitcoin")
    return order_apply_deposits(order_id=order.id)


def _payouts(order: EscrowOrder) -> list[tuple[str, str, int]]:
    return sorted(
        Payout.objects.filter(owner_kind="order", owner_id=order.id).values_list(
            "kind", "address", "amount"
        )
    )


def test_a_deposit_waits_for_the_confirmations_its_size_needs(chain, people):
    small, large = _order(people, 100_000), _order(people, 100_001)
    chain.pay(small.account.address, 100_000)
    chain.pay(large.account.address, 100_001)
    _step(chain, small)
    _step(chain, large)

    assert _step(chain, small, blocks=1).state == OrderState.ESCROWED
    assert _step(chain, large).state == FundingState.CONFIRMING
    chain.mine(1)
    assert _step(chain, large).state == FundingState.CONFIRMING
    assert _step(chain, large, blocks=1).state == OrderState.ESCROWED


def test_two_deposits_that_reach_the_amount_together_need_the_tier_of_their_total(chain, people):
    order = _order(people, 150_000)
    chain.pay(order.account.address, 80_000)
    chain.pay(order.account.address, 70_000)
    assert _step(chain, order, blocks=1).state == FundingState.CONFIRMING  # 1 of 3

    order = _step(chain, order, blocks=2)

    assert order.state == OrderState.ESCROWED
    assert order.escrowed_amount == 150_000
    assert Deposit.objects.filter(account=order.account, credited_at__isnull=False).count() == 2


def test_an_overpayment_is_refunded_once_the_buyer_gives_an_address(chain, people):
    order = _order(people, 50_000, refund_address="fake1buyer")
    chain.pay(order.account.address, 60_000)
    _step(chain, order)
    order = _step(chain, order, blocks=1)
    order_apply_deposits(order_id=order.id)

    assert order.state == OrderState.ESCROWED
    assert order.escrowed_amount == 50_000
    assert _payouts(order) == [("excess", "fake1buyer", 10_000)]


def test_a_deposit_after_the_escrow_is_the_buyers_and_refunded_once(chain, people):
    order = _order(people, 50_000, refund_address="fake1buyer")
    chain.pay(order.account.address, 50_000)
    _step(chain, order)
    _step(chain, order, blocks=1)
    chain.pay(order.account.address, 30_000)
    order = _step(chain, order, blocks=1)
    _step(chain, order)

    assert order.escrowed_amount == 50_000
    assert _payouts(order) == [("late_refund", "fake1buyer", 30_000)]


def test_an_order_seen_paid_in_time_is_not_expired_by_a_late_scan(chain, people):
    paid, unpaid = _order(people, 50_000), _order(people, 50_000)
    chain.pay(paid.account.address, 50_000)
    _step(chain, paid)
    past = timezone.now() - timedelta(seconds=1)
    EscrowOrder.objects.filter(id__in=[paid.id, unpaid.id]).update(expires_at=past)

    orders_expire()

    assert EscrowOrder.objects.get(id=unpaid.id).state == FundingState.EXPIRED
    assert _step(chain, paid, blocks=1).state == OrderState.ESCROWED


def test_release_refund_and_split_each_pay_what_they_should(chain, people):
    buyer, vendor, staff = people
    released, refunded, split = (
        _order(people, 100_000, refund_address="fake1buyer") for _ in range(3)
    )
    for order in (released, refunded, split):
        chain.pay(order.account.address, 100_000)
        _step(chain, order)
    for order in (released, refunded, split):
        assert _step(chain, order, blocks=1).state == OrderState.ESCROWED

    order_release(order_id=released.id, actor=buyer)
    order_refund(order_id=refunded.id, actor=vendor)
    order_dispute(order_id=split.id, actor=buyer, reason="half of it arrived")
    order_split(
        order_id=split.id, actor=staff, vendor_amount=60_000, buyer_amount=40_000, reason="half"
    )
    fee = released.fee_amount

    assert _payouts(released) == [("release", "fake1vendor", 100_000 - fee)]
    assert _payouts(refunded) == [("refund", "fake1buyer", 100_000)]
    vendor_fee = 60_000 * released.fee_bps // 10_000
    assert _payouts(split) == [
        ("split_buyer", "fake1buyer", 40_000),
        ("split_vendor", "fake1vendor", 60_000 - vendor_fee),
    ]
    with pytest.raises(Exception, match="releasing"):
        order_release(order_id=released.id, actor=buyer)
    assert len(_payouts(released)) == 1


def test_a_split_refuses_a_vendor_share_without_a_payout_address(chain, people):
    buyer, vendor, staff = people
    order = _order(people, 100_000, refund_address="fake1buyer")
    chain.pay(order.account.address, 100_000)
    _step(chain, order)
    _step(chain, order, blocks=1)
    order_dispute(order_id=order.id, actor=buyer, reason="half of it arrived")
    VendorPayoutAddress.objects.filter(user=vendor).delete()
    events, postings = order.events.count(), LedgerTransaction.objects.count()

    with pytest.raises(ApplicationError, match="payout address") as refused:
        order_split(
            order_id=order.id, actor=staff, vendor_amount=60_000, buyer_amount=40_000, reason="half"
        )

    assert refused.value.field == "vendor"
    assert EscrowOrder.objects.get(id=order.id).state == OrderState.DISPUTED
    assert _payouts(order) == []
    assert (order.events.count(), LedgerTransaction.objects.count()) == (events, postings)
