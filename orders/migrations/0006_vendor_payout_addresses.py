import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

# Each non-empty column of a vendor profile becomes a row, its time kept as it was.
COPY_FORWARD = (
    """
    INSERT INTO orders_vendorpayoutaddress (user_id, currency, address, updated_at)
    SELECT user_id, 'BTC', btc_payout_address, updated_at FROM orders_vendorprofile
    WHERE btc_payout_address <> ''
    """,
    """
    INSERT INTO orders_vendorpayoutaddress (user_id, currency, address, updated_at)
    SELECT user_id, 'XMR', xmr_payout_address, updated_at FROM orders_vendorprofile
    WHERE xmr_payout_address <> ''
    """,
)
COPY_BACK = (
    """
    INSERT INTO orders_vendorprofile (user_id, btc_payout_address, xmr_payout_address, updated_at)
    SELECT user_id,
           COALESCE(MAX(CASE WHEN currency = 'BTC' THEN address END), ''),
           COALESCE(MAX(CASE WHEN currency = 'XMR' THEN address END), ''),
           MAX(updated_at)
    FROM orders_vendorpayoutaddress GROUP BY user_id
    """,
)


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0005_staff_approvals"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="VendorPayoutAddress",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "currency",
                    models.CharField(choices=[("BTC", "Bitcoin"), ("XMR", "Monero")], max_length=3),
                ),
                ("address", models.CharField(max_length=128)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="payout_addresses",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
        ),
        migrations.AddConstraint(
            model_name="vendorpayoutaddress",
            constraint=models.UniqueConstraint(
                fields=("user", "currency"), name="vendor_payout_address_per_currency"
            ),
        ),
        migrations.RunSQL(COPY_FORWARD, reverse_sql=COPY_BACK),
        migrations.DeleteModel(
            name="VendorProfile",
        ),
    ]
