"""Domain events that become webhook events."""

from __future__ import annotations

from django.dispatch import receiver

from wallets.signals import deposits_changed


@receiver(deposits_changed)
def on_deposits_changed(sender, *, chain: str, account_ids: list[int], **kwargs) -> None:
    from webhooks.publish import deposits_changed_publish

    deposits_changed_publish(chain=chain, account_ids=account_ids)
