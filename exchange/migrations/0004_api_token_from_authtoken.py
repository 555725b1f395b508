"""Existing DRF authtoken keys become hashed API tokens, so deployed clients keep working;
the plaintext table is dropped (exchange/legacy_tokens.py)."""

from django.db import migrations

from exchange.legacy_tokens import legacy_tokens_move


def move(apps, schema_editor):
    legacy_tokens_move(
        connection=schema_editor.connection, token_model=apps.get_model("exchange", "ApiToken")
    )


class Migration(migrations.Migration):
    # DDL (DROP TABLE) commits on MariaDB anyway.
    atomic = False

    dependencies = [
        ("exchange", "0003_api_token"),
    ]

    operations = [
        migrations.RunPython(move, reverse_code=migrations.RunPython.noop),
    ]
