"""Payouts a lost machine sent after its last backup, as a restore finds them: the
restored wallets' own record of what they sent, matched against the payouts the backup
holds as pending, so that none is built and sent a second time."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from exchange.errors import ApplicationError, NotFoundError
from operations.books.spends import Spend, node_spends
from wallets.chains import adapter
from wallets.clients.base import NodeUnavailable
from wallets.models import MasterWallet, Payout, PayoutHold, PayoutState, WalletAccount
from wallets.nodes import client_for
from wallets.services.payouts import (
    PayoutStateError,
    payout_adopt,
    payout_record_held_sent,
    payouts_hold,
)

if TYPE_CHECKING:
    from ownership.services import Actor

# A wallet just restored may answer slowly while it settles: its reads are asked again.
NODE_READ_ATTEMPTS = 12
NODE_READ_PAUSE_SECONDS = 5


def _recorded(wallet: MasterWallet) -> set[str]:
    """Every transaction a payout of ``wallet`` records: sent, fee bump, or voided."""
    payouts = Payout.objects.filter(source_account__master_wallet=wallet)
    recorded = set(payouts.exclude(txid="").values_list("txid", flat=True))
    recorded |= set(payouts.exclude(bump_txid="").values_list("bump_txid", flat=True))
    recorded |= {
        txid for voided in payouts.values_list("voided_txids", flat=True) for txid in voided
    }
    return recorded


def node_height(chain: str) -> int | None:
    status = adapter(chain).node_status(timeout=30)
    return int(status["height"]) if status.get("reachable") else None


def before_backup(confirmations: int, tip: int | None, height_at_backup: int | None) -> bool:
    """Whether a transaction with ``confirmations`` was in a block by the backup."""
    if not confirmations or tip is None or height_at_backup is None:
        return False
    return tip - confirmations + 1 <= height_at_backup


def spends_read(wallet: MasterWallet, addresses: set[str]) -> list[Spend]:
    client_for(wallet).refresh()  # the wallet's history up to its node's tip, first
    return node_spends(wallet, addresses)


def read_patiently(read: Callable[[], list[Spend]], echo: Callable[[str], None]) -> list[Spend]:
    """A read of a wallet, asked again while its node does not answer in time (nothing
    is decided on a read that did not come back)."""
    for attempt in range(NODE_READ_ATTEMPTS):
        try:
            return read()
        except NodeUnavailable as exc:
            if attempt == NODE_READ_ATTEMPTS - 1:
                raise
            echo(f"  the wallet did not answer ({exc}); asking again")
            time.sleep(NODE_READ_PAUSE_SECONDS)
    raise AssertionError("unreachable")


def payouts_sent_after(
    wallet: MasterWallet, height_at_backup: int | None, echo: Callable[[str], None]
) -> None:
    """A payout the backup holds as pending may have been sent by the lost machine after
    the backup: building it again would pay twice. Each transaction the restored wallet
    sent after the backup (unconfirmed, or above ``height_at_backup``; every one when the
    backup does not say) that no payout records is matched against the pending payouts of
    the accounts it spent from: the one payout whose address it pays is recorded as that
    transaction (``payout_adopt``), when the node gives its bytes; otherwise every pending
    payout of those accounts is held (``PayoutHold.RESTORE``) for staff, who record it as
    the spend once they know it is that payout (``payout_record_sent``) or release it
    (``payout_release_held``) once they know it is not."""
    chain = adapter(wallet.chain)
    key = chain.account_key
    accounts = list(WalletAccount.objects.filter(master_wallet=wallet))
    by_key = {getattr(a, key): a for a in accounts}
    addresses = {a.address for a in accounts if a.address}
    payouts = Payout.objects.filter(source_account__master_wallet=wallet)
    recorded = _recorded(wallet)
    spends = read_patiently(lambda: spends_read(wallet, addresses), echo)
    tip = node_height(wallet.chain)
    for spend in spends:
        if spend.txid in recorded or all(ours for *_, ours in spend.destinations):
            continue
        if before_backup(spend.confirmations, tip, height_at_backup):
            continue
        sources = [by_key[name] for name in spend.sources if name in by_key]
        pending = list(payouts.filter(state=PayoutState.PENDING, source_account__in=sources))
        paying = [p for p in pending if spend.pays(p.address)]
        if len(paying) == 1 and len(sources) == len(spend.sources) == 1:
            payout = paying[0]
            raw = chain.sent_bytes(wallet, spend.txid)
            if raw and payout_adopt(
                payout_id=payout.id,
                txid=spend.txid,
                raw_tx=raw,
                network_fee=spend.fee,
                sent_amount=spend.pays(payout.address),
                note=f"restored: {spend.txid} was sent after the backup",
            ):
                recorded.add(spend.txid)
                echo(f"  payout {payout.id}: sent after the backup as {spend.txid}, recorded")
                continue
        held = payouts_hold(
            payout_ids=[p.id for p in pending],
            kind=PayoutHold.RESTORE,
            reason=f"restored: {spend.txid} left {list(spend.sources)} after the backup and no"
            " payout records it; release this payout only once that is known not to be it",
        )
        for payout_id in held:
            echo(f"  payout {payout_id}: held, {spend.txid} left its account after the backup")


def payout_record_sent(*, payout_id: int, txid: str, actor: Actor, reason: str) -> Payout:
    """Staff: record a payout a restore held as the transaction ``txid`` its account sent
    after the backup, once they know that transaction is this payout (a Monero wallet
    restored from its seed does not know where its transfers went, so a restore cannot
    tell). The node must show the transaction as sent from the payout's account alone,
    recorded by no payout, paying no other address than the payout's where it names the
    address, and spending no more than the payout's amount (exactly that amount, fee
    included, where it does not say where the transaction went). The payout is then relayed
    with that transaction's amount and fee and followed to its confirmations: nothing is
    built or sent again. Anything else is refused, naming the field, and nothing is
    written."""
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError("a reason is required", field="reason")
    txid = (txid or "").strip().lower()
    if not txid:
        raise ApplicationError("the transaction id is required", field="txid")
    payout = (
        Payout.objects.select_related("source_account__master_wallet").filter(id=payout_id).first()
    )
    if payout is None:
        raise NotFoundError(f"payout {payout_id} not found")
    if payout.state != PayoutState.HELD or payout.hold_kind != PayoutHold.RESTORE:
        raise PayoutStateError(f"payout {payout.id} is {payout.state}, not held by a restore")
    wallet = payout.source_account.master_wallet
    chain = adapter(wallet.chain)
    if txid in _recorded(wallet):
        raise ApplicationError(f"{txid} is already a payout's transaction", field="txid")
    addresses = set(
        WalletAccount.objects.filter(master_wallet=wallet)
        .exclude(address=None)
        .values_list("address", flat=True)
    )
    spend = next((s for s in spends_read(wallet, addresses) if s.txid == txid), None)
    if spend is None:
        raise ApplicationError(
            f"the {wallet.chain} wallet {wallet.name} shows no transaction {txid} it sent",
            field="txid",
        )
    account = getattr(payout.source_account, chain.account_key)
    if tuple(spend.sources) != (account,):
        raise ApplicationError(
            f"{txid} spent from {list(spend.sources)}, not from the payout's account"
            f" {account} alone",
            field="txid",
        )
    paid = [(address, amount) for address, amount, ours in spend.destinations if not ours]
    elsewhere = sorted({address for address, _ in paid} - {payout.address, "?"})
    if elsewhere:
        raise ApplicationError(
            f"{txid} pays {elsewhere}, not only the payout's address", field="txid"
        )
    sent = sum(amount for _, amount in paid)
    if payout.address not in {address for address, _ in paid} and sent + spend.fee != payout.amount:
        # Where the node cannot say where it went, the amount is what tells it is this
        # payout (a payout spends its amount, the fee included), and not another of its
        # account's.
        raise ApplicationError(
            f"the node does not say where {txid} went, and it spent {sent} + {spend.fee} fee,"
            f" not the payout's {payout.amount}",
            field="txid",
        )
    return payout_record_held_sent(
        payout_id=payout.id,
        txid=txid,
        raw_tx=chain.sent_bytes(wallet, txid) or "",
        network_fee=spend.fee,
        sent_amount=sent,
        actor=actor,
        reason=reason,
    )
