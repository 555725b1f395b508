"""The one place a funded order's state changes: table check, conditional update, audit
row, and the ``state_changed`` signal, all in one transaction."""

from __future__ import annotations

from collections.abc import Set
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone

from exchange.errors import ConflictError
from funding.models import EventKind, FundedOrder, FundingEvent
from funding.signals import state_changed

if TYPE_CHECKING:
    from ownership.services import Actor


class StateConflict(ConflictError):
    code = "state_conflict"


def transition(
    obj: FundedOrder,
    to_state: str,
    *,
    allowed_from: Set[str] | None = None,
    actor: Actor = None,
    reason: str = "",
    data: dict | None = None,
    **fields: Any,
) -> FundingEvent:
    """Move ``obj`` from its current state to ``to_state`` (its model's ``TRANSITIONS``).

    ``UPDATE … WHERE id = %s AND state = <current>``: if another transaction moved it
    first, nothing changes and ``StateConflict`` (409) is raised. The event row is written
    and ``state_changed`` is sent in the same transaction. ``allowed_from`` narrows the
    table for one action (e.g. a buyer may release only from ``escrowed``).
    """
    model = type(obj)
    name = model._meta.verbose_name
    from_state = obj.state
    if to_state not in model.TRANSITIONS[from_state] or (
        allowed_from is not None and from_state not in allowed_from
    ):
        raise StateConflict(
            f"{name} {obj.pk} is {from_state}; it cannot go to {to_state}",
            extra={"state": from_state},
        )
    fields.setdefault("updated_at", timezone.now())
    rows = model._default_manager
    with transaction.atomic():
        if rows.filter(pk=obj.pk, state=from_state).update(state=to_state, **fields) != 1:
            current = rows.values_list("state", flat=True).get(pk=obj.pk)
            raise StateConflict(
                f"{name} {obj.pk} changed meanwhile (now {current})", extra={"state": current}
            )
        event = _event(
            obj,
            kind=EventKind.TRANSITION,
            from_state=from_state,
            to_state=to_state,
            actor=actor,
            reason=reason,
            data=data,
        )
        state_changed.send(
            sender=model, owner=obj, from_state=from_state, to_state=to_state, event_id=event.pk
        )
    obj.state = to_state
    for field, value in fields.items():
        setattr(obj, field, value)
    return event


def note(
    obj: FundedOrder, *, kind: str, reason: str = "", actor: Actor = None, data: dict | None = None
) -> FundingEvent:
    """An audit row that is not a transition (a deposit, a payout, a staff action)."""
    return _event(
        obj,
        kind=kind,
        from_state=obj.state,
        to_state=obj.state,
        actor=actor,
        reason=reason,
        data=data,
    )


def _event(
    obj: FundedOrder,
    *,
    kind: str,
    from_state: str,
    to_state: str,
    actor: Actor,
    reason: str,
    data: dict | None,
) -> FundingEvent:
    return FundingEvent.objects.create(
        owner_kind=obj.OWNER_KIND,
        owner_id=obj.pk,
        from_state=from_state,
        to_state=to_state,
        kind=EventKind(kind),
        # An actor with a primary key is a saved user; anyone else is recorded as no one.
        actor=actor if actor is not None and actor.pk else None,
        reason=reason[:500],
        data=data or {},
    )
