"""Staff approvals keep their content type: ``orders.staffapproval`` becomes
``staff.staffapproval``, so the money-move permissions declared on it
(``release_escrow``, ``approve_money_move``, …), the role groups and users holding them
and the admin's history of those rows follow the model. A content type already made for
the new label (a ``migrate`` stopped between the two apps' migrations runs
``post_migrate``, which makes one) is left alone, and so is the old one then:
``remove_stale_contenttypes`` clears it.
"""

from django.db import migrations


def _relabel(apps, old: str, new: str) -> None:
    ContentType = apps.get_model("contenttypes", "ContentType")
    if ContentType.objects.filter(app_label=new, model="staffapproval").exists():
        return
    ContentType.objects.filter(app_label=old, model="staffapproval").update(app_label=new)


def forward(apps, schema_editor) -> None:
    _relabel(apps, "orders", "staff")


def backward(apps, schema_editor) -> None:
    _relabel(apps, "staff", "orders")


class Migration(migrations.Migration):
    dependencies = [
        ("staff", "0001_approvals"),
        ("orders", "0011_staff_approvals_to_staff"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(forward, backward)]
