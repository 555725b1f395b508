"""Unclear answers from the nodes never fail a payout, and a payout the chain holds is
found, whatever the engine's rows said: a lost daemon reply, a wallet too busy to see its
own broadcast, a daemon down while building, a failed payout that landed, a transaction
dropped from the mempool, a conflict, a Monero fee that never settles. Figures are read
from the nodes (tests.books)."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from devtools.processes import wait_until
from devtools.regtest import regtest_up
from exchange.faults import fault_arm
from funding.models import FundingState
from orders.models import EscrowOrder, OrderState
from orders.services import order_advance
from tests.books import measured, node_spend
from tests.chain import CHAIN_OF, drive, kill_node, mine, pay
from tests.faults import rpc_proxy
from tests.flows import CREDIT_BLOCKS, create, pay_and_escrow, settle, state_of
from tests.testenv import MONERO_DAEMON_PROXY_PORT
from wallets.clients.base import RetryLater
from wallets.clients.bitcoin import get_bitcoin_client
from wallets.clients.monero import get_monero_client
from wallets.models import Payout, PayoutState
from wallets.services.payouts import payout_lookup, payout_process, payouts_sweep


def _release(buyer, order) -> Payout:
    assert (
        buyer.api.post(f"/api/orders/{order['id']}/release", {}, format="json").status_code == 200
    )
    return Payout.objects.get(owner_kind="order", owner_id=order["id"], kind="release")


def _figures(order, vendor, currency) -> dict:
    row = EscrowOrder.objects.get(id=order["id"])
    return measured(CHAIN_OF[currency], [(row.account, vendor.receivers[currency].address)])


def _paid_once(order, vendor, currency, proof, *, never_failed: bool = True) -> Payout:
    """The order completed, the node shows one payment to the vendor, of what the payout
    says, and the vendor's wallet received exactly that (and, unless the test failed it on
    purpose, the order never went to staff as failed on the way)."""
    row = EscrowOrder.objects.get(id=order["id"])
    if never_failed:
        assert not row.events.filter(to_state=FundingState.FAILED).exists()
    payout = Payout.objects.get(owner_kind="order", owner_id=row.id, kind="release")
    figures = _figures(order, vendor, currency)
    proof.update(**figures)
    assert row.state == FundingState.COMPLETED
    assert payout.state == PayoutState.CONFIRMED
    assert figures == {"expected": 1, "made": 1, "duplicated": 0, "lost": 0}
    assert vendor.receivers[currency].received() == payout.sent_amount
    return payout


def test_a_monero_relay_whose_daemon_reply_is_lost_is_paid_once_not_failed(
    buyer, vendor, celery_worker, proof
):
    """monero-wallet-rpc answers -4 "Failed to commit tx" when the daemon took the
    transaction but its reply was lost: only the daemon's own view decides."""
    proof.update(
        scenario="Monero relay: the daemon's reply to the wallet is lost (-4)",
        injected="proxy drops monerod's answer to sendrawtransaction",
    )
    order = create(buyer, vendor, "XMR")
    pay_and_escrow(order, "XMR")
    rpc_proxy.arm(MONERO_DAEMON_PROXY_PORT, path="sendrawtransaction", action="drop")
    try:
        _release(buyer, order)
        wait_until(
            lambda: rpc_proxy.status(MONERO_DAEMON_PROXY_PORT)["done"],
            timeout=60,
            what="the relay to reach the daemon through the proxy",
        )
        settle("XMR", order["id"], FundingState.COMPLETED)
    finally:
        rpc_proxy.reset(MONERO_DAEMON_PROXY_PORT)
    payout = _paid_once(order, vendor, "XMR", proof)
    assert payout.attempts >= 1


def test_a_monero_daemon_down_while_building_leaves_the_payout_waiting_not_failed(
    buyer, vendor, celery_worker, proof
):
    proof.update(
        scenario="Monero daemon down while a payout is built",
        injected="monerod SIGKILLed; wallet-rpc answers -4/-38",
    )
    order = create(buyer, vendor, "XMR")
    pay_and_escrow(order, "XMR")
    celery_worker.proc.stop()
    payout = _release(buyer, order)
    kill_node("monerod")
    try:
        with pytest.raises(RetryLater):
            payout_process(payout_id=payout.id)
        payout.refresh_from_db()
        assert payout.state == PayoutState.PENDING
        assert payout.last_error.startswith("outcome unknown")
    finally:
        regtest_up(echo=lambda *_: None)
    celery_worker.restart()
    get_monero_client().refresh()
    time.sleep(2.5)  # past the sweep's quiet period
    settle("XMR", order["id"], FundingState.COMPLETED)
    _paid_once(order, vendor, "XMR", proof)


@pytest.mark.parametrize("currency", ["BTC", "XMR"])
def test_a_failed_payout_whose_transaction_lands_is_found_and_confirmed(
    buyer, vendor, celery_worker, proof, currency
):
    """A payout marked failed after its bytes were relayed (what an engine that failed
    payouts on unclear answers left behind) is found by the scan and confirmed: never left
    in ``payout:{id}``, and the order completes."""
    proof.update(
        scenario=f"{currency}: a failed payout whose transaction is on chain",
        injected="worker killed after relay, payout marked failed",
    )
    order = create(buyer, vendor, currency)
    pay_and_escrow(order, currency)
    fault_arm("payout.after_relay")
    payout = _release(buyer, order)
    wait_until(lambda: not celery_worker.alive(), timeout=60, what="the worker to die relayed")
    Payout.objects.filter(id=payout.id).update(state=PayoutState.FAILED, last_error="unclear")
    order_advance(order_id=order["id"])
    assert state_of(order["id"]) == FundingState.FAILED

    celery_worker.restart()
    settle(currency, order["id"], FundingState.COMPLETED)
    payout = _paid_once(order, vendor, currency, proof, never_failed=False)
    assert payout.last_error == "the node shows the transaction of this failed payout"


def test_a_monero_payout_dropped_from_the_mempool_is_relayed_again(
    buyer, vendor, celery_worker, proof
):
    proof.update(
        scenario="Monero payout dropped from the daemon's pool, then relayed again",
        injected="flush_txpool of the relayed payout",
    )
    order = create(buyer, vendor, "XMR")
    pay_and_escrow(order, "XMR")
    payout = _release(buyer, order)
    drive(
        "monero",
        lambda: Payout.objects.get(id=payout.id).state == PayoutState.RELAYED,
        what="relayed",
    )
    payout.refresh_from_db()
    xmr = get_monero_client()
    xmr.flush_txpool([payout.txid])
    assert payout_lookup(payout).state == "pending"  # the wallet still holds it
    # The re-relay period passes.
    Payout.objects.filter(id=payout.id).update(relayed_at=timezone.now() - timedelta(hours=1))
    payouts_sweep()
    wait_until(lambda: payout_lookup(payout).state == "mempool", timeout=60, what="the relay again")
    settle("XMR", order["id"], FundingState.COMPLETED)
    _paid_once(order, vendor, "XMR", proof)


@pytest.mark.books_findings("unmapped_spend", "account")
@pytest.mark.parametrize("currency", ["BTC", "XMR"])
def test_a_payout_whose_input_another_transaction_spent_goes_to_staff(
    buyer, vendor, celery_worker, proof, currency
):
    """Its inputs spent by another transaction (here an out-of-band spend of the order's
    account, relayed first), the stored payout is rejected and can never land while that
    one stands: it fails with that evidence, the order goes to staff, nothing is paid."""
    proof.update(
        scenario=f"{currency}: relay rejected, the payout's input spent by another transaction",
        injected="a second transaction from the order's account relayed first",
    )
    chain = CHAIN_OF[currency]
    order = create(buyer, vendor, currency)
    pay_and_escrow(order, currency)
    fault_arm("payout.after_sign")
    payout = _release(buyer, order)
    wait_until(lambda: not celery_worker.alive(), timeout=60, what="the worker to die signed")
    row = EscrowOrder.objects.get(id=order["id"])
    if currency == "BTC":
        btc = get_bitcoin_client()
        other = btc.create_tx(
            account=row.account.node_name,
            outputs=[(btc.new_address(), 1_000_000)],
            subtract_fee=True,
        )
        btc.broadcast(other["hex"])
        drive("bitcoin", lambda: btc.wallet_tx(other["txid"]), what="the other spend")
    else:
        xmr = get_monero_client()
        xmr.refresh()
        xmr.send_many(
            outputs=[(xmr.primary_address(), 100_000_000_000)],
            account_index=row.account.account_index,
        )

    celery_worker.restart()
    drive(chain, lambda: state_of(order["id"]) == FundingState.FAILED, what="failed")
    payout.refresh_from_db()
    figures = measured(chain, [], forbidden=[(row.account, vendor.receivers[currency].address)])
    proof.update(**figures)
    assert payout.state == PayoutState.FAILED
    assert payout.last_error.startswith("conflicted: ")
    assert figures["duplicated"] == 0
    assert vendor.receivers[currency].received() == 0


def test_a_bitcoin_broadcast_whose_reply_is_lost_is_paid_once(buyer, vendor, celery_worker, proof):
    """A worker whose bcoin node is behind a proxy that forwards the broadcast and drops
    the node's answer: the outcome is unknown, the node is asked, the payout is relayed."""
    from devtools.processes import PYTHON
    from tests.processes import launcher
    from tests.testenv import PORT_BASE, ROOT

    proof.update(
        scenario="bitcoin relay: the node's reply to the broadcast is lost",
        injected="proxy drops bcoin's answer to /broadcast",
    )
    port = PORT_BASE + 87
    proxy = launcher.start(
        "bcoin-proxy",
        [
            PYTHON,
            str(ROOT / "tests" / "faults" / "rpc_proxy.py"),
            "--listen",
            str(port),
            "--target",
            f"127.0.0.1:{PORT_BASE + 32}",
        ],
    )
    order = create(buyer, vendor, "BTC")
    pay_and_escrow(order, "BTC")
    celery_worker.proc.stop()
    proxied = None
    try:
        wait_until(lambda: _listening(port), timeout=30, what="the proxy")
        rpc_proxy.arm(port, path="/broadcast", action="drop")
        proxied = launcher.start_worker(
            "worker-proxied", BITCOIN_NODE_URL=f"http://127.0.0.1:{port}"
        )
        _release(buyer, order)
        wait_until(lambda: rpc_proxy.status(port)["done"], timeout=60, what="the lost reply")
        drive(
            "bitcoin",
            lambda: (
                Payout.objects.get(owner_kind="order", owner_id=order["id"]).state
                == PayoutState.RELAYED
            ),
            what="relayed",
        )
    finally:
        if proxied is not None:
            proxied.stop()
        proxy.stop()
        celery_worker.restart()
    settle("BTC", order["id"], FundingState.COMPLETED)
    _paid_once(order, vendor, "BTC", proof)


def _listening(port: int) -> bool:
    import socket

    with socket.socket() as s:
        s.settimeout(0.3)
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_a_monero_fee_that_never_settles_stores_what_the_transaction_pays(
    buyer, vendor, celery_worker, proof
):
    """The order's account holds exactly two outputs (2 XMR and a small one) and the
    payout amount sits where "amount minus the fee" needs two inputs at the one-input fee
    and one input at the two-input fee: the fee never settles. What is stored (fee, amount
    sent, what is left in the account) is what the signed transaction pays."""
    proof.update(
        scenario="Monero payout whose fee never settles (1 vs 2 inputs)",
        injected="an account with two outputs, a payout amount between the two fees",
    )
    big = 2 * 10**12
    target = big - 400_000_000  # between 2 XMR minus the fee difference and 2 XMR
    bps = settings.PLATFORM_FEE_BPS
    amount = target * 10_000 // (10_000 - bps) + 1
    order = create(buyer, vendor, "XMR", amount=amount)
    pay("monero", order["deposit_address"], big)
    mine("monero", 1)
    pay("monero", order["deposit_address"], amount - big)
    mine("monero", CREDIT_BLOCKS["XMR"])
    drive("monero", lambda: state_of(order["id"]) == OrderState.ESCROWED, what="escrowed")
    _release(buyer, order)
    settle("XMR", order["id"], FundingState.COMPLETED)
    paid = _paid_once(order, vendor, "XMR", proof)
    on_node = node_spend(paid)
    assert on_node.fee == paid.network_fee
    assert on_node.pays(paid.address) == paid.sent_amount
    assert paid.sent_amount + paid.network_fee <= paid.amount
