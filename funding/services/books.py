"""A funded order's money moves, named after it: ledger postings, ownership transfers of
its deposit account, and payouts keyed by it (``{owner_kind}_{id}:{key}``, at most one
per key), and a share of what it holds paid to a party less the platform's fee."""

from __future__ import annotations

from typing import TYPE_CHECKING

from funding.models import FundedOrder
from funding.states import StateConflict
from ownership.models import LedgerTransaction, OwnershipTransfer
from ownership.services import ledger_post, ownership_transfer
from wallets.models import Payout, WalletAccount
from wallets.services.payouts import payout_request

if TYPE_CHECKING:
    from ownership.services import Actor


def deposit_account(owner: FundedOrder) -> WalletAccount:
    """The owner's deposit account, which it is given when it is created."""
    if owner.account is None:
        raise StateConflict(f"{owner.OWNER_KIND} {owner.id} has no deposit account")
    return owner.account


def post(
    owner: FundedOrder,
    *,
    currency: str,
    legs: list[tuple[str, int]],
    memo: str,
    actor: Actor = None,
    wallet_account: WalletAccount | None = None,
) -> LedgerTransaction:
    """A ledger posting of the owner; its memo reads ``{owner_kind} {id}: {memo}``."""
    return ledger_post(
        currency=currency,
        legs=legs,
        memo=f"{owner.OWNER_KIND} {owner.id}: {memo}",
        owner_kind=owner.OWNER_KIND,
        owner_id=owner.id,
        actor=actor,
        wallet_account=wallet_account,
    )


def hand_over(
    owner: FundedOrder,
    *,
    currency: str,
    from_party: str,
    to_party: str,
    amount: int,
    reason: str,
    event_id: int | None = None,
) -> OwnershipTransfer:
    """Funds of the owner's deposit account change hands (``event_id``: the move's)."""
    return ownership_transfer(
        account=deposit_account(owner),
        currency=currency,
        from_party=from_party,
        to_party=to_party,
        amount=amount,
        reason=reason,
        owner_kind=owner.OWNER_KIND,
        owner_id=owner.id,
        event_id=event_id,
    )


def pay(
    owner: FundedOrder,
    key: str,
    *,
    address: str,
    amount: int,
    kind: str,
    ledger_from: str,
    source_account: WalletAccount | None = None,
    actor: Actor = None,
) -> Payout:
    """The owner's payout for ``key`` (from its deposit account unless another
    ``source_account`` is given), created once, in the caller's transaction."""
    return payout_request(
        key=f"{owner.OWNER_KIND}_{owner.id}:{key}",
        source_account=source_account or deposit_account(owner),
        address=address,
        amount=amount,
        kind=kind,
        owner_kind=owner.OWNER_KIND,
        owner_id=owner.id,
        ledger_from=ledger_from,
        actor=actor,
    )


def pay_share(
    owner: FundedOrder,
    *,
    currency: str,
    holder: str,
    share: int,
    fee: int,
    party: str,
    who: str,
    address: str,
    key: str,
    event_id: int,
    kind: str = "",
    actor: Actor = None,
) -> Payout:
    """``share`` of what ``holder`` holds for the owner goes to ``party`` less ``fee`` (the
    platform's), in the books and the ownership trail, and is paid out to ``address`` as a
    payout of ``kind`` (``key`` unless said) made once for ``key``."""
    post(
        owner,
        currency=currency,
        legs=[(holder, -share), (party, share - fee), ("platform:fees", fee)],
        memo=f"{key} to the {who}",
        actor=actor,
    )
    for to_party, amount in ((party, share - fee), ("platform:fees", fee)):
        if amount:
            hand_over(
                owner,
                currency=currency,
                from_party=holder,
                to_party=to_party,
                amount=amount,
                reason=key,
                event_id=event_id,
            )
    return pay(
        owner,
        key,
        address=address,
        amount=share - fee,
        kind=kind or key,
        ledger_from=party,
        actor=actor,
    )
