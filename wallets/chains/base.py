"""The protocol every chain adapter implements, and the typed answers it gives.

An adapter owns everything a coin means on its nodes: reading deposits in a height window,
balances per account, creating accounts and the house account, building a payout (signed,
not relayed, with the fee it really pays), relaying it, and asking what became of a txid.
Services (``wallets.services``, ``operations``) call only this; they hold no chain branch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from wallets.clients.base import TxStatus

if TYPE_CHECKING:
    from datetime import datetime

    from wallets.addresses import AddressCheck
    from wallets.chains.registry import Coin
    from wallets.models import MasterWallet, Payout, WalletAccount

__all__ = [
    "BuiltBump",
    "BuiltPayout",
    "BumpRefused",
    "ChainAdapter",
    "ChainRead",
    "RestoreRefused",
    "Sighting",
    "TxStatus",
    "WalletBehind",
]


@dataclass
class Sighting:
    """A deposit as the node reports it now."""

    account_key: str | int  # the account's name on the node (``ChainAdapter.account_key``)
    txid: str
    output_key: str
    amount: int
    height: int | None
    confirmations: int
    unlocked: bool
    double_spend_seen: bool = False
    node_seen: int | None = None  # unix time the node itself first saw it (None: unknown)


@dataclass
class ChainRead:
    """One read of a master wallet: the deposits in the window, the height the wallet has
    reached, and the confirmations of its own recent transactions (the payouts)."""

    sightings: list[Sighting]
    height: int
    own_txs: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class BuiltPayout:
    """A signed transaction not relayed yet, with what it really pays."""

    txid: str
    raw: str  # what ``payout_send`` hands to the node
    fee: int
    sent: int  # reaches the destination
    key_images: list[str] = field(default_factory=list)
    tx_key: str = ""  # the proof of payment, where the coin has one


@dataclass(frozen=True)
class BuiltBump:
    """A signed transaction, not relayed yet, that makes a relayed payout confirm sooner
    without paying anyone: bitcoin's child spending the payout's change back into the
    source account."""

    txid: str
    raw: str  # what ``payout_relay(..., bump=True)`` hands to the node
    fee: int  # what the child pays
    rate: int  # satoshi per 1,000 virtual bytes the payout and its child pay together


class BumpRefused(Exception):
    """This payout's fee cannot be bumped (the reason is for staff); it is followed as it is."""


class WalletBehind(Exception):
    """The wallet's view is not its node's yet (it lags the tip, or rescans): nothing it
    says now is recorded, and the scanned height stays where it was."""


class RestoreRefused(Exception):
    """A wallet cannot be restored as asked (a different wallet under that name, a name
    the node reserves, accounts that do not line up): nothing more is done to it."""


class ChainAdapter(Protocol):
    coin: Coin
    # The WalletAccount field the node names accounts by ("node_name", "account_index").
    account_key: str
    # Whether accounts carry their owner's tag on the node (written by the labelling task).
    labels_accounts: bool
    # Whether the node's balance already counts deposits still in the mempool.
    balance_counts_mempool: bool

    def client(self, wallet: MasterWallet) -> Any:
        """The node client of a master wallet."""

    def wallet_defaults(self) -> dict[str, str]:
        """The first master wallet as the settings name it: name, network, endpoint."""

    def node_status(self, *, timeout: float) -> dict[str, Any]:
        """``{"reachable": True, "height": n, "headers": h, "progress": p, "synced": b}``
        (the chain's height, the best height the node knows of, 0.0-1.0 of the way there,
        and whether the node says it has caught up) or ``{"reachable": False, "error": …}``."""

    def validate_address(self, address: str) -> AddressCheck:
        """Is ``address`` payable on the configured network?"""

    def deposits_read(
        self, wallet: MasterWallet, window: int, *, final: int, since: datetime | None = None
    ) -> ChainRead:
        """Deposits from ``window`` up (and older ones not yet settled), in O(1) calls;
        confirmations are capped at ``final``. ``since``: when the last scan that read up to
        the window read the wallet (an adapter may read only what changed after it; None:
        read everything). Raises ``WalletBehind``."""

    def balances(self, wallet: MasterWallet, *, refresh: bool = False) -> dict:
        """Every account's (total, spendable) in base units, keyed by ``account_key``."""

    def house_account(self, wallet: MasterWallet) -> tuple[int, str]:
        """The index and address of the wallet's liquidity account."""

    def account_create(self, wallet: MasterWallet, name: str) -> tuple[int, str]:
        """Create (or, after a crash, find) the account ``name``: its index and address."""

    def accounts_named(self, wallet: MasterWallet) -> dict[str, tuple[int, str]]:
        """Accounts the node already holds by name (to finish an interrupted refill);
        empty where ``account_create`` finds an existing name itself."""

    def accounts_saved(self, wallet: MasterWallet) -> None:
        """Make new accounts survive a wallet restart (a no-op where the node does)."""

    def account_label(self, account: WalletAccount) -> None:
        """Write the owner's tag on the node (only where ``labels_accounts``)."""

    def wallet_backup(self, wallet: MasterWallet) -> dict[str, Any]:
        """What restores the wallet elsewhere, as JSON-ready values: its secrets (plain:
        the caller encrypts them), its accounts and the height to read the chain from."""

    def wallet_restore(self, wallet: MasterWallet, saved: dict[str, Any], *, gap: int) -> None:
        """Recreate the wallet ``saved`` describes on this machine's node under
        ``wallet.name``: its keys, every account at its index, ``gap`` accounts past the
        last (never recorded, never handed out), and what the chain holds for them from
        the saved height. Returns once the wallet has read up to the tip; safe to run
        again after an interruption. Raises ``RestoreRefused``."""

    def sent_bytes(self, wallet: MasterWallet, txid: str) -> str | None:
        """The bytes of a transaction the wallet sent, as ``payout_relay`` hands them to
        the node; None where the node cannot give them (a Monero transfer a restored
        wallet learnt from the chain)."""

    def payout_build(self, payout: Payout) -> BuiltPayout:
        """Sign the payout's transaction without relaying it; raises ``RetryLater`` when
        the wallet is not ready for it yet."""

    def payout_relay(self, payout: Payout, *, bump: bool = False) -> None:
        """Hand the stored bytes (``bump``: its fee bump's) to the node (the answer proves
        nothing: ask after)."""

    def payout_status(self, payout: Payout, *, bump: bool = False) -> TxStatus:
        """What the node says of the payout's stored transaction (``bump``: of its fee
        bump)."""

    def payout_bump(self, payout: Payout) -> BuiltBump | None:
        """Sign, without relaying, what makes the payout's relayed and unconfirmed
        transaction confirm sooner without paying its destination again, at the fee
        policy's current rate; None where the coin has no fee bump. Raises
        ``BumpRefused`` (why) when this payout cannot be bumped, ``RetryLater`` when the
        node cannot tell yet."""

    def cache_keys(self, owner_kind: str, owner_id: int, owner_tag: str) -> dict[str, str]:
        """The Redis keys of an owner's account: ``map`` (hash), ``meta`` (JSON) and,
        where the coin tags accounts, ``tags`` (set)."""
