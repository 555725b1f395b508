from devtools.processes import wait_until
from devtools.regtest import regtest_mine, regtest_pay
from tests.factories import assigned_account
from wallets.chains import adapter
from wallets.models import BalanceSync, Chain, WalletAccount
from wallets.services import balances_sync, deposits_scan


def test_balance_sync_stores_node_balances_and_finds_no_drift_in_recorded_deposits(wallets):
    account = assigned_account(Chain.BITCOIN)
    regtest_pay(chain=Chain.BITCOIN, address=account.address, amount=4_000_000)
    regtest_mine(chain=Chain.BITCOIN, blocks=1)
    wait_until(
        lambda: (
            deposits_scan(chain=Chain.BITCOIN) and account.deposits.filter(confirmations=1).exists()
        ),
        timeout=20,
        what="the deposit",
    )

    run = balances_sync(chain=Chain.BITCOIN)

    account.refresh_from_db()
    assert (account.node_balance, account.node_spendable, account.drift) == (
        4_000_000,
        4_000_000,
        0,
    )
    # The wallet's coins, and one batched call naming those at an address the books do
    # not hold (change of the suite's earlier payouts), if there are any.
    assert run.node_calls <= 2
    assert BalanceSync.objects.filter(id=run.id).exists()


def test_a_coin_at_an_address_the_books_do_not_hold_counts_for_its_account(wallets):
    account = assigned_account(Chain.BITCOIN)
    client = adapter(Chain.BITCOIN).client(account.master_wallet)
    change = client.new_change_address(account=account.node_name)
    paid = {
        regtest_pay(chain=Chain.BITCOIN, address=account.address, amount=1_000_000),
        regtest_pay(chain=Chain.BITCOIN, address=change, amount=2_500_000),
    }
    wait_until(
        lambda: paid <= {coin["txid"] for coin in client.coins()},
        timeout=20,
        what="the master wallet to hold both payments",
    )

    run = balances_sync(chain=Chain.BITCOIN)

    account.refresh_from_db()
    assert (account.node_balance, account.node_spendable) == (3_500_000, 0)
    # The coins, then the batch that names the change address's account.
    assert run.node_calls == 2


def test_an_unrecorded_deposit_shows_as_drift(wallets):
    account = assigned_account(Chain.MONERO)
    regtest_pay(chain=Chain.MONERO, address=account.address, amount=3_000_000_000)
    regtest_mine(chain=Chain.MONERO, blocks=1)

    def synced():
        balances_sync(chain=Chain.MONERO)
        return WalletAccount.objects.get(id=account.id).node_balance == 3_000_000_000

    wait_until(synced, timeout=20, what="the node to report the balance")
    account.refresh_from_db()
    assert account.drift == 3_000_000_000
    assert account.node_spendable == 0  # locked for 10 blocks

    deposits_scan(chain=Chain.MONERO)
    balances_sync(chain=Chain.MONERO)
    account.refresh_from_db()
    assert account.drift == 0
