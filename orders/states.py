"""The one place escrow order states change: table check, conditional update, audit row."""

from __future__ import annotations

from django.db import transaction

from exchange.errors import ConflictError
from orders.models import ORDER_TRANSITIONS, EscrowOrder, OrderEvent


class OrderConflict(ConflictError):
    code = "order_state"


def order_transition(
    order: EscrowOrder,
    to_state: str,
    *,
    allowed_from: set[str] | None = None,
    actor=None,
    reason: str = "",
    data: dict | None = None,
    **fields,
) -> OrderEvent:
    """Move ``order`` from its current state to ``to_state``.

    ``UPDATE … WHERE id = %s AND state = <current>``: if another transaction moved the
    order first, nothing changes and ``OrderConflict`` (409) is raised. The event row is
    written in the same transaction. ``allowed_from`` narrows the table for an action
    (e.g. a buyer may release only from ``escrowed``).
    """
    from_state = order.state
    if to_state not in ORDER_TRANSITIONS[from_state] or (
        allowed_from is not None and from_state not in allowed_from
    ):
        raise OrderConflict(
            f"order {order.id} is {from_state}; it cannot go to {to_state}",
            extra={"state": from_state},
        )
    with transaction.atomic():
        updated = EscrowOrder.objects.filter(id=order.id, state=from_state).update(
            state=to_state, **fields
        )
        if updated != 1:
            current = EscrowOrder.objects.values_list("state", flat=True).get(id=order.id)
            raise OrderConflict(
                f"order {order.id} changed meanwhile (now {current})", extra={"state": current}
            )
        event = OrderEvent.objects.create(
            order=order,
            from_state=from_state,
            to_state=to_state,
            kind="transition",
            actor=actor if getattr(actor, "pk", None) else None,
            reason=reason[:500],
            data=data or {},
        )
    order.state = to_state
    for name, value in fields.items():
        setattr(order, name, value)
    return event


def order_note(
    order: EscrowOrder, *, kind: str, reason: str = "", actor=None, data=None
) -> OrderEvent:
    """An audit row that is not a transition (a deposit, a payout, a staff note)."""
    return OrderEvent.objects.create(
        order=order,
        from_state=order.state,
        to_state=order.state,
        kind=kind,
        actor=actor if getattr(actor, "pk", None) else None,
        reason=reason[:500],
        data=data or {},
    )
