"""End to end on both chains: real nodes, real worker, the API."""

from __future__ import annotations

import pytest

from funding.models import FundingState
from orders.models import EscrowOrder
from tests.chain import CHAIN_OF, receiver
from tests.flows import assert_books_match, create, pay_and_escrow, settle
from wallets.models import Payout, PayoutState


@pytest.mark.parametrize("currency", ["BTC", "XMR"])
def test_create_pay_escrow_release_pays_the_vendor_exactly(buyer, vendor, celery_worker, currency):
    order = create(buyer, vendor, currency)
    assert order["state"] == "awaiting_deposit"
    assert order["payment_uri"].startswith("bitcoin:" if currency == "BTC" else "monero:")

    pay_and_escrow(order, currency)
    response = buyer.api.post(f"/api/orders/{order['id']}/release", {}, format="json")
    assert response.status_code == 200, response.json()
    settle(currency, order["id"], FundingState.COMPLETED)

    row = EscrowOrder.objects.get(id=order["id"])
    (payout,) = Payout.objects.filter(owner_kind="order", owner_id=row.id)
    assert payout.state == PayoutState.CONFIRMED
    assert payout.network_fee > 0
    expected = row.amount - row.fee_amount - payout.network_fee
    assert vendor.receivers[currency].received() == expected
    assert_books_match(row)


@pytest.mark.parametrize("currency", ["BTC", "XMR"])
def test_refund_by_the_vendor_pays_the_buyer_back(buyer, vendor, celery_worker, currency):
    refund_to = receiver(CHAIN_OF[currency])
    order = create(buyer, vendor, currency, refund_address=refund_to.address)
    pay_and_escrow(order, currency)

    response = vendor.api.post(
        f"/api/orders/{order['id']}/refund", {"reason": "out of stock"}, format="json"
    )
    assert response.status_code == 200, response.json()
    settle(currency, order["id"], FundingState.REFUNDED)

    (payout,) = Payout.objects.filter(owner_kind="order", owner_id=order["id"])
    assert refund_to.received() == int(order["amount"]) - payout.network_fee
    assert_books_match(EscrowOrder.objects.get(id=order["id"]))


@pytest.mark.parametrize("currency", ["BTC", "XMR"])
def test_a_dispute_split_pays_each_side_its_share(buyer, vendor, staff, celery_worker, currency):
    refund_to = receiver(CHAIN_OF[currency])
    order = create(buyer, vendor, currency, refund_address=refund_to.address)
    pay_and_escrow(order, currency)
    response = buyer.api.post(
        f"/api/orders/{order['id']}/dispute", {"reason": "half arrived"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["state"] == "disputed"

    from orders.services import order_split

    amount = int(order["amount"])
    vendor_share, buyer_share = amount * 6 // 10, amount - amount * 6 // 10
    order_split(
        order_id=order["id"],
        actor=staff.user,
        vendor_amount=vendor_share,
        buyer_amount=buyer_share,
        reason="60/40",
    )
    settle(currency, order["id"], FundingState.COMPLETED)

    row = EscrowOrder.objects.get(id=order["id"])
    payouts = {p.kind: p for p in Payout.objects.filter(owner_kind="order", owner_id=row.id)}
    fee = vendor_share * row.fee_bps // 10_000
    assert (
        vendor.receivers[currency].received()
        == vendor_share - fee - payouts["split_vendor"].network_fee
    )
    assert refund_to.received() == buyer_share - payouts["split_buyer"].network_fee
    assert_books_match(row)
