"""Underpay, overpay, late deposits: every deposit is credited once and nothing is lost."""

from __future__ import annotations

import time
from datetime import timedelta

from django.utils import timezone

from funding.models import FundingState
from orders.models import EscrowOrder, OrderState
from orders.selectors import order_payment
from orders.services import orders_expire
from tests.chain import drive, mine, pay, receiver
from tests.flows import AMOUNT, assert_books_match, create, pay_and_escrow, settle, state_of
from wallets.models import Deposit, Payout, PayoutState


def payouts_of(order_id):
    return {p.kind: p for p in Payout.objects.filter(owner_kind="order", owner_id=order_id)}


def test_underpaid_waits_showing_what_is_missing_then_a_top_up_escrows(
    buyer, vendor, celery_worker
):
    order = create(buyer, vendor, "BTC")
    half = AMOUNT["BTC"] // 2
    pay("bitcoin", order["deposit_address"], half)
    mine("bitcoin")
    drive(
        "bitcoin",
        lambda: order_payment(EscrowOrder.objects.get(id=order["id"])).seen == half,
        what="half seen",
    )

    body = buyer.api.get(f"/api/orders/{order['id']}").json()
    assert body["state"] == "awaiting_deposit"
    assert body["payment"]["missing"] == str(AMOUNT["BTC"] - half)

    pay("bitcoin", order["deposit_address"], AMOUNT["BTC"] - half)
    drive("bitcoin", lambda: state_of(order["id"]) == FundingState.CONFIRMING, what="confirming")
    mine("bitcoin")
    drive("bitcoin", lambda: state_of(order["id"]) == OrderState.ESCROWED, what="escrowed")
    row = EscrowOrder.objects.get(id=order["id"])
    assert row.escrowed_amount == AMOUNT["BTC"]
    assert Deposit.objects.filter(account=row.account, credited_at__isnull=False).count() == 2
    assert_books_match(row)


def test_overpaid_escrows_the_amount_and_refunds_the_excess_then_releases(
    buyer, vendor, celery_worker
):
    """Two payouts from one Monero account: the second waits for the first's change to unlock."""
    refund_to = receiver("monero")
    order = create(buyer, vendor, "XMR", refund_address=refund_to.address)
    excess = 200_000_000_000
    pay_and_escrow(order, "XMR", amount=AMOUNT["XMR"] + excess)

    row = EscrowOrder.objects.get(id=order["id"])
    assert row.escrowed_amount == AMOUNT["XMR"]
    drive("monero", lambda: "excess" in payouts_of(row.id), what="the excess payout")
    buyer.api.post(f"/api/orders/{row.id}/release", {}, format="json")
    settle("XMR", row.id, FundingState.COMPLETED)
    drive(
        "monero",
        lambda: payouts_of(row.id)["excess"].state == PayoutState.CONFIRMED,
        what="the excess refund confirmed",
        mine_each=1,
    )

    payouts = payouts_of(row.id)
    assert refund_to.received() == excess - payouts["excess"].network_fee
    assert vendor.receivers["XMR"].received() == (
        AMOUNT["XMR"] - row.fee_amount - payouts["release"].network_fee
    )
    assert_books_match(row)


def test_a_deposit_after_expiry_is_recorded_the_order_stays_expired_and_it_is_refunded(
    buyer, vendor, celery_worker
):
    refund_to = receiver("bitcoin")
    order = create(buyer, vendor, "BTC", refund_address=refund_to.address)
    EscrowOrder.objects.filter(id=order["id"]).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    orders_expire()
    assert state_of(order["id"]) == FundingState.EXPIRED

    pay("bitcoin", order["deposit_address"], AMOUNT["BTC"])
    mine("bitcoin")
    drive("bitcoin", lambda: "late_refund" in payouts_of(order["id"]), what="a late refund queued")
    drive(
        "bitcoin",
        lambda: payouts_of(order["id"])["late_refund"].state == PayoutState.CONFIRMED,
        what="the late refund confirmed",
        mine_each=1,
    )

    assert state_of(order["id"]) == FundingState.EXPIRED
    (deposit,) = Deposit.objects.filter(account__escrow_order__id=order["id"])
    assert deposit.flagged
    assert deposit.credited_at
    assert (
        refund_to.received() == AMOUNT["BTC"] - payouts_of(order["id"])["late_refund"].network_fee
    )
    assert_books_match(EscrowOrder.objects.get(id=order["id"]))


def test_a_late_deposit_without_refund_address_is_flagged_until_the_buyer_gives_one(
    buyer, vendor, celery_worker
):
    order = create(buyer, vendor, "BTC")
    EscrowOrder.objects.filter(id=order["id"]).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    orders_expire()
    pay("bitcoin", order["deposit_address"], AMOUNT["BTC"])
    mine("bitcoin")
    row = EscrowOrder.objects.get(id=order["id"])
    drive(
        "bitcoin",
        lambda: row.events.filter(kind="refund_owed_no_address").exists(),
        what="the owed refund flagged",
    )
    assert payouts_of(row.id) == {}

    refund_to = receiver("bitcoin")
    response = buyer.api.patch(
        f"/api/orders/{row.id}", {"refund_address": refund_to.address}, format="json"
    )
    assert response.status_code == 200, response.json()
    drive(
        "bitcoin",
        lambda: (
            payouts_of(row.id).get("late_refund")
            and payouts_of(row.id)["late_refund"].state == PayoutState.CONFIRMED
        ),
        what="the refund paid",
        mine_each=1,
    )
    assert refund_to.received() == AMOUNT["BTC"] - payouts_of(row.id)["late_refund"].network_fee
    assert_books_match(row)


# --- confirmations by what arrived, and paid in time by when it was seen ----------------


def _apply(order_id) -> str:
    """The deposit scan and the order's step, in this process (the worker is stopped: the
    test decides when each step runs)."""
    from orders.services import order_apply_deposits
    from wallets.services import deposits_scan

    chain = EscrowOrder.objects.get(id=order_id).chain
    deposits_scan(chain=chain)
    return order_apply_deposits(order_id=order_id).state


def test_an_overpayment_waits_for_the_confirmations_of_what_arrived_bitcoin(
    buyer, vendor, celery_worker
):
    """An order of 0.05 BTC needs 1 confirmation; paid 0.5 BTC (the 2-confirmation tier),
    it is escrowed only after 2."""
    order = create(buyer, vendor, "BTC")
    celery_worker.proc.stop()
    paid = 50_000_000
    pay("bitcoin", order["deposit_address"], paid)
    mine("bitcoin")
    assert _apply(order["id"]) == FundingState.CONFIRMING
    assert EscrowOrder.objects.get(id=order["id"]).confirmations_required == 2

    mine("bitcoin")
    assert _apply(order["id"]) == OrderState.ESCROWED
    row = EscrowOrder.objects.get(id=order["id"])
    assert row.escrowed_amount == AMOUNT["BTC"]
    celery_worker.restart()


def test_an_overpayment_waits_for_the_confirmations_of_what_arrived_monero(
    buyer, vendor, celery_worker, settings
):
    """Monero's tiers sit under its 10-block unlock by default; with a tier above it (12
    confirmations above 1 XMR), a 0.5 XMR order paid 2 XMR waits for 12."""
    settings.CONFIRMATIONS_REQUIRED = {
        **settings.CONFIRMATIONS_REQUIRED,
        "monero": [(10**12, 1), (None, 12)],
    }
    settings.FINAL_CONFIRMATIONS = {**settings.FINAL_CONFIRMATIONS, "monero": 12}
    order = create(buyer, vendor, "XMR")
    celery_worker.proc.stop()
    pay("monero", order["deposit_address"], 2 * 10**12)
    mine("monero", 10)
    assert _apply(order["id"]) == FundingState.CONFIRMING

    mine("monero", 2)
    assert _apply(order["id"]) == OrderState.ESCROWED
    celery_worker.restart()


def test_a_deposit_seen_in_time_but_applied_late_is_on_time(buyer, vendor, celery_worker):
    """The queue lags: the deposit was seen before the deadline, its order's step runs
    after it. Paid in time is judged by when the deposit was first seen."""
    order = create(buyer, vendor, "BTC")
    celery_worker.proc.stop()
    pay("bitcoin", order["deposit_address"], AMOUNT["BTC"])
    from wallets.services import deposits_scan

    deposits_scan(chain="bitcoin")
    deposit = Deposit.objects.get(account__escrow_order__id=order["id"])
    EscrowOrder.objects.filter(id=order["id"]).update(
        expires_at=deposit.seen_at + timedelta(seconds=1)
    )
    time.sleep(
        max(0.0, (deposit.seen_at + timedelta(seconds=1.5) - timezone.now()).total_seconds())
    )
    orders_expire()
    assert _apply(order["id"]) == FundingState.CONFIRMING

    celery_worker.restart()
    mine("bitcoin")
    drive("bitcoin", lambda: state_of(order["id"]) == OrderState.ESCROWED, what="escrowed")
    assert_books_match(EscrowOrder.objects.get(id=order["id"]))
