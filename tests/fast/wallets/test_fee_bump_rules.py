"""The fee a bump's child pays, and the coins that have none."""

import pytest

from wallets.chains.bitcoin_bump import bump_fee_needed
from wallets.chains.monero import MoneroChain
from wallets.chains.registry import coin, coin_of_chain
from wallets.models import Payout


def test_the_child_lifts_the_pair_to_the_rate():
    # 25 sat/vB for 222 + 110 vB is 8,300; the parent paid 444 of it.
    fee = bump_fee_needed(rate=25_000, parent_fee=444, parent_vsize=222, child_vsize=110)

    assert fee == 8_300 - 444
    assert (444 + fee) * 1000 >= 25_000 * (222 + 110)


def test_a_child_never_pays_less_than_the_rate_itself():
    # The parent already pays far more than the rate: the child still pays the rate for
    # its own bytes, or it would pull the pair's rate down.
    assert bump_fee_needed(rate=25_000, parent_fee=100_000, parent_vsize=222, child_vsize=110) == (
        2_750
    )


@pytest.mark.parametrize(("rate", "sizes"), [(1_001, (1, 1)), (2_500, (141, 110)), (999, (3, 7))])
def test_the_fee_is_rounded_up_never_down(rate, sizes):
    parent, child = sizes
    fee = bump_fee_needed(rate=rate, parent_fee=0, parent_vsize=parent, child_vsize=child)

    assert fee * 1000 >= rate * (parent + child)
    assert (fee - 1) * 1000 < rate * (parent + child)


def test_monero_has_no_fee_bump_and_no_setting_for_one():
    payout = Payout(chain="monero", address="4…", amount=10**12, txid="ab" * 32)

    assert MoneroChain(coin("XMR")).payout_bump(payout) is None
    assert coin_of_chain("monero").fee_bump_after_blocks == 0
