"""A swap's quote is now ``swaps.Quote``: the same table (``rates_quote``), so the column and
its foreign key constraint stay as they are; only the migration state changes."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0006_vendor_payout_addresses"),
        ("swaps", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="swaporder",
                    name="quote",
                    field=models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="swap",
                        to="swaps.quote",
                    ),
                ),
            ],
            database_operations=[],
        ),
    ]
