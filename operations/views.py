"""The Operations page of the admin: everything an operator checks, on one screen."""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.shortcuts import render
from django_celery_beat.models import PeriodicTask

from exchange.health import health_report
from exchange.redis import get_redis
from operations.models import ReconcileRun
from operations.recovery import stuck_items
from wallets.models import Chain
from wallets.selectors import pool_status
from wallets.services.pool_target import pool_plan


@staff_member_required
def operations_view(request):
    depths = {}
    for queue in settings.CELERY_QUEUES:
        try:
            depths[queue] = get_redis().llen(queue)
        except Exception:  # noqa: BLE001 - the page shows what it can
            depths[queue] = "Redis unreachable"
    latest = {
        chain: ReconcileRun.objects.filter(chain=chain).order_by("-finished_at").first()
        for chain in Chain.values
    }
    context = {
        **admin.site.each_context(request),
        "title": "Operations",
        "health": health_report(),
        "depths": depths,
        "pools": {chain: {**row, **pool_plan(chain=chain)} for chain, row in pool_status().items()},
        "pool_min": settings.POOL_MIN,
        "reconcile": latest,
        "stuck": stuck_items(older_than_minutes=30),
        "schedules": PeriodicTask.objects.order_by("name"),
        "flower_url": settings.FLOWER_URL,
    }
    return render(request, "admin/operations.html", context)
