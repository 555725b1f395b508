"""What a restore does with a payout its backup holds as pending when the lost machine
sent it after the backup, on the real nodes: the wallets' own record of what they sent
is read, a bitcoin payout is recorded as the transaction that paid its address (never
built again), a Monero one is held for staff. The backup's view is made by putting the
payout's row back as it was before it was built; the spend is the node's."""

from __future__ import annotations

import pytest

from operations.backups import _node_height, _payouts_sent_after
from orders.models import EscrowOrder
from tests.books import node_spend
from tests.chain import CHAIN_OF, drive
from tests.flows import create, pay_and_escrow
from wallets.models import Payout, PayoutHold, PayoutState

# What a payout's row holds once built; the backup's row had none of it.
BUILT = (
    "state",
    "txid",
    "raw_tx",
    "network_fee",
    "sent_amount",
    "remainder",
    "tx_key",
    "key_images",
    "signed_at",
    "relay_attempted_at",
    "relayed_at",
    "relayed_height",
    "last_error",
    "hold_kind",
)


def sent_then_forgotten(buyer, vendor, celery_worker, currency):
    """An order's release payout sent by the worker, then its row put back to pending as
    a backup taken before the send holds it; the worker is stopped (the restore runs
    before the engine starts). Returns the payout, the node height before the send and
    the row as it really was."""
    order = create(buyer, vendor, currency)
    pay_and_escrow(order, currency)
    chain = CHAIN_OF[currency]
    height = _node_height(chain)
    response = buyer.api.post(f"/api/orders/{order['id']}/release", {}, format="json")
    assert response.status_code == 200, response.json()
    payout = Payout.objects.get(owner_kind="order", owner_id=order["id"], kind="release")
    drive(chain, lambda: state(payout) == PayoutState.RELAYED, what="relayed", timeout=300)
    celery_worker.proc.stop()
    payout.refresh_from_db()
    real = {field: getattr(payout, field) for field in BUILT}
    Payout.objects.filter(id=payout.id).update(
        state=PayoutState.PENDING,
        txid="",
        raw_tx="",
        network_fee=0,
        sent_amount=0,
        remainder=0,
        tx_key="",
        key_images=[],
        signed_at=None,
        relay_attempted_at=None,
        relayed_at=None,
        relayed_height=None,
    )
    return EscrowOrder.objects.get(id=order["id"]), payout, height, real


def state(payout: Payout) -> str:
    payout.refresh_from_db()
    return payout.state


@pytest.fixture
def put_back(celery_worker):
    """The payout rows as they really are again, and the worker running, after the test."""
    rows = []
    yield rows
    for payout_id, real in rows:
        Payout.objects.filter(id=payout_id).update(**real)
    celery_worker.restart()


def test_a_bitcoin_payout_sent_after_the_backup_is_recorded_as_that_transaction(
    buyer, vendor, celery_worker, put_back
):
    order, payout, height, real = sent_then_forgotten(buyer, vendor, celery_worker, "BTC")
    put_back.append((payout.id, real))
    said: list[str] = []

    _payouts_sent_after(order.account.master_wallet, height, said.append)

    payout.refresh_from_db()
    spend = node_spend(payout)
    assert spend is not None
    assert spend.txid == real["txid"]
    assert payout.state == PayoutState.SIGNED
    assert (payout.sent_amount, payout.network_fee) == (spend.pays(payout.address), spend.fee)
    assert payout.raw_tx == real["raw_tx"]
    assert said == [f"  payout {payout.id}: sent after the backup as {spend.txid}, recorded"]


def test_a_monero_payout_sent_after_the_backup_is_held_for_staff(
    buyer, vendor, celery_worker, put_back
):
    order, payout, height, real = sent_then_forgotten(buyer, vendor, celery_worker, "XMR")
    put_back.append((payout.id, real))
    said: list[str] = []

    _payouts_sent_after(order.account.master_wallet, height, said.append)

    payout.refresh_from_db()
    assert (payout.state, payout.hold_kind) == (PayoutState.HELD, PayoutHold.RESTORE)
    assert real["txid"] in payout.last_error
    assert said == [f"  payout {payout.id}: held, {real['txid']} left its account after the backup"]


def test_a_spend_recorded_before_the_backup_holds_nothing(buyer, vendor, celery_worker, put_back):
    """The backup's height says the spend was in a block before it: nothing is touched."""
    order, payout, _, real = sent_then_forgotten(buyer, vendor, celery_worker, "BTC")
    put_back.append((payout.id, real))
    drive("bitcoin", lambda: True, what="a block", mine_each=1)

    _payouts_sent_after(order.account.master_wallet, _node_height("bitcoin"), lambda _: None)

    assert state(payout) == PayoutState.PENDING
