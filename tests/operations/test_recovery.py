"""A wiped Redis (broker and cache) delays work but loses none."""

from __future__ import annotations

import time

from exchange.redis import get_redis
from funding.models import FundingState
from operations.recovery import recovery_sweep, stuck_items
from orders.models import EscrowOrder, OrderState
from tests.chain import drive, mine, pay
from tests.flows import AMOUNT, assert_books_match, create, pay_and_escrow, state_of
from tests.orders.test_exactly_once import spends_from
from wallets.models import Payout, PayoutState


def test_flushall_while_orders_confirm_and_a_payout_waits_then_the_sweep_finishes_everything(
    buyer, vendor, celery_worker
):
    released = create(buyer, vendor, "BTC")
    pay_and_escrow(released, "BTC")
    confirming = create(buyer, vendor, "BTC")

    celery_worker.proc.stop()  # nothing consumes the queues from here
    buyer.api.post(f"/api/orders/{released['id']}/release", {}, format="json")
    pay("bitcoin", confirming["deposit_address"], AMOUNT["BTC"])
    mine("bitcoin")
    from wallets.services import deposits_scan

    deposits_scan(chain="bitcoin")
    assert Payout.objects.get(owner_id=released["id"]).state == PayoutState.PENDING

    get_redis().flushdb()  # the broker's queues and every cache key are gone
    assert not get_redis().keys("bitcoin:order:*")
    celery_worker.restart()
    time.sleep(2.5)  # past RECOVERY_AFTER_SECONDS and PAYOUT_SWEEP_AFTER_SECONDS of the tests

    counts = recovery_sweep()
    assert counts["redis rebuilt"] == 1
    assert counts["payouts"] >= 1
    drive("bitcoin", lambda: state_of(confirming["id"]) == OrderState.ESCROWED, what="escrowed")
    drive(
        "bitcoin",
        lambda: state_of(released["id"]) == FundingState.COMPLETED,
        what="completed",
        mine_each=1,
    )

    r = get_redis()
    for order in (released, confirming):
        assert r.hget("bitcoin:order:account:map", str(order["id"])) is not None
    row = EscrowOrder.objects.get(id=released["id"])
    (payout,) = Payout.objects.filter(owner_kind="order", owner_id=row.id)
    assert spends_from(row.account) == {payout.txid}
    assert_books_match(row)


def test_stuck_items_say_why_and_what_next(buyer, vendor):
    order = create(buyer, vendor, "BTC")
    EscrowOrder.objects.filter(id=order["id"]).update(state=OrderState.DISPUTED)

    items = [
        i for i in stuck_items(older_than_minutes=0) if i.kind == "order" and i.id == order["id"]
    ]

    assert items[0].reason == "waiting for staff"
    assert items[0].next_action == "resolve it in the admin"
