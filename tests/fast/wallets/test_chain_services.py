"""The services above the chain adapters, against an in-memory chain: pool, deposits,
crediting, an escrow release and its payout, with no node."""

import pytest
from django.contrib.auth import get_user_model

from funding.models import FundingState
from orders.models import OrderState
from orders.services import order_apply_deposits, order_create, order_release
from orders.services.vendors import vendor_payout_address_set
from tests.fast.fake_chain import FEE, fake_chain
from wallets.models import AccountState, Deposit, Payout, PayoutState, WalletAccount
from wallets.services import deposits_scan
from wallets.services.payouts import payout_process
from wallets.services.pool import _account_move, account_retire, allocate_account, pool_refill

pytestmark = pytest.mark.django_db(transaction=False)


@pytest.fixture
def chain():
    with fake_chain("bitcoin") as fake:
        yield fake


def _user(name: str):
    return get_user_model().objects.create_user(username=name, password=None)


def test_a_refill_makes_accounts_on_the_chain_and_an_allocation_calls_it_no_more(chain):
    made = pool_refill(chain="bitcoin", batch_size=3, target=3)

    assert made == 3
    pooled = WalletAccount.objects.filter(chain="bitcoin", state=AccountState.POOLED)
    assert sorted(a.address for a in pooled) == sorted(
        address for name, (_, address) in chain.accounts.items() if name != "default"
    )
    calls = len(chain.calls)
    account = allocate_account(chain="bitcoin", owner_kind="order", owner_id=1)
    assert account.state == AccountState.ASSIGNED
    assert len(chain.calls) == calls


def test_a_deposit_is_recorded_once_and_follows_its_confirmations(chain):
    pool_refill(chain="bitcoin", batch_size=1, target=1)
    account = allocate_account(chain="bitcoin", owner_kind="order", owner_id=2)
    txid = chain.pay(account.address, 50_000)

    deposits_scan(chain="bitcoin")
    deposits_scan(chain="bitcoin")
    deposit = Deposit.objects.get(txid=txid)
    assert (deposit.amount, deposit.confirmations, deposit.height) == (50_000, 0, None)

    chain.mine(3)
    deposits_scan(chain="bitcoin", from_height=0)
    deposit.refresh_from_db()
    assert deposit.confirmations == 3
    assert Deposit.objects.filter(txid=txid).count() == 1


def test_an_escrow_is_credited_once_released_and_paid_less_the_fee(chain, settings):
    settings.CONFIRMATIONS_REQUIRED = {**settings.CONFIRMATIONS_REQUIRED, "bitcoin": [(None, 2)]}
    pool_refill(chain="bitcoin", batch_size=1, target=1)
    buyer, vendor = _user("fake-buyer"), _user("fake-vendor")
    vendor_payout_address_set(user=vendor, currency="BTC", address="fake1vendor")
    order = order_create(buyer=buyer, vendor_username="fake-vendor", currency="BTC", amount=100_000)
    chain.pay(order.account.address, 100_000)
    deposits_scan(chain="bitcoin")
    assert order_apply_deposits(order_id=order.id).state == FundingState.CONFIRMING

    chain.mine(1)
    deposits_scan(chain="bitcoin")
    assert order_apply_deposits(order_id=order.id).state == FundingState.CONFIRMING
    chain.mine(1)
    deposits_scan(chain="bitcoin")
    order = order_apply_deposits(order_id=order.id)
    order = order_apply_deposits(order_id=order.id)  # a second run credits nothing more
    assert order.state == OrderState.ESCROWED
    assert order.escrowed_amount == 100_000
    assert Deposit.objects.filter(account=order.account, credited_at__isnull=False).count() == 1

    order_release(order_id=order.id, actor=buyer, reason="")
    payout = Payout.objects.get(owner_kind="order", owner_id=order.id)
    payout_process(payout_id=payout.id)
    payout_process(payout_id=payout.id)  # safe to run twice: one transaction
    payout.refresh_from_db()
    assert payout.state == PayoutState.RELAYED
    assert len(chain.sent) == 1
    assert payout.address == "fake1vendor"
    assert payout.amount == 100_000 - order.fee_amount
    assert payout.network_fee == FEE
    assert payout.sent_amount == payout.amount - FEE


def test_an_account_is_never_handed_to_a_second_owner(chain):
    pool_refill(chain="bitcoin", batch_size=1, target=1)
    account = allocate_account(chain="bitcoin", owner_kind="order", owner_id=3)

    assert account_retire(account_id=account.id)
    assert not account_retire(account_id=account.id)
    for back in (AccountState.POOLED, AccountState.ASSIGNED, AccountState.CREATING):
        with pytest.raises(ValueError, match="cannot go from retired"):
            _account_move(account.id, back, from_state=AccountState.RETIRED)
    account.refresh_from_db()
    assert (account.state, account.owner_id) == (AccountState.RETIRED, 3)


def test_a_master_wallet_recorded_under_an_earlier_default_name_stays_the_first(chain):
    from wallets.models import MasterWallet
    from wallets.services.master_wallets import house_account_ensure, master_wallet_ensure

    # As a wallet recorded when the default was bcoin's own "primary".
    first = master_wallet_ensure(chain="bitcoin")
    house_account_ensure(wallet=first)
    MasterWallet.objects.filter(id=first.id).update(name="primary")

    assert master_wallet_ensure(chain="bitcoin").id == first.id
    assert MasterWallet.objects.filter(chain="bitcoin").count() == 1
