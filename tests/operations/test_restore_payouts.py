"""What a restore does with a payout its backup holds as pending when the lost machine
sent it after the backup, on the real nodes: the wallets' own record of what they sent
is read, a bitcoin payout is recorded as the transaction that paid its address (never
built again), a Monero one is held for staff, who record it as the transfer that paid it.
The backup's view is made by putting the
payout's row back as it was before it was built; the spend is the node's."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction

from exchange.errors import ApplicationError
from exchange.models import AuditLog
from operations.payouts_after_backup import node_height, payout_record_sent, payouts_sent_after
from orders.models import EscrowOrder
from tests.books import measured, node_spend
from tests.chain import CHAIN_OF, drive
from tests.flows import create, pay_and_escrow
from tests.people import make_person
from wallets.models import Payout, PayoutHold, PayoutState
from wallets.services.payouts.moves import _post_sent

SENT = (PayoutState.RELAYED, PayoutState.CONFIRMED)
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
    """An order's release payout sent by the worker, then its row put back to pending and
    its money back in ``payout:{id}`` as a backup taken before the send holds them; the
    worker is stopped (the restore runs before the engine starts). Returns the payout,
    the node height before the send and the row as it really was."""
    order = create(buyer, vendor, currency)
    pay_and_escrow(order, currency)
    chain = CHAIN_OF[currency]
    height = node_height(chain)
    response = buyer.api.post(f"/api/orders/{order['id']}/release", {}, format="json")
    assert response.status_code == 200, response.json()
    payout = Payout.objects.get(owner_kind="order", owner_id=order["id"], kind="release")
    drive(chain, lambda: state(payout) == PayoutState.RELAYED, what="relayed", timeout=300)
    celery_worker.proc.stop()
    payout.refresh_from_db()
    real = {field: getattr(payout, field) for field in BUILT}
    with transaction.atomic():  # the backup's books: the money still in payout:{id}
        _post_sent(payout, sign=-1, memo=f"the backup's view: payout {payout.id} not sent")
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
        unsent = Payout.objects.get(id=payout_id).state not in SENT
        Payout.objects.filter(id=payout_id).update(**real)
        if unsent:  # the books as they really are too
            with transaction.atomic():
                _post_sent(Payout.objects.get(id=payout_id), sign=1, memo="put back as sent")
    celery_worker.restart()


def test_a_bitcoin_payout_sent_after_the_backup_is_recorded_as_that_transaction(
    buyer, vendor, celery_worker, put_back
):
    order, payout, height, real = sent_then_forgotten(buyer, vendor, celery_worker, "BTC")
    put_back.append((payout.id, real))
    said: list[str] = []

    payouts_sent_after(order.account.master_wallet, height, said.append)

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

    payouts_sent_after(order.account.master_wallet, height, said.append)

    payout.refresh_from_db()
    assert (payout.state, payout.hold_kind) == (PayoutState.HELD, PayoutHold.RESTORE)
    assert real["txid"] in payout.last_error
    assert said == [f"  payout {payout.id}: held, {real['txid']} left its account after the backup"]


def test_staff_record_a_held_monero_payout_as_its_transfer_and_it_is_paid_once(
    buyer, vendor, celery_worker, put_back
):
    order, payout, height, real = sent_then_forgotten(buyer, vendor, celery_worker, "XMR")
    put_back.append((payout.id, real))
    payouts_sent_after(order.account.master_wallet, height, lambda _: None)
    assert state(payout) == PayoutState.HELD
    operator = make_person(staff=True).user

    # What the node does not show as this payout's transfer is refused, naming the field.
    for txid, reason, field in (
        ("0" * 64, "the old machine's log", "txid"),
        (real["txid"], " ", "reason"),
    ):
        with pytest.raises(ApplicationError) as refused:
            payout_record_sent(payout_id=payout.id, txid=txid, actor=operator, reason=reason)
        assert refused.value.field == field
    with pytest.raises(CommandError, match="^--sent-as: "):
        call_command(
            "retry_payout",
            payout.id,
            f"--sent-as={'0' * 64}",
            f"--staff={operator.username}",
            "--reason=the old machine's log",
        )
    assert state(payout) == PayoutState.HELD

    recorded = payout_record_sent(
        payout_id=payout.id, txid=real["txid"], actor=operator, reason="the old machine's log"
    )

    spend = node_spend(recorded)
    assert spend is not None
    assert (recorded.state, recorded.txid) == (PayoutState.RELAYED, real["txid"])
    assert (recorded.sent_amount, recorded.network_fee) == (spend.pays(payout.address), spend.fee)
    assert AuditLog.objects.filter(action="payout.record_sent", object_id=str(payout.id)).exists()
    with pytest.raises(ApplicationError):
        payout_record_sent(payout_id=payout.id, txid=real["txid"], actor=operator, reason="again")
    # The engine follows the transfer to its confirmation and never sends it again.
    celery_worker.restart()
    drive("monero", lambda: state(payout) == PayoutState.CONFIRMED, what="confirmed", mine_each=1)
    figures = measured("monero", [(order.account, payout.address)])
    assert (figures["made"], figures["duplicated"], figures["lost"]) == (1, 0, 0)


def test_a_spend_recorded_before_the_backup_holds_nothing(buyer, vendor, celery_worker, put_back):
    """The backup's height says the spend was in a block before it: nothing is touched."""
    order, payout, _, real = sent_then_forgotten(buyer, vendor, celery_worker, "BTC")
    put_back.append((payout.id, real))
    drive("bitcoin", lambda: True, what="a block", mine_each=1)

    payouts_sent_after(order.account.master_wallet, node_height("bitcoin"), lambda _: None)

    assert state(payout) == PayoutState.PENDING
