"""The one place payout states change (with the books that follow each move), the
request that creates a payout, and holds."""

from __future__ import annotations

import functools
import logging
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone

from exchange.dispatch import enqueue
from ownership.services import ledger_post, ownership_transfer
from wallets.models import PAYOUT_TRANSITIONS, MasterWallet, Payout, PayoutState, WalletAccount
from wallets.signals import payouts_changed

if TYPE_CHECKING:
    from ownership.services import Actor

logger = logging.getLogger(__name__)


# --- the one place payout states change ------------------------------------------------


def _move(
    payout: Payout,
    to_state: str,
    *,
    from_states: tuple[str, ...],
    match: dict[str, Any] | None = None,
    **fields: Any,
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
    back to the owner), and its fee bump with it (a child cannot land without its parent):
    its bearer ↔ network fee."""
    legs = [
        ("sent", sign * payout.sent_amount),
        ("network:fees", sign * payout.network_fee),
        (payout.ledger_from, sign * payout.remainder),
        (f"payout:{payout.id}", -sign * payout.amount),
    ]
    if payout.bump_fee:
        legs += [
            ("network:fees", sign * payout.bump_fee),
            (payout.bump_bearer, -sign * payout.bump_fee),
        ]
        bump_trail(payout, sign=sign)
    ledger_post(
        currency=payout.currency,
        legs=legs,
        memo=memo,
        owner_kind=payout.owner_kind,
        owner_id=payout.owner_id,
        wallet_account=payout.source_account,
    )


def bump_trail(payout: Payout, *, sign: int) -> None:
    """The ownership trail of the source account follows the fee bump's fee: from its
    bearer to the network (sign 1), or back (sign -1, the bump can no longer land)."""
    parties = [payout.bump_bearer, "network:fees"][::sign]
    ownership_transfer(
        account=payout.source_account,
        currency=payout.currency,
        from_party=parties[0],
        to_party=parties[1],
        amount=payout.bump_fee,
        reason="fee bump" if sign > 0 else "fee bump undone",
        owner_kind=payout.owner_kind,
        owner_id=payout.owner_id,
    )


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


def _scanned_height(payout: Payout) -> int:
    """The height the deposit scan of the payout's wallet has reached (no node call)."""
    return MasterWallet.objects.values_list("scanned_height", flat=True).get(
        accounts=payout.source_account_id
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
            relayed_height=_scanned_height(payout),
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


# --- request ---------------------------------------------------------------------------


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
    actor: Actor = None,
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


def payout_adopt(
    *, payout_id: int, txid: str, raw_tx: str, network_fee: int, sent_amount: int, note: str
) -> bool:
    """A pending payout found already sent (by the machine a restore replaces, after its
    last backup): recorded as signed with that transaction's own bytes, so the saga
    relays those same bytes (the node holds them) and follows them; nothing is built.
    False (nothing written) unless the payout is still pending and the transaction
    spends no more than the payout's amount."""
    with transaction.atomic():
        payout = Payout.objects.select_for_update().get(id=payout_id)
        if payout.state != PayoutState.PENDING or sent_amount + network_fee > payout.amount:
            return False
        return _move(
            payout,
            PayoutState.SIGNED,
            from_states=(PayoutState.PENDING,),
            txid=txid,
            raw_tx=raw_tx,
            network_fee=network_fee,
            sent_amount=sent_amount,
            remainder=payout.amount - sent_amount - network_fee,
            signed_at=timezone.now(),
            last_error=note[:500],
        )


# --- holds: a deposit behind the payout vanished, or a restore cannot tell ------------


def payouts_hold(*, payout_ids: list[int], reason: str, kind: str) -> list[int]:
    """Stop payouts not built yet (pending → held, for ``kind``: a ``PayoutHold``).
    Returns those stopped."""
    held = []
    with transaction.atomic():
        for payout in Payout.objects.filter(id__in=payout_ids, state=PayoutState.PENDING):
            if _move(
                payout,
                PayoutState.HELD,
                from_states=(PayoutState.PENDING,),
                last_error=reason[:500],
                hold_kind=kind,
            ):
                held.append(payout.id)
    return held


def payouts_unhold(*, payout_ids: list[int], kind: str) -> list[int]:
    """Put payouts held for ``kind`` back to work (held → pending) and enqueue them; a
    payout held for another reason stays held."""
    resumed = []
    with transaction.atomic():
        for payout in Payout.objects.filter(
            id__in=payout_ids, state=PayoutState.HELD, hold_kind=kind
        ):
            if _move(
                payout,
                PayoutState.PENDING,
                from_states=(PayoutState.HELD,),
                match={"hold_kind": kind},
                last_error="",
                hold_kind="",
            ):
                resumed.append(payout.id)
                transaction.on_commit(functools.partial(payout_enqueue, payout.id))
    return resumed
