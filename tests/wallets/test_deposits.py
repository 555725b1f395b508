import pytest

from tests.chain import kill_node
from tests.factories import assigned_account
from tests.processes import wait_until
from wallets.clients.base import NodeUnavailable
from wallets.models import Chain, Deposit
from wallets.regtest import regtest_mine, regtest_pay, regtest_up
from wallets.services import account_retire, deposits_scan

AMOUNTS = {
    Chain.BITCOIN: [50_000, 25_000_000, 150_000_000],
    Chain.MONERO: [10_000_000_000, 700_000_000_000, 2_500_000_000_000],
}
SCAN_CALLS = {Chain.BITCOIN: 2, Chain.MONERO: 3}
QUIET = {"echo": lambda *_: None}


def _deposits(accounts):
    return list(Deposit.objects.filter(account__in=accounts).order_by("amount"))


def _scan_until(chain, accounts, predicate, what):
    def check():
        deposits_scan(chain=chain)
        found = _deposits(accounts)
        return found if predicate(found) else None

    return wait_until(check, timeout=30, interval=0.5, what=what)


@pytest.mark.parametrize("chain", Chain.values)
def test_deposits_of_several_sizes_are_seen_in_the_mempool_then_confirmed(wallets, chain):
    accounts = [assigned_account(chain) for _ in AMOUNTS[chain]]
    txids = [
        regtest_pay(chain=chain, address=a.address, amount=amount)
        for a, amount in zip(accounts, AMOUNTS[chain], strict=True)
    ]

    seen = _scan_until(chain, accounts, lambda d: len(d) == 3, "three mempool deposits")
    assert [d.amount for d in seen] == AMOUNTS[chain]
    assert [d.account_id for d in seen] == [a.id for a in accounts]
    assert {d.txid for d in seen} == set(txids)
    assert all(d.confirmations == 0 and d.height is None and not d.flagged for d in seen)

    regtest_mine(chain=chain, blocks=1)
    confirmed = _scan_until(
        chain, accounts, lambda d: all(x.confirmations == 1 for x in d), "one confirmation"
    )
    assert all(d.height and d.confirmed_at for d in confirmed)
    if chain == Chain.MONERO:
        assert not any(d.unlocked for d in confirmed)
        regtest_mine(chain=chain, blocks=9)
        unlocked = _scan_until(chain, accounts, lambda d: all(x.unlocked for x in d), "unlock")
        assert all(d.confirmations == 10 and d.unlocked_at for d in unlocked)


@pytest.mark.parametrize("chain", Chain.values)
def test_a_scan_costs_the_same_node_calls_whatever_the_account_count(wallets, chain):
    first = deposits_scan(chain=chain)
    for _ in range(5):
        regtest_pay(chain=chain, address=assigned_account(chain).address, amount=AMOUNTS[chain][0])
    second = deposits_scan(chain=chain)

    assert first.node_calls == second.node_calls == SCAN_CALLS[chain]


@pytest.mark.parametrize("chain", Chain.values)
def test_a_rescan_from_height_zero_creates_no_duplicates(wallets, chain):
    account = assigned_account(chain)
    regtest_pay(chain=chain, address=account.address, amount=AMOUNTS[chain][1])
    regtest_mine(chain=chain, blocks=1)
    _scan_until(chain, [account], lambda d: len(d) == 1 and d[0].confirmations, "the deposit")
    total = Deposit.objects.filter(chain=chain).count()

    result = deposits_scan(chain=chain, from_height=0)

    assert result.new == 0
    assert Deposit.objects.filter(chain=chain).count() == total
    assert Deposit.objects.filter(account=account).count() == 1


@pytest.mark.parametrize("chain", Chain.values)
def test_a_deposit_to_a_retired_account_is_recorded_and_flagged(wallets, chain):
    account = assigned_account(chain)
    assert account_retire(account_id=account.id)

    regtest_pay(chain=chain, address=account.address, amount=AMOUNTS[chain][0])

    (deposit,) = _scan_until(chain, [account], lambda d: len(d) == 1, "the late deposit")
    assert deposit.flagged
    assert deposit.flag_reason == "deposit to a retired account"


@pytest.mark.parametrize(
    ("chain", "process"), [(Chain.BITCOIN, "bcoin"), (Chain.MONERO, "monero-wallet-rpc")]
)
def test_a_node_down_during_a_scan_is_transient_and_the_next_scan_catches_up(
    wallets, chain, process
):
    account = assigned_account(chain)
    regtest_pay(chain=chain, address=account.address, amount=AMOUNTS[chain][2])
    regtest_mine(chain=chain, blocks=1)
    kill_node(process)

    with pytest.raises(NodeUnavailable):
        deposits_scan(chain=chain)
    assert not Deposit.objects.filter(account=account).exists()

    regtest_up(**QUIET)
    (deposit,) = _scan_until(chain, [account], lambda d: len(d) == 1, "the deposit after restart")
    assert deposit.amount == AMOUNTS[chain][2]
    assert deposit.confirmations >= 1
