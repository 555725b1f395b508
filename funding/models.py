"""The funded-order core: what every account-backed order shares (escrow orders, swaps),
and the one audit trail of them all.

A concrete funded order declares, as class attributes, its owner kind, its transition
table and the states the core moves it through; ``funding.states`` and
``funding.services`` are driven by them alone.
"""

from __future__ import annotations

from collections.abc import Set
from typing import TYPE_CHECKING, Any, ClassVar

from django.conf import settings
from django.db import models

from wallets.models import OwnerKind, PayoutKind


class FundingState(models.TextChoices):
    """The states the core moves every funded order through. Each model names its own
    beside them (escrow's ``OrderState``, swaps' ``SwapState``) and combines the two in
    its ``state`` choices (``state_choices``)."""

    AWAITING_DEPOSIT = "awaiting_deposit"
    CONFIRMING = "confirming"
    REFUNDING = "refunding"
    REFUNDED = "refunded"
    COMPLETED = "completed"
    EXPIRED = "expired"
    FAILED = "failed"
    ON_HOLD = "on_hold"


# The transitions every funded order has: a deposit is awaited until one confirms or the
# order expires (a deposit that left the mempool before confirming puts it back to
# waiting); a refund ends refunded or failed, and a failed payout may be retried as a
# refund; completed and refunded are final.
LIFECYCLE: dict[str, set[str]] = {
    FundingState.AWAITING_DEPOSIT: {FundingState.CONFIRMING, FundingState.EXPIRED},
    FundingState.CONFIRMING: {FundingState.AWAITING_DEPOSIT},
    FundingState.REFUNDING: {FundingState.REFUNDED, FundingState.FAILED},
    FundingState.FAILED: {FundingState.REFUNDING},
    FundingState.COMPLETED: set(),
    FundingState.REFUNDED: set(),
    FundingState.EXPIRED: set(),
}


def transition_table(*, own: dict[str, set[str]], holdable: Set[str]) -> dict[str, set[str]]:
    """A model's table of allowed transitions: ``LIFECYCLE`` with the model's ``own``
    transitions added, then the hold. A credited deposit that vanished from the chain (a
    reorg) stops the order in any ``holdable`` state, on_hold, until the deposit is back in
    a block; it then returns to the state it was in (``held_from``)."""
    table = {state: set(targets) for state, targets in LIFECYCLE.items()}
    for state, targets in own.items():
        table.setdefault(state, set()).update(targets)
    for state in holdable:
        table[state].add(FundingState.ON_HOLD)
    table[FundingState.ON_HOLD] = set(holdable)
    return table


def state_choices(own: type[models.TextChoices]) -> list[tuple[str, str]]:
    """A model's ``state`` choices: the shared states, then its own."""
    return [*FundingState.choices, *own.choices]


# The saga steps every funded order has, each a task named ``<app label>.<step>``
# (``FundedOrder.task``) that the app registers with funding.tasks.owner_step.
APPLY_DEPOSITS = "apply_deposits"
ADVANCE = "advance"


class FundedOrder(models.Model):
    """An order paid into a deposit account of its own, then paid out by payouts.

    Concrete models add their ``state`` choices and their amounts and declare their own
    ``account`` (a one-to-one to ``wallets.WalletAccount``, each with its related name); the
    other fields here are identical in every one."""

    # What the order's payouts, ledger postings and transfers name it by.
    OWNER_KIND: ClassVar[str]
    # The one table of allowed transitions (``transition_table``), applied only by
    # funding.states.transition.
    TRANSITIONS: ClassVar[dict[str, set[str]]]
    # Following payouts: the paying state of each payout kind (where a failed order goes
    # back to), and where a state goes once its payouts are relayed, or all confirmed; a
    # refund's (from refunding, to refunded) is added to every model's.
    PAYING_STATE_OF_KIND: ClassVar[dict[str, str]]
    RELAYED_TO: ClassVar[dict[str, str]] = {}
    CONFIRMED_TO: ClassVar[dict[str, str]]
    # Made from the declarations above for each concrete model (``__init_subclass__``):
    # the states a vanished credited deposit stops (and later resumes), and the payout
    # kinds each state waits for: a paying state its own kinds, a relayed state those of
    # the state it was relayed from, a failed order every kind.
    HOLDABLE_STATES: ClassVar[frozenset[str]]
    PAYOUT_KINDS: ClassVar[dict[str, tuple[str, ...]]]
    # Its fields holding the currency its deposits are paid in, what its deposit address
    # is asked to receive, and the users its money belongs or goes to.
    CURRENCY_FIELD: ClassVar[str]
    AMOUNT_DUE_FIELD: ClassVar[str]
    PARTY_FIELDS: ClassVar[tuple[str, ...]]

    if TYPE_CHECKING:
        # The primary key every concrete funded order has.
        id: int

    # Each concrete model declares its own, with its related name; this one says what the
    # core may ask of it.
    account = models.OneToOneField(
        "wallets.WalletAccount", on_delete=models.PROTECT, related_name="+", null=True
    )
    state = models.CharField(max_length=24)
    confirmations_required = models.PositiveIntegerField()
    expires_at = models.DateTimeField()
    held_from = models.CharField(
        max_length=24, blank=True, default="", help_text="the state an on_hold order returns to"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "TRANSITIONS" not in vars(cls):
            return
        # Every funded order refunds the same way: from refunding, ending refunded.
        cls.PAYING_STATE_OF_KIND = {
            **cls.PAYING_STATE_OF_KIND,
            PayoutKind.REFUND: FundingState.REFUNDING,
        }
        cls.CONFIRMED_TO = {**cls.CONFIRMED_TO, FundingState.REFUNDING: FundingState.REFUNDED}
        cls.HOLDABLE_STATES = frozenset(cls.TRANSITIONS[FundingState.ON_HOLD])
        kinds: dict[str, tuple[str, ...]] = {}
        for kind, state in cls.PAYING_STATE_OF_KIND.items():
            kinds[state] = (*kinds.get(state, ()), kind)
        for paying, relayed in cls.RELAYED_TO.items():
            kinds[relayed] = kinds[paying]
        kinds[FundingState.FAILED] = tuple(cls.PAYING_STATE_OF_KIND)
        cls.PAYOUT_KINDS = kinds

    @classmethod
    def task(cls, step: str) -> str:
        """The name of its task for one saga step (``APPLY_DEPOSITS``, ``ADVANCE``)."""
        return f"{cls._meta.app_label}.{step}"

    @property
    def deposit_currency(self) -> str:
        return getattr(self, self.CURRENCY_FIELD)

    @property
    def amount_due(self) -> int:
        """Base units."""
        return getattr(self, self.AMOUNT_DUE_FIELD)

    @property
    def parties(self) -> tuple:
        """Who may not approve a staff move on it."""
        return tuple(getattr(self, field) for field in self.PARTY_FIELDS)

    @property
    def events(self) -> models.QuerySet[FundingEvent]:
        return FundingEvent.objects.filter(owner_kind=self.OWNER_KIND, owner_id=self.pk)


class EventKind(models.TextChoices):
    TRANSITION = "transition", "state changed"
    CREATED = "created", "created"
    OVERPAID = "overpaid", "paid more than the amount"
    LATE_DEPOSIT = "late_deposit", "a deposit credited after the escrow, expiry or cancel"
    EXTRA_DEPOSIT = "extra_deposit", "a deposit beyond the swap's, refunded"
    REFUND_ADDRESS = "refund_address", "refund address set"
    REFUND_OWED_NO_ADDRESS = "refund_owed_no_address", "a refund is owed, no refund address"
    ACCEPTED = "accepted", "the customer goes on at the current rate"
    PAYOUT_RETRY = "payout_retry", "staff retried a payout"
    PAYOUT_VOIDED = "payout_voided", "a payout voided"
    PAYOUTS_HELD = "payouts_held", "payouts held (a credited deposit vanished)"
    PAYOUTS_RESUMED = "payouts_resumed", "held payouts resumed"
    APPROVAL_REQUESTED = "approval_requested", "staff asked for an approval"
    APPROVED = "approved", "a second staff member approved"
    REJECTED = "rejected", "rejected or withdrawn"
    REFUND = "refund", "an invoice's refund asked for, claimed, paid or rejected"
    WITHDRAWAL = "withdrawal", "what it credited to the merchant's balance, withdrawn"
    STAFF = "staff", "staff note"


class FundingEvent(models.Model):
    """The audit trail of every funded order: each transition and each note (deposits,
    payouts, staff actions), with who and why."""

    owner_kind = models.CharField(max_length=8, choices=OwnerKind.choices)
    owner_id = models.PositiveBigIntegerField()
    from_state = models.CharField(max_length=24, blank=True, default="")
    to_state = models.CharField(max_length=24, blank=True, default="")
    kind = models.CharField(max_length=32, choices=EventKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.CharField(max_length=500, blank=True, default="")
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(fields=["owner_kind", "owner_id", "id"], name="funding_event_owner")
        ]

    def __str__(self) -> str:
        return (
            f"{self.owner_kind} {self.owner_id}: {self.from_state} → {self.to_state} ({self.kind})"
        )


def funded_models() -> dict[str, type[FundedOrder]]:
    """Every concrete funded order model, by its owner kind."""
    from django.apps import apps

    return {
        model.OWNER_KIND: model for model in apps.get_models() if issubclass(model, FundedOrder)
    }


def funded_model(owner_kind: str) -> type[FundedOrder]:
    return funded_models()[owner_kind]
