"""The ownership trail and the ledger are append-only: the database refuses edits."""

from django.db import migrations

TABLES = ("ownership_ledgerentry", "ownership_ledgertransaction", "ownership_ownershiptransfer")


def _triggers():
    forward, backward = [], []
    for table in TABLES:
        for event in ("UPDATE", "DELETE"):
            name = f"{table}_no_{event.lower()}"
            forward.append(
                f"CREATE TRIGGER {name} BEFORE {event} ON {table} FOR EACH ROW "
                f"SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = '{table} is append-only'"
            )
            backward.append(f"DROP TRIGGER IF EXISTS {name}")
    return forward, backward


FORWARD, BACKWARD = _triggers()


class Migration(migrations.Migration):
    dependencies = [("ownership", "0001_initial")]

    operations = [migrations.RunSQL(sql=FORWARD, reverse_sql=BACKWARD)]
