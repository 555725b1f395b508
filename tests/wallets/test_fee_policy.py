"""Payouts pay the fee of the engine's policy, never a node's silent default: bitcoin the
node's estimate held between BITCOIN_FEE_RATE_MIN and BITCOIN_FEE_RATE_MAX (the floor
while it has none, as on regtest), Monero the priority MONERO_FEE_PRIORITY names.
Proposals are built on the regtest nodes (signed, never relayed) from the house accounts;
a bitcoin proposal's rate is read from its signed bytes, a Monero one's fee from the
wallet that built it."""

from __future__ import annotations

import pytest
from embit.transaction import Transaction

from tests.chain import receiver
from wallets.chains.registry import adapter
from wallets.clients.bitcoin import get_bitcoin_client
from wallets.models import AccountPurpose, Payout, WalletAccount


def _rate(settings, floor: int, ceiling: int) -> float:
    """Satoshi per virtual byte of a 0.01 BTC payout proposal under that policy."""
    settings.COIN_SETTINGS = {
        **settings.COIN_SETTINGS,
        "BTC": {**settings.COIN_SETTINGS["BTC"], "fee_rate_min": floor, "fee_rate_max": ceiling},
    }
    house = WalletAccount.objects.get(chain="bitcoin", purpose=AccountPurpose.LIQUIDITY)
    payout = Payout(
        chain="bitcoin", source_account=house, address=receiver("bitcoin").address, amount=1_000_000
    )
    built = adapter("bitcoin").payout_build(payout)
    return built.fee / vsize(built.raw)


def vsize(raw: str) -> int:
    """BIP 141 virtual size: the bytes without the witness count four times."""
    total = len(bytes.fromhex(raw))
    tx = Transaction.from_string(raw)
    witness = sum(len(txin.witness.serialize()) for txin in tx.vin if txin.witness)
    base = total - (2 + witness if witness else 0)
    return -(-(base * 3 + total) // 4)


def test_without_an_estimate_payouts_pay_the_floor_not_the_nodes_default(wallets, settings):
    assert get_bitcoin_client().fee_estimate(6) is None  # regtest: no estimate

    assert 50 <= _rate(settings, 50, 60) < 51
    assert 2 <= _rate(settings, 2, 3) < 3


@pytest.mark.parametrize(("floor", "ceiling"), [(7, 7), (30, 31)])
def test_the_rate_stays_between_the_floor_and_the_ceiling(wallets, settings, floor, ceiling):
    assert floor <= _rate(settings, floor, ceiling) <= ceiling + 1


def _monero_fee(settings, priority: int) -> int:
    settings.COIN_SETTINGS = {
        **settings.COIN_SETTINGS,
        "XMR": {**settings.COIN_SETTINGS["XMR"], "fee_priority": priority},
    }
    house = WalletAccount.objects.get(chain="monero", purpose=AccountPurpose.LIQUIDITY)
    payout = Payout(
        chain="monero",
        source_account=house,
        address=receiver("monero").address,
        amount=10**12,
    )
    return adapter("monero").payout_build(payout).fee


def test_monero_payouts_are_built_at_the_priority_of_the_settings(wallets, settings):
    lowest, highest = _monero_fee(settings, 1), _monero_fee(settings, 4)

    # wallet2 multiplies the base fee by 1 at the lowest priority and by 1000 at the highest.
    assert highest > 100 * lowest
