"""Workers SIGKILLed at every step boundary of the payout saga, and at random moments.

Each kill takes the whole worker down (its pool and parent), as a crash or an OOM kill
does; the worker is then started again, and the sweep finds what was left. Every payout
must go out exactly once, and the books must match the chain.
"""

from __future__ import annotations

import random
import time
from collections import Counter

import pytest

from exchange.faults import fault_arm
from operations.reconcile import reconcile_chain
from orders.models import EscrowOrder, OrderState
from ownership.selectors import ledger_unbalanced_transactions
from tests.chain import CHAIN_OF, drive, mine
from tests.factories import fill_pool
from tests.flows import CREDIT_BLOCKS, create, state_of
from tests.orders.test_exactly_once import spends_from
from tests.processes import wait_until
from wallets.clients.bitcoin import get_bitcoin_client
from wallets.clients.monero import get_customer_monero_client
from wallets.models import Payout, PayoutState
from wallets.services.payouts import payouts_sweep

POINTS = ["payout.after_build", "payout.after_sign", "payout.after_relay", "random"]
LONG_RUNS_PER_CHAIN = 52  # 104 runs over both chains with --long


def escrow_many(buyer, vendor, currency: str, count: int) -> list[dict]:
    """``count`` orders paid in as few transactions as possible, then escrowed."""
    fill_pool(CHAIN_OF[currency], at_least=count + 1)
    orders = [create(buyer, vendor, currency) for _ in range(count)]
    outputs = [(o["deposit_address"], int(o["amount"])) for o in orders]
    chain = CHAIN_OF[currency]
    if chain == "bitcoin":
        from django.conf import settings

        get_bitcoin_client().send_many(
            outputs=outputs, wallet_id=settings.BITCOIN["customer_wallet_id"]
        )
    else:
        customer = get_customer_monero_client()
        for start in range(0, len(outputs), 15):
            customer.refresh()
            customer.send_many(outputs=outputs[start : start + 15])
            if start + 15 < len(outputs):
                mine(chain, 10)  # the change of each payment unlocks after 10 blocks
    ids = [o["id"] for o in orders]
    drive(
        chain, lambda: all(state_of(i) != OrderState.AWAITING_DEPOSIT for i in ids), what="all seen"
    )
    mine(chain, CREDIT_BLOCKS[currency])
    drive(
        chain,
        lambda: all(state_of(i) == OrderState.ESCROWED for i in ids),
        what="all escrowed",
        timeout=180,
    )
    return orders


@pytest.mark.parametrize("currency", ["BTC", "XMR"])
def test_a_worker_killed_at_any_step_pays_each_payout_exactly_once(
    request, buyer, vendor, celery_worker, proof, currency
):
    runs = LONG_RUNS_PER_CHAIN if request.config.getoption("--long") else len(POINTS)
    cases = [POINTS[i % len(POINTS)] for i in range(runs)]
    proof.update(
        scenario=f"payout saga, {currency}: worker SIGKILLed mid-payout",
        injected=", ".join(f"{n}× {p}" for p, n in sorted(Counter(cases).items())),
    )
    orders = escrow_many(buyer, vendor, currency, len(cases))
    rng = random.Random(len(cases))

    for order, point in zip(orders, cases, strict=True):
        if point == "random":
            buyer.api.post(f"/api/orders/{order['id']}/release", {}, format="json")
            time.sleep(rng.uniform(0.0, 1.5))
            celery_worker.proc.kill()
        else:
            fault_arm(point)
            buyer.api.post(f"/api/orders/{order['id']}/release", {}, format="json")
            wait_until(
                lambda: not celery_worker.alive(), timeout=60, what=f"the worker to die at {point}"
            )
        celery_worker.restart()

    ids = [o["id"] for o in orders]
    time.sleep(2.5)  # past the sweep's quiet period
    payouts_sweep()
    drive(
        CHAIN_OF[currency],
        lambda: all(state_of(i) == OrderState.COMPLETED for i in ids),
        what="every order completed",
        mine_each=1,
        timeout=300,
    )

    rows = list(EscrowOrder.objects.filter(id__in=ids))
    payouts = {p.owner_id: p for p in Payout.objects.filter(owner_kind="order", owner_id__in=ids)}
    spends = {row.id: spends_from(row.account) for row in rows}
    duplicated = sum(1 for s in spends.values() if len(s) > 1)
    made = sum(1 for p in payouts.values() if p.state == PayoutState.CONFIRMED)
    expected_received = sum(r.amount - r.fee_amount - payouts[r.id].network_fee for r in rows)
    report = reconcile_chain(chain=CHAIN_OF[currency])
    drifting = [d for d in report.differences if d.account_id in {r.account_id for r in rows}]
    proof.update(
        expected=len(ids),
        made=made,
        duplicated=duplicated,
        lost=sum(1 for r in rows if r.state != OrderState.COMPLETED),
        reconcile_clean=not drifting,
    )

    assert Payout.objects.filter(owner_kind="order", owner_id__in=ids).count() == len(ids)
    assert all(spends[r.id] == {payouts[r.id].txid} for r in rows)
    assert duplicated == 0
    assert made == len(ids)
    assert vendor.receivers[currency].received() == expected_received
    assert ledger_unbalanced_transactions() == []
    assert drifting == []
