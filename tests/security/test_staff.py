"""Least-privilege staff and two-person approval, as an insider would try them.

Every money move on someone else's order or swap needs its own permission; support
staff see everything and move nothing; above STAFF_APPROVAL_ABOVE (here at its
defaults) and for any new address a second staff member approves, and both names and
reasons are in the audit trail before any payout exists.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.test import Client, RequestFactory
from django.utils import timezone

from exchange.errors import ApplicationError
from funding.models import FundingEvent, FundingState
from funding.services import retry_payout
from orders.models import EscrowOrder, OrderState
from orders.services import order_set_refund_address
from orders.services.vendors import vendor_payout_address_set
from staff.admin import PRIVILEGE_FIELDS
from staff.models import ApprovalState, StaffAction, StaffApproval
from staff.roles import VIEWABLE_APPS
from staff.services.approvals import approval_decide, approval_request
from staff.services.authorize import ApprovalRequired, StaffPermissionDenied
from swaps.models import SwapOrder
from tests.chain import drive, mine, pay, receiver
from tests.flows import CREDIT_BLOCKS, create, settle, state_of
from tests.people import make_person
from wallets.models import OwnerKind, Payout

BELOW = 400_000  # satoshi: under the default STAFF_APPROVAL_ABOVE_BTC of 1,000,000
ABOVE = 5_000_000
ESCROW_MOVES = (
    (StaffAction.RELEASE, {}),
    (StaffAction.REFUND, {}),
    (StaffAction.SPLIT, {"vendor_amount": 1, "buyer_amount": ABOVE - 1}),
    (StaffAction.CANCEL, {}),
    (StaffAction.REFUND_ADDRESS, {"refund_address": "to be set per test"}),
)


@pytest.fixture(autouse=True)
def default_thresholds(settings):
    settings.STAFF_APPROVAL_ABOVE = {"BTC": 1_000_000, "XMR": 1_000_000_000_000}


@pytest.fixture
def support(live_db):
    return make_person(staff=True, roles=("support",))


@pytest.fixture
def payments(live_db):
    return make_person(staff=True, roles=("payments",))


@pytest.fixture
def approver(live_db):
    return make_person(staff=True, roles=("support", "approver"))


def _escrowed(buyer, vendor, *amounts: int) -> list[dict]:
    """Orders of ``amounts`` satoshi, paid and escrowed with one block."""
    orders = [
        create(buyer, vendor, "BTC", amount, refund_address=receiver("bitcoin").address)
        for amount in amounts
    ]
    for order in orders:
        pay("bitcoin", order["deposit_address"], int(order["amount"]))
    drive(
        "bitcoin",
        lambda: all(state_of(o["id"]) == FundingState.CONFIRMING for o in orders),
        what="confirming",
    )
    mine("bitcoin", CREDIT_BLOCKS["BTC"])
    drive(
        "bitcoin",
        lambda: all(state_of(o["id"]) == OrderState.ESCROWED for o in orders),
        what="escrowed",
    )
    return orders


def _trail(order_id: int) -> list[tuple]:
    return list(
        FundingEvent.objects.filter(owner_kind=OwnerKind.ORDER, owner_id=order_id)
        .order_by("id")
        .values_list("kind", "to_state", "actor__username", "reason")
    )


def test_the_permission_matrix(buyer, vendor, stranger, support, payments, approver, celery_worker):
    big, small = _escrowed(buyer, vendor, ABOVE, BELOW)
    before = _trail(big["id"])
    refund_address = receiver("bitcoin").address

    # A customer who is no party (the API does not show them the order), and support
    # staff: every move refused, nothing written.
    for person, status in ((stranger, 404), (support, 403)):
        for action, params in ESCROW_MOVES:
            if action == StaffAction.REFUND_ADDRESS:
                params = {"refund_address": refund_address}
            with pytest.raises(StaffPermissionDenied):
                approval_request(
                    action=action,
                    owner_kind="order",
                    owner_id=big["id"],
                    actor=person.user,
                    reason="trying",
                    params=params,
                )
        for path in ("release", "refund"):
            answer = person.api.post(f"/api/orders/{big['id']}/{path}", {}, format="json")
            assert answer.status_code == status, answer.json()
        answer = person.api.patch(
            f"/api/orders/{big['id']}", {"refund_address": refund_address}, format="json"
        )
        assert answer.status_code == status, answer.json()
    assert _trail(big["id"]) == before
    assert not StaffApproval.objects.filter(owner_kind="order", owner_id=big["id"]).exists()

    # Payments staff alone, below the threshold: the release runs at once.
    assert (
        approval_request(
            action=StaffAction.RELEASE,
            owner_kind="order",
            owner_id=small["id"],
            actor=payments.user,
            reason="buyer confirmed delivery by mail",
        )
        is None
    )
    assert state_of(small["id"]) in (OrderState.RELEASING, OrderState.RELEASED)
    # A payout sent somewhere new always waits for a second person, and the address is
    # checked like a customer's first.
    small_payout = Payout.objects.get(owner_kind="order", owner_id=small["id"])
    with pytest.raises(ApplicationError) as refused:
        retry_payout(payout_id=small_payout.id, actor=payments.user, reason="moved", address="nope")
    assert refused.value.field == "address"
    with pytest.raises(ApprovalRequired):
        retry_payout(
            payout_id=small_payout.id,
            actor=payments.user,
            reason="moved",
            address=receiver("bitcoin").address,
        )

    # Above it, the API refuses payments staff alone and the admin asks for an approval.
    answer = payments.api.post(f"/api/orders/{big['id']}/release", {}, format="json")
    assert answer.status_code == 403
    assert answer.json()["code"] == "approval_required"
    pending = approval_request(
        action=StaffAction.RELEASE,
        owner_kind="order",
        owner_id=big["id"],
        actor=payments.user,
        reason="vendor shipped, tracking 123",
    )
    assert pending.state == ApprovalState.PENDING
    assert state_of(big["id"]) == OrderState.ESCROWED
    assert not Payout.objects.filter(owner_kind="order", owner_id=big["id"]).exists()

    # Nobody approves their own move; support cannot approve at all.
    for person in (payments, support):
        with pytest.raises(StaffPermissionDenied):
            approval_decide(approval_id=pending.id, actor=person.user, approve=True, reason="ok")
    assert StaffApproval.objects.get(id=pending.id).state == ApprovalState.PENDING

    approval_decide(approval_id=pending.id, actor=approver.user, approve=True, reason="checked")

    assert state_of(big["id"]) == OrderState.RELEASING
    trail = _trail(big["id"])[len(before) :]
    assert trail[0] == (
        "approval_requested",
        OrderState.ESCROWED,
        payments.user.username,
        "vendor shipped, tracking 123",
    )
    assert trail[1] == ("approved", OrderState.ESCROWED, approver.user.username, "checked")
    assert trail[2] == (
        "transition",
        OrderState.RELEASING,
        payments.user.username,
        "vendor shipped, tracking 123",
    )
    approved = EscrowOrder.objects.get(id=big["id"]).events.get(kind="approved")
    assert approved.data["requested_by"] == payments.user.username
    assert approved.data["decided_by"] == approver.user.username
    assert approved.id < EscrowOrder.objects.get(id=big["id"]).events.get(to_state="releasing").id
    payout = Payout.objects.get(owner_kind="order", owner_id=big["id"])
    assert payout.address == vendor.receivers["BTC"].address

    # An approval runs once.
    with pytest.raises(Exception, match="executed"):
        approval_decide(approval_id=pending.id, actor=approver.user, approve=True, reason="again")
    settle("BTC", big["id"], FundingState.COMPLETED)
    settle("BTC", small["id"], FundingState.COMPLETED)
    assert Payout.objects.filter(owner_kind="order", owner_id=big["id"]).count() == 1


def test_a_new_address_always_waits_for_a_second_person(
    buyer, vendor, payments, approver, settings, wallets
):
    settings.STAFF_APPROVAL_ABOVE = {"BTC": 10**15, "XMR": 10**18}
    order = create(buyer, vendor, "BTC", BELOW)
    address = receiver("bitcoin").address

    answer = payments.api.patch(
        f"/api/orders/{order['id']}", {"refund_address": address}, format="json"
    )
    assert answer.status_code == 403
    assert answer.json()["code"] == "approval_required"
    with pytest.raises(Exception, match="refund_address|address"):
        approval_request(
            action=StaffAction.REFUND_ADDRESS,
            owner_kind="order",
            owner_id=order["id"],
            actor=payments.user,
            reason="typo",
            params={"refund_address": "not an address"},
        )
    pending = approval_request(
        action=StaffAction.REFUND_ADDRESS,
        owner_kind="order",
        owner_id=order["id"],
        actor=payments.user,
        reason="buyer lost their wallet, ticket 77",
        params={"refund_address": address},
    )
    assert pending is not None
    assert EscrowOrder.objects.get(id=order["id"]).refund_address == ""

    approval_decide(approval_id=pending.id, actor=approver.user, approve=True, reason="called back")

    row = EscrowOrder.objects.get(id=order["id"])
    assert row.refund_address == address
    change = row.events.get(kind="refund_address")
    assert change.actor == payments.user
    assert change.data["previous"] == ""
    assert row.events.get(kind="approved").actor == approver.user


def test_the_service_refuses_an_unapproved_staff_address_change(buyer, vendor, payments, wallets):
    order = create(buyer, vendor, "BTC", BELOW)
    with pytest.raises(ApprovalRequired):
        order_set_refund_address(
            order_id=order["id"], actor=payments.user, refund_address=receiver("bitcoin").address
        )
    assert not StaffApproval.objects.filter(owner_id=order["id"]).exists()


def test_a_rejected_move_pays_nothing(buyer, vendor, payments, approver, wallets):
    order = create(buyer, vendor, "BTC", BELOW)
    pending = approval_request(
        action=StaffAction.REFUND_ADDRESS,
        owner_kind="order",
        owner_id=order["id"],
        actor=payments.user,
        reason="asked by phone",
        params={"refund_address": receiver("bitcoin").address},
    )

    approval_decide(approval_id=pending.id, actor=approver.user, approve=False, reason="not them")

    assert StaffApproval.objects.get(id=pending.id).state == ApprovalState.REJECTED
    assert EscrowOrder.objects.get(id=order["id"]).refund_address == ""
    with pytest.raises(Exception, match="rejected"):
        approval_decide(approval_id=pending.id, actor=approver.user, approve=True, reason="oops")


def _unpaid_swap(api) -> SwapOrder:
    quote = api.post(
        "/api/quotes",
        {"from_currency": "BTC", "to_currency": "XMR", "amount_from": "100000", "type": "fixed"},
        format="json",
    )
    assert quote.status_code == 201, quote.json()
    answer = api.post(
        "/api/swaps",
        {
            "quote_id": quote.json()["id"],
            "payout_address": receiver("monero").address,
            "refund_address": receiver("bitcoin").address,
        },
        format="json",
    )
    assert answer.status_code == 201, answer.json()
    return SwapOrder.objects.get(public_id=answer.json()["id"])


def test_swap_refunds_need_their_permission(support, stranger, market):
    swap = _unpaid_swap(market)
    events = swap.events.count()
    for person in (support, stranger):
        with pytest.raises(StaffPermissionDenied):
            approval_request(
                action=StaffAction.SWAP_REFUND,
                owner_kind="swap",
                owner_id=swap.id,
                actor=person.user,
                reason="trying",
            )
    assert swap.events.count() == events
    assert not StaffApproval.objects.filter(owner_kind="swap", owner_id=swap.id).exists()


def test_support_sees_every_admin_list_and_no_money_action(support, buyer, vendor):
    create(buyer, vendor, "BTC", BELOW)
    client = Client()
    client.force_login(support.user)
    shown = [m for m in admin.site._registry if m._meta.app_label in VIEWABLE_APPS]
    assert len(shown) > 10
    assert {"swaps", "rates", "orders"} <= {m._meta.app_label for m in shown}
    for model in shown:
        url = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        assert client.get(url).status_code == 200, url
    page = client.get("/admin/orders/escroworder/")
    for action in ("release", "refund", "split", "retry_payout", "refund_address"):
        assert f'value="{action}"'.encode() not in page.content


def test_the_admin_asks_for_approval_and_the_approver_runs_it(
    buyer, vendor, payments, approver, wallets
):
    order = create(buyer, vendor, "BTC", BELOW)
    address = receiver("bitcoin").address
    requester, second = Client(), Client()
    requester.force_login(payments.user)
    second.force_login(approver.user)

    requester.post(
        "/admin/orders/escroworder/",
        {
            "action": "refund_address",
            "_selected_action": [order["id"]],
            "apply": "1",
            "reason": "buyer's new wallet, ticket 9",
            "refund_address": address,
        },
    )
    pending = StaffApproval.objects.get(owner_kind="order", owner_id=order["id"])
    assert pending.requested_by == payments.user
    assert EscrowOrder.objects.get(id=order["id"]).refund_address == ""

    requester.post(
        "/admin/staff/staffapproval/",
        {"action": "approve", "_selected_action": [pending.id], "apply": "1", "reason": "me"},
    )
    assert StaffApproval.objects.get(id=pending.id).state == ApprovalState.PENDING

    second.post(
        "/admin/staff/staffapproval/",
        {"action": "approve", "_selected_action": [pending.id], "apply": "1", "reason": "ok"},
    )
    assert StaffApproval.objects.get(id=pending.id).state == ApprovalState.EXECUTED
    assert EscrowOrder.objects.get(id=order["id"]).refund_address == address


def test_staff_who_are_a_party_never_move_money_alone(buyer, vendor, approver, wallets):
    insider = make_person(staff=True, roles=("payments", "approver"))
    vendor_payout_address_set(
        user=insider.user, currency="BTC", address=receiver("bitcoin").address
    )
    order = create(insider, vendor, "BTC", BELOW)

    pending = approval_request(
        action=StaffAction.CANCEL,
        owner_kind="order",
        owner_id=order["id"],
        actor=insider.user,
        reason="my own order",
    )

    assert pending is not None
    assert state_of(order["id"]) == FundingState.AWAITING_DEPOSIT
    other = create(buyer, insider, "BTC", BELOW)
    theirs = approval_request(
        action=StaffAction.CANCEL,
        owner_kind="order",
        owner_id=other["id"],
        actor=make_person(staff=True).user,
        reason="asked",
    )
    assert theirs is None  # nobody's own order, nothing at stake: done at once
    second = approval_request(
        action=StaffAction.REFUND_ADDRESS,
        owner_kind="order",
        owner_id=create(buyer, insider, "BTC", BELOW)["id"],
        actor=make_person(staff=True).user,
        reason="buyer asked",
        params={"refund_address": receiver("bitcoin").address},
    )
    with pytest.raises(StaffPermissionDenied, match="does not pay"):
        approval_decide(approval_id=second.id, actor=insider.user, approve=True, reason="mine")


def test_an_approval_runs_only_as_asked_and_not_too_late(
    buyer, vendor, payments, approver, wallets
):
    order = create(buyer, vendor, "BTC", BELOW)
    ask = {
        "action": StaffAction.REFUND_ADDRESS,
        "owner_kind": "order",
        "owner_id": order["id"],
        "actor": payments.user,
        "reason": "by phone",
        "params": {"refund_address": receiver("bitcoin").address},
    }
    changed, late = approval_request(**ask), approval_request(**ask)
    own = receiver("bitcoin").address
    answer = buyer.api.patch(f"/api/orders/{order['id']}", {"refund_address": own}, format="json")
    assert answer.status_code == 200, answer.json()

    decided = approval_decide(
        approval_id=changed.id, actor=approver.user, approve=True, reason="ok"
    )

    assert decided.state == ApprovalState.REJECTED
    assert "changed" in decided.decision_reason
    assert EscrowOrder.objects.get(id=order["id"]).refund_address == own
    fresh = approval_request(**ask)
    StaffApproval.objects.filter(id=fresh.id).update(
        created_at=timezone.now() - timedelta(hours=25)
    )
    decided = approval_decide(approval_id=fresh.id, actor=approver.user, approve=True, reason="ok")
    assert decided.state == ApprovalState.REJECTED
    assert decided.decision_reason.startswith("expired")
    assert EscrowOrder.objects.get(id=order["id"]).refund_address == own
    assert late.state == ApprovalState.PENDING


def test_a_vendor_address_changed_while_a_release_waits_makes_it_stale(
    buyer, vendor, payments, approver, wallets
):
    (order,) = _escrowed(buyer, vendor, ABOVE)
    pending = approval_request(
        action=StaffAction.RELEASE,
        owner_kind="order",
        owner_id=order["id"],
        actor=payments.user,
        reason="the buyer confirmed by phone",
    )
    elsewhere = receiver("bitcoin").address
    answer = vendor.api.put("/api/payout-addresses/BTC", {"address": elsewhere}, format="json")
    assert answer.status_code == 200, answer.json()

    decided = approval_decide(
        approval_id=pending.id, actor=approver.user, approve=True, reason="ok"
    )

    assert decided.state == ApprovalState.REJECTED
    assert "changed" in decided.decision_reason
    assert state_of(order["id"]) == OrderState.ESCROWED
    assert not Payout.objects.filter(owner_kind=OwnerKind.ORDER, owner_id=order["id"]).exists()


def test_only_superusers_change_roles_and_never_their_own(payments, live_db):
    root = make_person(staff=True, roles=())
    root.user.is_superuser = True
    root.user.save()
    user_admin = admin.site._registry[type(payments.user)]
    as_staff, as_root = RequestFactory().get("/"), RequestFactory().get("/")
    as_staff.user, as_root.user = payments.user, root.user

    assert set(PRIVILEGE_FIELDS) <= set(user_admin.get_readonly_fields(as_staff, root.user))
    assert set(PRIVILEGE_FIELDS) <= set(user_admin.get_readonly_fields(as_root, root.user))
    assert not set(PRIVILEGE_FIELDS) & set(user_admin.get_readonly_fields(as_root, payments.user))
    assert not admin.site._registry[Group].has_change_permission(as_staff)


def test_staff_cannot_choose_for_a_customer_whose_swap_waits(support, market):
    swap = _unpaid_swap(market)
    answer = support.api.post(f"/api/swaps/{swap.public_id}/accept", {}, format="json")
    assert answer.status_code == 403, answer.json()
