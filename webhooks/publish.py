"""What each event says, and whom it concerns."""

from __future__ import annotations

from django.db import transaction

from webhooks.services import event_publish


def state_changed_publish(obj, *, from_state: str, to_state: str, event_id: int) -> None:
    """An order or swap changed state (in the transaction that changed it: the
    ``funding.signals.state_changed`` receiver)."""
    from orders.models import EscrowOrder

    if isinstance(obj, EscrowOrder):
        event_publish(
            type="order.state_changed",
            data={"order": obj.pk, "from": from_state, "to": to_state, "event": event_id},
            parties=[obj.buyer_id, obj.vendor_id],
        )
    else:
        event_publish(
            type="swap.state_changed",
            data={
                "swap": str(obj.public_id),
                "from": from_state,
                "to": to_state,
                "event": event_id,
            },
            parties=[obj.user_id] if obj.user_id else [],
        )


def deposits_changed_publish(*, chain: str, account_ids: list[int]) -> None:
    from orders.models import EscrowOrder, SwapOrder
    from wallets.models import Deposit

    with transaction.atomic():
        for order in EscrowOrder.objects.filter(account_id__in=account_ids):
            event_publish(
                type="deposit.changed",
                data={
                    "order": order.id,
                    "chain": chain,
                    "deposits": _deposits(Deposit, order.account_id),
                },
                parties=[order.buyer_id, order.vendor_id],
            )
        for swap in SwapOrder.objects.filter(account_id__in=account_ids):
            event_publish(
                type="deposit.changed",
                data={
                    "swap": str(swap.public_id),
                    "chain": chain,
                    "deposits": _deposits(Deposit, swap.account_id),
                },
                parties=[swap.user_id] if swap.user_id else [],
            )


def _deposits(model, account_id: int) -> list[dict]:
    return [
        {
            "txid": d.txid,
            "output": d.output_key,
            "amount": str(d.amount),
            "confirmations": d.confirmations,
            "unlocked": d.unlocked,
            "dropped": d.dropped,
        }
        for d in model.objects.filter(account_id=account_id).order_by("id")
    ]
