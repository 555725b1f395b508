"""Following the chain: what the node says of a payout's transaction, the confirmations
the deposit scan reads, and the sweep that re-enqueues payouts left waiting."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from wallets.chains import adapter
from wallets.clients.base import RetryLater, TxStatus
from wallets.models import TRACKED_PAYOUT_STATES, Payout, PayoutState
from wallets.services.payouts.moves import _mark_relayed, _move, payout_enqueue


def payout_lookup(payout: Payout) -> TxStatus:
    """What the node says of the payout's stored transaction."""
    return adapter(payout.chain).payout_status(payout)


def payout_track_one(payout: Payout, *, confirmations: int) -> bool:
    """Record what the node says of one payout's transaction; True if anything changed."""
    changed = False
    if payout.state in (PayoutState.SIGNED, PayoutState.FAILED, PayoutState.VOIDED):
        # Relayed before a crash kept the row from saying so, or the node had it after all.
        _mark_relayed(payout)
        payout.refresh_from_db()
        changed = True
    if confirmations != payout.confirmations:
        with transaction.atomic():
            if confirmations >= 1:
                _move(
                    payout,
                    PayoutState.CONFIRMED,
                    from_states=(PayoutState.RELAYED,),
                    confirmations=confirmations,
                    confirmed_at=timezone.now(),
                )
                Payout.objects.filter(id=payout.id, state=PayoutState.CONFIRMED).update(
                    confirmations=confirmations
                )
            else:
                # A reorg took the confirmation back: followed again until it re-confirms.
                _move(
                    payout,
                    PayoutState.RELAYED,
                    from_states=(PayoutState.CONFIRMED,),
                    confirmations=0,
                    relayed_at=timezone.now(),
                )
        changed = True
    return changed


def payouts_track(*, chain: str, confirmations_by_txid: dict[str, int]) -> list[int]:
    """Record what the node says of payouts' txids (called by the deposit scan, which
    already holds the wallet history). Returns the payouts that changed."""
    changed = []
    candidates = Payout.objects.filter(
        chain=chain, state__in=TRACKED_PAYOUT_STATES, txid__in=list(confirmations_by_txid)
    ).select_related("source_account__master_wallet")
    for payout in candidates:
        confirmations = confirmations_by_txid[payout.txid]
        if payout.state in (PayoutState.FAILED, PayoutState.VOIDED):
            # The wallet's own list is not enough to bring one back: the node must show it
            # (a voided one, in a block).
            try:
                status = payout_lookup(payout)
            except RetryLater:
                continue
            if not status.on_node or (
                payout.state == PayoutState.VOIDED and status.state != "confirmed"
            ):
                continue
            confirmations = status.confirmations
        if payout_track_one(payout, confirmations=confirmations):
            changed.append(payout.id)
    return changed


def payouts_sweep() -> int:
    """Re-enqueue every payout that is waiting (a lost message, retries exhausted, a node
    that was down) and relayed payouts the chain has not shown for a while."""
    quiet = timezone.now() - timedelta(seconds=settings.PAYOUT_SWEEP_AFTER_SECONDS)
    ids = list(
        Payout.objects.filter(
            state__in=[PayoutState.PENDING, PayoutState.SIGNED], updated_at__lt=quiet
        ).values_list("id", flat=True)
    )
    stale = timezone.now() - timedelta(seconds=settings.PAYOUT_RERELAY_AFTER_SECONDS)
    ids += list(
        Payout.objects.filter(
            state=PayoutState.RELAYED, confirmations=0, relayed_at__lt=stale
        ).values_list("id", flat=True)
    )
    for payout_id in ids:
        payout_enqueue(payout_id)
    return len(ids)
