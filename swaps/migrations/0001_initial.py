"""Quotes, liquidity and reservations move here from the rates app.

State only: the tables stay as they are (``rates_quote``, ``rates_liquidity``,
``rates_liquidityreservation``, named in each model's ``db_table``), so no row is copied
and no table is created, dropped or altered. ``orders.0007`` then points the swap's quote
at this model, and ``rates.0004`` forgets the old ones.
"""

import uuid

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("rates", "0003_money_safety"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    state_operations = [
        migrations.CreateModel(
            name="Liquidity",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("currency", models.CharField(max_length=3, unique=True)),
                (
                    "spendable",
                    models.BigIntegerField(
                        default=0,
                        help_text="the liquidity account's spendable node balance, base units",
                    ),
                ),
                (
                    "spendable_at",
                    models.DateTimeField(
                        blank=True, help_text="when the node was read for ``spendable``", null=True
                    ),
                ),
                ("synced_at", models.DateTimeField(blank=True, null=True)),
            ],
            options={
                "verbose_name_plural": "liquidity",
                "db_table": "rates_liquidity",
            },
        ),
        migrations.CreateModel(
            name="LiquidityReservation",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("swap_id", models.BigIntegerField(unique=True)),
                ("currency", models.CharField(max_length=3)),
                ("amount", models.PositiveBigIntegerField()),
                (
                    "state",
                    models.CharField(
                        choices=[
                            ("active", "Active"),
                            ("consumed", "Consumed"),
                            ("released", "Released"),
                        ],
                        default="active",
                        max_length=16,
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
            ],
            options={
                "db_table": "rates_liquidityreservation",
            },
        ),
        migrations.CreateModel(
            name="Quote",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("public_id", models.UUIDField(default=uuid.uuid4, editable=False, unique=True)),
                (
                    "kind",
                    models.CharField(
                        choices=[("fixed", "Fixed"), ("floating", "Floating")], max_length=16
                    ),
                ),
                ("from_currency", models.CharField(max_length=3)),
                ("to_currency", models.CharField(max_length=3)),
                (
                    "amount_from",
                    models.PositiveBigIntegerField(help_text="base units the customer sends"),
                ),
                (
                    "amount_to",
                    models.PositiveBigIntegerField(
                        help_text="base units the customer gets (estimate)"
                    ),
                ),
                (
                    "amount_to_gross",
                    models.PositiveBigIntegerField(help_text="payout before its network fee"),
                ),
                (
                    "network_fee",
                    models.PositiveBigIntegerField(
                        help_text="estimated payout fee, to-currency base units"
                    ),
                ),
                (
                    "rate",
                    models.DecimalField(
                        decimal_places=18, help_text="to per from, whole units", max_digits=40
                    ),
                ),
                (
                    "market_rate",
                    models.DecimalField(
                        decimal_places=18, help_text="XMR price in BTC", max_digits=40
                    ),
                ),
                ("spread_bps", models.PositiveIntegerField()),
                ("min_from", models.PositiveBigIntegerField()),
                ("max_from", models.PositiveBigIntegerField()),
                ("expires_at", models.DateTimeField()),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "snapshot",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="quotes",
                        to="rates.ratesnapshot",
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "db_table": "rates_quote",
            },
        ),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=state_operations, database_operations=[]
        )
    ]
