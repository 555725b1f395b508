"""Wallet events that move orders and swaps on (connected in OrdersConfig.ready)."""

from __future__ import annotations

from django.dispatch import receiver

from wallets.models import Payout
from wallets.signals import deposits_changed, payouts_changed


@receiver(deposits_changed)
def on_deposits_changed(sender, *, chain: str, account_ids: list[int], **kwargs) -> None:
    from orders.services import orders_for_accounts, swaps_for_accounts
    from orders.tasks import order_apply_deposits_task, swap_apply_deposits_task

    for order_id in orders_for_accounts(account_ids):
        order_apply_deposits_task.delay(order_id)
    for swap_id in swaps_for_accounts(account_ids):
        swap_apply_deposits_task.delay(swap_id)


@receiver(payouts_changed)
def on_payouts_changed(sender, *, payout_ids: list[int], **kwargs) -> None:
    from orders.tasks import order_advance_task, swap_advance_task

    owners = set(Payout.objects.filter(id__in=payout_ids).values_list("owner_kind", "owner_id"))
    for kind, owner_id in owners:
        if kind == "order":
            order_advance_task.delay(owner_id)
        elif kind == "swap":
            swap_advance_task.delay(owner_id)
