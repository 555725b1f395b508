"""Deposit detection: a constant number of node calls per scan, whatever the account count
(each chain's adapter reads a height window in two or three calls: wallets.chains). A
wallet that lags its node or rescans is not scanned until it has caught up.

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
from wallets.chains import adapter, coin_of_chain
from wallets.chains.base import ChainRead, Sighting, WalletBehind
from wallets.clients.base import node_calls
from wallets.locks import scan_lock
from wallets.models import (
    CURRENCY_OF_CHAIN,
    AccountPurpose,
    AccountState,
    Deposit,
    MasterWallet,
    OwnerKind,
    WalletAccount,
)
from wallets.services.payouts import payouts_track
from wallets.signals import deposits_changed

logger = logging.getLogger(__name__)


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
    return coin_of_chain(chain).final_confirmations


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
            # A rescan reads everything; a scan resuming where the last one stopped may read
            # only what the wallet recorded since that scan's read.
            since = wallet.scanned_at if from_height is None else None
            read_at = timezone.now()
            try:
                read = _read_caught_up(wallet, window, since=since)
            except WalletBehind as exc:
                logger.warning("scan of %s waits for its wallet: %s", wallet, exc)
                result.behind.append(wallet.id)
                continue
            _record(wallet, read.sightings, read.height, window, result, read_at=read_at)
            result.payouts_changed.extend(
                payouts_track(chain=chain, confirmations_by_txid=read.own_txs)
            )
    result.node_calls = node_calls(chain) - calls_before
    return result


def _read_caught_up(
    wallet: MasterWallet, window: int, *, since: datetime | None, patience: float = 2.0
) -> ChainRead:
    """A wallet a block behind its node catches up within milliseconds: read again for a
    moment before giving up on this scan (a rescan takes seconds, and is left alone)."""
    chain_adapter = adapter(wallet.chain)
    final = final_confirmations(wallet.chain)
    deadline = time.monotonic() + patience
    while True:
        try:
            return chain_adapter.deposits_read(wallet, window, final=final, since=since)
        except WalletBehind:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def _record(
    wallet: MasterWallet,
    seen: list[Sighting],
    tip: int,
    window: int,
    result: ScanResult,
    *,
    read_at: datetime,
) -> None:
    now = timezone.now()
    by_key = adapter(wallet.chain).account_key
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
            MasterWallet.objects.filter(id=wallet.id).update(scanned_height=tip, scanned_at=read_at)
            result.height = max(result.height, tip)
        if changed:
            account_ids = sorted(changed)
            transaction.on_commit(
                lambda: deposits_changed.send(
                    sender=Deposit, chain=wallet.chain, account_ids=account_ids
                )
            )
    result.accounts_changed.extend(sorted(changed))


def _new_deposit(account: WalletAccount, s: Sighting, now: datetime) -> Deposit:
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


def _apply(deposit: Deposit, s: Sighting, now: datetime) -> bool:
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
            owner_kind=OwnerKind.HOUSE,
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
                    owner_kind=OwnerKind.HOUSE,
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
