"""Master wallets, their accounts (one per order or swap) and the deposits into them.

Amounts are integers in base units: satoshi for bitcoin, piconero for monero.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from wallets.chains.registry import COINS

# The chains of the registry's coins (wallets.chains.registry), e.g. Chain("bitcoin").
# django-stubs knows only choices declared as classes; this is Enum's functional form, which
# Django's choices support, with members from the registry.
Chain = models.TextChoices("Chain", [(c.chain.upper(), (c.chain, c.name)) for c in COINS])  # type: ignore[call-overload]


class Network(models.TextChoices):
    REGTEST = "regtest"
    TESTNET = "testnet"
    MAINNET = "mainnet"


class OwnerKind(models.TextChoices):
    """What an account, a payout or a ledger posting belongs to."""

    ORDER = "order", "escrow order"
    SWAP = "swap", "swap"
    PROMPT = "prompt", "an invoice's payment prompt"
    HOUSE = "house", "the house"


class PayoutKind(models.TextChoices):
    """Why a payout pays: each is at most once per owner and key."""

    RELEASE = "release", "escrow released to the vendor"
    REFUND = "refund", "refund to the customer"
    SPLIT_VENDOR = "split_vendor", "the vendor's share of a split"
    SPLIT_BUYER = "split_buyer", "the buyer's share of a split"
    EXCESS = "excess", "what was paid beyond the amount due"
    LATE_REFUND = "late_refund", "a deposit that arrived too late"
    SWAP = "swap", "a swap's payout in the other currency"
    SETTLE = "settle", "a settled invoice's money to its store"
    WITHDRAWAL = "withdrawal", "a merchant's balance to its payout address"


CURRENCY_OF_CHAIN = {c.chain: c.code for c in COINS}
CHAIN_OF_CURRENCY = {c.code: c.chain for c in COINS}


class MasterWallet(models.Model):
    """One wallet on a node (a bcoin wallet id, a Monero wallet file) holding many accounts.

    Several may exist per chain; accounts are allocated from the active ones, filling the
    oldest first up to its capacity.
    """

    chain = models.CharField(max_length=16, choices=Chain.choices)
    name = models.CharField(max_length=64, help_text="bcoin wallet id or Monero wallet file")
    network = models.CharField(max_length=16, choices=Network.choices)
    endpoint = models.CharField(
        max_length=32, help_text="settings block naming the node (BITCOIN or MONERO)"
    )
    capacity = models.PositiveIntegerField(help_text="most accounts this wallet may hold")
    is_active = models.BooleanField(default=True, help_text="new accounts are created here")
    scanned_height = models.PositiveIntegerField(
        default=0, help_text="chain height the last deposit scan reached"
    )
    scanned_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["chain", "name"], name="master_wallet_chain_name")
        ]

    def __str__(self) -> str:
        return f"{self.chain}:{self.name}"


class AccountState(models.TextChoices):
    CREATING = "creating", "Being created on the node"
    POOLED = "pooled", "Pooled, ready to hand out"
    ASSIGNED = "assigned", "Assigned to an owner"
    RETIRED = "retired", "Retired"


class AccountPurpose(models.TextChoices):
    DEPOSIT = "deposit", "Deposit account of one order or swap"
    LIQUIDITY = "liquidity", "The house's liquidity account"


# The account lifecycle: an account is never handed to a second owner.
ACCOUNT_TRANSITIONS: dict[str, set[str]] = {
    AccountState.CREATING: {AccountState.POOLED},
    AccountState.POOLED: {AccountState.ASSIGNED},
    AccountState.ASSIGNED: {AccountState.RETIRED},
    AccountState.RETIRED: set(),
}


class WalletAccount(models.Model):
    """An account of a master wallet: bcoin account / Monero account index.

    Created ahead of time into a pool; handed to exactly one owner (an escrow order, a
    swap, or the house) by a conditional update, never reused.
    """

    master_wallet = models.ForeignKey(
        MasterWallet, on_delete=models.PROTECT, related_name="accounts"
    )
    chain = models.CharField(max_length=16, choices=Chain.choices)
    account_index = models.PositiveIntegerField(null=True, blank=True)
    node_name = models.CharField(
        max_length=64, help_text="bcoin account name, or the Monero account's label"
    )
    address = models.CharField(max_length=128, null=True, blank=True, unique=True)
    purpose = models.CharField(
        max_length=16, choices=AccountPurpose.choices, default=AccountPurpose.DEPOSIT
    )
    state = models.CharField(
        max_length=16, choices=AccountState.choices, default=AccountState.CREATING
    )
    owner_kind = models.CharField(max_length=16, blank=True, default="", choices=OwnerKind.choices)
    owner_id = models.BigIntegerField(null=True, blank=True)
    labelled_at = models.DateTimeField(
        null=True, blank=True, help_text="when the owner's tag was written on the node"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    pooled_at = models.DateTimeField(null=True, blank=True)
    assigned_at = models.DateTimeField(null=True, blank=True)
    retired_at = models.DateTimeField(null=True, blank=True)
    # Written by the balance sync (base units).
    node_balance = models.BigIntegerField(
        default=0, help_text="base units the node holds, unconfirmed and locked included"
    )
    node_spendable = models.BigIntegerField(
        default=0, help_text="base units confirmed (bitcoin) or unlocked (monero)"
    )
    drift = models.BigIntegerField(
        default=0, help_text="node_balance minus what the database expects, base units"
    )
    balance_synced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["master_wallet", "account_index"], name="account_wallet_index"
            ),
            models.UniqueConstraint(
                fields=["master_wallet", "node_name"], name="account_wallet_name"
            ),
            models.UniqueConstraint(fields=["owner_kind", "owner_id"], name="account_owner"),
            models.CheckConstraint(
                condition=(
                    Q(state__in=["creating", "pooled"], owner_id__isnull=True)
                    | Q(state__in=["assigned", "retired"], owner_id__isnull=False)
                ),
                name="account_owner_matches_state",
            ),
        ]
        indexes = [
            models.Index(fields=["chain", "state", "id"], name="account_claim"),
            models.Index(fields=["chain", "pooled_at"], name="account_pooled_at"),
            # The pool's demand measure (allocations per minute of the last day).
            models.Index(fields=["chain", "assigned_at"], name="account_assigned_at"),
        ]

    def __str__(self) -> str:
        return f"{self.chain}#{self.account_index} ({self.state})"

    @property
    def owner_tag(self) -> str:
        """``order_12`` / ``swap_3``: the tag written on the node and used in Redis keys."""
        return f"{self.owner_kind}_{self.owner_id}" if self.owner_id is not None else ""


class Deposit(models.Model):
    """One payment into an account, as the node reports it.

    Unique on its on-chain identity in its master wallet (txid and output / subaddress),
    so a rescan updates the row instead of counting it twice. Deposits to the house's
    liquidity account (its funding, and regtest's coinbase) are recorded too.
    """

    account = models.ForeignKey(WalletAccount, on_delete=models.PROTECT, related_name="deposits")
    master_wallet = models.ForeignKey(
        MasterWallet, on_delete=models.PROTECT, related_name="deposits"
    )
    chain = models.CharField(max_length=16, choices=Chain.choices)
    txid = models.CharField(max_length=64)
    output_key = models.CharField(
        max_length=32, help_text="bitcoin: output index; monero: major.minor subaddress"
    )
    amount = models.PositiveBigIntegerField(help_text="base units")
    height = models.PositiveIntegerField(null=True, blank=True, help_text="null while in mempool")
    confirmations = models.PositiveIntegerField(default=0)
    unlocked = models.BooleanField(
        default=False, help_text="spendable (monero unlock time passed; bitcoin: confirmed)"
    )
    dropped = models.BooleanField(
        default=False, help_text="no longer seen by the node (evicted or reorganised away)"
    )
    double_spend_seen = models.BooleanField(default=False)
    first_seen_at = models.DateTimeField(auto_now_add=True)
    seen_at = models.DateTimeField(
        help_text="when it was first seen: our first record, or the node's own first sight "
        "of it if earlier (bcoin's mtime, Monero's pool arrival); block times are not trusted"
    )
    confirmed_at = models.DateTimeField(null=True, blank=True)
    unlocked_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    flagged = models.BooleanField(default=False, help_text="needs staff attention")
    flag_reason = models.CharField(max_length=200, blank=True, default="")
    credited_at = models.DateTimeField(
        null=True, blank=True, help_text="when the owner counted it (set by orders/swaps)"
    )

    class Meta:
        constraints = [
            # The output key (Monero's major.minor subaddress) is only unique in its wallet.
            models.UniqueConstraint(
                fields=["master_wallet", "txid", "output_key"], name="deposit_onchain_id"
            )
        ]
        indexes = [
            models.Index(fields=["chain", "dropped", "unlocked"], name="deposit_open"),
            # A bitcoin scan reaches back to the wallet's newest deposit in a block.
            models.Index(fields=["master_wallet", "seen_at"], name="deposit_wallet_seen"),
        ]

    def __str__(self) -> str:
        return f"{self.chain} {self.txid[:12]}:{self.output_key} {self.amount}"


class BalanceSync(models.Model):
    """One run of the balance sync for a chain: what the nodes said against the books."""

    chain = models.CharField(max_length=16, choices=Chain.choices)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    accounts = models.PositiveIntegerField(help_text="accounts compared")
    node_calls = models.PositiveIntegerField()
    drift_accounts = models.PositiveIntegerField(help_text="accounts whose balance drifted")
    drift_total = models.BigIntegerField(help_text="sum of drift, base units")

    class Meta:
        indexes = [models.Index(fields=["chain", "-finished_at"], name="balance_sync_latest")]

    def __str__(self) -> str:
        return f"{self.chain} sync {self.finished_at:%Y-%m-%d %H:%M} drift {self.drift_total}"


class PayoutState(models.TextChoices):
    PENDING = "pending", "Pending: not built yet"
    HELD = "held", "Held: not built until what held it is settled (hold_kind says what)"
    SIGNED = "signed", "Signed and stored; relayed or not (the node says)"
    RELAYED = "relayed", "Relayed to the network"
    CONFIRMED = "confirmed", "Confirmed on chain"
    FAILED = "failed", "Failed: refused by the node, needs staff"
    VOIDED = "voided", "Voided: proved absent from the chain, never to be relayed"


class PayoutHold(models.TextChoices):
    # Released by the chain: every credited deposit of the owner is back in a block.
    DEPOSIT = "deposit", "a deposit that funds it vanished from the chain"
    # Released by staff only: a restore found its account spent by a transaction no
    # payout records, made after the backup, which may be this payout already sent.
    RESTORE = "restore", "a restore found an unrecorded spend from its account"


# The one table of allowed payout transitions (applied only by payouts.moves._move).
PAYOUT_TRANSITIONS: dict[str, set[str]] = {
    PayoutState.PENDING: {PayoutState.SIGNED, PayoutState.FAILED, PayoutState.HELD},
    PayoutState.HELD: {PayoutState.PENDING},
    PayoutState.SIGNED: {PayoutState.RELAYED, PayoutState.FAILED},
    # A relayed payout whose inputs another transaction spent goes to staff (a voided
    # transaction that had landed and is gone again goes back to voided).
    PayoutState.RELAYED: {PayoutState.CONFIRMED, PayoutState.FAILED, PayoutState.VOIDED},
    # A reorg can take a confirmation back.
    PayoutState.CONFIRMED: {PayoutState.RELAYED},
    # Staff retry (same bytes, or a new build once the old one is proved absent), the scan
    # finding the stored transaction on chain after all, or a void before a refund.
    PayoutState.FAILED: {
        PayoutState.PENDING,
        PayoutState.SIGNED,
        PayoutState.RELAYED,
        PayoutState.VOIDED,
    },
    # Only reached after the node showed the transaction absent; if it lands anyway, the
    # scan records it (a double payment for staff) and the checker reports it.
    PayoutState.VOIDED: {PayoutState.RELAYED},
}
ACTIVE_PAYOUT_STATES = (PayoutState.PENDING, PayoutState.SIGNED, PayoutState.RELAYED)
# States whose stored transaction the node may hold (the scan follows their txids).
TRACKED_PAYOUT_STATES = (
    PayoutState.SIGNED,
    PayoutState.RELAYED,
    PayoutState.CONFIRMED,
    PayoutState.FAILED,
    PayoutState.VOIDED,
)


class Payout(models.Model):
    """Money leaving an account, sent exactly once.

    The saga builds and signs without relaying, stores the raw transaction and its txid,
    commits, then relays; a retry relays the stored bytes again and never builds a second
    transaction. ``amount`` is what the owner assigns to this payout; the network fee
    comes out of it, so the recipient receives ``amount - network_fee``. A fee bump (a
    child paying for the stored transaction from its change) is stored the same way; its
    fee is not the recipient's (``bump_bearer`` pays it), and ``total_fee`` is what the
    payout really paid the network.
    """

    key = models.CharField(
        max_length=96,
        unique=True,
        help_text="one payout per owner and purpose, e.g. order_12:release",
    )
    chain = models.CharField(max_length=16, choices=Chain.choices)
    source_account = models.ForeignKey(
        WalletAccount, on_delete=models.PROTECT, related_name="payouts"
    )
    owner_kind = models.CharField(max_length=16, choices=OwnerKind.choices)
    owner_id = models.BigIntegerField()
    kind = models.CharField(max_length=24, choices=PayoutKind.choices)
    address = models.CharField(max_length=128)
    amount = models.PositiveBigIntegerField(help_text="base units, network fee included")
    state = models.CharField(
        max_length=16, choices=PayoutState.choices, default=PayoutState.PENDING
    )
    txid = models.CharField(max_length=64, blank=True, default="")
    raw_tx = models.TextField(
        blank=True, default="", help_text="the signed bytes relayed (bcoin hex, Monero metadata)"
    )
    network_fee = models.PositiveBigIntegerField(
        default=0, help_text="the fee the signed transaction pays, base units"
    )
    sent_amount = models.PositiveBigIntegerField(default=0, help_text="what the recipient receives")
    remainder = models.PositiveBigIntegerField(
        default=0,
        help_text="base units of the amount the transaction leaves in the source account "
        "(amount - sent - fee), returned to the owner in the books",
    )
    key_images = models.JSONField(default=list, blank=True)
    tx_key = models.CharField(
        max_length=64,
        blank=True,
        default="",
        help_text="Monero: the transaction's secret key, proving to the daemon what it paid where",
    )
    ledger_from = models.CharField(
        max_length=64, default="", help_text="the ledger account the amount was taken from"
    )
    voided_txids = models.JSONField(
        default=list,
        blank=True,
        help_text="earlier transactions of this payout, proved absent from the chain and voided",
    )
    confirmations = models.PositiveIntegerField(default=0)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True, default="")
    hold_kind = models.CharField(
        max_length=16,
        choices=PayoutHold.choices,
        blank=True,
        default="",
        help_text="what holds it, while held; who may release it",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    signed_at = models.DateTimeField(null=True, blank=True)
    relay_attempted_at = models.DateTimeField(
        null=True, blank=True, help_text="when its bytes were first handed to a node"
    )
    relayed_at = models.DateTimeField(null=True, blank=True)
    relayed_height = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="the height the wallet's deposit scan had reached when it was relayed",
    )
    # A fee bump: a child transaction spending the payout's change back into its source
    # account, paying enough that the two reach the fee policy's rate (at most one).
    bump_txid = models.CharField(
        max_length=64, blank=True, default="", help_text="the child that pays for it (CPFP)"
    )
    bump_raw_tx = models.TextField(
        blank=True, default="", help_text="the child's signed bytes (relayed again as they are)"
    )
    bump_fee = models.PositiveBigIntegerField(
        default=0, help_text="the fee the child pays, base units, borne by bump_bearer"
    )
    bump_bearer = models.CharField(
        max_length=64,
        blank=True,
        default="",
        help_text="the ledger account the child's fee came from",
    )
    bumped_at = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["state", "updated_at"], name="payout_state"),
            models.Index(fields=["owner_kind", "owner_id"], name="payout_owner"),
            models.Index(fields=["chain", "txid"], name="payout_txid"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payout_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"payout {self.id} {self.key} ({self.state})"

    @property
    def currency(self) -> str:
        return CURRENCY_OF_CHAIN[self.chain]

    @property
    def spent_amount(self) -> int:
        """What the stored transaction takes out of the source account."""
        return self.sent_amount + self.network_fee

    @property
    def total_fee(self) -> int:
        """The network fees the payout really pays: its transaction's and its bump's."""
        return self.network_fee + self.bump_fee

    @property
    def total_spent(self) -> int:
        """What the payout takes out of the source account, its fee bump included."""
        return self.spent_amount + self.bump_fee
