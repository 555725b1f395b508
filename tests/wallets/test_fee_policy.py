"""Bitcoin payouts pay the fee rate of the engine's policy, never bcoin's own default: the
node's estimate held between BITCOIN_FEE_RATE_MIN and BITCOIN_FEE_RATE_MAX, the floor
while it has none (as on regtest). Proposals are built on the regtest node (signed, never
relayed) from the house account, and their rate is read from the signed bytes."""

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
