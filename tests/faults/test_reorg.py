"""Blocks taken back: before a deposit is credited, after it is credited, and after the
release. Nothing is released on a deposit that vanished; what rests on a credited deposit
that vanishes stops until it is back; a payout whose block is taken back is confirmed
again, never sent twice. Figures are read from the nodes (tests.books)."""

from __future__ import annotations

from django.conf import settings

from funding.models import FundingState
from operations.books import books_check
from orders.models import EscrowOrder, OrderState
from orders.services import order_apply_deposits
from tests.books import measured
from tests.chain import CHAIN_OF, drive, mine, pay
from tests.flows import CREDIT_BLOCKS, create, pay_and_escrow, settle, state_of
from wallets.clients.bitcoin import get_bitcoin_client
from wallets.clients.monero import get_monero_client
from wallets.models import Deposit, Payout, PayoutState
from wallets.services import deposits_scan

BTC_TWO_CONFIRMATIONS = 50_000_000  # 0.5 BTC needs 2 confirmations


def _deposit(order) -> Deposit:
    return Deposit.objects.get(account__escrow_order__id=order["id"])


def _resend_customer_bitcoin() -> None:
    """The payer's wallet announces its unconfirmed transactions again, as a network would."""
    get_bitcoin_client()._wallet(
        "POST", "/resend", wallet_id=settings.BITCOIN["customer_wallet_id"], method="resend"
    )


def _release_and_measure(buyer, vendor, order, currency, proof) -> None:
    assert (
        buyer.api.post(f"/api/orders/{order['id']}/release", {}, format="json").status_code == 200
    )
    settle(currency, order["id"], FundingState.COMPLETED)
    row = EscrowOrder.objects.get(id=order["id"])
    figures = measured(CHAIN_OF[currency], [(row.account, vendor.receivers[currency].address)])
    proof.update(**figures)
    payout = Payout.objects.get(owner_kind="order", owner_id=row.id, kind="release")
    assert figures == {"expected": 1, "made": 1, "duplicated": 0, "lost": 0}
    assert vendor.receivers[currency].received() == payout.sent_amount


def _alerts(chain: str) -> list:
    (report,) = books_check(chains=[chain])
    return [f for f in report.alerts if f.kind == "credited_deposit_vanished"]


def test_a_bitcoin_block_invalidated_takes_the_confirmation_back(
    buyer, vendor, celery_worker, proof
):
    proof.update(
        scenario="bitcoin reorg (invalidateblock) before the deposit is credited",
        injected="1 block invalidated",
    )
    order = create(buyer, vendor, "BTC", amount=BTC_TWO_CONFIRMATIONS)
    assert order["confirmations_required"] == 2
    pay("bitcoin", order["deposit_address"], BTC_TWO_CONFIRMATIONS)
    mine("bitcoin")
    drive("bitcoin", lambda: _deposit(order).confirmations == 1, what="one confirmation")

    btc = get_bitcoin_client()
    btc.invalidate_block(btc.best_block_hash())
    drive("bitcoin", lambda: _deposit(order).confirmations == 0, what="the confirmation taken back")

    assert state_of(order["id"]) == FundingState.CONFIRMING
    assert _deposit(order).credited_at is None
    _resend_customer_bitcoin()
    mine("bitcoin", 2)
    drive(
        "bitcoin",
        lambda: state_of(order["id"]) == OrderState.ESCROWED,
        what="escrowed on the new chain",
    )
    _release_and_measure(buyer, vendor, order, "BTC", proof)


def test_a_monero_deposit_that_vanishes_before_credit_is_never_credited(
    buyer, vendor, celery_worker, proof
):
    proof.update(
        scenario="Monero reorg (pop_blocks + pool flush) before the deposit is credited",
        injected="1 block popped, the deposit flushed",
    )
    order = create(buyer, vendor, "XMR")
    pay("monero", order["deposit_address"], int(order["amount"]))
    mine("monero")
    drive("monero", lambda: _deposit(order).confirmations == 1, what="one confirmation")

    xmr = get_monero_client()
    xmr.pop_blocks(1)
    xmr.flush_txpool([_deposit(order).txid])
    mine("monero", 1)  # a competing block at the same height
    drive("monero", lambda: _deposit(order).dropped, what="the deposit to vanish")
    mine("monero", 11)
    drive(
        "monero",
        lambda: _deposit(order).dropped and state_of(order["id"]) == FundingState.AWAITING_DEPOSIT,
        what="back to awaiting",
    )
    row = EscrowOrder.objects.get(id=order["id"])
    figures = measured("monero", [], forbidden=[(row.account, vendor.receivers["XMR"].address)])
    proof.update(**figures)
    assert row.escrowed_amount == 0
    assert _deposit(order).credited_at is None
    assert figures["duplicated"] == 0


def test_a_credited_bitcoin_deposit_taken_back_holds_the_release_until_it_confirms_again(
    buyer, vendor, celery_worker, proof
):
    """The release is requested, not built yet; the deposit's block is taken back (its
    transaction goes back to the mempool): the order goes on hold and the payout is held;
    reconcile reports it. Confirmed again, both resume and the vendor is paid once."""
    proof.update(
        scenario="bitcoin reorg after the deposit was credited (release not built yet)",
        injected="the deposit's block invalidated",
    )
    order = create(buyer, vendor, "BTC")
    pay_and_escrow(order, "BTC")
    celery_worker.proc.stop()
    assert (
        buyer.api.post(f"/api/orders/{order['id']}/release", {}, format="json").status_code == 200
    )
    payout = Payout.objects.get(owner_kind="order", owner_id=order["id"])
    assert payout.state == PayoutState.PENDING

    btc = get_bitcoin_client()
    btc.invalidate_block(btc.best_block_hash())
    deposits_scan(chain="bitcoin")
    assert _deposit(order).height is None
    assert order_apply_deposits(order_id=order["id"]).state == FundingState.ON_HOLD
    payout.refresh_from_db()
    assert payout.state == PayoutState.HELD
    assert [a.subject for a in _alerts("bitcoin")] == [
        f"{_deposit(order).txid}:{_deposit(order).output_key}"
    ]

    _resend_customer_bitcoin()
    mine("bitcoin")
    deposits_scan(chain="bitcoin")
    assert order_apply_deposits(order_id=order["id"]).state == OrderState.RELEASING
    assert not _alerts("bitcoin")
    celery_worker.restart()
    settle("BTC", order["id"], FundingState.COMPLETED)
    row = EscrowOrder.objects.get(id=order["id"])
    figures = measured("bitcoin", [(row.account, vendor.receivers["BTC"].address)])
    proof.update(**figures)
    assert figures == {"expected": 1, "made": 1, "duplicated": 0, "lost": 0}
    assert row.events.filter(to_state=FundingState.ON_HOLD).count() == 1


def test_a_credited_monero_deposit_that_vanishes_stops_the_release_and_nothing_is_paid(
    buyer, vendor, celery_worker, proof
):
    """The deposit is credited (10 blocks deep), the release requested; the blocks since
    the deposit are taken back and the deposit is gone for good. The order stays on hold
    for staff, its payout held, reconcile reports it, and nothing leaves the account."""
    proof.update(
        scenario="Monero reorg after the deposit was credited: the deposit is gone",
        injected=f"{CREDIT_BLOCKS['XMR'] + 1} blocks popped, the deposit flushed",
    )
    order = create(buyer, vendor, "XMR")
    pay_and_escrow(order, "XMR")
    celery_worker.proc.stop()
    assert (
        buyer.api.post(f"/api/orders/{order['id']}/release", {}, format="json").status_code == 200
    )
    payout = Payout.objects.get(owner_kind="order", owner_id=order["id"])

    xmr = get_monero_client()
    depth = xmr.height() - _deposit(order).height
    xmr.pop_blocks(depth)
    xmr.flush_txpool([_deposit(order).txid])
    # As many competing blocks: the wallets follow the longer chain without the deposit.
    mine("monero", depth + 1)
    drive("monero", lambda: _deposit(order).dropped, what="the deposit to vanish")
    assert order_apply_deposits(order_id=order["id"]).state == FundingState.ON_HOLD
    payout.refresh_from_db()
    assert payout.state == PayoutState.HELD
    assert _alerts("monero")

    celery_worker.restart()
    mine("monero", 2)
    drive("monero", lambda: True, what="a scan")
    row = EscrowOrder.objects.get(id=order["id"])
    figures = measured("monero", [], forbidden=[(row.account, vendor.receivers["XMR"].address)])
    proof.update(**figures)
    assert row.state == FundingState.ON_HOLD
    assert Payout.objects.get(id=payout.id).state == PayoutState.HELD
    assert figures["duplicated"] == 0
    assert vendor.receivers["XMR"].received() == 0


def _payout_block_taken_back(currency: str, payout: Payout) -> None:
    """The payout's block is replaced: bitcoin's node forgets it at once (its wallet too);
    Monero's wallet follows once a competing block makes the other chain as long."""
    if currency == "BTC":
        btc = get_bitcoin_client()
        btc.invalidate_block(btc.best_block_hash())
    else:
        get_monero_client().pop_blocks(1)
        mine("monero", 1)


def test_a_release_whose_block_is_taken_back_is_confirmed_again_not_sent_again(
    buyer, vendor, celery_worker, proof
):
    for currency in ("BTC", "XMR"):
        chain = CHAIN_OF[currency]
        order = create(buyer, vendor, currency)
        pay_and_escrow(order, currency)
        assert (
            buyer.api.post(f"/api/orders/{order['id']}/release", {}, format="json").status_code
            == 200
        )
        drive(
            chain,
            lambda order=order: Payout.objects.filter(
                owner_kind="order", owner_id=order["id"], state=PayoutState.RELAYED
            ).exists(),
            what="relayed",
        )
        mine(chain)
        payout = Payout.objects.get(owner_kind="order", owner_id=order["id"])
        drive(
            chain,
            lambda payout=payout: Payout.objects.get(id=payout.id).state == PayoutState.CONFIRMED,
            what="confirmed",
        )
        _payout_block_taken_back(currency, payout)
        if currency == "BTC":
            drive(
                chain,
                lambda payout=payout: Payout.objects.get(id=payout.id).confirmations == 0,
                what="the confirmation taken back",
            )
        drive(
            chain,
            lambda payout=payout: Payout.objects.get(id=payout.id).state == PayoutState.CONFIRMED,
            what="confirmed again",
            mine_each=1,
        )
        assert state_of(order["id"]) == FundingState.COMPLETED
        row = EscrowOrder.objects.get(id=order["id"])
        figures = measured(chain, [(row.account, vendor.receivers[currency].address)])
        proof.update(
            scenario="reorg after the release: the payout's block taken back (both chains)",
            injected="bitcoin invalidateblock, Monero pop_blocks",
            **{k: proof.get(k, 0) + v for k, v in figures.items()},
        )
        assert figures == {"expected": 1, "made": 1, "duplicated": 0, "lost": 0}
        assert vendor.receivers[currency].received() == Payout.objects.get(id=payout.id).sent_amount
