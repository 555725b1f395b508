"""The moved models keep their content types: ``rates.quote`` becomes ``swaps.quote`` (and
so for liquidity and reservations), so the permissions on them (``view_quote``, …), the
groups and users holding those permissions and the admin's history of those rows follow
the models instead of being left on stale content types.

A content type already made for the new label (a ``migrate`` stopped between the two
apps' migrations runs ``post_migrate``, which makes one) is left alone, and so is the old
one then: ``remove_stale_contenttypes`` clears it.
"""

from django.db import migrations

MODELS = ("quote", "liquidity", "liquidityreservation")


def _relabel(apps, old: str, new: str) -> None:
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in MODELS:
        if ContentType.objects.filter(app_label=new, model=model).exists():
            continue
        ContentType.objects.filter(app_label=old, model=model).update(app_label=new)


def forward(apps, schema_editor) -> None:
    _relabel(apps, "rates", "swaps")


def backward(apps, schema_editor) -> None:
    _relabel(apps, "swaps", "rates")


class Migration(migrations.Migration):
    dependencies = [
        ("swaps", "0001_initial"),
        ("rates", "0004_quotes_liquidity_to_swaps"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(forward, backward)]
