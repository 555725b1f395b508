"""Self-healing: find every piece of work that should be moving and enqueue its next step.

A lost broker message (Redis wiped, a worker killed) delays work but never loses it: the
database says what is in flight, and this sweep (every 2 minutes) enqueues the next saga
step of each. Every step it enqueues is safe to run twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

import redis
from django.conf import settings
from django.utils import timezone

from exchange.dispatch import enqueue
from exchange.redis import get_redis
from exchange.single_flight import single_flight
from funding.models import ADVANCE, APPLY_DEPOSITS, FundedOrder, FundingState, funded_models
from invoices.models import PromptState
from orders.models import OrderState
from swaps.models import SwapState
from wallets.models import (
    AccountPurpose,
    AccountState,
    Deposit,
    OwnerKind,
    Payout,
    PayoutState,
    WalletAccount,
)
from wallets.services.pool import chains_labelling_accounts

logger = logging.getLogger(__name__)

REDIS_SENTINEL = "cache:built"


def _owners_with_uncredited_deposits(kind: str, cutoff) -> set[int]:
    return set(
        Deposit.objects.filter(
            credited_at__isnull=True,
            dropped=False,
            account__owner_kind=kind,
            updated_at__lt=cutoff,
        ).values_list("account__owner_id", flat=True)
    )


def _paying_states(model: type[FundedOrder]) -> list[str]:
    """The states that wait for payouts (a failed one waits for staff instead)."""
    return [state for state in model.PAYOUT_KINDS if state != FundingState.FAILED]


@single_flight("recovery-sweep", ttl=300)
def recovery_sweep() -> dict[str, int]:
    """Enqueue the next step of everything quiet for RECOVERY_AFTER_SECONDS."""
    from wallets.services.payouts import payouts_sweep

    cutoff = timezone.now() - timedelta(seconds=settings.RECOVERY_AFTER_SECONDS)
    counts: dict[str, int] = {}

    for kind, model in funded_models().items():
        applying = _owners_with_uncredited_deposits(kind, cutoff) | set(
            model.objects.filter(
                state__in=[FundingState.CONFIRMING, FundingState.ON_HOLD], updated_at__lt=cutoff
            ).values_list("id", flat=True)
        )
        for owner_id in applying:
            enqueue(model.task(APPLY_DEPOSITS), owner_id)
        counts[f"{kind} deposits"] = len(applying)
        paying = list(
            model.objects.filter(
                state__in=_paying_states(model), updated_at__lt=cutoff
            ).values_list("id", flat=True)
        )
        for owner_id in paying:
            enqueue(model.task(ADVANCE), owner_id)
        counts[f"{kind} payouts"] = len(paying)

    counts["payouts"] = payouts_sweep()

    unlabelled = WalletAccount.objects.filter(
        chain__in=chains_labelling_accounts(),
        purpose=AccountPurpose.DEPOSIT,
        state=AccountState.ASSIGNED,
        labelled_at__isnull=True,
        assigned_at__lt=cutoff,
    ).count()
    if unlabelled:
        enqueue("wallets.label_accounts")
    counts["monero labels"] = unlabelled
    counts["redis rebuilt"] = int(redis_rebuild_if_lost())
    logger.info("recovery sweep: %s", counts)
    return counts


def redis_rebuild_if_lost() -> bool:
    """Rewrite the Redis cache keys if Redis lost them (its sentinel key is gone)."""
    from exchange.cache_rebuild import rebuild_all

    try:
        if get_redis().exists(REDIS_SENTINEL):
            return False
        rebuild_all()
        get_redis().set(REDIS_SENTINEL, timezone.now().isoformat())
    except redis.RedisError as exc:
        logger.warning("recovery sweep: Redis unavailable (%s)", exc)
        return False
    return True


@dataclass(frozen=True)
class StuckItem:
    kind: str
    id: int
    state: str
    since: str
    minutes: int
    reason: str
    next_action: str


def stuck_items(*, older_than_minutes: int) -> list[StuckItem]:
    """Orders, swaps and payouts in an intermediate state for longer than the threshold."""
    now = timezone.now()
    cutoff = now - timedelta(minutes=older_than_minutes)
    items: list[StuckItem] = []

    def add(kind, obj, reason, action):
        items.append(
            StuckItem(
                kind=kind,
                id=obj.id,
                state=obj.state,
                since=obj.updated_at.isoformat(),
                minutes=int((now - obj.updated_at).total_seconds() // 60),
                reason=reason,
                next_action=action,
            )
        )

    # Why a funded order is stuck in a state every kind has, and then in its own.
    shared = {
        FundingState.REFUNDING: ("refund payout not confirmed yet", "see the payout below"),
        FundingState.FAILED: (
            "a payout was refused by the node",
            "fix the cause, then `retry_payout ID`",
        ),
        FundingState.ON_HOLD: (
            "a credited deposit vanished from the chain (reorg)",
            "wait for it to confirm again; `reconcile` lists it",
        ),
    }
    own = {
        OwnerKind.ORDER: {
            FundingState.CONFIRMING: (
                "deposits seen, not all confirmed",
                "wait for blocks, or `rescan`",
            ),
            OrderState.RELEASING: (
                "release payout not relayed yet",
                "see the payout below; `retry_payout ID`",
            ),
            OrderState.RELEASED: (
                "release payout not confirmed yet",
                "wait for a block; the sweep relays it again",
            ),
            OrderState.SPLITTING: ("split payouts not confirmed yet", "see the payouts below"),
            OrderState.DISPUTED: ("waiting for staff", "resolve it in the admin"),
        },
        OwnerKind.SWAP: {
            FundingState.CONFIRMING: (
                "deposit seen, not confirmed (or no fresh rate)",
                "wait, check /api/rates",
            ),
            SwapState.EXCHANGING: ("exchange not finished", "the sweep retries it"),
            SwapState.SENDING: ("payout not confirmed yet", "see the payout below"),
            SwapState.ACTION_REQUIRED: (
                "waiting for the customer",
                "the customer accepts or refunds; staff may refund",
            ),
        },
        OwnerKind.PROMPT: {
            FundingState.CONFIRMING: (
                "an invoice's payment seen, not confirmed",
                "wait for blocks, or `rescan`",
            ),
            PromptState.SETTLING: ("the store's payout not confirmed yet", "see the payout below"),
        },
    }
    for kind, model in funded_models().items():
        reasons = {**shared, **own[kind]}
        for owner in model.objects.filter(state__in=reasons, updated_at__lt=cutoff).order_by("id"):
            add(kind, owner, *reasons[owner.state])
    payout_reasons = {
        PayoutState.PENDING: (
            "not built: the node was unreachable or funds locked",
            "the sweep retries; check /healthz",
        ),
        PayoutState.SIGNED: (
            "built, not relayed",
            "the sweep relays the stored bytes; check /healthz",
        ),
        PayoutState.RELAYED: (
            "relayed, not confirmed",
            "wait for a block; relayed again after PAYOUT_RERELAY_AFTER_SECONDS",
        ),
        PayoutState.FAILED: ("refused by the node", "fix the cause, then `retry_payout ID`"),
        PayoutState.HELD: (
            "held: a deposit that funds it vanished from the chain",
            "it resumes when the deposit confirms again",
        ),
    }
    for payout in Payout.objects.filter(state__in=payout_reasons, updated_at__lt=cutoff).order_by(
        "id"
    ):
        reason, action = payout_reasons[payout.state]
        if payout.last_error:
            reason = f"{reason} ({payout.last_error[:120]})"
        add("payout", payout, reason, action)
    return items
