"""Staff approvals now belong to the staff app (``staff.0001``), which kept their table:
the orders app forgets the model in its state and drops nothing."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0010_state_choices_shared"),
        ("staff", "0001_approvals"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="StaffApproval")],
            database_operations=[],
        ),
    ]
