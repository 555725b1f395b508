"""Workers killed at every step of every kind of payout: escrow releases, refunds, splits,
excess and late refunds, the house's swap payouts and swap refunds, on both chains.

Every payout's saga loses its process at each step boundary (after the build, after the
signature is stored, after the relay): the pool process running it is SIGKILLed, as the
OOM killer does, and Celery delivers the step again; now and then the whole worker is
killed and started again, as a crash of the machine does. Every payout must reach the
chain exactly once: the figures are counted from what the nodes show (tests.books), the
kills from the fault log written just before each one.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from rest_framework.test import APIClient

from devtools.processes import wait_until
from exchange.celery import DATABASE_TRANSIENT
from exchange.faults import fault_arm, fault_disarm, fault_log
from funding.models import FundingState
from orders.models import EscrowOrder, OrderState
from orders.services import order_split, orders_expire
from rates.services import rates_refresh
from swaps.models import SwapOrder, SwapState
from tests.books import measured
from tests.chain import CHAIN_OF, drive, mine, receiver
from tests.factories import fill_pool
from tests.flows import AMOUNT, CREDIT_BLOCKS, create, state_of
from wallets.clients.base import RetryLater
from wallets.clients.bitcoin import get_bitcoin_client
from wallets.clients.monero import get_customer_monero_client
from wallets.models import AccountPurpose, WalletAccount
from wallets.services import balances_sync

POINTS = ["payout.after_build", "payout.after_sign", "payout.after_relay"]
OTHER = {"BTC": "XMR", "XMR": "BTC"}
SWAP_SEND = {"BTC": 1_000_000, "XMR": 1_000_000_000_000}
# Jobs per kind and chain: the default run has each kind once per chain; --long has more
# than 1,000 payouts in all.
DEFAULT = {
    "release": 1,
    "refund": 1,
    "split": 1,
    "excess": 1,
    "late": 1,
    "swap": 1,
    "swap_refund": 1,
}
LONG = {
    "BTC": {
        "release": 300,
        "refund": 90,
        "split": 60,
        "excess": 50,
        "late": 30,
        "swap": 60,
        "swap_refund": 30,
    },
    "XMR": {
        "release": 90,
        "refund": 45,
        "split": 30,
        "excess": 25,
        "late": 15,
        "swap": 30,
        "swap_refund": 15,
    },
}


@dataclass
class Jobs:
    """What a run asked to be paid: (source account, destination address) per payout, and
    the orders and swaps that must end in a final state."""

    expected: dict[str, list] = field(default_factory=lambda: {"bitcoin": [], "monero": []})
    orders: dict[int, str] = field(default_factory=dict)
    swaps: dict[str, str] = field(default_factory=dict)

    def expect(self, currency: str, account, address: str) -> None:
        self.expected[CHAIN_OF[currency]].append((account, address))


def _account_of(order) -> WalletAccount:
    return WalletAccount.objects.get(address=order["deposit_address"])


def _fund(chain: str, outputs: list[tuple[str, int]]) -> None:
    """Pay many deposit addresses in as few transactions as the customer wallet allows."""
    if chain == "bitcoin":
        for start in range(0, len(outputs), 200):
            get_bitcoin_client().send_many(
                outputs=outputs[start : start + 200],
                wallet_id=settings.BITCOIN["customer_wallet_id"],
            )
        return
    customer = get_customer_monero_client()
    for start in range(0, len(outputs), 15):
        customer.refresh()
        customer.send_many(outputs=outputs[start : start + 15])
        if start + 15 < len(outputs):
            mine(chain, 10)  # the change of each payment unlocks after 10 blocks


def _escrow(buyer, vendor, currency: str, count: int, *, extra: int = 0, refund_to=None):
    chain = CHAIN_OF[currency]
    fill_pool(chain, at_least=count + 1)
    body = {"refund_address": refund_to.address} if refund_to else {}
    orders = [create(buyer, vendor, currency, **body) for _ in range(count)]
    _fund(chain, [(o["deposit_address"], int(o["amount"]) + extra) for o in orders])
    return orders


def _set_up_orders(buyer, vendor, staff, currency: str, counts: dict, jobs: Jobs) -> list:
    """Orders for every escrow payout kind, funded and escrowed; returns the actions that
    make their payouts (run once the faults are armed)."""
    chain = CHAIN_OF[currency]
    refund_to = receiver(chain)
    to_vendor = vendor.receivers[currency].address
    plain = _escrow(buyer, vendor, currency, counts["release"])
    split_orders = _escrow(buyer, vendor, currency, counts["split"], refund_to=refund_to)
    refunded = _escrow(buyer, vendor, currency, counts["refund"], refund_to=refund_to)
    excess = AMOUNT[currency] // 5
    overpaid = _escrow(buyer, vendor, currency, counts["excess"], extra=excess, refund_to=refund_to)
    fill_pool(chain, at_least=counts["late"] + 1)
    late = [
        create(buyer, vendor, currency, refund_address=refund_to.address)
        for _ in range(counts["late"])
    ]
    EscrowOrder.objects.filter(id__in=[o["id"] for o in late]).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    orders_expire()
    _fund(chain, [(o["deposit_address"], int(o["amount"])) for o in late])
    ids = [o["id"] for o in plain + split_orders + refunded + overpaid]
    # Hundreds of deposits at once (--long) take the scans a while on a loaded machine.
    patience = 120 + 2 * len(ids)
    drive(
        chain,
        lambda: all(state_of(i) != FundingState.AWAITING_DEPOSIT for i in ids),
        what="seen",
        timeout=patience,
    )
    mine(chain, CREDIT_BLOCKS[currency])
    drive(
        chain,
        lambda: all(state_of(i) == OrderState.ESCROWED for i in ids),
        what="all escrowed",
        timeout=patience + 180,
    )
    actions = []
    releases, splits = plain, split_orders
    for order in releases + overpaid:
        jobs.expect(currency, _account_of(order), to_vendor)
        jobs.orders[order["id"]] = FundingState.COMPLETED
        actions.append(
            lambda o=order: buyer.api.post(f"/api/orders/{o['id']}/release", {}, format="json")
        )
    for order in overpaid:
        jobs.expect(currency, _account_of(order), refund_to.address)  # its excess
    for order in refunded:
        jobs.expect(currency, _account_of(order), refund_to.address)
        jobs.orders[order["id"]] = FundingState.REFUNDED
        actions.append(
            lambda o=order: vendor.api.post(f"/api/orders/{o['id']}/refund", {}, format="json")
        )
    for order in splits:
        jobs.expect(currency, _account_of(order), to_vendor)
        jobs.expect(currency, _account_of(order), refund_to.address)
        jobs.orders[order["id"]] = FundingState.COMPLETED

        def split(o=order):
            buyer.api.post(f"/api/orders/{o['id']}/dispute", {"reason": "broken"}, format="json")
            escrowed = EscrowOrder.objects.get(id=o["id"]).escrowed_amount
            order_split(
                order_id=o["id"],
                actor=staff.user,
                vendor_amount=escrowed // 2,
                buyer_amount=escrowed - escrowed // 2,
                reason="half each",
            )

        actions.append(split)
    for order in late:
        jobs.expect(currency, _account_of(order), refund_to.address)
        jobs.orders[order["id"]] = FundingState.EXPIRED
    return actions


def _set_up_swaps(currency: str, counts: dict, jobs: Jobs) -> list:
    """Swaps paid in ``currency``: their house payouts are in the other currency; the
    wrongly paid ones are refunded in ``currency``. Returns the refund actions."""
    api = APIClient()
    chain, to_chain = CHAIN_OF[currency], CHAIN_OF[OTHER[currency]]
    house = WalletAccount.objects.get(chain=to_chain, purpose=AccountPurpose.LIQUIDITY)
    payout_to, refund_to = receiver(to_chain), receiver(chain)
    fill_pool(chain, at_least=counts["swap"] + counts["swap_refund"] + 1)
    made = []
    for n in range(counts["swap"] + counts["swap_refund"]):
        q = api.post(
            "/api/quotes",
            {
                "from_currency": currency,
                "to_currency": OTHER[currency],
                "amount_from": str(SWAP_SEND[currency]),
                "type": "fixed",
            },
            format="json",
        ).json()
        s = api.post(
            "/api/swaps",
            {
                "quote_id": q["id"],
                "payout_address": payout_to.address,
                "refund_address": refund_to.address,
            },
            format="json",
        )
        assert s.status_code == 201, s.json()
        made.append((s.json(), n >= counts["swap"]))
    outputs = []
    for s, wrong in made:
        outputs.append((s["deposit_address"], SWAP_SEND[currency] * (2 if wrong else 1)))
        if wrong:
            jobs.expect(
                currency, WalletAccount.objects.get(address=s["deposit_address"]), refund_to.address
            )
            jobs.swaps[s["id"]] = FundingState.REFUNDED
        else:
            jobs.expect(OTHER[currency], house, payout_to.address)
            jobs.swaps[s["id"]] = FundingState.COMPLETED
    _fund(chain, outputs)
    mine(chain, CREDIT_BLOCKS[currency])
    wrong_ids = [s["id"] for s, wrong in made if wrong]
    drive(
        chain,
        lambda: all(
            SwapOrder.objects.get(public_id=i).state == SwapState.ACTION_REQUIRED for i in wrong_ids
        ),
        what="the wrongly paid swaps to ask for action",
        timeout=300 + 2 * len(made),
    )
    return [lambda i=i: api.post(f"/api/swaps/{i}/refund") for i in wrong_ids]


def _final(jobs: Jobs) -> bool:
    orders = dict(EscrowOrder.objects.filter(id__in=list(jobs.orders)).values_list("id", "state"))
    swaps = {
        str(k): v
        for k, v in SwapOrder.objects.filter(public_id__in=list(jobs.swaps)).values_list(
            "public_id", "state"
        )
    }
    return all(orders[i] == s for i, s in jobs.orders.items()) and all(
        swaps[i] == s for i, s in jobs.swaps.items()
    )


def _late_refunds_done(jobs: Jobs) -> bool:
    from wallets.models import Payout

    late = [i for i, s in jobs.orders.items() if s == FundingState.EXPIRED]
    return Payout.objects.filter(
        owner_kind="order", owner_id__in=late, kind="late_refund", state="confirmed"
    ).count() == len(late)


def _step_both() -> bool:
    """A block on each chain, a scan of each, and the sweep (what beat does, faster)."""
    from wallets.services import deposits_scan
    from wallets.services.payouts import payouts_sweep

    for chain in ("bitcoin", "monero"):
        mine(chain)
        try:
            deposits_scan(chain=chain)
        except (RetryLater, *DATABASE_TRANSIENT):
            pass  # the next step scans again
    try:
        payouts_sweep()
    except DATABASE_TRANSIENT:
        pass
    return True


def _crash_the_worker_now_and_then(worker, rng, stop) -> None:
    """The whole worker killed (and started again) every 20 to 40 s."""
    while not stop.wait(rng.uniform(20, 40)):
        fault_log_entry("worker -")
        worker.proc.kill()
        worker.restart()


def test_every_kind_of_payout_killed_at_every_step_is_paid_exactly_once(
    request,
    buyer,
    vendor,
    staff,
    celery_worker,
    proof,
    django_capture_on_commit_callbacks,
    settings,
):
    long = request.config.getoption("--long")
    settings.ORDER_BUYER_MAX_UNPAID = 0  # one buyer stands for all the run's customers
    with django_capture_on_commit_callbacks(execute=True):
        rates_refresh()
    for chain in ("bitcoin", "monero"):
        balances_sync(chain=chain)
    fault_log(clear=True)
    # Armed before anything is paid: the payouts that start on their own while the run is
    # set up (excess and late refunds, the swaps' house payouts) die at every step too.
    # The default run kills every payout at every step; --long kills each once, at one of
    # the steps in turn, so that a thousand payouts fit an evening.
    for n, point in enumerate(POINTS):
        fault_arm(point, scope="task", each=True, share=(n, len(POINTS)) if long else (0, 1))
    jobs = Jobs()
    rng = random.Random(7)
    stop = threading.Event()
    crasher = threading.Thread(
        target=_crash_the_worker_now_and_then, args=(celery_worker, rng, stop)
    )
    try:
        actions = []
        for currency in ("BTC", "XMR"):
            counts = LONG[currency] if long else DEFAULT
            actions += _set_up_orders(buyer, vendor, staff, currency, counts, jobs)
            actions += _set_up_swaps(currency, counts, jobs)
        for act in actions:
            act()
        crasher.start()
        wait_until(
            lambda: _step_both() and _final(jobs) and _late_refunds_done(jobs),
            timeout=4 * 3600 if long else 600,
            interval=1,
            what="every order and swap final",
        )
    finally:
        stop.set()
        if crasher.is_alive():
            crasher.join(120)
        for point in POINTS:
            fault_disarm(point)
    if not celery_worker.alive():
        celery_worker.restart()

    kills = fault_log()
    figures = {"expected": 0, "made": 0, "duplicated": 0, "lost": 0}
    for chain, expected in jobs.expected.items():
        for key, value in measured(chain, expected).items():
            figures[key] += value
    killed = Counter(entry.split()[0] for entry in kills)
    proof.update(
        scenario="every payout kind (release, refund, split, excess, late, swap, swap refund) "
        "killed at every saga step, both chains",
        injected=", ".join(f"{n}× {p}" for p, n in sorted(killed.items())),
        payouts_killed=len({entry.split()[1] for entry in kills if entry.split()[0] != "worker"}),
        **figures,
    )
    assert figures["expected"] == sum(len(e) for e in jobs.expected.values())
    assert figures["duplicated"] == 0
    assert figures["lost"] == 0
    assert figures["made"] == figures["expected"]
    assert all(killed[p] >= 1 for p in POINTS)
    if long:
        assert proof["payouts_killed"] >= 1000


def fault_log_entry(entry: str) -> None:
    from exchange.redis import get_redis

    get_redis().rpush("fault:log", entry)


def escrow_many(buyer, vendor, currency: str, count: int) -> list[dict]:
    """``count`` orders paid in as few transactions as possible, then escrowed."""
    chain = CHAIN_OF[currency]
    orders = _escrow(buyer, vendor, currency, count)
    ids = [o["id"] for o in orders]
    drive(
        chain,
        lambda: all(state_of(i) != FundingState.AWAITING_DEPOSIT for i in ids),
        what="all seen",
    )
    mine(chain, CREDIT_BLOCKS[currency])
    drive(
        chain,
        lambda: all(state_of(i) == OrderState.ESCROWED for i in ids),
        what="all escrowed",
        timeout=180,
    )
    return orders


def test_a_worker_killed_at_random_moments_pays_each_release_exactly_once(
    buyer, vendor, celery_worker, proof
):
    """The whole worker killed at a random moment after each release, both chains."""
    jobs = Jobs()
    rng = random.Random(7)
    for currency in ("BTC", "XMR"):
        orders = escrow_many(buyer, vendor, currency, 2)
        for order in orders:
            jobs.expect(currency, _account_of(order), vendor.receivers[currency].address)
            jobs.orders[order["id"]] = FundingState.COMPLETED
            buyer.api.post(f"/api/orders/{order['id']}/release", {}, format="json")
            time.sleep(rng.uniform(0.0, 1.5))
            celery_worker.proc.kill()
            celery_worker.restart()
    wait_until(
        lambda: _step_both() and _final(jobs), timeout=300, interval=0.5, what="all completed"
    )
    figures = {"expected": 0, "made": 0, "duplicated": 0, "lost": 0}
    for chain, expected in jobs.expected.items():
        for key, value in measured(chain, expected).items():
            figures[key] += value
    proof.update(
        scenario="escrow releases, the whole worker SIGKILLed at a random moment, both chains",
        injected=f"{len(jobs.orders)}× worker killed",
        **figures,
    )
    assert figures["made"] == figures["expected"] == len(jobs.orders)
    assert figures["duplicated"] == figures["lost"] == 0
