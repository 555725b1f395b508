"""One client cannot exhaust what every customer shares: the house's swap liquidity and the
pool of deposit accounts. The limits are held at their defaults here (the test run's one
address otherwise stands for many customers, tests/testenv.py)."""

from __future__ import annotations

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from devtools.processes import wait_until
from funding.models import FundingState
from orders.models import EscrowOrder
from swaps.liquidity import liquidity_figures, public_figure
from swaps.models import LiquidityReservation, SwapOrder
from tests.chain import receiver
from tests.flows import AMOUNT, create, pay_and_escrow, settle
from tests.people import make_person
from wallets.models import Payout, PayoutState

ATTACKER, OTHER_CLIENT = "203.0.113.66", "198.51.100.23"


@pytest.fixture
def defaults(settings):
    settings.SWAP_MAX_SHARE_BPS = 2500
    settings.SWAP_CLIENT_MAX_SHARE_BPS = 5000
    settings.SWAP_CLIENT_MAX_UNPAID = 3
    settings.ORDER_BUYER_MAX_UNPAID = 20
    return settings


def _quote_at_the_published_maximum(api: APIClient, kind: str = "fixed") -> dict:
    rates = api.get("/api/rates").json()
    assert int(rates["available"]["XMR"]) > 0, rates
    probe = api.post(
        "/api/quotes",
        {"from_currency": "BTC", "to_currency": "XMR", "amount_from": "1", "type": kind},
        format="json",
    ).json()
    answer = api.post(
        "/api/quotes",
        {
            "from_currency": "BTC",
            "to_currency": "XMR",
            "amount_from": probe["extra"]["max_from"],
            "type": kind,
        },
        format="json",
    )
    assert answer.status_code == 201, answer.json()
    return answer.json()


def _swap(api: APIClient, quote: dict):
    return api.post(
        "/api/swaps",
        {
            "quote_id": quote["id"],
            "payout_address": receiver("monero").address,
            "refund_address": receiver("bitcoin").address,
        },
        format="json",
    )


def test_one_client_cannot_hold_more_than_its_share_of_the_liquidity(market, defaults):
    attacker, other = APIClient(REMOTE_ADDR=ATTACKER), APIClient(REMOTE_ADDR=OTHER_CLIENT)
    before = liquidity_figures(currency="XMR")
    total = before["available"] + before["reserved"]
    answers = [_swap(attacker, _quote_at_the_published_maximum(attacker)) for _ in range(6)]
    codes = [a.status_code for a in answers]
    assert codes.count(201) == 2, codes  # two at a quarter each: half, the client's share
    assert codes[2:] == [429] * 4, [a.json() for a in answers]
    held = LiquidityReservation.objects.filter(
        swap_id__in=SwapOrder.objects.filter(client=f"anon:{ATTACKER}").values("id"),
        state=LiquidityReservation.State.ACTIVE,
    )
    assert sum(r.amount for r in held) <= total * defaults.SWAP_CLIENT_MAX_SHARE_BPS // 10_000
    # Everyone else still gets a quote and a swap.
    assert _swap(other, _quote_at_the_published_maximum(other)).status_code == 201


def test_a_floating_swap_at_the_published_maximum_fits_with_its_reserve_margin(market, defaults):
    defaults.SWAP_FLOATING_RESERVE_MARGIN_BPS = 5000
    api = APIClient(REMOTE_ADDR="203.0.113.69")
    answer = _swap(api, _quote_at_the_published_maximum(api, kind="floating"))
    assert answer.status_code == 201, answer.json()


def test_one_swap_cannot_reserve_more_than_its_fraction(market, defaults):
    api = APIClient(REMOTE_ADDR="203.0.113.67")
    figures = liquidity_figures(currency="XMR")
    single = (figures["available"] + figures["reserved"]) * defaults.SWAP_MAX_SHARE_BPS // 10_000
    rates = api.get("/api/rates").json()
    # The public figure is rounded, never the exact balance.
    assert int(rates["available"]["XMR"]) == public_figure(min(figures["available"], single))
    assert int(rates["available"]["XMR"]) < figures["available"]
    quote = _quote_at_the_published_maximum(api)
    assert int(quote["amount_to"]) <= single


def test_one_client_cannot_leave_more_than_a_few_swaps_unpaid(market, defaults, settings):
    settings.SWAP_CLIENT_MAX_SHARE_BPS = 10_000
    api = APIClient(REMOTE_ADDR="203.0.113.68")
    small = {"from_currency": "BTC", "to_currency": "XMR", "amount_from": "100000", "type": "fixed"}
    codes = []
    for _ in range(5):
        quote = api.post("/api/quotes", small, format="json").json()
        codes.append(_swap(api, quote).status_code)
    assert codes == [201, 201, 201, 429, 429]
    unpaid = SwapOrder.objects.filter(
        client="anon:203.0.113.68", state=FundingState.AWAITING_DEPOSIT
    ).count()
    assert unpaid == defaults.SWAP_CLIENT_MAX_UNPAID


def test_one_buyer_cannot_leave_more_than_a_set_number_of_orders_unpaid(
    buyer, vendor, defaults, settings
):
    settings.ORDER_BUYER_MAX_UNPAID = 4
    body = {"currency": "BTC", "amount": str(AMOUNT["BTC"]), "vendor": vendor.user.username}
    codes = [buyer.api.post("/api/orders", body, format="json").status_code for _ in range(6)]
    assert codes == [201] * 4 + [429] * 2
    assert EscrowOrder.objects.filter(buyer=buyer.user).count() == 4
    # Another buyer is not held by it.
    from tests.people import make_person

    assert make_person().api.post("/api/orders", body, format="json").status_code == 201


def test_a_release_goes_out_while_clients_burn_deposit_accounts(buyer, vendor, celery_worker):
    order = create(buyer, vendor, "BTC")
    pay_and_escrow(order, "BTC")
    # Orders nobody will pay, from many accounts: the pool drains and refills behind them.
    burners = [make_person() for _ in range(2 * settings.POOL_MIN)]
    body = {"currency": "BTC", "amount": str(AMOUNT["BTC"]), "vendor": vendor.user.username}
    codes = [b.api.post("/api/orders", body, format="json").status_code for b in burners[:4]]

    answer = buyer.api.post(f"/api/orders/{order['id']}/release", {}, format="json")
    assert answer.status_code == 200, answer.json()
    codes += [b.api.post("/api/orders", body, format="json").status_code for b in burners[4:]]

    payout = Payout.objects.get(owner_kind="order", owner_id=order["id"])
    wait_until(
        lambda: (
            Payout.objects.get(id=payout.id).state in (PayoutState.RELAYED, PayoutState.CONFIRMED)
        ),
        timeout=90,
        what="the release relayed",
    )
    assert set(codes) <= {201, 503}, codes
    settle("BTC", order["id"], FundingState.COMPLETED)
