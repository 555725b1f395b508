"""Snapshots of every pair: ``pair`` becomes a field the refresh sets (BASE/QUOTE), and the
newest agreed snapshot of a pair is found through an index on (pair, ok, created_at).

Rows written before pairs existed keep ``pair = 'XMR/BTC'`` (the column's only value until
now) and stay the XMR/BTC history; nothing is rewritten. The new index is built before the
old (ok, created_at) one is dropped, so the selector's query always has one.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("rates", "0004_quotes_liquidity_to_swaps"),
    ]

    operations = [
        migrations.AlterField(
            model_name="ratesnapshot",
            name="pair",
            field=models.CharField(
                db_comment="BASE/QUOTE (rates.pairs); rows written before pairs existed are XMR/BTC",
                default="XMR/BTC",
                help_text="BASE/QUOTE: the rate is the price of 1 BASE in QUOTE.",
                max_length=16,
            ),
        ),
        migrations.AlterField(
            model_name="ratesnapshot",
            name="rate",
            field=models.DecimalField(
                blank=True,
                db_comment="price of 1 BASE in QUOTE of the pair; NULL when the providers did not reach quorum",
                decimal_places=18,
                help_text="Price of 1 BASE in QUOTE; empty when the providers did not reach quorum.",
                max_digits=30,
                null=True,
            ),
        ),
        migrations.AddIndex(
            model_name="ratesnapshot",
            index=models.Index(
                fields=["pair", "ok", "created_at"], name="rates_snapshot_pair_ok_created"
            ),
        ),
        migrations.RemoveIndex(
            model_name="ratesnapshot",
            name="rates_snapshot_ok_created",
        ),
    ]
