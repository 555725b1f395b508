"""Staff approvals now belong to the staff app and keep their table
(``orders_staffapproval``), its rows and indexes: the model is added to this app's state
only, and the orders app forgets it next (``orders.0011``). Nothing holds a foreign key
to an approval, so nothing else is repointed."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("orders", "0010_state_choices_shared"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="StaffApproval",
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
                        (
                            "action",
                            models.CharField(
                                choices=[
                                    ("release", "release an escrow to the vendor"),
                                    ("refund", "refund an escrow to the buyer"),
                                    ("split", "split an escrow between vendor and buyer"),
                                    ("cancel", "cancel an unpaid order"),
                                    ("refund_address", "change a buyer's refund address"),
                                    ("retry_payout", "retry a failed payout"),
                                    ("swap_refund", "refund a swap"),
                                ],
                                max_length=24,
                            ),
                        ),
                        ("owner_kind", models.CharField(help_text="order or swap", max_length=8)),
                        ("owner_id", models.PositiveBigIntegerField()),
                        (
                            "currency",
                            models.CharField(
                                choices=[("BTC", "Bitcoin"), ("XMR", "Monero")], max_length=3
                            ),
                        ),
                        (
                            "amount",
                            models.PositiveBigIntegerField(
                                help_text="base units the move pays out"
                            ),
                        ),
                        (
                            "params",
                            models.JSONField(
                                blank=True, default=dict, help_text="the move's own inputs"
                            ),
                        ),
                        (
                            "state",
                            models.CharField(
                                choices=[
                                    ("pending", "Pending"),
                                    ("executed", "Executed"),
                                    ("rejected", "Rejected"),
                                ],
                                default="pending",
                                max_length=10,
                            ),
                        ),
                        ("request_reason", models.CharField(max_length=500)),
                        (
                            "decision_reason",
                            models.CharField(blank=True, default="", max_length=500),
                        ),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("decided_at", models.DateTimeField(blank=True, null=True)),
                        (
                            "decided_by",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "requested_by",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "db_table": "orders_staffapproval",
                        "permissions": [
                            ("release_escrow", "Can release someone else's escrow to the vendor"),
                            ("refund_escrow", "Can refund someone else's escrow to the buyer"),
                            ("split_escrow", "Can split a disputed escrow"),
                            ("cancel_order", "Can cancel an unpaid order"),
                            ("change_refund_address", "Can change a buyer's refund address"),
                            ("retry_payout", "Can retry a failed payout"),
                            ("refund_swap", "Can refund a swap"),
                            ("approve_money_move", "Can approve another staff member's money move"),
                        ],
                        "indexes": [
                            models.Index(fields=["state", "-created_at"], name="approval_state")
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
