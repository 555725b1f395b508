"""The swap orders keep their content type: ``orders.swaporder`` becomes
``swaps.swaporder``, so the permissions on it (``view_swaporder``, ``change_swaporder``,
…), the groups and users holding them and the admin's history of those rows follow the
model. A content type already made for the new label (a ``migrate`` stopped between the
two apps' migrations runs ``post_migrate``, which makes one) is left alone, and so is the
old one then: ``remove_stale_contenttypes`` clears it.

The swap tasks are now ``swaps.apply_deposits``, ``swaps.advance`` and ``swaps.expire``.
``setup_periodic_tasks`` keeps the beat rows a database already has, so every row naming
an old task is renamed here, and the schedule's change marker is bumped so a running
database scheduler reloads it.
"""

from django.db import migrations
from django.utils import timezone

TASKS = {
    "orders.swap_apply_deposits": "swaps.apply_deposits",
    "orders.swap_advance": "swaps.advance",
    "orders.swaps_expire": "swaps.expire",
}


def _relabel(apps, old: str, new: str) -> None:
    ContentType = apps.get_model("contenttypes", "ContentType")
    if ContentType.objects.filter(app_label=new, model="swaporder").exists():
        return
    ContentType.objects.filter(app_label=old, model="swaporder").update(app_label=new)


def _rename(apps, names: dict[str, str]) -> None:
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    renamed = 0
    for old, new in names.items():
        renamed += PeriodicTask.objects.filter(task=old).update(task=new)
    if renamed:
        PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def forward(apps, schema_editor) -> None:
    _relabel(apps, "orders", "swaps")
    _rename(apps, TASKS)


def backward(apps, schema_editor) -> None:
    _relabel(apps, "swaps", "orders")
    _rename(apps, {new: old for old, new in TASKS.items()})


class Migration(migrations.Migration):
    dependencies = [
        ("swaps", "0004_swap_orders"),
        ("orders", "0009_swap_orders_to_swaps"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(forward, backward)]
