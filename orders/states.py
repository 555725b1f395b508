"""The one place escrow order and swap states change: table check, conditional update,
audit row."""

from __future__ import annotations

from django.db import models, transaction
from django.utils import timezone

from exchange.errors import ConflictError
from webhooks.publish import state_changed_publish


class StateConflict(ConflictError):
    code = "state_conflict"


# The order API has always called it this.
OrderConflict = StateConflict


def transition(
    obj: models.Model,
    to_state: str,
    *,
    table: dict[str, set[str]],
    event_model: type[models.Model],
    allowed_from: set[str] | None = None,
    actor=None,
    reason: str = "",
    data: dict | None = None,
    **fields,
) -> models.Model:
    """Move ``obj`` from its current state to ``to_state``.

    ``UPDATE … WHERE id = %s AND state = <current>``: if another transaction moved it
    first, nothing changes and ``StateConflict`` (409) is raised. The event row is written
    in the same transaction. ``allowed_from`` narrows the table for one action (e.g. a
    buyer may release only from ``escrowed``).
    """
    name = obj._meta.verbose_name
    from_state = obj.state
    if to_state not in table[from_state] or (
        allowed_from is not None and from_state not in allowed_from
    ):
        raise StateConflict(
            f"{name} {obj.pk} is {from_state}; it cannot go to {to_state}",
            extra={"state": from_state},
        )
    model = type(obj)
    if hasattr(obj, "updated_at"):
        fields.setdefault("updated_at", timezone.now())
    with transaction.atomic():
        if model.objects.filter(pk=obj.pk, state=from_state).update(state=to_state, **fields) != 1:
            current = model.objects.values_list("state", flat=True).get(pk=obj.pk)
            raise StateConflict(
                f"{name} {obj.pk} changed meanwhile (now {current})", extra={"state": current}
            )
        event = event_model.objects.create(
            **{_owner_field(event_model): obj},
            from_state=from_state,
            to_state=to_state,
            kind="transition",
            actor=actor if getattr(actor, "pk", None) else None,
            reason=reason[:500],
            data=data or {},
        )
        state_changed_publish(obj, from_state=from_state, to_state=to_state, event_id=event.pk)
    obj.state = to_state
    for field, value in fields.items():
        setattr(obj, field, value)
    return event


def note(
    obj: models.Model,
    *,
    event_model: type[models.Model],
    kind: str,
    reason: str = "",
    actor=None,
    data=None,
):
    """An audit row that is not a transition (a deposit, a payout, a staff note)."""
    return event_model.objects.create(
        **{_owner_field(event_model): obj},
        from_state=obj.state,
        to_state=obj.state,
        kind=kind,
        actor=actor if getattr(actor, "pk", None) else None,
        reason=reason[:500],
        data=data or {},
    )


def _owner_field(event_model) -> str:
    return event_model.OWNER_FIELD


def order_transition(order, to_state: str, **kwargs):
    from orders.models import ORDER_TRANSITIONS, OrderEvent

    return transition(order, to_state, table=ORDER_TRANSITIONS, event_model=OrderEvent, **kwargs)


def order_note(order, **kwargs):
    from orders.models import OrderEvent

    return note(order, event_model=OrderEvent, **kwargs)


def swap_transition(swap, to_state: str, **kwargs):
    from orders.models import SWAP_TRANSITIONS, SwapEvent

    return transition(swap, to_state, table=SWAP_TRANSITIONS, event_model=SwapEvent, **kwargs)


def swap_note(swap, **kwargs):
    from orders.models import SwapEvent

    return note(swap, event_model=SwapEvent, **kwargs)
