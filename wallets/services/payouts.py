"""Payouts, exactly once.

The saga step, under the wallet's writer lock:
1. ask the node about any stored txid first (an unclear outcome is settled by the node);
2. ``pending``: build and sign without relaying (bcoin ``create``, Monero ``transfer`` with
   ``do_not_relay``), store the bytes, txid and fee, commit → ``signed``;
3. ``signed``: relay the stored bytes (again, on a retry; both nodes accept a repeat),
   confirm the node knows the txid, commit → ``relayed``.
A retry never builds a second transaction once one is stored. Confirmations come from the
deposit scan (it reads the same history), which moves payouts to ``confirmed``.
"""

from __future__ import annotations

import functools
import logging
import time
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from exchange.errors import ApplicationError
from exchange.faults import fault_point
from ownership.services import ledger_post
from wallets.clients.base import NodeRejected, OutcomeUnknown, RetryLater, TxRejected
from wallets.locks import wallet_writer
from wallets.models import Chain, Payout, PayoutState, WalletAccount
from wallets.nodes import client_for
from wallets.signals import payouts_changed

logger = logging.getLogger(__name__)


class PayoutNotAccepted(RetryLater):
    """The node did not show the relayed transaction yet."""


class PayoutStateError(ApplicationError):
    code = "payout_state"


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
    from wallets.tasks import payout_process_task

    try:
        payout_process_task.delay(payout_id)
    except Exception:  # noqa: BLE001 - the payout sweep enqueues it later
        logger.exception("payout %s: cannot enqueue; the sweep will", payout_id)


def payout_process(*, payout_id: int) -> Payout:
    """Run the saga step for one payout. Safe to run twice, concurrently or after a crash."""
    payout = Payout.objects.select_related("source_account__master_wallet").get(id=payout_id)
    if payout.state in (PayoutState.CONFIRMED, PayoutState.FAILED):
        return payout
    wallet = payout.source_account.master_wallet
    client = client_for(wallet)
    Payout.objects.filter(id=payout.id).update(
        attempts=F("attempts") + 1, updated_at=timezone.now()
    )
    with wallet_writer(wallet.id, timeout=60):
        # Anything signed but not relayed on this account goes out first: building now
        # could pick the same coins.
        for other in Payout.objects.filter(
            source_account_id=payout.source_account_id, state=PayoutState.SIGNED
        ).exclude(id=payout.id):
            _relay(other, client)
        payout.refresh_from_db()
        if payout.state == PayoutState.PENDING:
            _build(payout, client)
            payout.refresh_from_db()
            fault_point("payout.after_sign")
        if payout.state == PayoutState.SIGNED or (
            payout.state == PayoutState.RELAYED and _unseen_too_long(payout)
        ):
            _relay(payout, client)
            payout.refresh_from_db()
    return payout


def _unseen_too_long(payout: Payout) -> bool:
    stale = timezone.now() - timedelta(seconds=settings.PAYOUT_RERELAY_AFTER_SECONDS)
    return payout.confirmations == 0 and payout.relayed_at is not None and payout.relayed_at < stale


def _fail(payout: Payout, reason: str) -> None:
    with transaction.atomic():
        updated = Payout.objects.filter(
            id=payout.id, state__in=[PayoutState.PENDING, PayoutState.SIGNED]
        ).update(state=PayoutState.FAILED, last_error=reason[:500], updated_at=timezone.now())
        if updated:
            transaction.on_commit(functools.partial(_announce, [payout.id]))
    logger.error("payout %s failed: %s", payout.id, reason)


def _announce(payout_ids: list[int]) -> None:
    payouts_changed.send(sender=Payout, payout_ids=payout_ids)


def _build(payout: Payout, client) -> None:
    account = payout.source_account
    try:
        if payout.chain == Chain.BITCOIN:
            built = client.create_tx(
                account=account.node_name,
                outputs=[(payout.address, payout.amount)],
                subtract_fee=True,
            )
            built["sent"] = payout.amount - built["fee"]
            built["raw"] = built["hex"]
            built["key_images"] = []
        else:
            built = _build_monero(payout, client)
        fault_point("payout.after_build")
    except RetryLater as exc:
        Payout.objects.filter(id=payout.id).update(
            last_error=str(exc)[:500], updated_at=timezone.now()
        )
        raise
    except NodeRejected as exc:
        _fail(payout, f"the node refused to build it: {exc}")
        return
    Payout.objects.filter(id=payout.id, state=PayoutState.PENDING).update(
        state=PayoutState.SIGNED,
        updated_at=timezone.now(),
        txid=built["txid"],
        raw_tx=built["raw"],
        network_fee=built["fee"],
        sent_amount=built["sent"],
        key_images=built["key_images"],
        signed_at=timezone.now(),
        last_error="",
    )


def _build_monero(payout: Payout, client) -> dict:
    """monero-wallet-rpc 0.18.0 cannot subtract the fee from an output, so proposals are
    built (never relayed, nothing stored) until the fee settles and sent + fee equals
    the payout amount. A fee that never settles leaves its last difference in the
    account; the network fee recorded is what the payout cost the account."""
    guess = (
        Payout.objects.filter(chain=Chain.MONERO, network_fee__gt=0)
        .order_by("-id")
        .values_list("network_fee", flat=True)
        .first()
        or settings.MONERO_FEE_GUESS
    )
    for _ in range(5):
        if guess >= payout.amount:
            raise NodeRejected(f"amount {payout.amount} does not cover the network fee {guess}")
        proposal = client.create_transfer(
            account_index=payout.source_account.account_index,
            destinations=[(payout.address, payout.amount - guess)],
        )
        if proposal["fee"] == guess:
            break
        guess = proposal["fee"]
    return {
        "txid": proposal["txid"],
        "raw": proposal["metadata"],
        "fee": payout.amount - proposal["amount"],
        "sent": proposal["amount"],
        "key_images": proposal["key_images"],
    }


def _node_knows(payout: Payout, client) -> bool:
    if payout.chain == Chain.BITCOIN:
        return client.wallet_tx(payout.txid) is not None
    return (
        client.transfer_by_txid(payout.txid, account_index=payout.source_account.account_index)
        is not None
    )


def _relay(payout: Payout, client) -> None:
    """Relay the stored bytes; ``relayed`` once the node shows the stored txid."""
    if payout.state == PayoutState.SIGNED and _node_knows(payout, client):
        _mark_relayed(payout)
        return
    try:
        if payout.chain == Chain.BITCOIN:
            client.broadcast(payout.raw_tx)
        else:
            client.relay(payout.raw_tx)
        fault_point("payout.after_relay")
    except OutcomeUnknown:
        raise
    except TxRejected as exc:
        if _node_knows(payout, client):
            _mark_relayed(payout)
            return
        _fail(payout, f"the node rejected the stored transaction: {exc}")
        return
    # bcoin answers success even for a conflicting transaction: look for it.
    for _ in range(15):
        if _node_knows(payout, client):
            _mark_relayed(payout)
            return
        time.sleep(0.2)
    if payout.chain == Chain.BITCOIN:
        _fail(payout, "bcoin accepted the broadcast but does not show the transaction (conflict?)")
        return
    raise PayoutNotAccepted(f"payout {payout.id}: {payout.txid} not visible after relay")


def _mark_relayed(payout: Payout) -> None:
    now = timezone.now()
    with transaction.atomic():
        updated = Payout.objects.filter(id=payout.id, state=PayoutState.SIGNED).update(
            state=PayoutState.RELAYED, relayed_at=now, last_error="", updated_at=now
        )
        if not updated:
            # A re-relay of a payout already marked relayed: restart its clock.
            Payout.objects.filter(id=payout.id, state=PayoutState.RELAYED).update(
                relayed_at=now, updated_at=now
            )
            return
        payout.refresh_from_db()
        ledger_post(
            currency=payout.currency,
            legs=[
                ("sent", payout.sent_amount),
                ("network:fees", payout.network_fee),
                (f"payout:{payout.id}", -payout.amount),
            ],
            memo=f"{payout.kind} payout {payout.id} relayed ({payout.txid})",
            owner_kind=payout.owner_kind,
            owner_id=payout.owner_id,
        )
        transaction.on_commit(functools.partial(_announce, [payout.id]))


def payouts_track(*, chain: str, confirmations_by_txid: dict[str, int]) -> list[int]:
    """Record what the node says of relayed payouts' txids (called by the deposit scan,
    which already holds the wallet history). Returns the payouts that changed."""
    changed = []
    now = timezone.now()
    open_payouts = Payout.objects.filter(
        chain=chain,
        state__in=[PayoutState.SIGNED, PayoutState.RELAYED],
        txid__in=list(confirmations_by_txid),
    )
    for payout in open_payouts:
        confirmations = confirmations_by_txid[payout.txid]
        if payout.state == PayoutState.SIGNED:
            # Relayed before a crash kept the row from saying so.
            _mark_relayed(payout)
            payout.refresh_from_db()
            changed.append(payout.id)
        if confirmations != payout.confirmations:
            fields = {"confirmations": confirmations, "updated_at": now}
            if confirmations >= 1:
                fields.update(state=PayoutState.CONFIRMED, confirmed_at=now)
            with transaction.atomic():
                Payout.objects.filter(id=payout.id, state=PayoutState.RELAYED).update(**fields)
                transaction.on_commit(functools.partial(_announce, [payout.id]))
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


def payout_retry(*, payout_id: int, actor, reason: str, address: str | None = None) -> Payout:
    """Staff: put a failed payout back to work. One that never got a transaction is
    built again (to ``address`` if given); one with a stored transaction has those same
    bytes relayed again, never a new transaction."""
    from exchange.services import audit_record

    with transaction.atomic():
        payout = Payout.objects.select_for_update().get(id=payout_id)
        if payout.state != PayoutState.FAILED:
            raise PayoutStateError(f"payout {payout.id} is {payout.state}, not failed")
        if payout.raw_tx and address:
            raise PayoutStateError(
                f"payout {payout.id} has a stored transaction; it is relayed again as it is "
                "and cannot be sent to another address"
            )
        to_state = PayoutState.SIGNED if payout.raw_tx else PayoutState.PENDING
        fields = {"state": to_state, "last_error": "", "updated_at": timezone.now()}
        if to_state == PayoutState.PENDING:
            fields.update(txid="", raw_tx="", network_fee=0, sent_amount=0, key_images=[])
        if address:
            fields["address"] = address
        Payout.objects.filter(id=payout.id, state=PayoutState.FAILED).update(**fields)
        audit_record(
            actor=actor,
            action="payout.retry",
            target=payout,
            reason=reason,
            data={"from": PayoutState.FAILED, "to": to_state, "address": address or payout.address},
        )
        transaction.on_commit(functools.partial(payout_enqueue, payout.id))
    payout.refresh_from_db()
    return payout
