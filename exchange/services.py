"""Infrastructure actions of the exchange package (no business logic lives here)."""

from __future__ import annotations

import socket

from django.utils import timezone

from exchange.models import Heartbeat


def heartbeat_record(*, name: str) -> None:
    """Upsert the liveness row ``name`` with the current time (one statement, no race)."""
    Heartbeat.objects.bulk_create(
        [Heartbeat(name=name, last_seen=timezone.now(), hostname=socket.gethostname()[:255])],
        update_conflicts=True,
        update_fields=["last_seen", "hostname"],
    )


def audit_record(*, actor, action: str, target, reason: str, data: dict | None = None) -> None:
    """Write one audit row for a staff action (in the caller's transaction)."""
    from exchange.models import AuditLog

    AuditLog.objects.create(
        actor=actor if getattr(actor, "pk", None) else None,
        action=action,
        object_type=target._meta.label_lower,
        object_id=str(target.pk),
        reason=reason[:500],
        data=data or {},
    )
