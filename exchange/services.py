"""Infrastructure actions of the exchange package: liveness, audit rows, API tokens."""

from __future__ import annotations

import socket
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from exchange.errors import ApplicationError, ConflictError, NotFoundError
from exchange.models import ApiToken, ApiTokenScope, Heartbeat


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


def api_token_create(
    *, user, name: str, scope: str, days: int | None = None
) -> tuple[ApiToken, str]:
    """Make an API token for ``user``: the row (only a digest of the secret) and the secret
    itself, to be shown once and never again. It expires after ``days`` (default
    API_TOKEN_TTL_DAYS, at most API_TOKEN_MAX_DAYS)."""
    name = (name or "").strip()
    if not name:
        raise ApplicationError("give the token a name, to tell it from the others", field="name")
    if len(name) > ApiToken._meta.get_field("name").max_length:
        raise ApplicationError("at most 100 characters", field="name")
    if scope not in ApiTokenScope.values:
        raise ApplicationError(f"scope is one of {ApiTokenScope.values}", field="scope")
    if days is None:
        days = settings.API_TOKEN_TTL_DAYS
    if (
        isinstance(days, bool)
        or not isinstance(days, int)
        or not 1 <= days <= settings.API_TOKEN_MAX_DAYS
    ):
        raise ApplicationError(
            f"a whole number of days from 1 to {settings.API_TOKEN_MAX_DAYS}", field="days"
        )
    now = timezone.now()
    with transaction.atomic():
        # The user's row lock makes the count and the insert one step for that user.
        get_user_model().objects.select_for_update().filter(pk=user.pk).first()
        ApiToken.objects.filter(user=user, expiry__lte=now).delete()
        limit = settings.API_TOKENS_PER_USER
        if ApiToken.objects.filter(user=user).count() >= limit:
            raise ConflictError(
                f"at most {limit} API tokens per user: revoke one first", code="too_many_tokens"
            )
        return ApiToken.objects.create(
            user=user, expiry=timedelta(days=days), name=name, scope=scope
        )


def api_token_revoke(*, user, token_id: int) -> None:
    """Revoke one of ``user``'s tokens: its row is deleted, so its next use is a 401.
    Another user's token, or one already gone, is not found."""
    deleted, _ = ApiToken.objects.filter(id=token_id, user=user).delete()
    if not deleted:
        raise NotFoundError("no such token")


def api_token_revoke_by_staff(*, actor, token: ApiToken, reason: str) -> None:
    """Revoke any user's token from the admin, with an audit row."""
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="api_token.revoke",
            target=token,
            reason=reason,
            data={"user_id": token.user_id, "name": token.name, "scope": token.scope},
        )
        ApiToken.objects.filter(pk=token.pk).delete()
