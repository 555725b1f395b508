"""Swap orders now belong to the swaps app (``swaps.0004``), which kept their table: the
orders app forgets the model in its state and drops nothing."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0008_events_in_funding"),
        ("swaps", "0004_swap_orders"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="SwapOrder")],
            database_operations=[],
        ),
    ]
