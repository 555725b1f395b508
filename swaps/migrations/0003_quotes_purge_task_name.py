"""The quote purge task is now ``swaps.quotes_purge``. ``setup_periodic_tasks`` keeps the
beat rows a database already has, so every row naming the old task is renamed here, and
the schedule's change marker is bumped so a running database scheduler reloads it."""

from django.db import migrations
from django.utils import timezone

OLD = "rates.quotes_purge"
NEW = "swaps.quotes_purge"


def _rename(apps, old: str, new: str) -> None:
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    if PeriodicTask.objects.filter(task=old).update(task=new):
        PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def forward(apps, schema_editor) -> None:
    _rename(apps, OLD, NEW)


def backward(apps, schema_editor) -> None:
    _rename(apps, NEW, OLD)


class Migration(migrations.Migration):
    dependencies = [
        ("swaps", "0002_content_types"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(forward, backward)]
