"""Balance sync against an in-memory chain: each account's node balance and its drift from
the books are stored, in batches, and an account whose figures did not move is not
written."""

import pytest

from tests.fast.fake_chain import fake_chain
from wallets.models import WalletAccount
from wallets.services import balances, deposits_scan
from wallets.services.balances import balances_sync
from wallets.services.pool import allocate_account, pool_refill

pytestmark = pytest.mark.django_db


@pytest.fixture
def chain(monkeypatch):
    monkeypatch.setattr(balances, "STORE_BATCH", 2)  # several batches from a few accounts
    with fake_chain("bitcoin") as fake:
        pool_refill(chain="bitcoin", batch_size=5, target=5)
        yield fake


def _figures(account: WalletAccount) -> tuple[int, int, int]:
    account.refresh_from_db()
    return account.node_balance, account.node_spendable, account.drift


def test_each_account_gets_its_node_balance_and_its_drift_from_the_books(chain):
    accounts = [
        allocate_account(chain="bitcoin", owner_kind="order", owner_id=i) for i in range(1, 5)
    ]
    for account, amount in zip(accounts[:3], (30_000, 40_000, 50_000), strict=True):
        chain.pay(account.address, amount)
    deposits_scan(chain="bitcoin")
    chain.mine(1)
    deposits_scan(chain="bitcoin", from_height=0)
    chain.pay(accounts[1].address, 7_000)  # in the mempool, not in the books yet
    chain.pay(accounts[3].address, 9_000)
    untouched = WalletAccount.objects.get(chain="bitcoin", state="pooled", purpose="deposit")

    sync = balances_sync(chain="bitcoin")

    assert [_figures(a) for a in accounts] == [
        (30_000, 30_000, 0),
        (47_000, 40_000, 7_000),
        (50_000, 50_000, 0),
        (9_000, 0, 9_000),
    ]
    assert (sync.drift_accounts, sync.drift_total) == (2, 16_000)
    untouched.refresh_from_db()
    assert untouched.balance_synced_at is None


def test_an_account_whose_figures_did_not_move_is_not_written_again(chain):
    moving, still = (
        allocate_account(chain="bitcoin", owner_kind="order", owner_id=i) for i in (1, 2)
    )
    chain.pay(moving.address, 30_000)
    chain.pay(still.address, 40_000)
    deposits_scan(chain="bitcoin")
    balances_sync(chain="bitcoin")
    still.refresh_from_db()
    first = still.balance_synced_at

    chain.pay(moving.address, 5_000)
    balances_sync(chain="bitcoin")

    assert _figures(moving) == (35_000, 0, 5_000)
    still.refresh_from_db()
    assert still.balance_synced_at == first


def test_a_deposit_the_node_no_longer_reports_shows_as_a_negative_drift(chain):
    account = allocate_account(chain="bitcoin", owner_kind="order", owner_id=1)
    chain.pay(account.address, 30_000)
    deposits_scan(chain="bitcoin")
    chain.mine(1)
    deposits_scan(chain="bitcoin", from_height=0)
    balances_sync(chain="bitcoin")
    assert _figures(account) == (30_000, 30_000, 0)

    chain.deposits.clear()  # the node forgot it
    sync = balances_sync(chain="bitcoin")

    assert _figures(account) == (0, 0, -30_000)
    assert (sync.drift_accounts, sync.drift_total) == (1, -30_000)
