"""The restore drill (``manage.py backup``, ``manage.py restore``): a machine lost mid-flow
comes back from its backup on empty wallets, an empty database and an empty Redis, and
loses nothing. Orders wait for deposits, one deposit is confirming, one order is in escrow,
one has its payout relayed and unconfirmed and one its payout pending when the backup is
taken; the machine sends that pending payout before it is lost; then the master wallets'
data (bcoin's wallet database, the Monero wallet files), the database and Redis are
destroyed. After the restore every order completes, every deposit made before the
backup, while the machine was down and after it came back is seen, each order's account
pays its vendor exactly once (read from the nodes: the payout sent after the backup is
recorded as its transaction, not built again) and reconcile is clean. The run goes on
with the restored machine: later tests use it as they would the original."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from django.conf import settings
from django.db import connection, connections

from devtools.processes import PYTHON, wait_until
from devtools.regtest import regtest_mine
from devtools.regtest_nodes import home, processes, running_pid, start, terminate
from exchange.redis import get_redis
from funding.models import FundingState
from operations.books import node_spends, payments_measured
from orders.models import EscrowOrder, OrderState
from swaps.models import SwapOrder, SwapState
from swaps.services import swap_apply_deposits
from tests.books import assert_books_clean, violations
from tests.chain import CHAIN_OF, drive, mine, pay, receiver
from tests.factories import fill_pool
from tests.flows import CREDIT_BLOCKS, create, pay_and_escrow, settle, state_of
from tests.processes import launcher
from tests.testenv import ROOT
from wallets.chains import adapter
from wallets.clients.base import NodeError
from wallets.clients.bitcoin import get_bitcoin_client
from wallets.clients.monero import get_monero_client
from wallets.models import AccountPurpose, Deposit, MasterWallet, Payout, PayoutState, WalletAccount
from wallets.services.payouts import payout_process

PASSPHRASE = "drill passphrase, kept apart from the backup"
GAP = 4


def manage(*args: str) -> subprocess.CompletedProcess:
    """A management command as the operator runs it: its own process."""
    return subprocess.run(  # noqa: S603 - fixed argv
        [PYTHON, str(ROOT / "manage.py"), *args],
        env=launcher.environ(BACKUP_PASSPHRASE=PASSPHRASE, RESTORE_ACCOUNT_GAP=str(GAP)),
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )


def proc_named(name: str):
    return next(p for p in processes() if p.name == name)


def restart_destroyed(name: str, *paths) -> None:
    """Stop a node process, delete ``paths`` (its wallet data), start it again."""
    proc = proc_named(name)
    pid = running_pid(proc)
    if pid:
        terminate(pid)
    for path in paths:
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
    start(proc)


def answers(call, **kwargs) -> bool:
    try:
        call(**kwargs)
    except NodeError:
        return False
    return True


def customer_bitcoin_wallet() -> MasterWallet:
    """The payers' bcoin wallet, shaped as a master wallet so the adapter can save and
    restore it too: it shares the node's wallet database with the engine's."""
    return MasterWallet(
        chain="bitcoin", name=settings.BITCOIN["customer_wallet_id"], endpoint="BITCOIN"
    )


def release(buyer, order) -> Payout:
    response = buyer.api.post(f"/api/orders/{order['id']}/release", {}, format="json")
    assert response.status_code == 200, response.json()
    return Payout.objects.get(owner_kind="order", owner_id=order["id"], kind="release")


def deposit_txids(order) -> set[str]:
    account = EscrowOrder.objects.get(id=order["id"]).account
    return set(
        Deposit.objects.filter(account=account, dropped=False).values_list("txid", flat=True)
    )


def test_a_machine_lost_mid_flow_is_restored_from_its_backup_and_loses_nothing(
    buyer, vendor, celery_worker, tmp_path, proof
):
    drill(buyer, vendor, celery_worker, tmp_path, proof)


@pytest.mark.slow
def test_a_machine_lost_with_a_swap_exchanging_is_restored_and_the_swap_pays_once(
    buyer, vendor, celery_worker, market, tmp_path, proof
):
    drill(buyer, vendor, celery_worker, tmp_path, proof, market=market)


def swap_exchanging(market):
    """An XMR → BTC swap whose deposit is credited and exchanged, its house payout
    requested and not sent: the worker is down, so the test applies the deposit as the
    worker's task would. Monero blocks credit it; no bitcoin block is mined, so the
    bitcoin payout relayed before stays unconfirmed."""
    payout_to, refund_to = receiver("bitcoin"), receiver("monero")
    quoted = market.post(
        "/api/quotes",
        {
            "from_currency": "XMR",
            "to_currency": "BTC",
            "amount_from": "1000000000000",
            "type": "fixed",
        },
        format="json",
    ).json()
    created = market.post(
        "/api/swaps",
        {
            "quote_id": quoted["id"],
            "payout_address": payout_to.address,
            "refund_address": refund_to.address,
        },
        format="json",
    ).json()
    swap_id = SwapOrder.objects.get(public_id=created["id"]).id
    pay("monero", created["deposit_address"], int(quoted["amount_from"]))
    mine("monero", CREDIT_BLOCKS["XMR"])
    drive(
        "monero",
        lambda: swap_apply_deposits(swap_id=swap_id).state == SwapState.SENDING,
        what="exchanging",
    )
    assert Payout.objects.get(owner_kind="swap", owner_id=swap_id).state == PayoutState.PENDING
    return created, payout_to


def swap_state(public_id: str) -> str:
    return SwapOrder.objects.get(public_id=public_id).state


def drill(buyer, vendor, celery_worker, tmp_path, proof, *, market=None):
    proof.update(
        scenario="restore drill: backup mid-flow, wallets, database and Redis destroyed"
        + (", a swap exchanging" if market else ""),
        injected="bcoin wallet database, Monero wallet files, database and Redis deleted",
    )
    btc, xmr = get_bitcoin_client(), get_monero_client()
    # --- mid-flow on the machine about to be lost -----------------------------------
    paid_after = {c: create(buyer, vendor, c) for c in ("BTC", "XMR")}
    paid_while_down = create(buyer, vendor, "XMR")
    confirming = create(buyer, vendor, "BTC")
    escrowed = create(buyer, vendor, "XMR")
    pay_and_escrow(escrowed, "XMR")
    relayed = create(buyer, vendor, "BTC")
    pay_and_escrow(relayed, "BTC")
    sent_after = create(buyer, vendor, "BTC")
    pay_and_escrow(sent_after, "BTC")
    payout = release(buyer, relayed)
    drive("bitcoin", lambda: payout_state(payout) == PayoutState.RELAYED, what="relayed")
    confirming_txid = pay("bitcoin", confirming["deposit_address"], int(confirming["amount"]))
    drive(
        "bitcoin", lambda: state_of(confirming["id"]) == FundingState.CONFIRMING, what="confirming"
    )
    celery_worker.proc.stop()
    # Released with the worker down: its payout is pending in the backup.
    late_payout = release(buyer, sent_after)
    swap, swap_to = swap_exchanging(market) if market else (None, None)
    # Findings that stand before the drill (made on purpose by earlier tests of the run):
    # the restored machine must show them as they are, and nothing more.
    before = violations()
    out_of_band = spends_by_no_payout()
    states_at_backup = {o["id"]: state_of(o["id"]) for o in (escrowed, relayed)}

    done = manage("backup", "--to", str(tmp_path / "backup"))
    assert done.returncode == 0, done.stderr
    manifest = json.loads((tmp_path / "backup" / "manifest.json").read_text())
    highest = {w["chain"]: w["highest_account_index"] for w in manifest["wallets"]}

    # --- the machine is down: a customer pays all the same -------------------------
    while_down_txid = pay(
        "monero", paid_while_down["deposit_address"], int(paid_while_down["amount"])
    )
    # ... and the machine sends a payout the backup holds as pending, as its worker would.
    wait_until(
        lambda: payout_process(payout_id=late_payout.id).state == PayoutState.RELAYED,
        timeout=60,
        what="the payout sent after the backup",
    )
    late_payout.refresh_from_db()
    late_raw = late_payout.raw_tx
    # --- the machine is lost --------------------------------------------------------
    # The payers' bitcoin wallet lives in the same bcoin wallet database: it is saved to be
    # put back as the payers' own wallet would be. The network keeps the deposit that is
    # still unconfirmed; this regtest node is the network, so it is relayed again.
    customer = customer_bitcoin_wallet()
    customer_saved = adapter("bitcoin").wallet_backup(customer)
    confirming_raw = btc.wallet_tx(confirming_txid, wallet_id=customer.name)["tx"]
    bcoin_wallets = home() / "bcoin" / "regtest" / "wallet"
    monero_files = list((home() / "wallet-master").glob(f"{settings.MONERO['wallet_file']}*"))
    assert bcoin_wallets.is_dir()
    assert monero_files
    restart_destroyed("bcoin", bcoin_wallets)
    restart_destroyed("monero-wallet-rpc", *monero_files)
    name = connection.settings_dict["NAME"]
    connections.close_all()
    with connection.cursor() as cursor:
        cursor.execute(f"DROP DATABASE `{name}`")
    connections.close_all()
    get_redis().flushdb()
    wait_until(lambda: answers(btc.wallet_info, wallet_id="primary"), timeout=300, what="bcoin")
    wait_until(lambda: answers(xmr.wallet_version, timeout=2), timeout=300, what="wallet-rpc")
    adapter("bitcoin").wallet_restore(customer, customer_saved, gap=0)
    btc.broadcast(confirming_raw)
    btc.broadcast(late_raw)
    # The network confirms what it holds while the machine is down (to a payer's address:
    # the master wallet is gone).
    regtest_mine(chain="bitcoin", blocks=1, address=receiver("bitcoin").address)

    # --- the restore, as the README tells the operator -------------------------------
    done = manage("restore", "--from", str(tmp_path / "backup"))
    assert done.returncode in (0, 2), done.stdout + done.stderr
    connections.close_all()
    # The payout sent after the backup is recorded as that transaction, never built again.
    assert f"sent after the backup as {late_payout.txid}" in done.stdout, done.stdout
    assert Payout.objects.get(id=late_payout.id).txid == late_payout.txid
    after = violations()
    # A restored Monero wallet learns the transfers it sent from the chain, without their
    # destinations: a payout is still known by its txid and proved by its key, while an
    # earlier test's out-of-band transfer to the wallet's own address now reads as a
    # spend to an unknown one.
    new = {key for key in set(after) - set(before) if key[2] not in out_of_band}
    assert new == set(), done.stdout
    # restore's own reconcile says what the checker finds: exit 2 only for those.
    assert (done.returncode == 2) == bool(after), done.stdout
    xmr.auto_refresh(period=1)
    celery_worker.restart()

    # --- the restored machine carries on -------------------------------------------
    assert {i: state_of(i) for i in states_at_backup} == states_at_backup
    # A wallet made from its seed reads blocks, not its node's mempool: the deposit still
    # unconfirmed is seen again once it is mined.
    # Accounts pooled at the backup, and the indices past it, are never handed out again:
    # orders made after the backup may hold them.
    for currency, chain in CHAIN_OF.items():
        fill_pool(chain, at_least=1)
        account = EscrowOrder.objects.get(id=create(buyer, vendor, currency)["id"]).account
        assert account.account_index > highest[chain] + GAP
    for currency, order in paid_after.items():
        pay_and_escrow(order, currency)
    for order, currency in ((paid_while_down, "XMR"), (confirming, "BTC")):
        mine(CHAIN_OF[currency], CREDIT_BLOCKS[currency])
        drive(
            CHAIN_OF[currency],
            lambda o=order: state_of(o["id"]) == OrderState.ESCROWED,
            what="escrowed",
        )
    assert while_down_txid in deposit_txids(paid_while_down)
    assert confirming_txid in deposit_txids(confirming)
    orders = {
        "BTC": [paid_after["BTC"], confirming, relayed, sent_after],
        "XMR": [paid_after["XMR"], paid_while_down, escrowed],
    }
    for currency, group in orders.items():
        for order in group:
            if order not in (relayed, sent_after):
                release(buyer, order)
        for order in group:
            settle(currency, order["id"], FundingState.COMPLETED)

    # Exactly one payment from each order's account to its vendor, read from the nodes;
    # the payout relayed before the loss went out as the same transaction.
    for currency, group in orders.items():
        accounts = [EscrowOrder.objects.get(id=o["id"]).account for o in group]
        figures = payments_measured(
            chain=CHAIN_OF[currency],
            expected=[(a, vendor.receivers[currency].address) for a in accounts],
        )
        proof.update({f"{currency} {k}": v for k, v in figures.items()})
        assert figures == {
            "expected": len(group),
            "made": len(group),
            "duplicated": 0,
            "lost": 0,
        }
    if swap:
        drive(
            "bitcoin",
            lambda: swap_state(swap["id"]) == FundingState.COMPLETED,
            what="the swap completed",
            mine_each=1,
            timeout=180,
        )
        house = WalletAccount.objects.get(chain="bitcoin", purpose=AccountPurpose.LIQUIDITY)
        figures = payments_measured(chain="bitcoin", expected=[(house, swap_to.address)])
        proof.update({f"swap {k}": v for k, v in figures.items()})
        assert figures == {"expected": 1, "made": 1, "duplicated": 0, "lost": 0}
    payout.refresh_from_db()
    assert payout.state == PayoutState.CONFIRMED
    assert payout.voided_txids == []
    assert set(assert_books_clean(ignore=after)) <= set(after)


def spends_by_no_payout() -> set[str]:
    """Transactions the master wallets sent that no payout made (earlier tests' out-of-band
    spends), as the nodes report them."""
    found = set()
    for wallet in MasterWallet.objects.all():
        addresses = set(wallet.accounts.values_list("address", flat=True))
        found |= {spend.txid for spend in node_spends(wallet, addresses)}
    return found - set(Payout.objects.values_list("txid", flat=True))


def payout_state(payout: Payout) -> str:
    payout.refresh_from_db()
    return payout.state


@pytest.fixture(autouse=True)
def _run_goes_on_with_the_restored_machine(regtest):
    """Whatever the drill's outcome, later tests find both master wallets' node
    processes running."""
    yield
    for name in ("bcoin", "monero-wallet-rpc"):
        proc = proc_named(name)
        if not running_pid(proc):
            start(proc)
