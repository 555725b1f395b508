"""The saga step: build and sign, relay the stored bytes, follow a relayed payout."""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from exchange.faults import fault_point
from wallets.chains import adapter
from wallets.clients.base import (
    InsufficientFunds,
    InvalidAddress,
    InvalidAmount,
    NodeRejected,
    OutcomeUnknown,
    RetryLater,
    TxRejected,
    UnknownAccount,
)
from wallets.locks import wallet_writer
from wallets.models import AccountPurpose, Payout, PayoutState
from wallets.services.payouts.bump import bump_due, bump_follow, payout_fee_bump
from wallets.services.payouts.moves import _fail, _mark_relayed, _move
from wallets.services.payouts.tracking import payout_lookup, payout_track_one

logger = logging.getLogger(__name__)

# Rejections that say something definite about the payout itself: retrying cannot help.
DEFINITIVE_BUILD_ERRORS = (InvalidAddress, InvalidAmount, InsufficientFunds, UnknownAccount)


class PayoutNotAccepted(RetryLater):
    """The node does not show the relayed transaction yet (outcome unknown)."""


def payout_process(*, payout_id: int) -> Payout:
    """Run the saga step for one payout. Safe to run twice, concurrently or after a crash."""
    payout = Payout.objects.select_related("source_account__master_wallet").get(id=payout_id)
    if payout.state not in (PayoutState.PENDING, PayoutState.SIGNED, PayoutState.RELAYED):
        return payout
    wallet = payout.source_account.master_wallet
    Payout.objects.filter(id=payout.id).update(
        attempts=F("attempts") + 1, updated_at=timezone.now()
    )
    with wallet_writer(wallet.id, timeout=60):
        # Anything signed but not relayed on this account goes out first: building now
        # could pick the same coins.
        for other in Payout.objects.filter(
            source_account_id=payout.source_account_id, state=PayoutState.SIGNED
        ).exclude(id=payout.id):
            try:
                _relay(other)
            except RetryLater as exc:
                # That one waits for the node; it does not hold every other payout of
                # the account back (a build now that picks its coins conflicts with it:
                # at most one of the two can land).
                logger.warning("payout %s waits: %s", other.id, exc)
        payout.refresh_from_db()
        if payout.state == PayoutState.PENDING:
            _build(payout)
            payout.refresh_from_db()
            fault_point("payout.after_sign", payout.id)
        if payout.state == PayoutState.SIGNED:
            _relay(payout)
        elif payout.state == PayoutState.RELAYED and _unseen_too_long(payout):
            _follow_relayed(payout)
        payout.refresh_from_db()
    return payout


def _unseen_too_long(payout: Payout) -> bool:
    stale = timezone.now() - timedelta(seconds=settings.PAYOUT_RERELAY_AFTER_SECONDS)
    return payout.confirmations == 0 and payout.relayed_at is not None and payout.relayed_at < stale


def _unclear(payout: Payout, reason: str) -> None:
    Payout.objects.filter(id=payout.id).update(
        last_error=f"outcome unknown: {reason}"[:500], updated_at=timezone.now()
    )


def _build(payout: Payout) -> None:
    try:
        built = adapter(payout.chain).payout_build(payout)
        fault_point("payout.after_build", payout.id)
    except DEFINITIVE_BUILD_ERRORS as exc:
        if (
            isinstance(exc, InsufficientFunds)
            and payout.source_account.purpose == AccountPurpose.LIQUIDITY
        ):
            # The house's coins may be immature or locked: it waits, staff see why.
            _unclear(payout, f"not built yet, the house lacks spendable coins: {exc}")
            raise RetryLater(str(exc)) from exc
        _fail(payout, f"the node refused to build it: {exc}")
        return
    except (RetryLater, NodeRejected) as exc:
        # Unreachable, busy, funds not unlocked yet, or an answer we do not understand:
        # nothing was sent (a build relays nothing); try again later.
        _unclear(payout, f"not built yet: {exc}")
        raise RetryLater(str(exc)) from exc
    _move(
        payout,
        PayoutState.SIGNED,
        from_states=(PayoutState.PENDING,),
        txid=built.txid,
        raw_tx=built.raw,
        network_fee=built.fee,
        sent_amount=built.sent,
        remainder=payout.amount - built.sent - built.fee,
        key_images=built.key_images,
        tx_key=built.tx_key,
        signed_at=timezone.now(),
        last_error="",
    )


def _send_bytes(payout: Payout) -> None:
    """Relay the stored bytes (recording, first, that they were handed to the node). A
    voided transaction is never sent by this engine again."""
    if payout.txid in payout.voided_txids:
        logger.error("payout %s: %s was voided; it is not relayed", payout.id, payout.txid)
        return
    Payout.objects.filter(id=payout.id, relay_attempted_at__isnull=True).update(
        relay_attempted_at=timezone.now()
    )
    adapter(payout.chain).payout_relay(payout)


def _relay(payout: Payout) -> None:
    """Relay the stored bytes; ``relayed`` once the node shows the stored txid."""
    status = payout_lookup(payout)
    if status.on_node:
        _mark_relayed(payout)
        return
    if status.state == "conflicted":
        _fail(payout, f"conflicted: {status.evidence}")
        return
    try:
        _send_bytes(payout)
        fault_point("payout.after_relay", payout.id)
    except (OutcomeUnknown, TxRejected) as exc:
        # bcoin answers success even for a conflicting transaction, and Monero's -4 also
        # means "the daemon's reply was lost": only the node's own view decides.
        _unclear(payout, f"relay answered {exc}")
    for _ in range(15):
        status = payout_lookup(payout)
        if status.on_node:
            _mark_relayed(payout)
            return
        if status.state == "conflicted":
            _fail(payout, f"conflicted: {status.evidence}")
            return
        time.sleep(0.2)
    _unclear(payout, "the node does not show the relayed transaction yet")
    raise PayoutNotAccepted(f"payout {payout.id}: {payout.txid} not visible after relay")


def _follow_relayed(payout: Payout) -> None:
    """A relayed payout the chain has not confirmed for a while: dropped from the mempool
    → the same bytes again (and its fee bump's after them); conflicted → staff, with the
    evidence; in the mempool past the bump setting → its fee bumped, once."""
    status = payout_lookup(payout)
    if status.state == "confirmed":
        payout_track_one(payout, confirmations=status.confirmations)
    elif status.state == "conflicted":
        _fail(payout, f"conflicted after relay: {status.evidence}")
    else:
        if status.state in ("absent", "pending"):
            logger.warning(
                "payout %s: %s dropped by the node; relayed again", payout.id, payout.txid
            )
            try:
                _send_bytes(payout)
            except (OutcomeUnknown, TxRejected) as exc:
                _unclear(payout, f"re-relay answered {exc}")
            bump_follow(payout)
        elif payout.bump_txid:
            bump_follow(payout)
        elif bump_due(payout):
            payout_fee_bump(payout)
        Payout.objects.filter(id=payout.id, state=PayoutState.RELAYED).update(
            relayed_at=timezone.now(), updated_at=timezone.now()
        )


def payouts_follow_relayed(*, chain: str) -> list[int]:
    """Follow every relayed payout of ``chain`` the chain has not confirmed, now: one the
    node no longer holds (a node that lost its mempool, a restored machine's new node)
    gets its stored bytes relayed again, never a new build. Returns the payouts followed."""
    followed = []
    for payout in Payout.objects.filter(
        chain=chain, state=PayoutState.RELAYED, confirmations=0
    ).select_related("source_account__master_wallet"):
        with wallet_writer(payout.source_account.master_wallet_id, timeout=60):
            payout.refresh_from_db()
            if payout.state == PayoutState.RELAYED:
                _follow_relayed(payout)
        followed.append(payout.id)
    return followed
