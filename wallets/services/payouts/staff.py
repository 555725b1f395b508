"""Staff: retry a failed payout, void it once its transaction is proved absent, or
release one a restore held, or record it as the transaction its account sent."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from django.db import transaction

from exchange.errors import ApplicationError
from ownership.services import ledger_post
from wallets.clients.base import RetryLater, TxStatus
from wallets.models import Payout, PayoutHold, PayoutState
from wallets.services.payouts.moves import (
    _mark_relayed,
    _move,
    payout_adopt,
    payout_enqueue,
    payouts_unhold,
)
from wallets.services.payouts.tracking import payout_lookup, payout_track_one

if TYPE_CHECKING:
    from ownership.services import Actor


class PayoutStateError(ApplicationError):
    code = "payout_state"


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


def payout_void(*, payout: Payout, proof: TxStatus, actor: Actor, reason: str) -> Payout:
    """In the caller's transaction: failed → voided, after ``payout_prove_absent``. Its
    amount goes back to the ledger account it came from; its stored transaction is kept as
    evidence and never relayed by this engine again."""
    from exchange.services import audit_record

    # Its fee bump, a child of that transaction, can never land without it either.
    earlier = [txid for txid in (payout.txid, payout.bump_txid) if txid]
    voided = [*payout.voided_txids, *earlier]
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


def payout_retry(
    *, payout_id: int, actor: Actor, reason: str, address: str | None = None
) -> Payout:
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
            fields.update(bump_txid="", bump_raw_tx="", bump_fee=0, bump_bearer="", bumped_at=None)
            earlier = [txid for txid in (payout.txid, payout.bump_txid) if txid]
            if earlier:
                fields["voided_txids"] = [*payout.voided_txids, *earlier]
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


def _held_by_restore(payout_id: int) -> Payout:
    """The payout's row, locked, if a restore holds it; else PayoutStateError."""
    payout = Payout.objects.select_for_update().get(id=payout_id)
    if payout.state != PayoutState.HELD or payout.hold_kind != PayoutHold.RESTORE:
        raise PayoutStateError(f"payout {payout.id} is {payout.state}, not held by a restore")
    return payout


def payout_release_held(*, payout_id: int, actor: Actor, reason: str) -> Payout:
    """Staff: put a payout a restore held back to work (held → pending), once they know
    the unrecorded spend from its account is not this payout: it is then built and sent."""
    from exchange.services import audit_record

    with transaction.atomic():
        payout = _held_by_restore(payout_id)
        held_for = payout.last_error
        payouts_unhold(payout_ids=[payout.id], kind=PayoutHold.RESTORE)
        audit_record(
            actor=actor,
            action="payout.release_held",
            target=payout,
            reason=reason,
            data={"from": PayoutState.HELD, "to": PayoutState.PENDING, "held_for": held_for},
        )
    payout.refresh_from_db()
    return payout


def payout_record_held_sent(
    *,
    payout_id: int,
    txid: str,
    raw_tx: str,
    network_fee: int,
    sent_amount: int,
    actor: Actor,
    reason: str,
) -> Payout:
    """Staff: a payout a restore held is the transaction ``txid`` its account sent after
    the backup, as the caller read it from the node. The payout is recorded as relayed
    with that transaction's amount and fee (and its bytes, where the node gives them),
    the books follow its money out, and it is followed to its confirmations like any
    relayed payout: nothing is built or sent. Refused (nothing written) unless the payout
    is held by a restore and the transaction spends no more than the payout's amount."""
    from exchange.services import audit_record

    with transaction.atomic():
        payout = _held_by_restore(payout_id)
        held_for = payout.last_error
        _move(
            payout,
            PayoutState.PENDING,
            from_states=(PayoutState.HELD,),
            match={"hold_kind": PayoutHold.RESTORE},
            hold_kind="",
        )
        if not payout_adopt(
            payout_id=payout.id,
            txid=txid,
            raw_tx=raw_tx,
            network_fee=network_fee,
            sent_amount=sent_amount,
            note=f"recorded by staff: {txid} was sent after the backup",
        ):
            raise ApplicationError(
                f"{txid} spends {sent_amount} + {network_fee} fee, more than the payout's"
                f" {payout.amount}",
                field="txid",
            )
        payout.refresh_from_db()
        _mark_relayed(payout)
        audit_record(
            actor=actor,
            action="payout.record_sent",
            target=payout,
            reason=reason,
            data={
                "from": PayoutState.HELD,
                "to": PayoutState.RELAYED,
                "txid": txid,
                "sent": sent_amount,
                "fee": network_fee,
                "held_for": held_for,
            },
        )
    payout.refresh_from_db()
    return payout
