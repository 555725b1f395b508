"""A fee bump's books, against an in-memory chain: the child's fee leaves the platform's
share of the order's account once, goes back if the payout's transaction can no longer
land, and is never more than that share."""

import pytest
from django.contrib.auth import get_user_model

from orders.services import order_apply_deposits, order_create, order_release
from orders.services.vendors import vendor_payout_address_set
from ownership.models import LedgerEntry, OwnershipTransfer
from tests.fast.fake_chain import fake_chain
from wallets.models import Payout, PayoutState
from wallets.services import deposits_scan
from wallets.services.payouts import payout_process

pytestmark = pytest.mark.django_db(transaction=False)

AFTER = 2


@pytest.fixture
def chain(settings):
    settings.PAYOUT_RERELAY_AFTER_SECONDS = 0
    settings.CONFIRMATIONS_REQUIRED = {**settings.CONFIRMATIONS_REQUIRED, "bitcoin": [(None, 1)]}
    settings.COIN_SETTINGS = {
        **settings.COIN_SETTINGS,
        "BTC": {**settings.COIN_SETTINGS["BTC"], "fee_bump_after_blocks": AFTER},
    }
    with fake_chain("bitcoin") as fake:
        yield fake


def _stuck_release(chain, name: str):
    """An escrow released; its payout relayed and left out of every block."""
    from wallets.services.pool import pool_refill

    pool_refill(chain="bitcoin", batch_size=1, target=1)
    users = get_user_model().objects
    buyer = users.create_user(username=f"{name}-buyer", password=None)
    vendor = users.create_user(username=f"{name}-vendor", password=None)
    vendor_payout_address_set(user=vendor, currency="BTC", address="fake1vendor")
    order = order_create(
        buyer=buyer, vendor_username=vendor.username, currency="BTC", amount=100_000
    )
    chain.pay(order.account.address, 100_000)
    chain.mine(1)
    deposits_scan(chain="bitcoin")
    order = order_apply_deposits(order_id=order.id)
    order_release(order_id=order.id, actor=buyer, reason="")
    payout = payout_process(payout_id=Payout.objects.get(owner_kind="order", owner_id=order.id).id)
    assert payout.state == PayoutState.RELAYED
    chain.stuck.add(payout.txid)
    return order, payout


def _blocks_pass(chain, blocks: int) -> None:
    chain.mine(blocks)
    deposits_scan(chain="bitcoin")


def _held(order, account: str) -> int:
    rows = LedgerEntry.objects.filter(
        account=account, transaction__owner_kind="order", transaction__owner_id=order.id
    )
    return sum(e.debit - e.credit for e in rows)


def test_a_bump_is_booked_once_and_undone_when_its_payout_cannot_land(chain):
    order, payout = _stuck_release(chain, "bump")
    chain.bump_fee = 700

    _blocks_pass(chain, AFTER - 1)
    assert payout_process(payout_id=payout.id).bump_txid == ""
    _blocks_pass(chain, 1)
    payout = payout_process(payout_id=payout.id)
    _blocks_pass(chain, AFTER)
    payout_process(payout_id=payout.id)
    payout_process(payout_id=payout.id)

    assert chain.calls.count("payout_bump") == 1
    assert payout.bump_txid in chain.relayed
    assert (payout.bump_fee, payout.bump_bearer, payout.total_fee) == (
        700,
        "platform:fees",
        payout.network_fee + 700,
    )
    assert _held(order, "platform:fees") == order.fee_amount - 700
    assert _held(order, "network:fees") == payout.network_fee + 700

    chain.conflicted.add(payout.txid)
    payout = payout_process(payout_id=payout.id)

    assert payout.state == PayoutState.FAILED
    assert _held(order, "platform:fees") == order.fee_amount
    assert _held(order, "network:fees") == 0
    trail = OwnershipTransfer.objects.filter(account=order.account, amount=700)
    assert list(trail.values_list("from_party", "to_party", "reason")) == [
        ("platform:fees", "network:fees", "fee bump"),
        ("network:fees", "platform:fees", "fee bump undone"),
    ]


def test_a_bump_never_costs_more_than_the_platform_earned_from_the_order(chain):
    order, payout = _stuck_release(chain, "cap")
    chain.bump_fee = order.fee_amount + 1

    _blocks_pass(chain, AFTER)
    payout = payout_process(payout_id=payout.id)

    assert payout.bump_txid == ""
    assert "more than" in payout.last_error
    assert _held(order, "platform:fees") == order.fee_amount
