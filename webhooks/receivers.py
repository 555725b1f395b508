"""Domain events that become webhook events."""

from __future__ import annotations

from django.dispatch import receiver

from funding.signals import state_changed
from invoices.signals import invoice_event_recorded
from wallets.signals import deposits_changed


@receiver(deposits_changed)
def on_deposits_changed(sender, *, chain: str, account_ids: list[int], **kwargs) -> None:
    from webhooks.publish import deposits_changed_publish

    deposits_changed_publish(chain=chain, account_ids=account_ids)


@receiver(state_changed)
def on_state_changed(
    sender, *, owner, from_state: str, to_state: str, event_id: int, **kwargs
) -> None:
    """Sent inside the transaction that moved ``owner``: the outbox row commits with it."""
    from webhooks.publish import state_changed_publish

    state_changed_publish(owner, from_state=from_state, to_state=to_state, event_id=event_id)


@receiver(invoice_event_recorded)
def on_invoice_event_recorded(sender, *, invoice, event, **kwargs) -> None:
    """Sent in the transaction that recorded the invoice event: the store's webhook
    deliveries commit with it and are sent after."""
    from webhooks.store_webhooks import invoice_event_publish

    invoice_event_publish(invoice=invoice, event=event)
