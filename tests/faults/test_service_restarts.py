"""Redis wiped and restarted, MariaDB restarted, in the middle of work: nothing is lost."""

from __future__ import annotations

import time

from django.db import connections

from funding.models import FundingState
from operations.recovery import recovery_sweep
from orders.models import EscrowOrder, OrderState
from tests.books import measured
from tests.chain import drive, mine, pay
from tests.faults.services import mariadb_restart, redis_restart
from tests.flows import AMOUNT, assert_books_match, create, pay_and_escrow, state_of
from wallets.models import Deposit, Payout
from wallets.services import deposits_scan


def _mid_flow(buyer, vendor, celery_worker):
    """One order with a payout waiting in the queue, one with a deposit not yet credited."""
    released = create(buyer, vendor, "BTC")
    pay_and_escrow(released, "BTC")
    confirming = create(buyer, vendor, "BTC")
    celery_worker.proc.stop()
    buyer.api.post(f"/api/orders/{released['id']}/release", {}, format="json")
    pay("bitcoin", confirming["deposit_address"], AMOUNT["BTC"])
    mine("bitcoin")
    deposits_scan(chain="bitcoin")
    return released, confirming


def _finish(released, confirming, vendor, proof) -> None:
    time.sleep(2.5)
    recovery_sweep()
    drive(
        "bitcoin",
        lambda: state_of(confirming["id"]) == OrderState.ESCROWED,
        what="escrowed",
        timeout=120,
    )
    drive(
        "bitcoin",
        lambda: state_of(released["id"]) == FundingState.COMPLETED,
        what="completed",
        mine_each=1,
        timeout=120,
    )
    row = EscrowOrder.objects.get(id=released["id"])
    payouts = list(Payout.objects.filter(owner_kind="order", owner_id=row.id))
    figures = measured("bitcoin", [(row.account, vendor.receivers["BTC"].address)])
    proof.update(**figures)
    assert figures == {"expected": 1, "made": 1, "duplicated": 0, "lost": 0}
    assert len(payouts) == 1
    assert vendor.receivers["BTC"].received() == payouts[0].sent_amount
    assert (
        Deposit.objects.filter(
            account__escrow_order__id=confirming["id"], credited_at__isnull=False
        ).count()
        == 1
    )
    assert_books_match(row)


def test_redis_wiped_and_restarted_mid_flow_loses_nothing(buyer, vendor, celery_worker, proof):
    proof.update(
        scenario="Redis wiped and restarted mid-flow",
        injected="SHUTDOWN NOSAVE + start, with a payout queued and a deposit confirming",
    )
    released, confirming = _mid_flow(buyer, vendor, celery_worker)

    redis_restart()
    celery_worker.restart()

    _finish(released, confirming, vendor, proof)


def test_mariadb_restarted_mid_flow_loses_nothing(buyer, vendor, celery_worker, proof):
    proof.update(
        scenario="MariaDB restarted mid-flow",
        injected="clean shutdown, 2 s down, start, with a payout queued and a deposit confirming",
    )
    released, confirming = _mid_flow(buyer, vendor, celery_worker)
    celery_worker.restart()  # the worker meets the restart while it works

    mariadb_restart(down_for=2.0)
    connections.close_all()

    _finish(released, confirming, vendor, proof)
