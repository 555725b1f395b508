"""A bitcoin scan resuming where the last one stopped reads what changed in its window, not
the wallet's whole history: counted in the transactions bcoin sends back.

Each test scans a master wallet of its own (a bcoin wallet made for it), so deposits and
payouts other tests leave moving do not reach into its reads; blocks are mined to the
customer wallet, so no coinbase lands in it.
"""

import itertools
import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from devtools.processes import wait_until
from devtools.regtest import regtest_mine, regtest_pay
from tests.factories import next_owner_id
from wallets.chains import adapter
from wallets.clients.bitcoin import BitcoinClient, get_bitcoin_client
from wallets.models import AccountState, Chain, Deposit, MasterWallet, WalletAccount
from wallets.services import deposits_scan
from wallets.services.deposits import final_confirmations

AMOUNT = 250_000
_wallet_numbers = itertools.count(int(time.time()))


@pytest.fixture
def sent(monkeypatch):
    """The txids bcoin returned to each of the scan's transaction reads, by wallet id."""
    got: dict[str, set[str]] = {}

    def spy(name):
        real = getattr(BitcoinClient, name)

        def call(self, *args, **kwargs):
            answer = real(self, *args, **kwargs)
            txs = answer if isinstance(answer, list) else [answer] if answer else []
            got.setdefault(self.wallet_id, set()).update(tx["hash"] for tx in txs)
            return answer

        return call

    for name in ("history", "pending", "recorded_since", "wallet_tx"):
        monkeypatch.setattr(BitcoinClient, name, spy(name))
    return got


@pytest.fixture
def own_wallet(wallets, settings):
    """A bitcoin master wallet of the test's own, and a way to make assigned accounts in it."""
    settings.SCAN_TIME_OVERLAP_SECONDS = 1
    wallet = MasterWallet.objects.create(
        chain=Chain.BITCOIN,
        name=f"scan-window-{next(_wallet_numbers)}",
        network="regtest",
        endpoint="BITCOIN",
        capacity=10,
    )
    chain = adapter(Chain.BITCOIN)
    chain.house_account(wallet)

    def account() -> WalletAccount:
        name = f"sw-{next_owner_id()}"
        index, address = chain.account_create(wallet, name)
        return WalletAccount.objects.create(
            master_wallet=wallet,
            chain=Chain.BITCOIN,
            account_index=index,
            node_name=name,
            address=address,
            state=AccountState.ASSIGNED,
            owner_kind="test",
            owner_id=next_owner_id(),
        )

    yield wallet, account
    Deposit.objects.filter(master_wallet=wallet).delete()
    WalletAccount.objects.filter(master_wallet=wallet).delete()
    wallet.delete()


def _mine(blocks: int) -> None:
    customer = get_bitcoin_client().new_address(wallet_id=settings.BITCOIN["customer_wallet_id"])
    regtest_mine(chain=Chain.BITCOIN, blocks=blocks, address=customer)


def _scan_until(account, predicate, what) -> Deposit:
    def check():
        deposits_scan(chain=Chain.BITCOIN)
        found = Deposit.objects.filter(account=account).first()
        return found if found is not None and predicate(found) else None

    return wait_until(check, timeout=30, interval=0.5, what=what)


def test_a_scan_gets_none_of_the_transactions_settled_below_its_window(own_wallet, sent):
    wallet, account = own_wallet
    final = final_confirmations(Chain.BITCOIN)
    old, new = account(), account()
    old_txid = regtest_pay(chain=Chain.BITCOIN, address=old.address, amount=AMOUNT)
    time.sleep(3)  # past the overlap: what comes next the wallet records seconds later
    _mine(final + 1)
    _scan_until(old, lambda d: d.confirmations >= final, "the old deposit settled")
    new_txid = regtest_pay(chain=Chain.BITCOIN, address=new.address, amount=AMOUNT)
    _mine(1)
    _scan_until(new, lambda d: d.confirmations >= 1, "the new deposit in a block")

    sent.clear()
    deposits_scan(chain=Chain.BITCOIN)
    assert new_txid in sent[wallet.name]
    assert old_txid not in sent[wallet.name]

    # The old one is still in the wallet's history: a rescan reads it.
    sent.clear()
    deposits_scan(chain=Chain.BITCOIN, from_height=0)
    assert {old_txid, new_txid} <= sent[wallet.name]


def test_a_deposit_the_wallet_recorded_long_before_keeps_counting_confirmations(own_wallet):
    """The deposit's transaction is older than the last scan and than the newest deposit
    in a block: the read still reaches it while it is not settled."""
    _wallet, account = own_wallet
    first, second = account(), account()
    regtest_pay(chain=Chain.BITCOIN, address=first.address, amount=AMOUNT)
    _mine(1)
    _scan_until(first, lambda d: d.confirmations >= 1, "the first deposit in a block")
    time.sleep(3)
    regtest_pay(chain=Chain.BITCOIN, address=second.address, amount=AMOUNT)
    _mine(1)
    _scan_until(second, lambda d: d.confirmations >= 1, "the second deposit in a block")
    _mine(1)
    deposits_scan(chain=Chain.BITCOIN)

    older = Deposit.objects.get(account=first)
    newer = Deposit.objects.get(account=second)
    assert (older.confirmations, newer.confirmations) == (3, 2)


def test_a_node_whose_clock_disagrees_is_read_whole(own_wallet, sent, monkeypatch):
    """The reach is set in this machine's time: with the clocks apart by more than the
    overlap allows, the scan reads the wallet's whole history rather than miss a deposit."""
    wallet, account = own_wallet
    final = final_confirmations(Chain.BITCOIN)
    old, new = account(), account()
    old_txid = regtest_pay(chain=Chain.BITCOIN, address=old.address, amount=AMOUNT)
    time.sleep(3)
    _mine(final + 1)
    _scan_until(old, lambda d: d.confirmations >= final, "the old deposit settled")
    regtest_pay(chain=Chain.BITCOIN, address=new.address, amount=AMOUNT)
    _mine(1)
    _scan_until(new, lambda d: d.confirmations >= 1, "the new deposit in a block")
    sent.clear()
    deposits_scan(chain=Chain.BITCOIN)
    assert old_txid not in sent[wallet.name]

    real_now = timezone.now
    monkeypatch.setattr(timezone, "now", lambda: real_now() - timedelta(seconds=120))
    sent.clear()
    deposits_scan(chain=Chain.BITCOIN)
    assert old_txid in sent[wallet.name]
