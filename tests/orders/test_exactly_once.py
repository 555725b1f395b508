"""One payout on chain, whatever the callers and crashes."""

from __future__ import annotations

import threading

import pytest
from django.db import connections

from devtools.processes import wait_until
from exchange.faults import fault_arm
from funding.models import FundingState
from orders.models import EscrowOrder
from tests.chain import receiver
from tests.flows import assert_books_match, create, pay_and_escrow, settle, state_of
from wallets.clients.bitcoin import get_bitcoin_client
from wallets.clients.monero import get_monero_client
from wallets.models import Payout, PayoutState
from wallets.services.payouts import payouts_sweep


def spends_from(account) -> set[str]:
    """Transactions on the node that spend from an account (its outgoing payouts)."""
    if account.chain == "bitcoin":
        return {
            tx["hash"]
            for tx in get_bitcoin_client().history()
            if any(
                (i.get("path") or {}).get("name") == account.node_name for i in tx.get("inputs", [])
            )
        }
    xmr = get_monero_client()
    xmr.refresh()
    found = xmr.wallet(
        "get_transfers", {"out": True, "pending": True, "account_index": account.account_index}
    )
    return {t["txid"] for kind in ("out", "pending") for t in found.get(kind, [])}


def test_fifty_concurrent_release_and_refund_calls_make_one_payout(buyer, vendor, celery_worker):
    refund_to = receiver("bitcoin")
    order = create(buyer, vendor, "BTC", refund_address=refund_to.address)
    pay_and_escrow(order, "BTC")
    barrier = threading.Barrier(50)
    codes = []

    def call(i):
        person, action = (buyer, "release") if i % 2 else (vendor, "refund")
        barrier.wait()
        codes.append(
            person.api.post(f"/api/orders/{order['id']}/{action}", {}, format="json").status_code
        )
        connections.close_all()

    threads = [threading.Thread(target=call, args=(i,)) for i in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(codes).count(200) == 1
    assert set(codes) == {200, 409}
    final = (
        FundingState.COMPLETED
        if state_of(order["id"]) != FundingState.REFUNDING
        else FundingState.REFUNDED
    )
    settle("BTC", order["id"], final)
    row = EscrowOrder.objects.get(id=order["id"])
    (payout,) = Payout.objects.filter(owner_kind="order", owner_id=row.id)
    assert spends_from(row.account) == {payout.txid}
    assert_books_match(row)


@pytest.mark.parametrize("currency", ["BTC", "XMR"])
@pytest.mark.parametrize("point", ["payout.after_sign", "payout.after_relay"])
def test_a_worker_killed_mid_payout_and_restarted_pays_exactly_once(
    buyer, vendor, celery_worker, currency, point
):
    order = create(buyer, vendor, currency)
    pay_and_escrow(order, currency)
    fault_arm(point)

    buyer.api.post(f"/api/orders/{order['id']}/release", {}, format="json")
    wait_until(lambda: not celery_worker.alive(), timeout=60, what=f"the worker to die at {point}")
    (payout,) = Payout.objects.filter(owner_kind="order", owner_id=order["id"])
    assert payout.state == PayoutState.SIGNED
    assert payout.txid
    assert payout.raw_tx

    celery_worker.restart()
    payouts_sweep()
    settle(currency, order["id"], FundingState.COMPLETED)

    row = EscrowOrder.objects.get(id=order["id"])
    payout.refresh_from_db()
    assert payout.state == PayoutState.CONFIRMED
    assert spends_from(row.account) == {payout.txid}
    assert vendor.receivers[currency].received() == row.amount - row.fee_amount - payout.network_fee
    assert_books_match(row)
