"""Deposit detection: a constant number of node calls per scan, whatever the account count.

bitcoin: ``GET /wallet/{id}/tx/history`` (every wallet tx, mempool included, each output
naming its account) and the node tip: 2 calls. A wallet that lags its node or rescans is
not scanned until it has caught up.
monero: ``refresh``, ``get_height`` and ``get_transfers {in, pool, all_accounts,
min_height}``: 3 calls.

A scan records new deposits (unique on master wallet + txid + output, so rescans never
double-count), updates confirmations (which may go down after a reorg), marks deposits the
node no longer reports as dropped, and flags deposits to accounts that are not assigned.
Scans resume from the last scanned height minus a reorg margin, and never from above the
lowest deposit still waiting for confirmations or unlock; the height recorded is the one
the wallet itself has reached (bcoin's wallet can lag its node after a restart or during a
rescan), never the node's tip. Deposits to the house's liquidity account (its funding,
and on regtest the coinbase) are recorded and credited to the house as they confirm.
Changed accounts are announced with the ``deposits_changed`` signal after commit. The same
answers carry the wallet's outgoing transactions, which give the payouts their
confirmations.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

import redis
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from exchange.dispatch import enqueue
from exchange.redis import get_redis
from wallets.clients.base import node_calls
from wallets.locks import scan_lock
from wallets.models import (
    CURRENCY_OF_CHAIN,
    AccountPurpose,
    AccountState,
    Chain,
    Deposit,
    MasterWallet,
    WalletAccount,
)
from wallets.nodes import client_for
from wallets.services.payouts import payouts_track
from wallets.signals import deposits_changed

logger = logging.getLogger(__name__)


@dataclass
class Seen:
    """A deposit as the node reports it now."""

    account_key: str | int  # bcoin account name / Monero account index
    txid: str
    output_key: str
    amount: int
    height: int | None
    confirmations: int
    unlocked: bool
    double_spend_seen: bool = False
    node_seen: int | None = None  # unix time the node itself first saw it (None: unknown)


@dataclass
class ScanResult:
    chain: str
    new: int = 0
    updated: int = 0
    dropped: int = 0
    node_calls: int = 0
    height: int = 0
    accounts_changed: list[int] = field(default_factory=list)
    payouts_changed: list[int] = field(default_factory=list)
    behind: list[int] = field(default_factory=list)  # master wallets not scanned this time


def final_confirmations(chain: str) -> int:
    """Confirmations after which a deposit is settled: scans stop revisiting it, and the
    stored count stops there."""
    return max(settings.FINAL_CONFIRMATIONS[chain], 1)


def _scan_window(wallet: MasterWallet, from_height: int | None) -> int:
    """The lowest height this scan looks at: the last scanned height minus a reorg
    margin, and never above a deposit that is not settled yet."""
    if from_height is not None:
        return from_height
    margin_height = max(0, wallet.scanned_height - settings.SCAN_REORG_MARGIN)
    open_min = (
        Deposit.objects.filter(account__master_wallet=wallet, dropped=False, height__isnull=False)
        .exclude(unlocked=True, confirmations__gte=final_confirmations(wallet.chain))
        .order_by("height")
        .values_list("height", flat=True)
        .first()
    )
    return min(margin_height, open_min) if open_min is not None else margin_height


def _coinbase(tx: dict) -> bool:
    inputs = tx.get("inputs") or []
    return bool(inputs) and (inputs[0].get("prevout") or {}).get("hash", "").strip("0") == ""


class WalletBehind(Exception):
    """The wallet's view is not its node's yet (it lags the tip, or rescans): nothing it
    says now is recorded, and the scanned height stays where it was."""


def _bitcoin_seen(wallet: MasterWallet, window: int) -> tuple[list[Seen], int, dict[str, int]]:
    """Two calls: the node's tip and the wallet's history. Confirmations in the history
    are counted from the wallet's own height (confirmations = wallet height − height + 1).
    A wallet below its node's tip, or one that shows a deposit settled long ago as
    unconfirmed (it is rescanning), is behind: the scan waits for it (``WalletBehind``).
    Transactions below the window are skipped, except those of deposits not settled yet:
    one that went back to the mempool (a reorg) may confirm again at its old height."""
    client = client_for(wallet)
    cap = final_confirmations(Chain.BITCOIN)
    tip = client.height()
    follow = set(
        Deposit.objects.filter(master_wallet=wallet, dropped=False)
        .exclude(unlocked=True, confirmations__gte=cap)
        .values_list("txid", flat=True)
    )
    # A rescan reverts the newest transactions first: those just below the margin show it.
    deep = max(0, tip - settings.SCAN_REORG_MARGIN)
    settled_deep = dict(
        Deposit.objects.filter(
            master_wallet=wallet, dropped=False, height__lt=deep, height__gte=deep - 100
        ).values_list("txid", "height")
    )
    seen: list[Seen] = []
    txs: dict[str, int] = {}
    wallet_height = 0
    reverted = []
    for tx in client.history():
        confirmations = int(tx.get("confirmations") or 0)
        if confirmations < 2 * cap:  # payouts are followed while they may still move
            txs[tx["hash"]] = confirmations
        height = int(tx["height"]) if int(tx.get("height", -1)) >= 0 else None
        if height is not None and confirmations:
            wallet_height = max(wallet_height, height + confirmations - 1)
        if height is None and tx["hash"] in settled_deep and not _coinbase(tx):
            reverted.append(tx["hash"])
            if len(reverted) >= 2:
                # One deep transaction out of its block is a deep reorg; several are a
                # wallet rolling its history back to rescan it.
                raise WalletBehind(
                    f"{len(reverted)} transactions settled long ago show as unconfirmed "
                    "(the wallet is rescanning)"
                )
        if height is not None and height < window and tx["hash"] not in follow:
            continue
        confirmations = min(confirmations, cap)
        for index, output in enumerate(tx.get("outputs", [])):
            path = output.get("path")
            if not path or path.get("change"):
                continue
            seen.append(
                Seen(
                    account_key=path["name"],
                    txid=tx["hash"],
                    output_key=str(index),
                    amount=int(output["value"]),
                    height=height,
                    confirmations=confirmations,
                    unlocked=confirmations >= 1,
                    node_seen=int(tx["mtime"]) if tx.get("mtime") else None,
                )
            )
    if wallet_height and wallet_height < tip:
        raise WalletBehind(f"the wallet is at height {wallet_height}, its node at {tip}")
    return seen, wallet_height or tip, txs


def _monero_seen(wallet: MasterWallet, window: int) -> tuple[list[Seen], int, dict[str, int]]:
    client = client_for(wallet)
    client.refresh()
    tip = client.wallet_height() - 1
    # min_height is exclusive (wallet2 keeps transfers with min_height < height).
    result = client.transfers(min_height=window - 1, outgoing=True)
    cap = final_confirmations(Chain.MONERO)
    seen: list[Seen] = []
    txs = {
        t["txid"]: int(t.get("confirmations") or 0)
        for t in result.get("out", [])
        if int(t.get("confirmations") or 0) < 2 * cap
    }
    txs.update({t["txid"]: 0 for t in result.get("pending", [])})
    house = {
        int(i)
        for i in WalletAccount.objects.filter(
            master_wallet=wallet, purpose=AccountPurpose.LIQUIDITY
        ).values_list("account_index", flat=True)
    }
    for kind in ("in", "pool"):
        for t in result.get(kind, []):
            index = t["subaddr_index"]
            coinbase = t.get("type") == "block"
            if t.get("type") not in ("in", "pool") and not (coinbase and index["major"] in house):
                continue  # coinbase outputs count only as the house's funding
            height = int(t.get("height") or 0) or None
            confirmations = int(t.get("confirmations") or 0) if kind == "in" else 0
            seen.append(
                Seen(
                    account_key=int(index["major"]),
                    txid=t["txid"],
                    output_key=f"{index['major']}.{index['minor']}",
                    amount=int(t["amount"]),
                    height=height,
                    confirmations=min(confirmations, cap),
                    unlocked=kind == "in" and not t.get("locked", True),
                    double_spend_seen=bool(t.get("double_spend_seen")),
                    # A pool entry's timestamp is when the daemon received it; a block's
                    # timestamp is set by its miner and is not trusted.
                    node_seen=int(t["timestamp"])
                    if kind == "pool" and t.get("timestamp")
                    else None,
                )
            )
    return seen, tip, txs


def deposits_scan(*, chain: str, from_height: int | None = None) -> ScanResult:
    """Scan every master wallet of ``chain`` and record what the node reports.

    ``from_height`` rescans from that height (0: the whole chain); by default a scan
    resumes where the last one stopped, minus the reorg margin.
    """
    result = ScanResult(chain=chain)
    calls_before = node_calls(chain)
    with scan_lock(chain):
        for wallet in MasterWallet.objects.filter(chain=chain).order_by("id"):
            window = _scan_window(wallet, from_height)
            read = _bitcoin_seen if chain == Chain.BITCOIN else _monero_seen
            try:
                seen, tip, txs = _read_caught_up(read, wallet, window)
            except WalletBehind as exc:
                logger.warning("scan of %s waits for its wallet: %s", wallet, exc)
                result.behind.append(wallet.id)
                continue
            _record(wallet, seen, tip, window, result)
            result.payouts_changed.extend(payouts_track(chain=chain, confirmations_by_txid=txs))
    result.node_calls = node_calls(chain) - calls_before
    return result


def _read_caught_up(read, wallet: MasterWallet, window: int, *, patience: float = 2.0):
    """A wallet a block behind its node catches up within milliseconds: read again for a
    moment before giving up on this scan (a rescan takes seconds, and is left alone)."""
    deadline = time.monotonic() + patience
    while True:
        try:
            return read(wallet, window)
        except WalletBehind:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def _record(
    wallet: MasterWallet, seen: list[Seen], tip: int, window: int, result: ScanResult
) -> None:
    now = timezone.now()
    by_key = "node_name" if wallet.chain == Chain.BITCOIN else "account_index"
    accounts = {
        getattr(a, by_key): a
        for a in WalletAccount.objects.filter(
            master_wallet=wallet, **{f"{by_key}__in": {s.account_key for s in seen}}
        )
    }
    seen = [s for s in seen if s.account_key in accounts]
    changed: set[int] = set()
    with transaction.atomic():
        existing = {
            (d.txid, d.output_key): d
            for d in Deposit.objects.select_for_update().filter(
                master_wallet=wallet, txid__in={s.txid for s in seen}
            )
        }
        new_rows = []
        for s in seen:
            account = accounts[s.account_key]
            deposit = existing.get((s.txid, s.output_key))
            if deposit is None:
                new_rows.append(_new_deposit(account, s, now))
                changed.add(account.id)
            elif _apply(deposit, s, now):
                deposit.save()
                result.updated += 1
                changed.add(account.id)
        if new_rows:
            # ignore_conflicts: a concurrent scan may have inserted the same deposit.
            Deposit.objects.bulk_create(new_rows, ignore_conflicts=True)
            result.new += len(new_rows)
        present = {(s.txid, s.output_key) for s in seen}
        result.dropped += _mark_dropped(wallet, present, window, changed)
        house_deposits_credit(wallet=wallet)
        if tip:
            MasterWallet.objects.filter(id=wallet.id).update(scanned_height=tip, scanned_at=now)
            result.height = max(result.height, tip)
        if changed:
            account_ids = sorted(changed)
            transaction.on_commit(
                lambda: deposits_changed.send(
                    sender=Deposit, chain=wallet.chain, account_ids=account_ids
                )
            )
    result.accounts_changed.extend(sorted(changed))


def _new_deposit(account: WalletAccount, s: Seen, now) -> Deposit:
    flag = ""
    if account.state == AccountState.RETIRED:
        flag = "deposit to a retired account"
    elif account.state != AccountState.ASSIGNED:
        flag = "deposit to an account that was never handed out"
    node_seen = datetime.fromtimestamp(s.node_seen, tz=UTC) if s.node_seen else None
    return Deposit(
        account=account,
        master_wallet_id=account.master_wallet_id,
        seen_at=min(now, node_seen) if node_seen else now,
        chain=account.chain,
        txid=s.txid,
        output_key=s.output_key,
        amount=s.amount,
        height=s.height,
        confirmations=s.confirmations,
        unlocked=s.unlocked,
        double_spend_seen=s.double_spend_seen,
        confirmed_at=now if s.confirmations else None,
        unlocked_at=now if s.unlocked else None,
        flagged=bool(flag),
        flag_reason=flag,
    )


def _state(d: Deposit) -> tuple:
    return (d.height, d.confirmations, d.unlocked, d.dropped, d.double_spend_seen)


def _apply(deposit: Deposit, s: Seen, now) -> bool:
    """Bring a stored deposit up to what the node says; True if anything changed."""
    before = _state(deposit)
    if deposit.credited_at and s.confirmations < deposit.confirmations and not deposit.flagged:
        deposit.flagged = True
        deposit.flag_reason = "confirmations went down after the deposit was credited (reorg)"
    deposit.height = s.height
    deposit.confirmations = s.confirmations
    deposit.unlocked = s.unlocked
    deposit.dropped = False
    deposit.double_spend_seen = s.double_spend_seen
    if s.confirmations and not deposit.confirmed_at:
        deposit.confirmed_at = now
    if s.unlocked and not deposit.unlocked_at:
        deposit.unlocked_at = now
    return before != _state(deposit)


def _mark_dropped(
    wallet: MasterWallet, present: set[tuple[str, str]], window: int, changed: set[int]
) -> int:
    """Unsettled deposits in the scanned window (or the mempool) that the node no longer
    reports: evicted from the mempool or reorganised away."""
    candidates = (
        Deposit.objects.select_for_update()
        .filter(account__master_wallet=wallet, dropped=False)
        .filter(Q(height__isnull=True) | Q(height__gte=window))
        .exclude(unlocked=True, confirmations__gte=final_confirmations(wallet.chain))
    )
    dropped = 0
    for deposit in candidates:
        if (deposit.txid, deposit.output_key) in present:
            continue
        if deposit.credited_at:
            deposit.flagged = True
            deposit.flag_reason = "a credited deposit vanished from the chain (reorg)"
        deposit.dropped, deposit.confirmations, deposit.unlocked = True, 0, False
        deposit.save(
            update_fields=[
                "dropped",
                "confirmations",
                "unlocked",
                "flagged",
                "flag_reason",
                "updated_at",
            ]
        )
        changed.add(deposit.account_id)
        dropped += 1
    return dropped


# --- the house's funding -------------------------------------------------------------


def house_deposits_credit(*, wallet: MasterWallet) -> int:
    """Credit the house with confirmed deposits into its liquidity account (each once, in
    the same conditional update that marks it), and take back the credit of one no longer
    in a block (a reorg; a coinbase of a block taken back stays in bcoin's wallet, out of
    any block, for good). Runs in the scan's transaction."""
    from ownership.services import NegativeBalance, ledger_post

    currency = CURRENCY_OF_CHAIN[wallet.chain]
    house = Deposit.objects.filter(
        account__master_wallet=wallet, account__purpose=AccountPurpose.LIQUIDITY
    )
    credited = 0
    for deposit in house.filter(
        credited_at__isnull=True, dropped=False, height__isnull=False, confirmations__gte=1
    ):
        if not Deposit.objects.filter(id=deposit.id, credited_at__isnull=True).update(
            credited_at=timezone.now()
        ):
            continue
        ledger_post(
            currency=currency,
            legs=[("house", deposit.amount), ("deposits", -deposit.amount)],
            memo=f"house funding {deposit.txid}:{deposit.output_key}",
            owner_kind="house",
            owner_id=wallet.id,
            wallet_account=deposit.account,
        )
        credited += 1
    for deposit in house.filter(credited_at__isnull=False).filter(
        Q(dropped=True) | Q(height__isnull=True)
    ):
        try:
            with transaction.atomic():
                if not Deposit.objects.filter(id=deposit.id, credited_at__isnull=False).update(
                    credited_at=None, flag_reason="house funding vanished (reorg): uncredited"
                ):
                    continue
                ledger_post(
                    currency=currency,
                    legs=[("deposits", deposit.amount), ("house", -deposit.amount)],
                    memo=f"house funding {deposit.txid}:{deposit.output_key} vanished",
                    owner_kind="house",
                    owner_id=wallet.id,
                    wallet_account=deposit.account,
                )
        except NegativeBalance:
            # The house has already committed those coins: staff see the flag.
            logger.error("house funding %s vanished and is already committed", deposit.txid)
    return credited


# --- the push path ---------------------------------------------------------------------


def scan_request(*, chain: str) -> bool:
    """Ask for a scan of ``chain`` soon (push path). Deduplicated: while one is queued,
    further requests are absorbed. Returns True if a scan was enqueued."""
    key = f"scan:queued:{chain}"
    try:
        if not get_redis().set(key, 1, nx=True, ex=60):
            return False
    except redis.RedisError:
        logger.warning("scan: Redis unavailable, enqueueing a %s scan without dedup", chain)
    enqueue("wallets.deposits_scan", chain)
    return True


def scan_request_clear(*, chain: str) -> None:
    """Called when a scan starts: requests arriving from now on queue a new scan."""
    try:
        get_redis().delete(f"scan:queued:{chain}")
    except redis.RedisError:
        pass
