"""Swap orders now belong to the swaps app and keep their table (``orders_swaporder``), its
rows, indexes, constraints and the foreign keys of its columns: the model is added to
this app's state only, and the orders app forgets it next (``orders.0009``). Nothing holds
a foreign key to it (reservations, payouts, approvals and funding events name a swap by
its id), so nothing else is repointed."""

import uuid

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("swaps", "0003_quotes_purge_task_name"),
        ("orders", "0008_events_in_funding"),
        ("wallets", "0004_owner_and_payout_kinds"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="SwapOrder",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("confirmations_required", models.PositiveIntegerField()),
                        ("expires_at", models.DateTimeField()),
                        (
                            "held_from",
                            models.CharField(
                                blank=True,
                                default="",
                                help_text="the state an on_hold order returns to",
                                max_length=24,
                            ),
                        ),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("updated_at", models.DateTimeField(auto_now=True)),
                        ("closed_at", models.DateTimeField(blank=True, null=True)),
                        (
                            "public_id",
                            models.UUIDField(
                                default=uuid.uuid4,
                                editable=False,
                                help_text="the capability to read it",
                                unique=True,
                            ),
                        ),
                        (
                            "client",
                            models.CharField(
                                blank=True,
                                db_index=True,
                                default="",
                                help_text="who asked for it: user:<id> or anon:<address> (the per-client limits)",
                                max_length=64,
                            ),
                        ),
                        (
                            "kind",
                            models.CharField(
                                choices=[
                                    ("fixed", "Fixed rate (locked by the quote)"),
                                    (
                                        "floating",
                                        "Floating rate (the rate when the deposit confirms)",
                                    ),
                                ],
                                max_length=16,
                            ),
                        ),
                        (
                            "from_currency",
                            models.CharField(
                                choices=[("BTC", "Bitcoin"), ("XMR", "Monero")], max_length=3
                            ),
                        ),
                        (
                            "to_currency",
                            models.CharField(
                                choices=[("BTC", "Bitcoin"), ("XMR", "Monero")], max_length=3
                            ),
                        ),
                        (
                            "amount_from",
                            models.PositiveBigIntegerField(
                                help_text="expected deposit, base units"
                            ),
                        ),
                        (
                            "amount_to_gross",
                            models.PositiveBigIntegerField(
                                help_text="payout before its network fee, base units (final once exchanged)"
                            ),
                        ),
                        (
                            "rate",
                            models.DecimalField(
                                decimal_places=18,
                                help_text="to-currency per from-currency, whole units",
                                max_digits=40,
                            ),
                        ),
                        (
                            "market_rate",
                            models.DecimalField(
                                decimal_places=18, help_text="XMR price in BTC", max_digits=40
                            ),
                        ),
                        ("spread_bps", models.PositiveIntegerField()),
                        ("payout_address", models.CharField(max_length=128)),
                        ("refund_address", models.CharField(max_length=128)),
                        (
                            "state",
                            models.CharField(
                                choices=[
                                    ("awaiting_deposit", "Awaiting Deposit"),
                                    ("confirming", "Confirming"),
                                    ("exchanging", "Exchanging"),
                                    ("sending", "Sending"),
                                    ("completed", "Completed"),
                                    ("action_required", "Action Required"),
                                    ("refunding", "Refunding"),
                                    ("refunded", "Refunded"),
                                    ("expired", "Expired"),
                                    ("failed", "Failed"),
                                    ("on_hold", "On Hold"),
                                ],
                                default="awaiting_deposit",
                                max_length=24,
                            ),
                        ),
                        (
                            "received_amount",
                            models.PositiveBigIntegerField(
                                default=0, help_text="credited, base units"
                            ),
                        ),
                        (
                            "reserved_amount",
                            models.PositiveBigIntegerField(
                                default=0, help_text="liquidity reserved for the payout, base units"
                            ),
                        ),
                        ("action_reason", models.CharField(blank=True, default="", max_length=200)),
                        ("exchanged_at", models.DateTimeField(blank=True, null=True)),
                        (
                            "account",
                            models.OneToOneField(
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="swap",
                                to="wallets.walletaccount",
                            ),
                        ),
                        (
                            "quote",
                            models.OneToOneField(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="swap",
                                to="swaps.quote",
                            ),
                        ),
                        (
                            "user",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="swaps",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "db_table": "orders_swaporder",
                        "indexes": [
                            models.Index(fields=["state", "expires_at"], name="swap_state_expiry")
                        ],
                        "constraints": [
                            models.CheckConstraint(
                                condition=models.Q(
                                    ("from_currency", models.F("to_currency")), _negated=True
                                ),
                                name="swap_two_currencies",
                            )
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
