"""A fresh stack's first minute (operations/warm_up.py, ``manage.py warm_up``, which
``make run`` calls before its banner): the rates are fresh and the house's liquidity is
what the nodes hold, so the README's swap example quotes at once."""

from __future__ import annotations

from datetime import timedelta

from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from rates.cache import rate_cache_clear
from rates.models import RateSnapshot
from swaps.models import Liquidity
from wallets.chains.registry import adapter
from wallets.models import AccountPurpose, WalletAccount


def test_after_warm_up_a_swap_is_quoted_and_the_liquidity_is_the_nodes(wallets, capsys):
    # As on a stack that has run nothing yet: no fresh rate, no liquidity read.
    RateSnapshot.objects.update(created_at=timezone.now() - timedelta(days=1))
    rate_cache_clear()
    Liquidity.objects.update(spendable=0, spendable_at=None)
    started = timezone.now()

    call_command("warm_up")

    # Read before any quote: a quote without a fresh rate asks for a refresh itself.
    assert RateSnapshot.objects.filter(pair="XMR/BTC", ok=True, created_at__gte=started).exists()
    body = {"from_currency": "BTC", "to_currency": "XMR", "amount_from": "1000000"}
    assert APIClient().post("/api/quotes", body, format="json").status_code == 201
    out = capsys.readouterr().out
    for house in WalletAccount.objects.filter(purpose=AccountPurpose.LIQUIDITY):
        wallet = house.master_wallet
        key = getattr(house, adapter(house.chain).account_key)
        _, spendable = adapter(house.chain).balances(wallet)[key]
        row = Liquidity.objects.get(currency={"bitcoin": "BTC", "monero": "XMR"}[house.chain])
        assert row.spendable == spendable > 0
        assert f"liquidity {row.currency}: {spendable} base units spendable" in out
