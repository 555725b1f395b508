from __future__ import annotations

import json

from django.core.management.base import BaseCommand
from django.db import transaction
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from exchange.schedules import SCHEDULES


class Command(BaseCommand):
    help = "Create the engine's periodic tasks (django-celery-beat) from exchange/schedules.py."

    def add_arguments(self, parser):
        parser.add_argument(
            "--reset", action="store_true", help="overwrite staff edits with the defaults"
        )
        parser.add_argument("--dry-run", action="store_true", help="print, change nothing")
        parser.add_argument("--json", action="store_true", help="print the result as JSON")

    def handle(self, *args, reset: bool, dry_run: bool, json: bool, **options):
        rows = []
        with transaction.atomic():
            for sched in SCHEDULES:
                existing = PeriodicTask.objects.filter(name=sched.name).first()
                if existing and not reset:
                    rows.append({"name": sched.name, "action": "kept"})
                    continue
                action = "reset" if existing else "created"
                rows.append({"name": sched.name, "action": action})
                if dry_run:
                    continue
                interval, _ = IntervalSchedule.objects.get_or_create(
                    every=sched.every_seconds, period=IntervalSchedule.SECONDS
                )
                PeriodicTask.objects.update_or_create(
                    name=sched.name,
                    defaults={
                        "task": sched.task,
                        "interval": interval,
                        "crontab": None,
                        "queue": sched.queue,
                        "kwargs": _dumps(sched.kwargs),
                        "description": sched.description,
                        "enabled": True,
                    },
                )
        if json:
            self.stdout.write(_dumps({"dry_run": dry_run, "schedules": rows}))
            return
        for row in rows:
            self.stdout.write(f"{row['action']:8} {row['name']}")


def _dumps(value) -> str:
    return json.dumps(value, sort_keys=True)
