"""What each event says, and whom it concerns."""

from __future__ import annotations

from django.db import transaction

from wallets.models import OwnerKind
from webhooks.services import event_publish

# How an event names the funded order it is about: an order by its id, a swap by its
# public id (the capability to read it), an invoice's prompt by its invoice and coin.
SUBJECT = {
    OwnerKind.ORDER: lambda owner: {"order": owner.pk},
    OwnerKind.SWAP: lambda owner: {"swap": str(owner.public_id)},
    OwnerKind.PROMPT: lambda owner: {
        "invoice": owner.invoice.public_id,
        "currency": owner.currency,
    },
}


def _parties(owner) -> list[int]:
    return [party for party in owner.parties if party]


def state_changed_publish(owner, *, from_state: str, to_state: str, event_id: int) -> None:
    """An order or swap changed state (in the transaction that changed it: the
    ``funding.signals.state_changed`` receiver)."""
    event_publish(
        type=f"{owner.OWNER_KIND}.state_changed",
        data={
            **SUBJECT[owner.OWNER_KIND](owner),
            "from": from_state,
            "to": to_state,
            "event": event_id,
        },
        parties=_parties(owner),
    )


def deposits_changed_publish(*, chain: str, account_ids: list[int]) -> None:
    from funding.models import funded_models
    from wallets.models import Deposit

    with transaction.atomic():
        for kind, model in funded_models().items():
            for owner in model.objects.filter(account_id__in=account_ids):
                event_publish(
                    type="deposit.changed",
                    data={
                        **SUBJECT[kind](owner),
                        "chain": chain,
                        "deposits": _deposits(Deposit, owner.account_id),
                    },
                    parties=_parties(owner),
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
