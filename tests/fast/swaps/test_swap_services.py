"""Swaps through their services against two in-memory chains: the house's liquidity from
its balance, a fixed quote paid, credited once and paid out in the other currency once."""

import pytest

from funding.models import FundingState
from rates.services import rates_refresh
from swaps.liquidity import liquidity_available
from swaps.models import SwapOrder, SwapState
from swaps.quotes import quote_create
from swaps.services import swap_advance, swap_apply_deposits, swap_create
from tests.fast.fake_chain import fake_chain
from wallets.models import Payout, PayoutState, WalletAccount
from wallets.services import balances_sync, deposits_scan
from wallets.services.master_wallets import house_account_ensure, master_wallet_ensure
from wallets.services.payouts import payout_process
from wallets.services.pool import pool_refill

pytestmark = pytest.mark.django_db

HOUSE_XMR = 50 * 10**12


@pytest.fixture
def chains(django_capture_on_commit_callbacks):
    with fake_chain("bitcoin") as btc, fake_chain("monero") as xmr:
        for fake in (btc, xmr):
            pool_refill(chain=fake.chain, batch_size=2, target=2)
        house = house_account_ensure(wallet=master_wallet_ensure(chain="monero"))
        xmr.pay(house.address, HOUSE_XMR)
        xmr.mine(12)
        deposits_scan(chain="monero")
        with django_capture_on_commit_callbacks(execute=True):
            rates_refresh()
        balances_sync(chain="monero")
        yield btc, xmr


def test_the_house_offers_what_its_spendable_balance_holds(chains):
    assert 0 < liquidity_available(currency="XMR") <= HOUSE_XMR
    assert (
        WalletAccount.objects.get(chain="monero", purpose="liquidity").node_spendable == HOUSE_XMR
    )


def test_a_fixed_swap_is_credited_once_and_pays_the_quoted_amount_once(chains):
    btc, xmr = chains
    quote = quote_create(
        from_currency="BTC", to_currency="XMR", kind="fixed", amount_from=1_000_000
    )
    swap = swap_create(
        quote_id=quote.public_id,
        payout_address="fake1customer-xmr",
        refund_address="fake1customer-btc",
        client="tests",
    )
    btc.pay(swap.account.address, quote.amount_from)
    deposits_scan(chain="bitcoin")
    assert swap_apply_deposits(swap_id=swap.id).state == FundingState.CONFIRMING

    btc.mine(1)
    deposits_scan(chain="bitcoin")
    swap = swap_apply_deposits(swap_id=swap.id)
    swap = swap_apply_deposits(swap_id=swap.id)

    assert swap.state == SwapState.SENDING
    assert swap.received_amount == quote.amount_from
    payout = Payout.objects.get(owner_kind="swap", owner_id=swap.id)
    assert (payout.chain, payout.address, payout.amount) == (
        "monero",
        "fake1customer-xmr",
        quote.amount_to_gross,
    )
    payout_process(payout_id=payout.id)
    xmr.mine(1)
    deposits_scan(chain="monero")
    assert swap_advance(swap_id=swap.id).state == FundingState.COMPLETED
    assert len(xmr.sent) == 1
    assert SwapOrder.objects.get(id=swap.id).state == FundingState.COMPLETED
    assert Payout.objects.get(id=payout.id).state == PayoutState.CONFIRMED
