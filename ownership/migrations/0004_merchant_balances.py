from django.db import migrations
from django.db.models import Sum


def merchant_balances(apps, schema_editor):
    """A merchant's balance (``merchant:{user}``) is money held: it gets the running
    balance every account of money held has, from its entries."""
    LedgerEntry = apps.get_model("ownership", "LedgerEntry")
    LedgerBalance = apps.get_model("ownership", "LedgerBalance")
    rows = (
        LedgerEntry.objects.filter(account__startswith="merchant:")
        .values("currency", "account")
        .annotate(d=Sum("debit"), c=Sum("credit"))
    )
    for row in rows:
        LedgerBalance.objects.update_or_create(
            currency=row["currency"],
            account=row["account"],
            defaults={"balance": int(row["d"] or 0) - int(row["c"] or 0)},
        )


class Migration(migrations.Migration):
    dependencies = [("ownership", "0003_money_safety")]

    operations = [migrations.RunPython(merchant_balances, migrations.RunPython.noop)]
