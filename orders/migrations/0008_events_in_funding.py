# The events are copied into funding.FundingEvent first (funding 0002), then dropped here.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0007_swap_quote_in_swaps"),
        ("funding", "0002_order_and_swap_events"),
    ]

    operations = [
        migrations.AlterField(
            model_name="swaporder",
            name="held_from",
            field=models.CharField(
                blank=True,
                default="",
                help_text="the state an on_hold order returns to",
                max_length=24,
            ),
        ),
        migrations.DeleteModel(name="OrderEvent"),
        migrations.DeleteModel(name="SwapEvent"),
    ]
