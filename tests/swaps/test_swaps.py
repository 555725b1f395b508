"""Swaps end to end on regtest, both directions, and the liquidity they may not overdraw."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connections
from django.utils import timezone
from rest_framework.test import APIClient

from devtools.processes import wait_until
from exchange.faults import fault_arm
from funding.models import FundingState
from funding.services import retry_payout
from ownership.selectors import ledger_balance
from rates.services import rates_refresh
from swaps.liquidity import liquidity_available, liquidity_figures
from swaps.models import Liquidity, LiquidityReservation, Quote, SwapOrder, SwapState
from swaps.quotes import swap_amounts
from swaps.services import swap_advance, swap_refund, swaps_expire
from tests.books import measured
from tests.chain import CHAIN_OF, drive, mine, pay, receiver
from wallets.models import Payout, PayoutState
from wallets.services import balances_sync
from wallets.services.payouts import PayoutStateError

SEND = {"BTC": 1_000_000, "XMR": 1_000_000_000_000}
OTHER = {"BTC": "XMR", "XMR": "BTC"}


def quote(api, from_currency, amount=None, kind="fixed"):
    response = api.post(
        "/api/quotes",
        {
            "from_currency": from_currency,
            "to_currency": OTHER[from_currency],
            "amount_from": str(amount or SEND[from_currency]),
            "type": kind,
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    return response.json()


def swap(api, q, payout_to, refund_to):
    response = api.post(
        "/api/swaps",
        {
            "quote_id": q["id"],
            "payout_address": payout_to.address,
            "refund_address": refund_to.address,
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    return response.json()


def state(public_id):
    return SwapOrder.objects.get(public_id=public_id).state


def payouts(public_id):
    row = SwapOrder.objects.get(public_id=public_id)
    return {p.kind: p for p in Payout.objects.filter(owner_kind="swap", owner_id=row.id)}


@pytest.mark.parametrize("from_currency", ["BTC", "XMR"])
def test_a_swap_pays_the_quoted_amount_on_the_other_chain(market, from_currency):
    to_currency = OTHER[from_currency]
    payout_to, refund_to = receiver(CHAIN_OF[to_currency]), receiver(CHAIN_OF[from_currency])
    q = quote(market, from_currency)
    s = swap(market, q, payout_to, refund_to)
    assert s["state"] == "awaiting_deposit"

    pay(CHAIN_OF[from_currency], s["deposit_address"], int(q["amount_from"]))
    drive(
        CHAIN_OF[from_currency],
        lambda: state(s["id"]) != FundingState.AWAITING_DEPOSIT,
        what="seen",
    )
    mine(CHAIN_OF[from_currency], 10 if from_currency == "XMR" else 1)
    drive(CHAIN_OF[from_currency], lambda: state(s["id"]) == SwapState.SENDING, what="sending")
    drive(
        CHAIN_OF[to_currency],
        lambda: state(s["id"]) == FundingState.COMPLETED,
        what="completed",
        mine_each=1,
    )

    payout = payouts(s["id"])["swap"]
    gross = Quote.objects.get(public_id=q["id"]).amount_to_gross
    assert payout.amount == gross
    assert payout_to.received() == gross - payout.network_fee
    assert market.get(f"/api/swaps/{s['id']}").json()["amount_to"] == str(
        gross - payout.network_fee
    )


def test_a_fixed_quote_paid_after_expiry_needs_action_and_can_be_refunded(market):
    payout_to, refund_to = receiver("monero"), receiver("bitcoin")
    s = swap(market, quote(market, "BTC"), payout_to, refund_to)
    SwapOrder.objects.filter(public_id=s["id"]).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    swaps_expire()
    assert state(s["id"]) == FundingState.EXPIRED
    assert not LiquidityReservation.objects.filter(
        swap_id=SwapOrder.objects.get(public_id=s["id"]).id, state="active"
    ).exists()

    pay("bitcoin", s["deposit_address"], SEND["BTC"])
    mine("bitcoin")
    drive("bitcoin", lambda: state(s["id"]) == SwapState.ACTION_REQUIRED, what="action required")
    body = market.get(f"/api/swaps/{s['id']}").json()
    assert body["action_required"]["choices"] == ["accept", "refund"]

    assert market.post(f"/api/swaps/{s['id']}/refund").status_code == 200
    drive("bitcoin", lambda: state(s["id"]) == FundingState.REFUNDED, what="refunded", mine_each=1)
    refund = payouts(s["id"])["refund"]
    assert refund_to.received() == SEND["BTC"] - refund.network_fee


def test_a_wrong_amount_needs_action_and_accepting_pays_at_the_current_rate(market):
    payout_to, refund_to = receiver("monero"), receiver("bitcoin")
    s = swap(market, quote(market, "BTC"), payout_to, refund_to)

    pay("bitcoin", s["deposit_address"], SEND["BTC"] * 2)
    mine("bitcoin")
    drive("bitcoin", lambda: state(s["id"]) == SwapState.ACTION_REQUIRED, what="action required")
    assert market.post(f"/api/swaps/{s['id']}/accept").status_code == 200

    drive("monero", lambda: state(s["id"]) == FundingState.COMPLETED, what="completed", mine_each=1)
    payout = payouts(s["id"])["swap"]
    fixed_gross = Quote.objects.get(swap__public_id=s["id"]).amount_to_gross
    assert payout.amount > fixed_gross  # twice the deposit, paid at the current rate
    assert payout_to.received() == payout.amount - payout.network_fee
    assert payout.state == PayoutState.CONFIRMED


def test_twenty_concurrent_swaps_never_reserve_more_than_the_liquidity(market):
    quotes = [quote(market, "BTC") for _ in range(20)]
    gross = Quote.objects.get(public_id=quotes[0]["id"]).amount_to_gross
    before = liquidity_figures(currency="XMR")
    # The node's reading says there is room for exactly five of these swaps.
    Liquidity.objects.filter(currency="XMR").update(
        spendable=before["unshown_payouts"] + before["reserved"] + 5 * gross
    )
    payout_to, refund_to = receiver("monero"), receiver("bitcoin")
    barrier = threading.Barrier(20)
    codes = []

    def create(q):
        barrier.wait()
        api = APIClient()
        response = api.post(
            "/api/swaps",
            {
                "quote_id": q["id"],
                "payout_address": payout_to.address,
                "refund_address": refund_to.address,
            },
            format="json",
        )
        codes.append(response.status_code)
        connections.close_all()

    threads = [threading.Thread(target=create, args=(q,)) for q in quotes]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert codes.count(201) == 5
    assert codes.count(409) == 15
    after = liquidity_figures(currency="XMR")
    assert after["reserved"] - before["reserved"] == 5 * gross
    assert liquidity_available(currency="XMR") == 0
    created = SwapOrder.objects.filter(quote__public_id__in=[q["id"] for q in quotes])
    assert created.count() == 5
    swaps_expire()
    for s in created:
        SwapOrder.objects.filter(id=s.id).update(expires_at=timezone.now() - timedelta(seconds=1))
    swaps_expire()
    assert liquidity_figures(currency="XMR")["reserved"] == before["reserved"]


# --- money safety: each deposit credited once, failed payouts, tiers, liquidity --------


def _swap_row(public_id) -> SwapOrder:
    return SwapOrder.objects.get(public_id=public_id)


def _step(public_id) -> str:
    """The deposit scan and the swap's step, in this process (the worker is stopped)."""
    from swaps.services import swap_apply_deposits
    from wallets.services import deposits_scan

    row = _swap_row(public_id)
    deposits_scan(chain=CHAIN_OF[row.from_currency])
    return swap_apply_deposits(swap_id=row.id).state


def test_a_floating_swap_waiting_for_a_rate_credits_its_deposit_once(
    market, celery_worker, settings, django_capture_on_commit_callbacks
):
    """No fresh rate: the swap waits in confirming across passes, its deposit credited
    once; the payout, once priced, is for that deposit alone."""
    payout_to, refund_to = receiver("monero"), receiver("bitcoin")
    s = swap(market, quote(market, "BTC", kind="floating"), payout_to, refund_to)
    celery_worker.proc.stop()
    pay("bitcoin", s["deposit_address"], SEND["BTC"])
    mine("bitcoin")
    settings.RATES_MAX_AGE_SECONDS = -60  # no rate is fresh
    for _ in range(3):
        assert _step(s["id"]) == FundingState.CONFIRMING
    row = _swap_row(s["id"])
    assert row.received_amount == SEND["BTC"]
    assert ledger_balance(currency="BTC", account=f"customer:swap:{row.id}") == SEND["BTC"]

    settings.RATES_MAX_AGE_SECONDS = 1200
    with django_capture_on_commit_callbacks(execute=True):
        rates_refresh()
    assert _step(s["id"]) == SwapState.SENDING
    celery_worker.restart()
    drive("monero", lambda: state(s["id"]) == FundingState.COMPLETED, what="completed", mine_each=1)
    row.refresh_from_db()
    payout = payouts(s["id"])["swap"]
    priced = swap_amounts(
        from_currency="BTC",
        to_currency="XMR",
        xmr_btc=row.market_rate,
        spread_bps=row.spread_bps,
        network_fee=settings.SWAP_NETWORK_FEE["XMR"],
        amount_from=SEND["BTC"],
    )
    assert payout.amount == priced.amount_to_gross
    assert payout_to.received() == payout.sent_amount


def test_an_overpaid_floating_swap_waits_for_the_confirmations_of_what_arrived(
    market, celery_worker
):
    """Quoted for 0.01 BTC (1 confirmation), paid 0.5 BTC (2): exchanged after 2."""
    payout_to, refund_to = receiver("monero"), receiver("bitcoin")
    s = swap(market, quote(market, "BTC", kind="floating"), payout_to, refund_to)
    celery_worker.proc.stop()
    pay("bitcoin", s["deposit_address"], 50_000_000)
    mine("bitcoin")
    assert _step(s["id"]) == FundingState.CONFIRMING
    assert _swap_row(s["id"]).confirmations_required == 2
    mine("bitcoin")
    assert _step(s["id"]) == SwapState.SENDING
    celery_worker.restart()
    drive("monero", lambda: state(s["id"]) == FundingState.COMPLETED, what="completed", mine_each=1)
    assert payout_to.received() == payouts(s["id"])["swap"].sent_amount


def test_an_overpaid_fixed_swap_asks_for_action_only_after_the_confirmations_it_needs(
    market, celery_worker
):
    payout_to, refund_to = receiver("monero"), receiver("bitcoin")
    s = swap(market, quote(market, "BTC"), payout_to, refund_to)
    celery_worker.proc.stop()
    pay("bitcoin", s["deposit_address"], 50_000_000)
    mine("bitcoin")
    assert _step(s["id"]) == FundingState.CONFIRMING
    mine("bitcoin")
    assert _step(s["id"]) == SwapState.ACTION_REQUIRED
    celery_worker.restart()
    assert market.post(f"/api/swaps/{s['id']}/accept").status_code == 200
    drive("monero", lambda: state(s["id"]) == FundingState.COMPLETED, what="completed", mine_each=1)


def _failed_swap_payout(market, celery_worker, point: str):
    """A BTC → XMR swap whose house payout the worker was killed at ``point``, then marked
    failed: what an engine that failed payouts on unclear answers left behind."""
    payout_to, refund_to = receiver("monero"), receiver("bitcoin")
    s = swap(market, quote(market, "BTC"), payout_to, refund_to)
    fault_arm(point)
    pay("bitcoin", s["deposit_address"], SEND["BTC"])
    mine("bitcoin")
    drive("bitcoin", lambda: "swap" in payouts(s["id"]), what="the house payout")
    wait_until(lambda: not celery_worker.alive(), timeout=60, what=f"the worker to die at {point}")
    payout = payouts(s["id"])["swap"]
    assert payout.raw_tx
    Payout.objects.filter(id=payout.id).update(state=PayoutState.FAILED, last_error="unclear")
    swap_advance(swap_id=_swap_row(s["id"]).id)
    assert state(s["id"]) == FundingState.FAILED
    celery_worker.restart()
    return s, payout, payout_to, refund_to


def test_staff_cannot_refund_a_failed_swap_whose_payout_is_on_chain(market, celery_worker, staff):
    s, payout, payout_to, refund_to = _failed_swap_payout(
        market, celery_worker, "payout.after_relay"
    )
    with pytest.raises(PayoutStateError) as refused:
        swap_refund(swap_id=_swap_row(s["id"]).id, actor=staff.user, reason="the customer asked")
    assert "on the node" in str(refused.value)

    drive("monero", lambda: state(s["id"]) == FundingState.COMPLETED, what="completed", mine_each=1)
    row = _swap_row(s["id"])
    house = Payout.objects.get(id=payout.id).source_account
    assert measured("monero", [(house, payout_to.address)])["made"] == 1
    assert measured("bitcoin", [(row.account, refund_to.address)])["made"] == 0
    assert payout_to.received() == Payout.objects.get(id=payout.id).sent_amount
    assert refund_to.received() == 0


def test_staff_refund_of_a_failed_swap_voids_its_payout_and_refunds_once(
    market, celery_worker, staff
):
    s, payout, payout_to, refund_to = _failed_swap_payout(
        market, celery_worker, "payout.after_sign"
    )
    swap_refund(swap_id=_swap_row(s["id"]).id, actor=staff.user, reason="the customer asked")
    payout.refresh_from_db()
    assert payout.state == PayoutState.VOIDED
    assert payout.voided_txids == [payout.txid]
    with pytest.raises(PayoutStateError):
        retry_payout(payout_id=payout.id, actor=staff.user, reason="send it anyway")

    drive("bitcoin", lambda: state(s["id"]) == FundingState.REFUNDED, what="refunded", mine_each=1)
    refund = payouts(s["id"])["refund"]
    row = _swap_row(s["id"])
    house = payout.source_account
    assert measured("bitcoin", [(row.account, refund_to.address)])["made"] == 1
    assert measured("monero", [(house, payout_to.address)])["made"] == 0
    assert refund_to.received() == refund.sent_amount
    assert payout_to.received() == 0
    assert ledger_balance(currency="XMR", account=f"customer:swap:{row.id}") == 0
    assert ledger_balance(currency="BTC", account=f"customer:swap:{row.id}") == 0


def test_a_house_payout_relayed_after_the_balance_reading_is_not_counted_as_available(
    market, celery_worker
):
    """The balance sync reads the node; a house payout leaves; the liquidity update of
    that (older) reading lands afterwards. The payout is not forgotten."""
    from swaps.receivers import on_balances_synced
    from wallets.models import AccountPurpose, WalletAccount
    from wallets.signals import balances_synced

    balances_synced.disconnect(on_balances_synced)
    try:
        read_at = timezone.now()
        balances_sync(chain="monero")
    finally:
        balances_synced.connect(on_balances_synced)
    house = WalletAccount.objects.get(chain="monero", purpose=AccountPurpose.LIQUIDITY)
    reading = house.node_spendable

    payout_to, refund_to = receiver("monero"), receiver("bitcoin")
    s = swap(market, quote(market, "BTC"), payout_to, refund_to)
    pay("bitcoin", s["deposit_address"], SEND["BTC"])
    mine("bitcoin")
    drive(
        "bitcoin",
        lambda: "swap" in payouts(s["id"]) and payouts(s["id"])["swap"].state == "relayed",
        what="the house payout relayed",
    )
    on_balances_synced(sender=None, chain="monero", read_at=read_at)

    payout = payouts(s["id"])["swap"]
    reserved = liquidity_figures(currency="XMR")["reserved"]
    assert liquidity_available(currency="XMR") <= reading - payout.amount - reserved
    drive("monero", lambda: state(s["id"]) == FundingState.COMPLETED, what="completed", mine_each=1)
