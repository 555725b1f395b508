"""Who releases a held payout, and a pending payout recorded as a transaction already
sent (a restore), against the in-memory chain."""

import pytest
from django.contrib.auth import get_user_model

from exchange.errors import ApplicationError
from exchange.models import AuditLog
from funding.models import EventKind, FundingEvent
from funding.services import retry_payout
from operations import payouts_after_backup
from operations.books.spends import Spend
from operations.payouts_after_backup import before_backup, payout_record_sent
from orders.models import OrderState
from orders.services import order_apply_deposits, order_create, order_release
from orders.services.vendors import vendor_payout_address_set
from staff.models import StaffAction
from staff.services.approvals import approval_decide, approval_request
from staff.services.authorize import ApprovalRequired, StaffPermissionDenied
from tests.fast.fake_chain import fake_chain
from tests.people import make_person
from wallets.models import Payout, PayoutHold, PayoutState
from wallets.services import deposits_scan
from wallets.services.payouts import (
    PayoutStateError,
    payout_adopt,
    payout_release_held,
    payouts_hold,
    payouts_unhold,
)
from wallets.services.pool import pool_refill

pytestmark = pytest.mark.django_db


@pytest.fixture
def released():
    """A released order's pending payout (the worker never ran it)."""
    users = get_user_model().objects
    buyer = users.create_user(username="buyer", password=None)
    vendor = users.create_user(username="vendor", password=None)
    with fake_chain("bitcoin") as chain:
        vendor_payout_address_set(user=vendor, currency="BTC", address="fake1vendor")
        pool_refill(chain="bitcoin", batch_size=1, target=1)
        order = order_create(buyer=buyer, vendor_username="vendor", currency="BTC", amount=100_000)
        chain.pay(order.account.address, 100_000)
        chain.mine(1)
        deposits_scan(chain="bitcoin")
        assert order_apply_deposits(order_id=order.id).state == OrderState.ESCROWED
        order_release(order_id=order.id, actor=buyer)
        yield Payout.objects.get(owner_kind="order", owner_id=order.id)


@pytest.fixture
def operator():
    return get_user_model().objects.create_superuser(username="staff", password=None, email="")


def state(payout: Payout) -> tuple[str, str]:
    payout.refresh_from_db()
    return payout.state, payout.hold_kind


def test_a_restore_hold_is_not_released_by_the_chain_only_by_staff(released, operator):
    assert payouts_hold(payout_ids=[released.id], reason="t1 left", kind=PayoutHold.RESTORE)
    # Every deposit of the owner back in a block releases deposit holds, not this one.
    assert payouts_unhold(payout_ids=[released.id], kind=PayoutHold.DEPOSIT) == []
    assert state(released) == (PayoutState.HELD, PayoutHold.RESTORE)

    payout_release_held(payout_id=released.id, actor=operator, reason="t1 is another payment")
    assert state(released) == (PayoutState.PENDING, "")
    audit = AuditLog.objects.get(action="payout.release_held", object_id=str(released.id))
    assert audit.data["held_for"] == "t1 left"


def test_staff_cannot_release_a_deposit_hold(released, operator):
    payouts_hold(payout_ids=[released.id], reason="a deposit vanished", kind=PayoutHold.DEPOSIT)
    with pytest.raises(PayoutStateError, match="not held by a restore"):
        payout_release_held(payout_id=released.id, actor=operator, reason="no")
    assert state(released) == (PayoutState.HELD, PayoutHold.DEPOSIT)
    assert not AuditLog.objects.filter(action="payout.release_held").exists()


def test_releasing_a_held_payout_takes_the_retry_permission_and_is_in_the_owners_history(
    released,
):
    """The CLI and the admin go through ``retry_payout``: a held payout is released (it is
    then built and sent) only by staff who may retry payouts, as a failed one is."""
    payouts_hold(payout_ids=[released.id], reason="t1 left", kind=PayoutHold.RESTORE)
    support = make_person(staff=True, roles=("support",)).user
    with pytest.raises(StaffPermissionDenied):
        retry_payout(payout_id=released.id, actor=support, reason="t1 is another payment")
    assert state(released) == (PayoutState.HELD, PayoutHold.RESTORE)
    with pytest.raises(ApplicationError) as refused:
        retry_payout(payout_id=released.id, actor=support, reason="x", address="fake1other")
    assert refused.value.field == "address"

    payments = make_person(staff=True).user
    retry_payout(payout_id=released.id, actor=payments, reason="t1 is another payment")

    assert state(released) == (PayoutState.PENDING, "")
    noted = FundingEvent.objects.get(owner_id=released.owner_id, kind=EventKind.PAYOUT_RETRY)
    assert (noted.actor_id, noted.data["payout"]) == (payments.id, released.id)


def test_above_the_threshold_a_held_payout_is_recorded_as_sent_once_a_second_staff_approves(
    released, monkeypatch, settings
):
    settings.STAFF_APPROVAL_ABOVE = {**settings.STAFF_APPROVAL_ABOVE, "BTC": released.amount - 1}
    payouts_hold(payout_ids=[released.id], reason="t7 left", kind=PayoutHold.RESTORE)
    fee = 300
    spend = Spend(
        txid="t7",
        sources=(released.source_account.node_name,),
        destinations=((released.address, released.amount - fee, False),),
        fee=fee,
        confirmations=1,
    )
    monkeypatch.setattr(payouts_after_backup, "spends_read", lambda wallet, addresses: [spend])
    asker, approver = (
        make_person(staff=True).user,
        make_person(staff=True, roles=("approver",)).user,
    )
    with pytest.raises(ApprovalRequired):
        retry_payout(payout_id=released.id, actor=asker, reason="its log", sent_as="t7")

    pending = approval_request(
        action=StaffAction.RETRY_PAYOUT,
        owner_kind=released.owner_kind,
        owner_id=released.owner_id,
        actor=asker,
        reason="its log",
        params={"payout_id": released.id, "address": "", "sent_as": "t7"},
    )
    assert pending is not None
    assert state(released) == (PayoutState.HELD, PayoutHold.RESTORE)
    approval_decide(approval_id=pending.id, actor=approver, approve=True, reason="seen it")

    released.refresh_from_db()
    assert (released.state, released.txid) == (PayoutState.RELAYED, "t7")


def test_a_pending_payout_is_recorded_as_the_transaction_already_sent(released):
    fee = 300
    assert payout_adopt(
        payout_id=released.id,
        txid="t1",
        raw_tx="00ff",
        network_fee=fee,
        sent_amount=released.amount - fee,
        note="restored: t1 was sent after the backup",
    )
    released.refresh_from_db()
    assert (released.state, released.txid, released.raw_tx) == (PayoutState.SIGNED, "t1", "00ff")
    assert (released.network_fee, released.sent_amount, released.remainder) == (
        fee,
        released.amount - fee,
        0,
    )
    # Once signed it is never adopted again.
    assert not payout_adopt(
        payout_id=released.id, txid="t2", raw_tx="", network_fee=0, sent_amount=1, note=""
    )


def test_a_transaction_spending_more_than_the_payout_is_not_it(released):
    assert not payout_adopt(
        payout_id=released.id,
        txid="t1",
        raw_tx="00ff",
        network_fee=1,
        sent_amount=released.amount,
        note="",
    )
    assert state(released) == (PayoutState.PENDING, "")


def test_a_transfer_whose_destination_the_node_cannot_name_is_recorded_only_at_its_amount(
    released, operator, monkeypatch
):
    """A Monero wallet restored from its seed knows a transfer's account and amount, not
    where it went: the amount alone tells the payout from another of its account's."""
    payouts_hold(payout_ids=[released.id], reason="t7 left", kind=PayoutHold.RESTORE)
    fee = 300
    account = released.source_account.node_name

    def node_shows(sent: int):
        spend = Spend(
            txid="t7",
            sources=(account,),
            destinations=(("?", sent, False),),
            fee=fee,
            confirmations=1,
        )
        monkeypatch.setattr(payouts_after_backup, "spends_read", lambda wallet, addresses: [spend])

    node_shows(released.amount - fee - 1)
    with pytest.raises(ApplicationError, match="does not say where") as refused:
        payout_record_sent(payout_id=released.id, txid="t7", actor=operator, reason="its log")
    assert refused.value.field == "txid"
    assert state(released) == (PayoutState.HELD, PayoutHold.RESTORE)

    node_shows(released.amount - fee)
    payout_record_sent(payout_id=released.id, txid="t7", actor=operator, reason="its log")
    released.refresh_from_db()
    assert (released.state, released.txid, released.hold_kind) == (PayoutState.RELAYED, "t7", "")
    assert (released.sent_amount, released.network_fee) == (released.amount - fee, fee)
    assert AuditLog.objects.filter(action="payout.record_sent", object_id=str(released.id)).exists()


@pytest.mark.parametrize(
    ("confirmations", "tip", "height_at_backup", "before"),
    [
        (0, 120, 110, False),  # unconfirmed: after
        (11, 120, 110, True),  # in block 110
        (10, 120, 110, False),  # in block 111
        (50, 120, None, False),  # the backup does not say: every one counts as after
        (5, None, 110, False),  # the node does not say
    ],
)
def test_a_spend_is_before_the_backup_only_in_a_block_up_to_its_height(
    confirmations, tip, height_at_backup, before
):
    assert before_backup(confirmations, tip, height_at_backup) is before
