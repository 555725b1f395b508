"""Quotes, liquidity and reservations now belong to the swaps app (``swaps.0001``), which
kept their tables: the rates app forgets them in its state and drops nothing."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("rates", "0003_money_safety"),
        ("orders", "0007_swap_quote_in_swaps"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="Quote"),
                migrations.DeleteModel(name="Liquidity"),
                migrations.DeleteModel(name="LiquidityReservation"),
            ],
            database_operations=[],
        ),
    ]
