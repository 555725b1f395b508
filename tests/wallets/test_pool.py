import io
import json
import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import close_old_connections, connections, transaction
from django.utils import timezone

from tests.factories import fill_pool, next_owner_id
from wallets.clients.base import node_calls
from wallets.clients.bitcoin import get_bitcoin_client
from wallets.clients.monero import get_monero_client
from wallets.locks import wallet_writer
from wallets.models import AccountState, Chain, Payout, PayoutState, WalletAccount
from wallets.services import (
    PoolEmpty,
    account_label_on_node,
    allocate_account,
    master_wallet_ensure,
    pool_refill,
    pooled_count,
)
from wallets.services.pool import RefillPaused
from wallets.services.pool_target import pool_target


@pytest.mark.parametrize("chain", Chain.values)
def test_refill_creates_accounts_on_the_node_with_their_deposit_address(wallets, chain):
    before = pooled_count(chain=chain)

    made = pool_refill(chain=chain, batch_size=2, target=before + 2)

    assert made == 2
    newest = WalletAccount.objects.filter(chain=chain, state=AccountState.POOLED).order_by("-id")[
        :2
    ]
    for account in newest:
        assert account.account_index > 0
        assert account.address
        if chain == Chain.BITCOIN:
            assert get_bitcoin_client().get_account(account.node_name) == (
                account.account_index,
                account.address,
            )
        else:
            assert get_monero_client().primary_address(account.account_index) == account.address


def test_fifty_concurrent_allocations_get_fifty_distinct_accounts_with_zero_node_calls(wallets):
    fill_pool(Chain.BITCOIN, at_least=50)
    owners = [next_owner_id() for _ in range(50)]
    claimed, errors = [], []
    barrier = threading.Barrier(50)

    def claim(owner_id):
        try:
            barrier.wait()
            with transaction.atomic():
                account = allocate_account(
                    chain=Chain.BITCOIN, owner_kind="test", owner_id=owner_id
                )
            claimed.append(account.id)
        except Exception as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    calls_before = node_calls()
    threads = [threading.Thread(target=claim, args=(o,)) for o in owners]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    close_old_connections()

    assert errors == []
    assert len(claimed) == 50
    assert len(set(claimed)) == 50
    assert node_calls() == calls_before
    rows = WalletAccount.objects.filter(id__in=claimed)
    assert {r.owner_id for r in rows} == set(owners)
    assert {r.state for r in rows} == {AccountState.ASSIGNED}


def test_an_empty_pool_is_a_503_with_retry_after(wallets, settings):
    wallet = master_wallet_ensure(chain=Chain.BITCOIN)
    pooled = WalletAccount.objects.filter(chain=Chain.BITCOIN, state=AccountState.POOLED)
    hidden = list(pooled.values_list("id", flat=True))
    # Empty the pool for the length of the test; holding the writer lock keeps any
    # refill (which the empty pool asks for) from touching these rows meanwhile.
    with wallet_writer(wallet.id):
        WalletAccount.objects.filter(id__in=hidden).update(state=AccountState.CREATING)
        try:
            with pytest.raises(PoolEmpty) as raised:
                allocate_account(chain=Chain.BITCOIN, owner_kind="test", owner_id=next_owner_id())
        finally:
            WalletAccount.objects.filter(id__in=hidden).update(state=AccountState.POOLED)

    assert raised.value.status_code == 503
    assert 1 <= int(raised.value.headers["Retry-After"]) <= settings.POOL_EMPTY_RETRY_AFTER_SECONDS


def test_a_refill_interrupted_after_the_node_call_finishes_the_same_account(wallets):
    """A crash between the node call and the row update leaves a 'creating' row; the next
    refill adopts the node's account instead of making another."""
    btc_wallet = master_wallet_ensure(chain=Chain.BITCOIN)
    xmr_wallet = master_wallet_ensure(chain=Chain.MONERO)
    # What a refill does up to its crash, holding the writer locks as a refill does.
    with wallet_writer(btc_wallet.id), wallet_writer(xmr_wallet.id):
        btc_row = WalletAccount.objects.create(
            master_wallet=btc_wallet, chain=Chain.BITCOIN, node_name=f"crash-{next_owner_id()}"
        )
        xmr_row = WalletAccount.objects.create(
            master_wallet=xmr_wallet, chain=Chain.MONERO, node_name=f"crash-{next_owner_id()}"
        )
        btc_index, btc_address = get_bitcoin_client().create_account(btc_row.node_name)
        xmr_index, xmr_address = get_monero_client().create_account(xmr_row.node_name)

    pool_refill(chain=Chain.BITCOIN, batch_size=1)
    pool_refill(chain=Chain.MONERO, batch_size=1)

    btc_row.refresh_from_db()
    xmr_row.refresh_from_db()
    assert (btc_row.state, btc_row.account_index, btc_row.address) == (
        AccountState.POOLED,
        btc_index,
        btc_address,
    )
    assert (xmr_row.state, xmr_row.account_index, xmr_row.address) == (
        AccountState.POOLED,
        xmr_index,
        xmr_address,
    )


def test_monero_accounts_get_the_owner_tag_on_the_node(wallets):
    account = allocate_account(chain=Chain.MONERO, owner_kind="order", owner_id=next_owner_id())

    assert account_label_on_node(account_id=account.id) is True
    assert account_label_on_node(account_id=account.id) is False  # already done

    tagged = get_monero_client().accounts(tag=account.owner_tag)
    assert [a["account_index"] for a in tagged] == [account.account_index]
    assert tagged[0]["label"] == account.owner_tag


def test_automatic_refills_keep_to_their_rate_and_stand_aside_for_payouts(wallets, settings):
    chain = Chain.BITCOIN
    minute_ago = timezone.now() - timedelta(seconds=60)
    recent = WalletAccount.objects.filter(chain=chain, pooled_at__gte=minute_ago).count()
    settings.POOL_REFILL_PER_MINUTE = {**settings.POOL_REFILL_PER_MINUTE, chain: recent + 2}
    target = pooled_count(chain=chain) + 10

    assert pool_refill(chain=chain, batch_size=10, target=target, paced=True) == 2
    with pytest.raises(RefillPaused):
        pool_refill(chain=chain, batch_size=10, target=target, paced=True)
    # An operator's refill (or a benchmark's) is not paced.
    assert pool_refill(chain=chain, batch_size=1, target=target) == 1

    settings.POOL_REFILL_PER_MINUTE = {**settings.POOL_REFILL_PER_MINUTE, chain: 0}
    with transaction.atomic():
        # Seen only inside this transaction, which is rolled back: no worker builds it.
        Payout.objects.create(
            key=f"test-yield-{next_owner_id()}",
            chain=chain,
            source_account=WalletAccount.objects.filter(chain=chain).first(),
            owner_kind="test",
            owner_id=0,
            kind="release",
            address="unused",
            amount=1,
            state=PayoutState.PENDING,
        )
        with pytest.raises(RefillPaused):
            pool_refill(chain=chain, batch_size=10, target=target, paced=True)
        transaction.set_rollback(True)
    assert pool_refill(chain=chain, batch_size=1, target=target, paced=True) == 1


def _burst(chain: str, n: int) -> tuple[int, int]:
    """``n`` allocations back to back, each in its own transaction: (served, refused)."""
    served = refused = 0
    for _ in range(n):
        try:
            with transaction.atomic():
                allocate_account(chain=chain, owner_kind="test", owner_id=next_owner_id())
            served += 1
        except PoolEmpty:
            refused += 1
    return served, refused


def _refill_to_target(chain: str) -> None:
    """What the refill task's batches add up to once the worker has caught up."""
    while pool_refill(chain=chain, target=pool_target(chain=chain, fresh=True)):
        pass


@pytest.mark.parametrize(("chain", "burst"), [(Chain.BITCOIN, 30), (Chain.MONERO, 12)])
def test_a_burst_beyond_the_floor_after_a_warm_up_is_served_without_a_refusal(
    wallets, settings, chain, burst
):
    settings.POOL_MIN = 5
    settings.POOL_DEMAND_FACTOR = Decimal("1.5")
    settings.POOL_MAX = burst * 3 // 2  # what a burst of this size earns, whatever came before
    settings.POOL_REFILL_PER_MINUTE = {**settings.POOL_REFILL_PER_MINUTE, chain: 6000}
    # The worker's own refills (its settings, not these) wait while the test holds the
    # wallet's writer lock; the test's refills take it again on the same connection.
    with wallet_writer(master_wallet_ensure(chain=chain).id):
        # The pool as the floor leaves it: earlier tests' spare accounts handed out two days ago
        # (outside the demand measure's day).
        _refill_to_target(chain)
        spare = pooled_count(chain=chain) - settings.POOL_MIN
        before = list(WalletAccount.objects.filter(chain=chain).values_list("id", flat=True))
        assert _burst(chain, spare) == (spare, 0)
        WalletAccount.objects.filter(chain=chain, state=AccountState.ASSIGNED).exclude(
            id__in=before
        ).update(assigned_at=timezone.now() - timedelta(days=2))
        assert pooled_count(chain=chain) == settings.POOL_MIN

        # Warm-up: a burst beyond the floor; the refused come back as the refill catches up.
        served = 0
        while served < burst:
            done, refused = _burst(chain, burst - served)
            served += done
            if refused:
                _refill_to_target(chain)
        _refill_to_target(chain)
        ready = pooled_count(chain=chain)

        calls = node_calls()
        assert _burst(chain, burst) == (burst, 0)  # (served, refused)
        assert node_calls() == calls
        assert ready == burst * 3 // 2

        out = io.StringIO()
        call_command("pool_status", "--json", stdout=out)
        status = json.loads(out.getvalue())[chain]
        assert status["target"] == burst * 3 // 2
        assert status["demand_peak"] >= burst
        assert status["pooled"] == burst * 3 // 2 - burst
        # The node's measured pace (the configured limit is higher here).
        assert status["refill_measured_per_minute"] > 0
        assert status["refill_per_minute"] == status["refill_measured_per_minute"]
