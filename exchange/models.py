from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from knox.models import AbstractAuthToken
from knox.settings import CONSTANTS


class Heartbeat(models.Model):
    """Liveness of a process kind: ``beat`` or ``worker:<queue>``, written periodically."""

    name = models.CharField(max_length=64, unique=True)
    last_seen = models.DateTimeField()
    hostname = models.CharField(max_length=255, blank=True, default="")

    def __str__(self) -> str:
        return f"{self.name} @ {self.last_seen:%Y-%m-%d %H:%M:%S}"


class AuditLog(models.Model):
    """A staff action on any object: who, what, why."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    action = models.CharField(max_length=64)
    object_type = models.CharField(max_length=64)
    object_id = models.CharField(max_length=64)
    reason = models.CharField(max_length=500)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["object_type", "object_id"], name="audit_object")]

    def __str__(self) -> str:
        return f"{self.action} on {self.object_type} {self.object_id} by {self.actor_id}"


class IdempotencyKey(models.Model):
    """A POST's Idempotency-Key: its body's hash and, once answered, the response."""

    scope = models.CharField(
        max_length=64, help_text="user:<id>, or anon:<address> (exchange.clients)"
    )
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True, default="")
    response_headers = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scope", "key"], name="idempotency_scope_key")
        ]
        indexes = [models.Index(fields=["created_at"], name="idempotency_created")]

    def __str__(self) -> str:
        return f"{self.scope} {self.key}"


class ApiTokenScope(models.TextChoices):
    """What a token may do: ``read`` only GET/HEAD/OPTIONS (integrations that watch
    orders), ``write`` everything its user may."""

    READ = "read", "read"
    WRITE = "write", "write"


class ApiToken(AbstractAuthToken):
    """An API token (django-rest-knox): only a SHA-512 digest of the secret is stored, and
    its first characters (``token_key``) to find the row. Deleting the row revokes it."""

    # knox keys the row by its digest; an id keeps the digest out of URLs and forms.
    id = models.BigAutoField(primary_key=True)
    digest = models.CharField(max_length=CONSTANTS.DIGEST_LENGTH, unique=True)
    name = models.CharField(max_length=100)
    scope = models.CharField(max_length=8, choices=ApiTokenScope.choices)

    def __str__(self) -> str:
        return f"{self.name} ({self.scope}) of {self.user_id}"

    @property
    def prefix(self) -> str:
        """Enough of the secret to recognise it by, never enough to use it."""
        return self.token_key[:8]

    @property
    def expired(self) -> bool:
        return self.expiry is not None and self.expiry <= timezone.now()
