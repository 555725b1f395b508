"""Fee bumps: a relayed payout the chain leaves unconfirmed for the coin's
``fee_bump_after_blocks`` (``BITCOIN_FEE_BUMP_AFTER_BLOCKS``) is sped up once by what its
adapter signs (bitcoin: a child spending the payout's change back into its source
account). It stays the same payout: the destination is paid by its one transaction, and
nothing else is ever paid to anyone. The child is stored (txid, bytes, fee) with its books
in one transaction, then relayed; a re-relay sends the same bytes.

Who bears the child's fee: the party the change belongs to in the books. The change of a
deposit account's payout is what the account holds beyond the payout, and of that only
the platform's fee is nobody's to be paid out: ``platform:fees`` bears the bump, up to
what the ledger credited it from that owner (less earlier bumps), so no vendor, buyer or
customer share left in the account pays for it. The change of the house's liquidity
account is the house's own coins: ``house`` bears it. Anything else is not bumped, and
the payout says why.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from ownership.models import LedgerEntry
from ownership.services import LedgerError, ledger_post
from wallets.chains import adapter, coin_of_chain
from wallets.chains.base import BuiltBump, BumpRefused
from wallets.clients.base import NodeRejected, OutcomeUnknown, RetryLater, TxRejected
from wallets.models import AccountPurpose, Payout, PayoutState
from wallets.services.payouts.moves import _scanned_height, bump_trail

logger = logging.getLogger(__name__)


def bump_due(payout: Payout) -> bool:
    """Has the relayed payout stayed unconfirmed for the coin's bump setting, counted in
    blocks the wallet's deposit scan has seen since it was relayed? (Never for a coin
    whose setting is 0, a payout bumped already, or a transaction staff voided.)"""
    after = coin_of_chain(payout.chain).fee_bump_after_blocks
    if not after or payout.bump_txid or payout.txid in payout.voided_txids:
        return False
    height = _scanned_height(payout)
    if payout.relayed_height is None:
        # Relayed before heights were recorded: counted from now.
        Payout.objects.filter(id=payout.id, relayed_height__isnull=True).update(
            relayed_height=height
        )
        return False
    return height - payout.relayed_height >= after


def bump_bearer(payout: Payout) -> tuple[str, int | None]:
    """The ledger account that bears a fee bump of ``payout`` and the most it may bear
    (None: as much as its ledger balance holds); ("", 0) when nobody's share of the
    change may pay for it."""
    account = payout.source_account
    if account.purpose == AccountPurpose.LIQUIDITY:
        return "house", None
    if (account.owner_kind, account.owner_id) != (payout.owner_kind, payout.owner_id):
        return "", 0
    row = LedgerEntry.objects.filter(
        currency=payout.currency,
        account="platform:fees",
        transaction__owner_kind=payout.owner_kind,
        transaction__owner_id=payout.owner_id,
    ).aggregate(d=Sum("debit"), c=Sum("credit"))
    return "platform:fees", int(row["d"] or 0) - int(row["c"] or 0)


def _note(payout: Payout, message: str) -> None:
    Payout.objects.filter(id=payout.id).update(last_error=message[:500], updated_at=timezone.now())


def payout_fee_bump(payout: Payout) -> bool:
    """Bump a relayed payout whose transaction is in the mempool (under the wallet's
    writer lock): build the child, store it with its books, relay it. True if a bump was
    recorded by this call. A payout that cannot be bumped keeps being followed as it is,
    with the reason in ``last_error``."""
    if payout.state != PayoutState.RELAYED or payout.bump_txid:
        return False
    bearer, most = bump_bearer(payout)
    if not bearer:
        _note(payout, "fee not bumped: its change is not the platform's or the house's to spend")
        return False
    try:
        built = adapter(payout.chain).payout_bump(payout)
    except BumpRefused as exc:
        _note(payout, f"fee not bumped: {exc}")
        return False
    except (RetryLater, NodeRejected) as exc:
        _note(payout, f"fee not bumped yet: {exc}")
        return False
    if built is None:
        return False
    if most is not None and built.fee > most:
        _note(
            payout,
            f"fee not bumped: the child would pay {built.fee}, more than the {most} that "
            f"{bearer} holds in this account",
        )
        return False
    try:
        recorded = _record(payout, built, bearer)
    except LedgerError as exc:
        _note(payout, f"fee not bumped: {exc}")
        return False
    if not recorded:
        return False
    payout.refresh_from_db()
    logger.warning(
        "payout %s: unconfirmed since height %s; fee bumped by %s (%s, %s sat/kvB together)",
        payout.id,
        payout.relayed_height,
        built.txid,
        built.fee,
        built.rate,
    )
    _send_child(payout)
    return True


def _record(payout: Payout, built: BuiltBump, bearer: str) -> bool:
    """The child, its fee in the books (the bearer → network fees, on the source
    account) and in the account's ownership trail, in one transaction."""
    now = timezone.now()
    with transaction.atomic():
        moved = Payout.objects.filter(
            id=payout.id, state=PayoutState.RELAYED, txid=payout.txid, bump_txid=""
        ).update(
            bump_txid=built.txid,
            bump_raw_tx=built.raw,
            bump_fee=built.fee,
            bump_bearer=bearer,
            bumped_at=now,
            updated_at=now,
            last_error="",
        )
        if not moved:
            return False
        ledger_post(
            currency=payout.currency,
            legs=[("network:fees", built.fee), (bearer, -built.fee)],
            memo=f"payout {payout.id}: fee bump {built.txid} pays for {payout.txid}",
            owner_kind=payout.owner_kind,
            owner_id=payout.owner_id,
            wallet_account=payout.source_account,
        )
        payout.refresh_from_db()
        bump_trail(payout, sign=1)
    return True


def _send_child(payout: Payout) -> None:
    """Relay the stored child (never one that was voided with its parent)."""
    if not payout.bump_txid or payout.bump_txid in payout.voided_txids:
        return
    try:
        adapter(payout.chain).payout_relay(payout, bump=True)
    except (OutcomeUnknown, TxRejected) as exc:
        _note(payout, f"fee bump relay answered {exc}")


def bump_follow(payout: Payout) -> None:
    """A bumped payout still unconfirmed: the node lost the child → the same bytes again;
    another transaction spent the change → staff see it (the books check reports it)."""
    if not payout.bump_txid:
        return
    status = adapter(payout.chain).payout_status(payout, bump=True)
    if status.state in ("absent", "pending"):
        logger.warning("payout %s: fee bump %s relayed again", payout.id, payout.bump_txid)
        _send_child(payout)
    elif status.state == "conflicted":
        _note(payout, f"fee bump {payout.bump_txid} conflicted: {status.evidence}")
        logger.error("payout %s: fee bump conflicted: %s", payout.id, status.evidence)
