"""Payouts, exactly once.

The saga step, under the wallet's writer lock:
1. ``pending``: build and sign without relaying (bcoin ``create``, Monero ``transfer`` with
   ``do_not_relay``), store the bytes, txid, fee and amount the transaction really pays,
   commit → ``signed``;
2. ``signed``: ask the node about the stored txid first, then relay the stored bytes (again,
   on a retry; both nodes accept a repeat) until the node shows them → ``relayed``.
A retry never builds a second transaction once one is stored. An unclear answer (a lost
reply, a timeout, Monero's -4, an error this engine does not understand) is "outcome
unknown": the payout stays ``signed`` and the node is asked again. Only an understood
rejection fails a payout: an invalid destination or amount, missing funds, or inputs that
another transaction spent (``conflicted``, with the evidence). Confirmations come from the
deposit scan, which reads the same wallet history; it also finds a failed or voided
payout whose transaction is on chain after all.
"""

from __future__ import annotations

import functools
import logging
import time
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from exchange.dispatch import enqueue
from exchange.errors import ApplicationError
from exchange.faults import fault_point
from ownership.services import ledger_post
from wallets.chains import adapter
from wallets.clients.base import (
    InsufficientFunds,
    InvalidAddress,
    InvalidAmount,
    NodeRejected,
    OutcomeUnknown,
    RetryLater,
    TxRejected,
    TxStatus,
    UnknownAccount,
)
from wallets.locks import wallet_writer
from wallets.models import (
    PAYOUT_TRANSITIONS,
    TRACKED_PAYOUT_STATES,
    AccountPurpose,
    Payout,
    PayoutState,
    WalletAccount,
)
from wallets.signals import payouts_changed

logger = logging.getLogger(__name__)

# Rejections that say something definite about the payout itself: retrying cannot help.
DEFINITIVE_BUILD_ERRORS = (InvalidAddress, InvalidAmount, InsufficientFunds, UnknownAccount)


class PayoutNotAccepted(RetryLater):
    """The node does not show the relayed transaction yet (outcome unknown)."""


class PayoutStateError(ApplicationError):
    code = "payout_state"


# --- the one place payout states change ----------------------------------------------


def _move(
    payout: Payout,
    to_state: str,
    *,
    from_states: tuple[str, ...],
    match: dict | None = None,
    **fields,
) -> bool:
    """``UPDATE … WHERE id = %s AND state IN from_states [AND match]``: True if this call
    moved it. Every move is checked against PAYOUT_TRANSITIONS."""
    for from_state in from_states:
        if to_state not in PAYOUT_TRANSITIONS[from_state]:
            raise AssertionError(f"payout transition {from_state} → {to_state} is not allowed")
    fields.setdefault("updated_at", timezone.now())
    moved = Payout.objects.filter(id=payout.id, state__in=from_states, **(match or {})).update(
        state=to_state, **fields
    )
    if moved:
        transaction.on_commit(functools.partial(_announce, [payout.id]))
    return bool(moved)


def _announce(payout_ids: list[int]) -> None:
    payouts_changed.send(sender=Payout, payout_ids=payout_ids)


def _post_sent(payout: Payout, *, sign: int, memo: str) -> None:
    """The stored transaction left (sign 1) or came back to (sign -1) the books:
    ``payout:{id}`` ↔ sent + network fee (+ what the transaction left in the account,
    back to the owner)."""
    legs = [
        ("sent", sign * payout.sent_amount),
        ("network:fees", sign * payout.network_fee),
        (payout.ledger_from, sign * payout.remainder),
        (f"payout:{payout.id}", -sign * payout.amount),
    ]
    ledger_post(
        currency=payout.currency,
        legs=legs,
        memo=memo,
        owner_kind=payout.owner_kind,
        owner_id=payout.owner_id,
        wallet_account=payout.source_account,
    )


# --- request --------------------------------------------------------------------------


def payout_request(
    *,
    key: str,
    source_account: WalletAccount,
    address: str,
    amount: int,
    kind: str,
    owner_kind: str,
    owner_id: int,
    ledger_from: str,
    actor=None,
) -> Payout:
    """Create the payout for ``key`` (or return the one that exists) inside the caller's
    transaction, move its amount from ``ledger_from`` to ``payout:{id}`` in the ledger,
    and enqueue the saga after commit."""
    if amount <= 0:
        raise ValueError("a payout amount must be positive")
    payout, created = Payout.objects.get_or_create(
        key=key,
        defaults={
            "chain": source_account.chain,
            "source_account": source_account,
            "owner_kind": owner_kind,
            "owner_id": owner_id,
            "kind": kind,
            "address": address,
            "amount": amount,
            "ledger_from": ledger_from,
        },
    )
    if created:
        ledger_post(
            currency=payout.currency,
            legs=[(f"payout:{payout.id}", amount), (ledger_from, -amount)],
            memo=f"{kind} payout {payout.id} requested",
            owner_kind=owner_kind,
            owner_id=owner_id,
            actor=actor,
        )
        transaction.on_commit(functools.partial(payout_enqueue, payout.id))
    return payout


def payout_enqueue(payout_id: int) -> None:
    try:
        enqueue("wallets.payout_process", payout_id)
    except Exception:  # noqa: BLE001 - the payout sweep enqueues it later
        logger.exception("payout %s: cannot enqueue; the sweep will", payout_id)


# --- the saga step ---------------------------------------------------------------------


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


def _fail(payout: Payout, reason: str) -> None:
    """A definitive rejection: the payout goes to staff. A relayed payout's books come back
    from ``sent`` to ``payout:{id}``, so a retry or refund starts from money in flight (a
    voided transaction that had landed goes back to voided, its loss taken back)."""
    with transaction.atomic():
        payout.refresh_from_db()
        from_state = payout.state
        if from_state not in (PayoutState.PENDING, PayoutState.SIGNED, PayoutState.RELAYED):
            return
        if from_state == PayoutState.RELAYED and payout.txid in payout.voided_txids:
            if _move(
                payout, PayoutState.VOIDED, from_states=(from_state,), last_error=reason[:500]
            ):
                ledger_post(
                    currency=payout.currency,
                    legs=[
                        ("sent", -payout.sent_amount),
                        ("network:fees", -payout.network_fee),
                        ("platform:losses", payout.spent_amount),
                    ],
                    memo=f"payout {payout.id}: the voided transaction {payout.txid} is gone again",
                    owner_kind=payout.owner_kind,
                    owner_id=payout.owner_id,
                    wallet_account=payout.source_account,
                )
            return
        if not _move(
            payout, PayoutState.FAILED, from_states=(from_state,), last_error=reason[:500]
        ):
            return
        if from_state == PayoutState.RELAYED:
            _post_sent(payout, sign=-1, memo=f"payout {payout.id} conflicted: back in flight")
    logger.error("payout %s failed: %s", payout.id, reason)


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
    Payout.objects.filter(id=payout.id, state=PayoutState.PENDING).update(
        state=PayoutState.SIGNED,
        updated_at=timezone.now(),
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


def payout_lookup(payout: Payout) -> TxStatus:
    """What the node says of the payout's stored transaction."""
    return adapter(payout.chain).payout_status(payout)


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
    → the same bytes again; conflicted → staff, with the evidence."""
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
        Payout.objects.filter(id=payout.id, state=PayoutState.RELAYED).update(
            relayed_at=timezone.now(), updated_at=timezone.now()
        )


def _mark_relayed(payout: Payout) -> None:
    """signed (or failed/voided, when the node shows the transaction after all) → relayed,
    with the books following the money out of ``payout:{id}``."""
    now = timezone.now()
    with transaction.atomic():
        payout.refresh_from_db()
        from_state = payout.state
        if from_state not in (PayoutState.SIGNED, PayoutState.FAILED, PayoutState.VOIDED):
            # A re-relay of a payout already marked relayed: restart its clock.
            Payout.objects.filter(id=payout.id, state=PayoutState.RELAYED).update(
                relayed_at=now, updated_at=now
            )
            return
        notes: dict[str, str] = {
            PayoutState.SIGNED: "",
            PayoutState.FAILED: "the node shows the transaction of this failed payout",
            PayoutState.VOIDED: "DOUBLE PAYMENT: a voided transaction of this payout landed",
        }
        note = notes[from_state]
        if not _move(
            payout,
            PayoutState.RELAYED,
            from_states=(from_state,),
            relayed_at=now,
            last_error=note,
        ):
            return
        if from_state == PayoutState.VOIDED:
            # Its amount went back to the owner when it was voided: the loss is the house's.
            ledger_post(
                currency=payout.currency,
                legs=[
                    ("sent", payout.sent_amount),
                    ("network:fees", payout.network_fee),
                    ("platform:losses", -payout.spent_amount),
                ],
                memo=f"payout {payout.id}: voided transaction {payout.txid} landed",
                owner_kind=payout.owner_kind,
                owner_id=payout.owner_id,
                wallet_account=payout.source_account,
            )
            logger.critical("payout %s: %s", payout.id, note)
        else:
            _post_sent(
                payout, sign=1, memo=f"{payout.kind} payout {payout.id} relayed ({payout.txid})"
            )
            if note:
                logger.error("payout %s: %s", payout.id, note)


# --- following the chain -----------------------------------------------------------------


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


# --- holds: a deposit behind the payout vanished -----------------------------------------


def payouts_hold(*, payout_ids: list[int], reason: str) -> list[int]:
    """Stop payouts not built yet (pending → held). Returns those stopped."""
    held = []
    with transaction.atomic():
        for payout in Payout.objects.filter(id__in=payout_ids, state=PayoutState.PENDING):
            if _move(
                payout, PayoutState.HELD, from_states=(PayoutState.PENDING,), last_error=reason
            ):
                held.append(payout.id)
    return held


def payouts_unhold(*, payout_ids: list[int]) -> list[int]:
    """Put held payouts back to work (held → pending) and enqueue them."""
    resumed = []
    with transaction.atomic():
        for payout in Payout.objects.filter(id__in=payout_ids, state=PayoutState.HELD):
            if _move(payout, PayoutState.PENDING, from_states=(PayoutState.HELD,), last_error=""):
                resumed.append(payout.id)
                transaction.on_commit(functools.partial(payout_enqueue, payout.id))
    return resumed


# --- staff: retry and void -----------------------------------------------------------------


NEVER_LEFT = "its bytes never left the engine"


def proof_match(payout: Payout, proof: TxStatus) -> dict[str, Any]:
    """What must still hold of the payout's row when a proof is acted on under its lock:
    the same transaction, and, where the proof is that its bytes never left the engine,
    still no relay attempt (a retry may have relayed them since)."""
    match: dict[str, Any] = {"txid": proof.txid or payout.txid}
    if proof.evidence == NEVER_LEFT:
        match["relay_attempted_at"] = None
    return match


def payout_prove_absent(payout: Payout) -> TxStatus:
    """Prove that the payout's stored transaction can never land, or raise
    PayoutStateError with the reason. It is proved when no transaction was built; when
    another transaction spent one of its inputs in a block; or when its bytes never left
    the engine (never handed to a node) and the node and wallet do not have it. A
    transaction once relayed that is now merely absent may still be relayed by someone: it
    is not proved absent, and a node that cannot be asked proves nothing."""
    if not payout.txid:
        return TxStatus("absent", evidence="no transaction was ever built")
    try:
        status = payout_lookup(payout)
    except RetryLater as exc:
        raise PayoutStateError(
            f"payout {payout.id}: cannot prove {payout.txid} absent, the node does not "
            f"answer ({exc}); try again later"
        ) from exc
    if status.on_node:
        payout_track_one(payout, confirmations=status.confirmations)
        raise PayoutStateError(
            f"payout {payout.id}: its transaction {payout.txid} is {status.state} on the "
            "node; it was paid, nothing is sent again"
        )
    if status.state == "conflicted" and status.final:
        return status
    if status.state == "absent" and payout.relay_attempted_at is None:
        return TxStatus("absent", evidence=NEVER_LEFT, txid=payout.txid)
    why = {
        "pending": "the wallet still holds it and may send it again",
        "conflicted": "the spend that conflicts with it is not in a block yet",
        "absent": f"it was handed to the node at {payout.relay_attempted_at:%Y-%m-%d %H:%M}",
    }[status.state]
    raise PayoutStateError(
        f"payout {payout.id}: {payout.txid} is not on chain but may still land ({why}); "
        "retry relays it again as it is, or wait until the node proves it can never land"
    )


def payout_void(*, payout: Payout, proof: TxStatus, actor, reason: str) -> Payout:
    """In the caller's transaction: failed → voided, after ``payout_prove_absent``. Its
    amount goes back to the ledger account it came from; its stored transaction is kept as
    evidence and never relayed by this engine again."""
    from exchange.services import audit_record

    voided = [*payout.voided_txids, payout.txid] if payout.txid else payout.voided_txids
    if not _move(
        payout,
        PayoutState.VOIDED,
        from_states=(PayoutState.FAILED,),
        match=proof_match(payout, proof),
        voided_txids=voided,
        last_error=f"voided: {reason}"[:500],
    ):
        raise PayoutStateError(f"payout {payout.id} changed meanwhile; nothing was voided")
    ledger_post(
        currency=payout.currency,
        legs=[(payout.ledger_from, payout.amount), (f"payout:{payout.id}", -payout.amount)],
        memo=f"payout {payout.id} voided",
        owner_kind=payout.owner_kind,
        owner_id=payout.owner_id,
        actor=actor,
    )
    audit_record(
        actor=actor,
        action="payout.void",
        target=payout,
        reason=reason,
        data={"txid": payout.txid, "node": proof.state, "evidence": proof.evidence},
    )
    payout.state = PayoutState.VOIDED
    payout.voided_txids = voided
    return payout


def payout_retry(*, payout_id: int, actor, reason: str, address: str | None = None) -> Payout:
    """Staff: put a failed payout back to work. One with a stored transaction has those
    same bytes relayed again; to build a new one (to another ``address``), the stored one
    must first be proved absent from the chain and the mempool, and is then voided."""
    from exchange.services import audit_record

    payout = Payout.objects.select_related("source_account__master_wallet").get(id=payout_id)
    if payout.state != PayoutState.FAILED:
        raise PayoutStateError(f"payout {payout.id} is {payout.state}, not failed")
    rebuild = not payout.raw_tx or bool(address)
    proof = payout_prove_absent(payout) if payout.raw_tx and address else None
    with transaction.atomic():
        payout = Payout.objects.select_for_update().get(id=payout_id)
        if payout.state != PayoutState.FAILED:
            raise PayoutStateError(f"payout {payout.id} is {payout.state}, not failed")
        if proof is not None and proof.txid and payout.txid != proof.txid:
            raise PayoutStateError(f"payout {payout.id} changed meanwhile; nothing was retried")
        to_state = PayoutState.PENDING if rebuild else PayoutState.SIGNED
        fields: dict = {"last_error": ""}
        if rebuild:
            fields.update(txid="", raw_tx="", network_fee=0, sent_amount=0, remainder=0, tx_key="")
            fields["key_images"] = []
            if payout.txid:
                fields["voided_txids"] = [*payout.voided_txids, payout.txid]
        if address:
            fields["address"] = address
        match = proof_match(payout, proof) if proof is not None else None
        if not _move(payout, to_state, from_states=(PayoutState.FAILED,), match=match, **fields):
            raise PayoutStateError(f"payout {payout.id} changed meanwhile")
        audit_record(
            actor=actor,
            action="payout.retry",
            target=payout,
            reason=reason,
            data={
                "from": PayoutState.FAILED,
                "to": to_state,
                "address": address or payout.address,
                "voided": payout.txid if rebuild and payout.txid else "",
                "node": proof.state if proof else "",
            },
        )
        transaction.on_commit(functools.partial(payout_enqueue, payout.id))
    payout.refresh_from_db()
    return payout
