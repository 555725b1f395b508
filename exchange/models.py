from __future__ import annotations

from django.db import models


class Heartbeat(models.Model):
    """Liveness of a process kind: ``beat`` or ``worker:<queue>``, written periodically."""

    name = models.CharField(max_length=64, unique=True)
    last_seen = models.DateTimeField()
    hostname = models.CharField(max_length=255, blank=True, default="")

    def __str__(self) -> str:
        return f"{self.name} @ {self.last_seen:%Y-%m-%d %H:%M:%S}"
