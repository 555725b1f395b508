"""Wallet events that move orders and swaps on (connected in OrdersConfig.ready)."""

from __future__ import annotations

from django.dispatch import receiver

from exchange.dispatch import enqueue
from wallets.models import Payout
from wallets.signals import deposits_changed, payouts_changed


@receiver(deposits_changed)
def on_deposits_changed(sender, *, chain: str, account_ids: list[int], **kwargs) -> None:
    from orders.services import orders_for_accounts, swaps_for_accounts

    for order_id in orders_for_accounts(account_ids):
        enqueue("orders.apply_deposits", order_id)
    for swap_id in swaps_for_accounts(account_ids):
        enqueue("orders.swap_apply_deposits", swap_id)


@receiver(payouts_changed)
def on_payouts_changed(sender, *, payout_ids: list[int], **kwargs) -> None:
    owners = set(Payout.objects.filter(id__in=payout_ids).values_list("owner_kind", "owner_id"))
    for kind, owner_id in owners:
        if kind == "order":
            enqueue("orders.advance", owner_id)
        elif kind == "swap":
            enqueue("orders.swap_advance", owner_id)
