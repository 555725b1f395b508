"""Master wallets: the chain's first one, made from settings on first use, the one new
accounts go to, and each wallet's liquidity account."""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone

from wallets.chains import adapter
from wallets.models import AccountPurpose, AccountState, MasterWallet, OwnerKind, WalletAccount
from wallets.nodes import default_wallet_settings


class WalletFull(Exception):
    """Every active master wallet of the chain has reached its capacity."""


def master_wallet_ensure(*, chain: str) -> MasterWallet:
    """The chain's first master wallet, created from settings on first use. One recorded
    on the same node under another name (an earlier default, bcoin's ``primary``) stays
    the first: a changed default never starts a second, empty wallet beside it."""
    conf = default_wallet_settings(chain)
    earlier = (
        MasterWallet.objects.filter(chain=chain, endpoint=conf["endpoint"])
        .exclude(name=conf["name"])
        .order_by("id")
        .first()
    )
    if (
        earlier is not None
        and not MasterWallet.objects.filter(chain=chain, name=conf["name"]).exists()
    ):
        return earlier
    wallet, _ = MasterWallet.objects.get_or_create(
        chain=chain,
        name=conf["name"],
        defaults={
            "network": conf["network"],
            "endpoint": conf["endpoint"],
            "capacity": settings.MASTER_WALLET_CAPACITY,
        },
    )
    return wallet


def wallet_for_new_accounts(chain: str) -> MasterWallet:
    master_wallet_ensure(chain=chain)
    for wallet in MasterWallet.objects.filter(chain=chain, is_active=True).order_by("id"):
        if WalletAccount.objects.filter(master_wallet=wallet).count() < wallet.capacity:
            return wallet
    raise WalletFull(f"every active {chain} master wallet is full: add one (README, Scaling out)")


def house_account_ensure(*, wallet: MasterWallet) -> WalletAccount:
    """The liquidity account (index 0) of a master wallet, recorded once. Node call on
    first use only."""
    existing = WalletAccount.objects.filter(
        master_wallet=wallet, purpose=AccountPurpose.LIQUIDITY
    ).first()
    if existing:
        return existing
    index, address = adapter(wallet.chain).house_account(wallet)
    account, _ = WalletAccount.objects.get_or_create(
        master_wallet=wallet,
        purpose=AccountPurpose.LIQUIDITY,
        defaults={
            "chain": wallet.chain,
            "account_index": index,
            "node_name": "default",
            "address": address,
            "state": AccountState.ASSIGNED,
            "owner_kind": OwnerKind.HOUSE,
            "owner_id": wallet.id,
            "assigned_at": timezone.now(),
        },
    )
    return account
