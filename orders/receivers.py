"""Wallet events that move orders on (connected in OrdersConfig.ready)."""

from __future__ import annotations

import logging

from django.dispatch import receiver

from wallets.models import Payout
from wallets.signals import deposits_changed, payouts_changed

logger = logging.getLogger(__name__)


@receiver(deposits_changed)
def on_deposits_changed(sender, *, chain: str, account_ids: list[int], **kwargs) -> None:
    from orders.services import orders_for_accounts
    from orders.tasks import order_apply_deposits_task

    for order_id in orders_for_accounts(account_ids):
        order_apply_deposits_task.delay(order_id)


@receiver(payouts_changed)
def on_payouts_changed(sender, *, payout_ids: list[int], **kwargs) -> None:
    from orders.tasks import order_advance_task

    owners = Payout.objects.filter(id__in=payout_ids, owner_kind="order").values_list(
        "owner_id", flat=True
    )
    for order_id in set(owners):
        order_advance_task.delay(order_id)
