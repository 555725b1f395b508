"""A relayed bitcoin payout the chain leaves unconfirmed past BITCOIN_FEE_BUMP_AFTER_BLOCKS
is bumped once, by a child spending its change back into its account at the policy's rate
(bcoin 1.0.2 cannot replace a transaction), recorded on the same payout, and the
destination is paid exactly once; a payout without change, and every Monero payout, is
followed as it is.

Miners that ignore a low fee are played by the node itself: ``prioritisetransaction``
takes the payout's fee away in the node's eyes (bcoin's miner leaves out a transaction
whose own fee, so modified, is below the relay minimum, and a child only after its
parent), and gives it back once the test has seen the bump. Every fee and size checked
is read from the node, never from the rows the engine wrote. The saga runs in the test's
process (nothing is handed to a worker), so the settings the test sets are the ones it
runs with."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction
from django.test import Client

from devtools.processes import wait_until
from funding.models import FundingState
from orders.models import EscrowOrder
from ownership.models import LedgerEntry, OwnershipTransfer
from tests.books import assert_books_clean, measured, violations
from tests.chain import mine, receiver
from tests.flows import assert_books_match, create, pay_and_escrow, settle
from tests.orders.test_exactly_once import spends_from
from wallets.chains import adapter
from wallets.clients.base import NodeRejected
from wallets.clients.bitcoin import btc_to_sat, get_bitcoin_client
from wallets.models import (
    AccountPurpose,
    OwnerKind,
    Payout,
    PayoutKind,
    PayoutState,
    WalletAccount,
)
from wallets.services import deposits_scan
from wallets.services.payouts import moves, payout_process, payout_request, tracking

AFTER = 3  # blocks a relayed payout may stay unconfirmed before its fee is bumped
RATE = 25  # satoshi per virtual byte the policy asks for once the payout is stuck


@pytest.fixture
def in_process(monkeypatch, settings, celery_worker):
    """Orders move on in the worker; their payouts are driven by the test alone (never
    handed to the worker), followed at every call, bumped after AFTER blocks, and built
    at the default floor (2 sat/vB) until the test raises it."""
    monkeypatch.setattr(moves, "payout_enqueue", lambda payout_id: None)
    monkeypatch.setattr(tracking, "payout_enqueue", lambda payout_id: None)
    settings.PAYOUT_RERELAY_AFTER_SECONDS = 0
    _policy(settings, "BTC", fee_bump_after_blocks=AFTER, fee_rate_min=2)


def _policy(settings, code: str, **values) -> None:
    settings.COIN_SETTINGS = {
        **settings.COIN_SETTINGS,
        code: {**settings.COIN_SETTINGS[code], **values},
    }


def _relayed(person, order, action: str, kind: str) -> Payout:
    response = person.api.post(f"/api/orders/{order['id']}/{action}", {}, format="json")
    assert response.status_code == 200, response.json()
    payout = Payout.objects.get(owner_kind="order", owner_id=order["id"], kind=kind)
    payout = payout_process(payout_id=payout.id)
    assert payout.state == PayoutState.RELAYED, payout.last_error
    return payout


def _input_value(txid: str, index: int) -> int:
    """What an output is worth, as the node says: from its mempool or its chain."""
    node = get_bitcoin_client()
    try:
        return btc_to_sat(node.node_rpc("getrawtransaction", txid, True)["vout"][index]["value"])
    except NodeRejected:  # in a block: no transaction index, but the coin itself
        return btc_to_sat(node.node_rpc("gettxout", txid, index, False)["value"])


def _node_tx(txid: str) -> dict:
    """A mempool transaction as the node reads it: its real fee (inputs less outputs,
    whatever priority it was given) and its virtual size in the mempool."""
    node = get_bitcoin_client()
    raw = node.node_rpc("getrawtransaction", txid, True)
    paid_in = sum(_input_value(i["txid"], int(i["vout"])) for i in raw["vin"])
    paid_out = sum(btc_to_sat(o["value"]) for o in raw["vout"])
    entry = node.node_rpc("getmempoolentry", txid)
    return {"fee": paid_in - paid_out, "size": int(entry["size"]), "entry": entry, "raw": raw}


def _out_of_blocks(payout: Payout) -> int:
    """Miners ignore it from now on (its fee counts as 0 to the node). Returns its fee."""
    fee = _node_tx(payout.txid)["fee"]
    get_bitcoin_client().node_rpc("prioritisetransaction", payout.txid, 0, -fee)
    assert Decimal(get_bitcoin_client().node_rpc("getmempoolentry", payout.txid)["fee"]) == 0
    return fee


def _back_in_blocks(payout: Payout, fee: int) -> None:
    get_bitcoin_client().node_rpc("prioritisetransaction", payout.txid, 0, fee)


def _blocks_pass(blocks: int) -> None:
    mine("bitcoin", blocks)
    deposits_scan(chain="bitcoin")


def _payments_to(account, address: str) -> list[tuple[str, int]]:
    """Every output paying ``address`` in the node's transactions spending from the
    account: (txid, value)."""
    node = get_bitcoin_client()
    return [
        (txid, int(output["value"]))
        for txid in spends_from(account)
        for output in node.wallet_tx(txid)["outputs"]
        if output.get("address") == address
    ]


def test_a_payout_kept_out_of_blocks_is_bumped_once_by_a_child_of_its_change(
    buyer, vendor, in_process, settings
):
    before = violations()
    order = create(buyer, vendor, "BTC")
    pay_and_escrow(order, "BTC")
    payout = _relayed(buyer, order, "release", "release")
    fee = _out_of_blocks(payout)

    _blocks_pass(AFTER - 1)
    payout = payout_process(payout_id=payout.id)
    assert payout.state == PayoutState.RELAYED
    assert payout.bump_txid == "", "bumped before the setting's blocks had passed"

    # Fees rise while it waits: the policy's rate is now RATE.
    _policy(settings, "BTC", fee_rate_min=RATE)
    _blocks_pass(1)
    payout = payout_process(payout_id=payout.id)
    assert payout.state == PayoutState.RELAYED
    assert payout.bump_txid, payout.last_error
    node = get_bitcoin_client()
    wait_until(lambda: payout.bump_txid in node.mempool(), timeout=10, what="the child relayed")
    # The exactly-once checker knows the child, unconfirmed, as the payout's own.
    assert_books_clean(ignore=before)

    parent, child = _node_tx(payout.txid), _node_tx(payout.bump_txid)
    assert child["entry"]["depends"] == [payout.txid]
    # One input, the payout's change; one output, back to the same change address.
    (spent,) = child["raw"]["vin"]
    assert spent["txid"] == payout.txid
    change = parent["raw"]["vout"][int(spent["vout"])]["scriptPubKey"]["addresses"]
    (back,) = child["raw"]["vout"]
    assert back["scriptPubKey"]["addresses"] == change
    assert vendor.receivers["BTC"].address not in change
    # The two together pay the policy's rate (a byte of signature length at most over).
    package_fee, package_size = parent["fee"] + child["fee"], parent["size"] + child["size"]
    assert RATE * package_size <= package_fee <= RATE * (package_size + 2)
    assert child["fee"] >= RATE * child["size"]
    # Recorded on the same payout, and what it really paid is what it says.
    assert parent["fee"] == fee == payout.network_fee
    assert child["fee"] == payout.bump_fee
    assert payout.total_fee == package_fee
    assert payout.bump_raw_tx
    assert payout.bumped_at is not None
    assert payout.bump_bearer == "platform:fees"
    assert Payout.objects.filter(owner_kind="order", owner_id=order["id"]).count() == 1

    # Still stuck: it is followed, never bumped a second time.
    _blocks_pass(AFTER + 1)
    payout = payout_process(payout_id=payout.id)
    assert spends_from(payout.source_account) == {payout.txid, payout.bump_txid}

    _back_in_blocks(payout, fee)
    settle("BTC", order["id"], FundingState.COMPLETED)
    payout.refresh_from_db()
    assert payout.state == PayoutState.CONFIRMED
    assert int(node.wallet_tx(payout.bump_txid)["height"]) >= 0
    # The destination was paid once, by the payout's own transaction, of what it says.
    row = EscrowOrder.objects.get(id=order["id"])
    address = vendor.receivers["BTC"].address
    assert _payments_to(row.account, address) == [(payout.txid, payout.sent_amount)]
    assert measured("bitcoin", [(row.account, address)]) == {
        "expected": 1,
        "made": 1,
        "duplicated": 0,
        "lost": 0,
    }
    assert vendor.receivers["BTC"].received() == payout.sent_amount
    assert payout.sent_amount == payout.amount - payout.network_fee
    # The platform's fee in the account paid the child, in the ledger and the trail.
    platform = LedgerEntry.objects.filter(
        account="platform:fees", transaction__owner_kind="order", transaction__owner_id=row.id
    )
    assert sum(e.debit - e.credit for e in platform) == row.fee_amount - payout.bump_fee
    bumps = OwnershipTransfer.objects.filter(
        account=row.account, from_party="platform:fees", to_party="network:fees"
    )
    assert list(bumps.values_list("amount", flat=True)) == [payout.bump_fee]
    assert_books_match(row)
    assert_books_clean(ignore=before)
    # Staff see what it really paid, and the child.
    admin = Client()
    admin.force_login(
        get_user_model().objects.create_superuser(f"fees-{uuid.uuid4().hex[:12]}", password=None)
    )
    page = admin.get(f"/admin/wallets/payout/{payout.id}/change/").content.decode()
    assert payout.bump_txid in page
    assert str(payout.total_fee) in page
    listing = admin.get("/admin/wallets/payout/", {"q": payout.bump_txid}).content.decode()
    assert f">{payout.total_fee}<" in listing


def test_a_payout_of_the_house_is_bumped_at_the_houses_cost(in_process, settings, wallets):
    """The liquidity account (a legacy account on regtest) pays for its own payout's
    child from its change, and the house bears it."""
    before = violations()
    house = WalletAccount.objects.get(chain="bitcoin", purpose=AccountPurpose.LIQUIDITY)
    paid_to = receiver("bitcoin")
    with transaction.atomic():
        payout = payout_request(
            key=f"house-bump-{uuid.uuid4().hex[:12]}",
            source_account=house,
            address=paid_to.address,
            amount=1_000_000,
            kind=PayoutKind.WITHDRAWAL,
            owner_kind=OwnerKind.HOUSE,
            owner_id=house.master_wallet_id,
            ledger_from="house",
        )
    payout = payout_process(payout_id=payout.id)
    assert payout.state == PayoutState.RELAYED, payout.last_error
    fee = _out_of_blocks(payout)

    _policy(settings, "BTC", fee_rate_min=RATE)
    _blocks_pass(AFTER)
    payout = payout_process(payout_id=payout.id)
    assert payout.bump_txid, payout.last_error
    node = get_bitcoin_client()
    wait_until(lambda: payout.bump_txid in node.mempool(), timeout=10, what="the child relayed")
    parent, child = _node_tx(payout.txid), _node_tx(payout.bump_txid)
    assert parent["fee"] + child["fee"] >= RATE * (parent["size"] + child["size"])
    assert child["fee"] == payout.bump_fee
    assert payout.bump_bearer == "house"
    legs = LedgerEntry.objects.filter(transaction__memo__contains=f"fee bump {payout.bump_txid}")
    assert sorted(legs.values_list("account", "debit", "credit")) == [
        ("house", 0, payout.bump_fee),
        ("network:fees", payout.bump_fee, 0),
    ]

    _back_in_blocks(payout, fee)
    wait_until(
        lambda: _blocks_pass(1) or Payout.objects.get(id=payout.id).state == PayoutState.CONFIRMED,
        timeout=60,
        what="the payout confirmed",
    )
    assert _payments_to(house, paid_to.address) == [(payout.txid, payout.sent_amount)]
    assert paid_to.received() == payout.sent_amount
    assert_books_clean(ignore=before)


def test_a_payout_without_change_is_not_bumped_and_says_why(buyer, vendor, in_process):
    before = violations()
    refund_to = receiver("bitcoin")
    order = create(buyer, vendor, "BTC", refund_address=refund_to.address)
    pay_and_escrow(order, "BTC")
    payout = _relayed(vendor, order, "refund", "refund")
    fee = _out_of_blocks(payout)

    _blocks_pass(AFTER + 1)
    payout = payout_process(payout_id=payout.id)
    assert payout.state == PayoutState.RELAYED
    assert payout.bump_txid == ""
    assert payout.bump_fee == 0
    assert "no change output" in payout.last_error
    assert spends_from(payout.source_account) == {payout.txid}

    _back_in_blocks(payout, fee)
    settle("BTC", order["id"], FundingState.REFUNDED)
    payout.refresh_from_db()
    assert payout.state == PayoutState.CONFIRMED
    assert refund_to.received() == payout.sent_amount
    assert_books_match(EscrowOrder.objects.get(id=order["id"]))
    assert_books_clean(ignore=before)


def test_monero_payouts_are_never_bumped(buyer, vendor, in_process, settings):
    """Even with a bump setting given, a Monero payout past it is followed as it is: its
    adapter has no fee bump."""
    _policy(settings, "XMR", fee_bump_after_blocks=1)
    before = violations()
    order = create(buyer, vendor, "XMR")
    pay_and_escrow(order, "XMR")
    payout = _relayed(buyer, order, "release", "release")
    assert adapter("monero").payout_bump(payout) is None

    wallet = payout.source_account.master_wallet
    wallet.refresh_from_db()
    Payout.objects.filter(id=payout.id).update(relayed_height=wallet.scanned_height - 5)
    payout = payout_process(payout_id=payout.id)
    assert payout.state == PayoutState.RELAYED
    assert (payout.bump_txid, payout.bump_fee, payout.bumped_at) == ("", 0, None)
    assert "bump" not in payout.last_error

    settle("XMR", order["id"], FundingState.COMPLETED)
    assert vendor.receivers["XMR"].received() == Payout.objects.get(id=payout.id).sent_amount
    assert_books_clean(ignore=before)
