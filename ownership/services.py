"""Recording who owns funds: balanced ledger postings and ownership transfers."""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from typing import TYPE_CHECKING

import redis
from django.db import transaction
from django.db.models import F

from exchange.redis import get_redis
from ownership.models import LedgerBalance, LedgerEntry, LedgerTransaction, OwnershipTransfer

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

    from wallets.models import WalletAccount

    # Who a posting is recorded for: a user, a request's anonymous user, or the engine.
    Actor = User | AnonymousUser | None

logger = logging.getLogger(__name__)


class LedgerError(Exception):
    """Base of the ledger's errors."""


class UnbalancedPosting(LedgerError):
    """The legs of a posting do not sum to zero in some currency."""


class EmptyPosting(LedgerError):
    pass


class FractionalAmount(LedgerError):
    """A leg that is not a whole number of base units."""


class NegativeBalance(LedgerError):
    """The posting would make a ledger account that stands for money held negative."""


# Ledger accounts that stand for money somebody holds: they never go below zero. The others
# (``deposits``, ``sent``, ``network:fees``, ``platform:losses``) are sources and sinks.
HELD_PREFIXES = ("escrow:", "buyer:", "vendor:", "customer:", "merchant:", "payout:")
HELD_ACCOUNTS = frozenset({"house", "platform:fees", "platform:spread"})


def is_held_account(account: str) -> bool:
    return account in HELD_ACCOUNTS or account.startswith(HELD_PREFIXES)


def _hold_balances(currency: str, legs: list[tuple[str, int]], memo: str) -> None:
    """Move the running balances of the held accounts among ``legs``; refuse a leg that
    would take one below zero. Rows are changed in account order (no deadlock between two
    postings touching the same accounts)."""
    held = sorted((account, amount) for account, amount in legs if is_held_account(account))
    if not held:
        return
    LedgerBalance.objects.bulk_create(
        [LedgerBalance(currency=currency, account=account) for account, _ in held],
        ignore_conflicts=True,
    )
    for account, amount in held:
        rows = LedgerBalance.objects.filter(currency=currency, account=account)
        if amount < 0:
            rows = rows.filter(balance__gte=-amount)
        if rows.update(balance=F("balance") + amount) != 1:
            raise NegativeBalance(
                f"{memo}: {account} holds less than {-amount} {currency}; refused"
            )


def ledger_post(
    *,
    currency: str,
    legs: list[tuple[str, int]],
    memo: str,
    owner_kind: str = "",
    owner_id: int | None = None,
    actor: Actor = None,
    wallet_account: WalletAccount | None = None,
) -> LedgerTransaction:
    """Write one balanced transaction. ``legs`` are (account, signed amount): positive
    debits, negative credits, each a whole number of base units (``FractionalAmount``
    otherwise: never rounded here). Zero legs are dropped; they must sum to zero, and no ledger
    account of money held may go negative (``NegativeBalance``). ``wallet_account`` names
    the node account whose coins the posting follows (a deposit credited, a payout
    relayed), so the books can be compared with the node account by account."""
    if any(int(amount) != amount for _, amount in legs):
        raise FractionalAmount(f"{memo}: every leg must be a whole number of base units")
    legs = [(account, int(amount)) for account, amount in legs if int(amount) != 0]
    if not legs:
        raise EmptyPosting(memo)
    totals: dict[str, int] = defaultdict(int)
    for _, amount in legs:
        totals[currency] += amount
    if any(totals.values()):
        raise UnbalancedPosting(f"{memo}: legs sum to {dict(totals)}, not zero")
    with transaction.atomic():
        _hold_balances(currency, legs, memo)
        tx = LedgerTransaction.objects.create(
            memo=memo[:200],
            owner_kind=owner_kind,
            owner_id=owner_id,
            # An actor with a primary key is a saved user; anyone else is recorded as no one.
            created_by=actor if actor is not None and actor.pk else None,
            wallet_account=wallet_account,
        )
        LedgerEntry.objects.bulk_create(
            [
                LedgerEntry(
                    transaction=tx,
                    currency=currency,
                    account=account,
                    debit=amount if amount > 0 else 0,
                    credit=-amount if amount < 0 else 0,
                )
                for account, amount in legs
            ]
        )
    return tx


def ownership_transfer(
    *,
    account: WalletAccount,
    currency: str,
    from_party: str,
    to_party: str,
    amount: int,
    reason: str,
    owner_kind: str,
    owner_id: int,
    event_id: int | None = None,
) -> OwnershipTransfer:
    """Append a transfer; the Redis history list of the account gets it after commit."""
    transfer = OwnershipTransfer.objects.create(
        account=account,
        currency=currency,
        from_party=from_party,
        to_party=to_party,
        amount=amount,
        reason=reason,
        owner_kind=owner_kind,
        owner_id=owner_id,
        event_id=event_id,
    )
    transaction.on_commit(lambda: _history_push([transfer]))
    return transfer


def _history_item(transfer: OwnershipTransfer) -> str:
    return json.dumps(
        {
            "id": transfer.id,
            "from": transfer.from_party,
            "to": transfer.to_party,
            "amount": str(transfer.amount),
            "currency": transfer.currency,
            "reason": transfer.reason,
            "owner": f"{transfer.owner_kind}_{transfer.owner_id}",
            "at": transfer.created_at.isoformat(),
        },
        sort_keys=True,
    )


def _history_push(transfers: list[OwnershipTransfer]) -> None:
    try:
        pipe = get_redis().pipeline(transaction=False)
        for transfer in transfers:
            pipe.rpush(f"ownership:history:{transfer.account_id}", _history_item(transfer))
        pipe.execute()
    except redis.RedisError as exc:
        logger.warning("redis: ownership history not written (%s); rebuild_redis restores it", exc)


def ownership_history_rebuild(*, dry_run: bool = False) -> dict[str, int]:
    """Rewrite every ``ownership:history:{walletId}`` list from the database."""
    counts = {"histories": 0, "transfers": 0}
    current: int | None = None
    items: list[str] = []
    r = None if dry_run else get_redis()

    def flush() -> None:
        if current is None:
            return
        counts["histories"] += 1
        counts["transfers"] += len(items)
        if r is not None:
            pipe = r.pipeline(transaction=True)
            pipe.delete(f"ownership:history:{current}")
            pipe.rpush(f"ownership:history:{current}", *items)
            pipe.execute()

    for transfer in OwnershipTransfer.objects.order_by("account_id", "id").iterator(
        chunk_size=2000
    ):
        if transfer.account_id != current:
            flush()
            current, items = transfer.account_id, []
        items.append(_history_item(transfer))
    flush()
    return counts
