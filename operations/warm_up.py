"""A stack's first minute: what beat does on its schedule, done now, so a fresh stack
quotes swaps and shows its liquidity at once instead of after the first rate refresh
(15 minutes) and balance sync (5 minutes). Safe to run any number of times."""

from __future__ import annotations

from dataclasses import dataclass

from rates.services import rates_refresh_pairs
from swaps.models import Liquidity
from wallets.models import CURRENCY_OF_CHAIN, Chain
from wallets.services import balances_sync, deposits_scan
from wallets.services.master_wallets import house_account_ensure, master_wallet_ensure


@dataclass(frozen=True)
class WarmUp:
    rates: list[str]  # the pairs refreshed
    liquidity: dict[str, int]  # each coin's spendable house balance, base units


def warm_up() -> WarmUp:
    """Refresh every rate, record each chain's master wallet and house account, scan its
    deposits (the house's funding among them) and sync its balances, which records the
    house's liquidity."""
    snapshots = rates_refresh_pairs()
    for chain in Chain.values:
        house_account_ensure(wallet=master_wallet_ensure(chain=chain))
        deposits_scan(chain=chain)
        balances_sync(chain=chain)
    liquidity = {
        row.currency: row.spendable
        for row in Liquidity.objects.filter(currency__in=list(CURRENCY_OF_CHAIN.values()))
    }
    return WarmUp(rates=sorted(snapshots), liquidity=liquidity)
