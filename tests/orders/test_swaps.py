"""Swaps end to end on regtest, both directions, and the liquidity they may not overdraw."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connections
from django.utils import timezone
from rest_framework.test import APIClient

from orders.models import SwapOrder, SwapState
from orders.services import swaps_expire
from rates.liquidity import liquidity_available
from rates.models import Liquidity, LiquidityReservation, Quote
from rates.services import rates_refresh
from tests.chain import CHAIN_OF, drive, mine, pay, receiver
from wallets.models import Payout, PayoutState
from wallets.services import balances_sync

SEND = {"BTC": 1_000_000, "XMR": 1_000_000_000_000}
OTHER = {"BTC": "XMR", "XMR": "BTC"}


@pytest.fixture
def market(wallets, celery_worker, django_capture_on_commit_callbacks):
    """A fresh rate (the static provider) and the house's liquidity synced from the nodes."""
    with django_capture_on_commit_callbacks(execute=True):
        rates_refresh()
    for chain in ("bitcoin", "monero"):
        balances_sync(chain=chain)
    return APIClient()


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
        CHAIN_OF[from_currency], lambda: state(s["id"]) != SwapState.AWAITING_DEPOSIT, what="seen"
    )
    mine(CHAIN_OF[from_currency], 10 if from_currency == "XMR" else 1)
    drive(CHAIN_OF[from_currency], lambda: state(s["id"]) == SwapState.SENDING, what="sending")
    drive(
        CHAIN_OF[to_currency],
        lambda: state(s["id"]) == SwapState.COMPLETED,
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
    assert state(s["id"]) == SwapState.EXPIRED
    assert not LiquidityReservation.objects.filter(
        swap_id=SwapOrder.objects.get(public_id=s["id"]).id, state="active"
    ).exists()

    pay("bitcoin", s["deposit_address"], SEND["BTC"])
    mine("bitcoin")
    drive("bitcoin", lambda: state(s["id"]) == SwapState.ACTION_REQUIRED, what="action required")
    body = market.get(f"/api/swaps/{s['id']}").json()
    assert body["action_required"]["choices"] == ["accept", "refund"]

    assert market.post(f"/api/swaps/{s['id']}/refund").status_code == 200
    drive("bitcoin", lambda: state(s["id"]) == SwapState.REFUNDED, what="refunded", mine_each=1)
    refund = payouts(s["id"])["refund"]
    assert refund_to.received() == SEND["BTC"] - refund.network_fee


def test_a_wrong_amount_needs_action_and_accepting_pays_at_the_current_rate(market):
    payout_to, refund_to = receiver("monero"), receiver("bitcoin")
    s = swap(market, quote(market, "BTC"), payout_to, refund_to)

    pay("bitcoin", s["deposit_address"], SEND["BTC"] * 2)
    mine("bitcoin")
    drive("bitcoin", lambda: state(s["id"]) == SwapState.ACTION_REQUIRED, what="action required")
    assert market.post(f"/api/swaps/{s['id']}/accept").status_code == 200

    drive("monero", lambda: state(s["id"]) == SwapState.COMPLETED, what="completed", mine_each=1)
    payout = payouts(s["id"])["swap"]
    fixed_gross = Quote.objects.get(swap__public_id=s["id"]).amount_to_gross
    assert payout.amount > fixed_gross  # twice the deposit, paid at the current rate
    assert payout_to.received() == payout.amount - payout.network_fee
    assert payout.state == PayoutState.CONFIRMED


def test_twenty_concurrent_swaps_never_reserve_more_than_the_liquidity(market):
    quotes = [quote(market, "BTC") for _ in range(20)]
    gross = Quote.objects.get(public_id=quotes[0]["id"]).amount_to_gross
    liquidity = Liquidity.objects.get(currency="XMR")
    Liquidity.objects.filter(currency="XMR").update(balance=liquidity.reserved + 5 * gross)
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
    after = Liquidity.objects.get(currency="XMR")
    assert after.reserved <= after.balance
    assert liquidity_available(currency="XMR") == 0
    created = SwapOrder.objects.filter(quote__public_id__in=[q["id"] for q in quotes])
    assert created.count() == 5
    swaps_expire()
    for s in created:
        SwapOrder.objects.filter(id=s.id).update(expires_at=timezone.now() - timedelta(seconds=1))
    swaps_expire()
    assert Liquidity.objects.get(currency="XMR").reserved == liquidity.reserved
