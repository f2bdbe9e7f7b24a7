"""Prompt-cache writes counted apart from reads (sessions, daily usage) and priced per model."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("agents", "0007_scheduled_job"),
    ]

    operations = [
        migrations.AddField(
            model_name="dailyusage",
            name="cache_write_tokens",
            field=models.PositiveBigIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="modelprice",
            name="cache_write_per_mtok",
            field=models.DecimalField(
                blank=True,
                decimal_places=4,
                help_text="Input written to the prompt cache (Anthropic bills it apart); "
                "empty: the input price.",
                max_digits=10,
                null=True,
                verbose_name="cache write per mtok",
            ),
        ),
        migrations.AlterField(
            model_name="modelprice",
            name="cached_input_per_mtok",
            field=models.DecimalField(
                decimal_places=4,
                default=0,
                help_text="Input read from the prompt cache.",
                max_digits=10,
            ),
        ),
        migrations.AlterField(
            model_name="session",
            name="tokens_cached",
            field=models.PositiveBigIntegerField(
                default=0, help_text="Input tokens read from the provider's prompt cache."
            ),
        ),
        migrations.AddField(
            model_name="session",
            name="tokens_cache_write",
            field=models.PositiveBigIntegerField(
                default=0, help_text="Input tokens written to the provider's prompt cache."
            ),
        ),
    ]
