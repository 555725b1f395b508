"""A payout relayed while bcoin's wallet rescans (its node relays the transaction at
once, its wallet shows it only seconds later) is not failed. This runs late in the suite:
it lengthens the chain so that the rescan lasts several seconds."""

from __future__ import annotations

from devtools.processes import wait_until
from exchange.faults import fault_arm
from funding.models import FundingState
from tests.books import assert_books_clean, violations
from tests.chain import mine
from tests.faults.test_payout_outcomes import _paid_once, _release
from tests.flows import create, pay_and_escrow, settle
from wallets.clients.bitcoin import get_bitcoin_client
from wallets.models import PayoutState
from wallets.services.payouts import payout_process

# bcoin rescans about 300 blocks a second here: at this height its wallet is busy for
# several seconds, well past the 3 s an engine might wait to see a broadcast.
RESCAN_CHAIN_HEIGHT = 1500


def test_a_bitcoin_broadcast_the_wallet_does_not_show_yet_is_not_failed(
    buyer, vendor, celery_worker, proof
):
    """bcoin's wallet does not see a transaction while it rescans (its node relays it at
    once): a broadcast it does not show within seconds is not a conflict."""
    proof.update(
        scenario="bitcoin relay while the wallet rescans: the node has it, the wallet not yet",
        injected="bcoin wallet rescan from height 0 during the relay",
    )
    before = violations()
    order = create(buyer, vendor, "BTC")
    pay_and_escrow(order, "BTC")
    fault_arm("payout.after_sign")
    payout = _release(buyer, order)
    wait_until(lambda: not celery_worker.alive(), timeout=60, what="the worker to die signed")
    payout.refresh_from_db()
    assert payout.state == PayoutState.SIGNED

    btc = get_bitcoin_client()
    # A chain long enough that the wallet's rescan outlasts the relay by seconds.
    if btc.height() < RESCAN_CHAIN_HEIGHT:
        mine("bitcoin", RESCAN_CHAIN_HEIGHT - btc.height())
    btc._call("POST", btc.wallet_url, "/rescan", method="rescan", body={"height": 0})
    payout_process(payout_id=payout.id)
    unseen_by_wallet = btc.wallet_tx(payout.txid) is None
    payout.refresh_from_db()
    assert payout.state == PayoutState.RELAYED, payout.last_error
    assert unseen_by_wallet, "the wallet's rescan ended before the relay: nothing was tested"

    celery_worker.restart()
    wait_until(lambda: btc.wallet_tx(payout.txid), timeout=120, what="the rescan to end")
    settle("BTC", order["id"], FundingState.COMPLETED)
    _paid_once(order, vendor, "BTC", proof)
    assert_books_clean(ignore=before)
