import pytest

from devtools.processes import wait_until
from devtools.regtest import regtest_mine, regtest_pay, regtest_up
from tests.chain import kill_node
from tests.factories import assigned_account
from wallets.clients.base import NodeUnavailable
from wallets.models import Chain, Deposit
from wallets.services import account_retire, deposits_scan

AMOUNTS = {
    Chain.BITCOIN: [50_000, 25_000_000, 150_000_000],
    Chain.MONERO: [10_000_000_000, 700_000_000_000, 2_500_000_000_000],
}
# A scan resuming where the last one stopped (a rescan reads bitcoin's whole history in 2).
SCAN_CALLS = {Chain.BITCOIN: 3, Chain.MONERO: 3}
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
    txids = []
    for account, amount in zip(accounts, AMOUNTS[chain], strict=True):
        # A Monero payment may first mine past the customer wallet's locked change, which
        # confirms the deposits before it: each is looked at in the mempool on its own.
        txids.append(regtest_pay(chain=chain, address=account.address, amount=amount))
        (pending,) = _scan_until(chain, [account], lambda d: len(d) == 1, "a mempool deposit")
        assert (pending.confirmations, pending.height, pending.flagged) == (0, None, False)

    seen = _deposits(accounts)
    assert [d.amount for d in seen] == AMOUNTS[chain]
    assert [d.account_id for d in seen] == [a.id for a in accounts]
    assert {d.txid for d in seen} == set(txids)

    regtest_mine(chain=chain, blocks=1)
    confirmed = _scan_until(
        chain, accounts, lambda d: all(x.confirmations >= 1 for x in d), "a confirmation"
    )
    assert all(d.height and d.confirmed_at for d in confirmed)
    if chain == Chain.MONERO:
        assert not any(d.unlocked for d in confirmed if d.confirmations < 10)
        regtest_mine(chain=chain, blocks=9)
        unlocked = _scan_until(chain, accounts, lambda d: all(x.unlocked for x in d), "unlock")
        assert all(d.confirmations >= 10 and d.unlocked_at for d in unlocked)


@pytest.mark.parametrize("chain", Chain.values)
def test_a_scan_costs_the_same_node_calls_whatever_the_account_count(wallets, chain):
    deposits_scan(chain=chain)
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


# --- scan windows and deposit identity ------------------------------------------------


def test_a_locked_monero_deposit_older_than_the_reorg_margin_is_still_seen(wallets):
    """A deposit with an unlock time stays unsettled past the reorg margin: the scan window
    then starts at its height, and get_transfers' min_height is exclusive."""
    from django.conf import settings

    from wallets.clients.monero import get_customer_monero_client, get_monero_client

    account = assigned_account(Chain.MONERO)
    customer = get_customer_monero_client()
    customer.refresh()
    height = get_monero_client().height()
    unlock_at = height + settings.SCAN_REORG_MARGIN + 15
    customer.wallet(
        "transfer",
        {
            "destinations": [{"address": account.address, "amount": AMOUNTS[Chain.MONERO][0]}],
            "unlock_time": unlock_at,
        },
    )
    regtest_mine(chain=Chain.MONERO, blocks=1)
    (deposit,) = _scan_until(Chain.MONERO, [account], lambda f: f and f[0].height, "in a block")
    for _ in range(settings.SCAN_REORG_MARGIN + 5):
        regtest_mine(chain=Chain.MONERO, blocks=1)
        deposits_scan(chain=Chain.MONERO)
        deposit.refresh_from_db()
        assert not deposit.dropped, f"dropped at confirmation {deposit.confirmations}"
        assert not deposit.unlocked
    regtest_mine(chain=Chain.MONERO, blocks=unlock_at - get_monero_client().height() + 1)
    _scan_until(Chain.MONERO, [account], lambda f: f[0].unlocked, "unlocked")
    deposit.refresh_from_db()
    assert not deposit.dropped


def test_deposits_while_the_bitcoin_wallet_lags_its_node_are_not_skipped(wallets):
    """During a rescan bcoin's wallet is behind its node: a deposit mined meanwhile (more
    than the reorg margin below the node's tip by the time the wallet sees it) is recorded,
    because a scan records the wallet's own height, not the node's.

    How long the rescan lasts is the machine's business: a rescan that ended before the
    scan tested nothing (its deposit must still be recorded), and the next try doubles the
    chain the rescan reads."""
    from django.conf import settings

    from wallets.clients.bitcoin import get_bitcoin_client

    btc = get_bitcoin_client()
    lagging = False
    for blocks in (1500, 3000, 6000):
        if btc.height() < blocks:
            regtest_mine(chain=Chain.BITCOIN, blocks=blocks - btc.height())
        deposits_scan(chain=Chain.BITCOIN)
        account = assigned_account(Chain.BITCOIN)
        # Signed by the payer now, broadcast to the node while the wallets rescan (a
        # wallet's own send would wait for the rescan to end).
        payment = btc._wallet(
            "POST",
            "/create",
            wallet_id=settings.BITCOIN["customer_wallet_id"],
            method="create_tx",
            body={"outputs": [{"address": account.address, "value": AMOUNTS[Chain.BITCOIN][1]}]},
        )
        txid = payment["hash"]
        btc._call("POST", btc.wallet_url, "/rescan", method="rescan", body={"height": 0})
        btc.broadcast(payment["hex"])
        regtest_mine(chain=Chain.BITCOIN, blocks=settings.SCAN_REORG_MARGIN + 5)
        deposits_scan(chain=Chain.BITCOIN)
        lagging = btc.wallet_tx(txid, wallet_id=settings.BITCOIN["wallet_id"]) is None

        wait_until(lambda t=txid: btc.wallet_tx(t), timeout=300, what="the rescan to end")
        (deposit,) = _scan_until(
            Chain.BITCOIN, [account], lambda f: f and f[0].confirmations, "the deposit recorded"
        )
        assert deposit.txid == txid
        assert deposit.amount == AMOUNTS[Chain.BITCOIN][1]
        if lagging:
            break
    assert lagging, "every rescan ended before the scan: the lag was never tested"


def test_one_transaction_paying_two_monero_master_wallets_is_two_deposits(wallets, settings):
    """The output key (major.minor) is only unique within a wallet: one transaction paying
    the same account index in two master wallets is two deposits, each recorded."""
    from wallets.clients.monero import get_customer_monero_client
    from wallets.models import AccountState, MasterWallet, WalletAccount

    settings.MONERO_SECOND = {
        **settings.MONERO,
        "wallet_url": settings.MONERO["customer_wallet_url"],
        "wallet_file": settings.MONERO["customer_wallet_file"],
    }
    first = assigned_account(Chain.MONERO)
    customer = get_customer_monero_client()
    while len(customer.accounts()) <= first.account_index:
        customer.create_account("padding")
    second_wallet = MasterWallet.objects.create(
        chain=Chain.MONERO,
        name="customer",
        network="regtest",
        endpoint="MONERO_SECOND",
        capacity=10,
    )
    second = WalletAccount.objects.create(
        master_wallet=second_wallet,
        chain=Chain.MONERO,
        account_index=first.account_index,
        node_name=f"second-{first.account_index}",
        address=customer.primary_address(first.account_index),
        state=AccountState.ASSIGNED,
        owner_kind="test",
        owner_id=first.owner_id + 1,
    )
    try:
        customer.refresh()
        txid = customer.send_many(
            outputs=[
                (first.address, AMOUNTS[Chain.MONERO][0]),
                (second.address, AMOUNTS[Chain.MONERO][1]),
            ]
        )
        found = _scan_until(
            Chain.MONERO, [first, second], lambda f: len(f) == 2, "a deposit in each wallet"
        )
        assert {d.txid for d in found} == {txid}
        assert {d.output_key for d in found} == {f"{first.account_index}.0"}
        assert {(d.account_id, d.amount) for d in found} == {
            (first.id, AMOUNTS[Chain.MONERO][0]),
            (second.id, AMOUNTS[Chain.MONERO][1]),
        }
    finally:
        Deposit.objects.filter(master_wallet=second_wallet).delete()
        second.delete()
        second_wallet.delete()
