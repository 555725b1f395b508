"""Bitcoin deposits read from bcoin: the node's tip and clock, the wallet's unconfirmed
transactions (``GET /wallet/{id}/tx/unconfirmed``) and those it recorded since the scan's
reach (``GET /wallet/{id}/tx/range``, by bcoin's ``mtime``), each output naming its
account: 3 calls a scan (``GET /wallet/{id}/tx/history``, every wallet transaction, for a
rescan)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from wallets.chains.base import ChainRead, Sighting, WalletBehind
from wallets.clients.bitcoin import BitcoinClient

if TYPE_CHECKING:
    from wallets.models import MasterWallet

logger = logging.getLogger(__name__)


def _coinbase(tx: dict) -> bool:
    inputs = tx.get("inputs") or []
    return bool(inputs) and (inputs[0].get("prevout") or {}).get("hash", "").strip("0") == ""


def deposits_read(
    client: BitcoinClient,
    wallet: MasterWallet,
    window: int,
    *,
    final: int,
    since: datetime | None = None,
) -> ChainRead:
    """Confirmations are counted from the wallet's own height (confirmations = wallet
    height − height + 1). A wallet below its node's tip, or one that shows deposits
    settled long ago as unconfirmed (it is rescanning), is behind (``WalletBehind``).
    Transactions below the window are skipped, except those of deposits not settled
    yet: one that went back to the mempool (a reorg) may confirm again at its old
    height.

    With ``since`` (when the last scan that read up to the window read the wallet) the
    read is bounded by what changed: the node's tip and clock, the wallet's
    unconfirmed transactions, and those it first recorded since the oldest of
    ``since``, the deposits still followed and the payouts still moving (``_read_start``)
    — 3 calls, and a 4th only when these hold no transaction in a block to read the
    wallet's height from. Without it, the wallet's whole history (2 calls)."""
    from wallets.models import Deposit

    before = timezone.now()
    info = client.node_info()
    tip = int(info["chain"]["height"])
    follow = set(
        Deposit.objects.filter(master_wallet=wallet, dropped=False)
        .exclude(unlocked=True, confirmations__gte=final)
        .values_list("txid", flat=True)
    )
    counting: set[str] = set()
    system = (info.get("time") or {}).get("system")
    node_clock = int(system) if system is not None else None
    # The reach is set by this machine's times and the deposits' node times: it holds
    # only while the two clocks agree within half the overlap (and bcoin's whole
    # seconds); otherwise, read it all.
    skewed = node_clock is None or abs(node_clock - before.timestamp()) > max(
        2, settings.SCAN_TIME_OVERLAP_SECONDS / 2
    )
    if since is None or skewed:
        if since is not None:
            logger.warning(
                "bitcoin scan of %s reads the whole history: the node's clock is %s s"
                " off this machine's",
                wallet,
                None if node_clock is None else node_clock - int(before.timestamp()),
            )
        history = client.history()
    else:
        node_now = node_clock if node_clock is not None else int(before.timestamp())
        start, counting = _read_start(wallet, since=since, final=final, before=before)
        pending = client.pending()
        recorded = client.recorded_since(node_now - int((before - start).total_seconds()))
        # A transaction in both: the later read (it may have confirmed in between).
        history = list({tx["hash"]: tx for tx in pending + recorded}.values())
    # A rescan reverts the newest transactions first: those just below the margin show it.
    deep = max(0, tip - settings.SCAN_REORG_MARGIN)
    settled_deep = dict(
        Deposit.objects.filter(
            master_wallet=wallet, dropped=False, height__lt=deep, height__gte=deep - 100
        ).values_list("txid", "height")
    )
    seen: list[Sighting] = []
    txs: dict[str, int] = {}
    wallet_height = 0
    reverted = []
    for tx in history:
        confirmations = int(tx.get("confirmations") or 0)
        if confirmations < 2 * final:  # payouts are followed while they may still move
            txs[tx["hash"]] = confirmations
        elif tx["hash"] in counting:
            # Scans paused for longer than that: its count ends where it would have.
            txs[tx["hash"]] = 2 * final - 1
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
        confirmations = min(confirmations, final)
        for index, output in enumerate(tx.get("outputs", [])):
            path = output.get("path")
            if not path or path.get("change"):
                continue
            seen.append(
                Sighting(
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
    if not wallet_height and since is not None:
        wallet_height = _wallet_height_known(wallet, client, deep=deep)
    if wallet_height and wallet_height < tip:
        raise WalletBehind(f"the wallet is at height {wallet_height}, its node at {tip}")
    return ChainRead(sightings=seen, height=wallet_height or tip, own_txs=txs)


def _read_start(
    wallet: MasterWallet, *, since: datetime, final: int, before: datetime
) -> tuple[datetime, set[str]]:
    """How far back (on this process's clock) a bounded read reaches: to the last scan's
    read, to the oldest deposit still followed (a deposit's ``seen_at`` is at most the
    node's ``mtime``), to the oldest payout still moving (made before its transaction
    was), and to the newest deposit in a block (the wallet's height is read from it),
    less ``SCAN_TIME_OVERLAP_SECONDS`` for the clocks and bcoin's whole seconds. Also
    the txids of the confirmed payouts still counting."""
    from django.db.models import Min

    from wallets.models import Deposit, Payout, PayoutState

    followed = (
        Deposit.objects.filter(master_wallet=wallet, dropped=False)
        .exclude(unlocked=True, confirmations__gte=final)
        .aggregate(oldest=Min("seen_at"))["oldest"]
    )
    moving = Payout.objects.filter(source_account__master_wallet=wallet).filter(
        Q(state__in=(PayoutState.SIGNED, PayoutState.RELAYED))
        | Q(state=PayoutState.CONFIRMED, confirmations__lt=2 * final - 1)
    )
    oldest_payout = moving.aggregate(oldest=Min("created_at"))["oldest"]
    counting = set(moving.filter(state=PayoutState.CONFIRMED).values_list("txid", flat=True))
    # And to the newest deposit in a block, which gives the wallet's height.
    newest = (
        Deposit.objects.filter(master_wallet=wallet, dropped=False, height__isnull=False)
        .order_by("-seen_at")
        .values_list("seen_at", flat=True)
        .first()
    )
    start = min(t for t in (since, followed, oldest_payout, newest, before) if t is not None)
    return start - timedelta(seconds=settings.SCAN_TIME_OVERLAP_SECONDS), counting


def _wallet_height_known(wallet: MasterWallet, client: BitcoinClient, *, deep: int) -> int:
    """The wallet's height from a deposit it holds in a block, read on its own: the
    newest one settled below ``deep`` (a rescan gives it back to its block early; a
    reorg that deep is not expected), else the newest (0 if the wallet does not hold
    it, or holds none). One settled below ``deep`` that shows as unconfirmed is a
    wallet rescanning (or a reorg deeper than the margin): behind."""
    from wallets.models import Deposit

    recorded = Deposit.objects.filter(
        master_wallet=wallet, dropped=False, height__isnull=False
    ).order_by("-height")
    known = recorded.filter(height__lt=deep).values_list("txid", "height").first()
    known = known or recorded.values_list("txid", "height").first()
    if known is None:
        return 0
    txid, height = known
    tx = client.wallet_tx(txid)
    if tx is None:
        return 0
    if int(tx.get("height", -1)) < 0 or not tx.get("confirmations"):
        if height is not None and height < deep:
            raise WalletBehind(
                f"transaction {txid}, in block {height} below the reorg margin, shows as"
                " unconfirmed (the wallet is rescanning)"
            )
        return 0
    return int(tx["height"]) + int(tx["confirmations"]) - 1
