"""Approved staff moves on an escrow order pay where the approver saw the money go: a
vendor's payout address or a buyer's refund address changed after the request, or between
the approval's check and the move, stops the move, against the in-memory chain."""

import pytest
from django.contrib.auth import get_user_model

from funding.states import StateConflict
from orders.models import EscrowOrder, OrderState
from orders.services import order_apply_deposits, order_create, order_set_refund_address
from orders.services.vendors import vendor_payout_address_set
from staff.models import ApprovalState, StaffAction, StaffApproval
from staff.services import approvals
from staff.services.approvals import approval_decide, approval_request
from tests.fast.fake_chain import fake_chain
from wallets.models import Payout
from wallets.services import deposits_scan
from wallets.services.pool import pool_refill

pytestmark = pytest.mark.django_db


@pytest.fixture
def escrowed(settings):
    """An escrowed order, and staff who must ask a second person for any move of it."""
    settings.CONFIRMATIONS_REQUIRED = {**settings.CONFIRMATIONS_REQUIRED, "bitcoin": [(None, 1)]}
    settings.STAFF_APPROVAL_ABOVE = {**settings.STAFF_APPROVAL_ABOVE, "BTC": 0}
    users = get_user_model().objects
    buyer = users.create_user(username="buyer", password=None)
    vendor = users.create_user(username="vendor", password=None)
    staff = users.create_superuser(username="staff", password=None, email="")
    approver = users.create_superuser(username="approver", password=None, email="")
    with fake_chain("bitcoin") as chain:
        vendor_payout_address_set(user=vendor, currency="BTC", address="fake1vendor")
        pool_refill(chain="bitcoin", batch_size=2, target=2)
        order = order_create(
            buyer=buyer,
            vendor_username="vendor",
            currency="BTC",
            amount=100_000,
            refund_address="fake1buyer",
        )
        chain.pay(order.account.address, 100_000)
        chain.mine(1)
        deposits_scan(chain="bitcoin")
        order = order_apply_deposits(order_id=order.id)
        assert order.state == OrderState.ESCROWED
        yield order, vendor, staff, approver


def _ask_release(order: EscrowOrder, staff) -> StaffApproval:
    approval = approval_request(
        action=StaffAction.RELEASE,
        owner_kind="order",
        owner_id=order.id,
        actor=staff,
        reason="the buyer confirmed by phone",
    )
    assert approval is not None
    return approval


def _paid(order: EscrowOrder) -> list[str]:
    return list(
        Payout.objects.filter(owner_kind="order", owner_id=order.id).values_list(
            "address", flat=True
        )
    )


def test_a_payout_address_changed_after_the_request_makes_the_approval_stale(escrowed):
    order, vendor, staff, approver = escrowed
    approval = _ask_release(order, staff)
    vendor_payout_address_set(user=vendor, currency="BTC", address="fake1elsewhere")

    decided = approval_decide(approval_id=approval.id, actor=approver, approve=True, reason="ok")

    assert decided.state == ApprovalState.REJECTED
    assert "changed" in decided.decision_reason
    assert EscrowOrder.objects.get(id=order.id).state == OrderState.ESCROWED
    assert _paid(order) == []


# Each move, and who changes where its money goes between the check and the move.
CHANGED_MEANWHILE = [
    (StaffAction.RELEASE, {}, "vendor"),
    (StaffAction.REFUND, {}, "buyer"),
    (StaffAction.REFUND_ADDRESS, {"refund_address": "fake1bystaff"}, "vendor"),
]


@pytest.mark.parametrize(("action", "params", "who"), CHANGED_MEANWHILE)
def test_an_address_changed_between_the_check_and_the_move_stops_the_move(
    escrowed, monkeypatch, action, params, who
):
    order, vendor, staff, approver = escrowed
    approval = approval_request(
        action=action,
        owner_kind="order",
        owner_id=order.id,
        actor=staff,
        reason="asked by phone",
        params=params,
    )
    assert approval is not None
    checked = approvals._stale

    def check_then_change(approval, stake):
        why = checked(approval, stake)
        if who == "vendor":
            vendor_payout_address_set(user=vendor, currency="BTC", address="fake1elsewhere")
        else:
            order_set_refund_address(
                order_id=order.id, actor=order.buyer, refund_address="fake1elsewhere"
            )
        return why

    monkeypatch.setattr(approvals, "_stale", check_then_change)

    with pytest.raises(StateConflict, match="changed"):
        approval_decide(approval_id=approval.id, actor=approver, approve=True, reason="ok")

    assert StaffApproval.objects.get(id=approval.id).state == ApprovalState.PENDING
    after = EscrowOrder.objects.get(id=order.id)
    assert (after.state, after.refund_address) == (OrderState.ESCROWED, "fake1buyer")
    assert _paid(order) == []


def test_an_approved_move_pays_the_address_the_approver_saw(escrowed):
    order, _vendor, staff, approver = escrowed
    approval = _ask_release(order, staff)

    decided = approval_decide(approval_id=approval.id, actor=approver, approve=True, reason="ok")

    assert decided.state == ApprovalState.EXECUTED
    assert EscrowOrder.objects.get(id=order.id).state == OrderState.RELEASING
    assert _paid(order) == ["fake1vendor"]
