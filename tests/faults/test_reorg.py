"""Blocks taken back after a deposit was seen: confirmations go back, nothing is released
on a deposit that vanished."""

from __future__ import annotations

from django.conf import settings

from orders.models import EscrowOrder, OrderState
from tests.chain import drive, mine, pay
from tests.flows import create, state_of
from wallets.clients.bitcoin import get_bitcoin_client
from wallets.clients.monero import get_monero_client
from wallets.models import Deposit

BTC_TWO_CONFIRMATIONS = 50_000_000  # 0.5 BTC needs 2 confirmations


def test_a_bitcoin_block_invalidated_takes_the_confirmation_back(
    buyer, vendor, celery_worker, proof
):
    proof.update(
        scenario="reorg (bcoin invalidateblock) after a deposit was seen",
        injected="1 block invalidated",
    )
    order = create(buyer, vendor, "BTC", amount=BTC_TWO_CONFIRMATIONS)
    assert order["confirmations_required"] == 2
    pay("bitcoin", order["deposit_address"], BTC_TWO_CONFIRMATIONS)
    mine("bitcoin")
    deposit_of = lambda: Deposit.objects.get(account__escrow_order__id=order["id"])  # noqa: E731
    drive("bitcoin", lambda: deposit_of().confirmations == 1, what="one confirmation")

    btc = get_bitcoin_client()
    btc.invalidate_block(btc.best_block_hash())
    drive("bitcoin", lambda: deposit_of().confirmations == 0, what="the confirmation taken back")

    assert state_of(order["id"]) == OrderState.CONFIRMING
    assert deposit_of().credited_at is None
    # The payer's wallet announces its unconfirmed transaction again, as a network would.
    btc._wallet(
        "POST", "/resend", wallet_id=settings.BITCOIN["customer_wallet_id"], method="resend"
    )
    mine("bitcoin", 2)
    drive(
        "bitcoin",
        lambda: state_of(order["id"]) == OrderState.ESCROWED,
        what="escrowed on the new chain",
    )
    proof.update(expected=0, made=0, duplicated=0, lost=0)


def test_a_monero_deposit_that_vanishes_is_never_credited(buyer, vendor, celery_worker, proof):
    proof.update(
        scenario="reorg (monerod pop_blocks + pool flush): the deposit vanishes",
        injected="1 block popped, pool flushed",
    )
    order = create(buyer, vendor, "XMR")
    pay("monero", order["deposit_address"], int(order["amount"]))
    mine("monero")
    deposit_of = lambda: Deposit.objects.get(account__escrow_order__id=order["id"])  # noqa: E731
    drive("monero", lambda: deposit_of().confirmations == 1, what="one confirmation")

    xmr = get_monero_client()
    xmr.pop_blocks(1)
    xmr.flush_txpool()
    # A competing block at the same height: the wallets see the reorganisation.
    mine("monero", 1)
    drive("monero", lambda: deposit_of().dropped, what="the deposit to vanish")
    mine("monero", 11)
    drive(
        "monero",
        lambda: deposit_of().dropped and state_of(order["id"]) == OrderState.AWAITING_DEPOSIT,
        what="back to awaiting",
    )

    row = EscrowOrder.objects.get(id=order["id"])
    assert row.escrowed_amount == 0
    assert deposit_of().credited_at is None
    proof.update(expected=0, made=0, duplicated=0, lost=0)
