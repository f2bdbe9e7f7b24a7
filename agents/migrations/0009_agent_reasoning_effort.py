"""Agent.reasoning_effort (sent to reasoning models where the provider takes it); provider-qualified
model ids checked on the agent's model."""

from django.db import migrations, models

import agents.models


class Migration(migrations.Migration):
    dependencies = [
        ("agents", "0008_cache_write_accounting"),
    ]

    operations = [
        migrations.AddField(
            model_name="agent",
            name="reasoning_effort",
            field=models.CharField(
                blank=True,
                choices=[("none", "none"), ("low", "low"), ("medium", "medium"), ("high", "high")],
                help_text="For reasoning models (OpenAI, Azure, Gemini, OpenRouter); "
                "empty sends none.",
                max_length=8,
            ),
        ),
        migrations.AlterField(
            model_name="agent",
            name="base_url",
            field=models.URLField(
                blank=True,
                help_text="Overrides the provider's URL (a bare id's: OPENAI_BASE_URL); "
                "usually empty.",
                verbose_name="provider base URL",
            ),
        ),
        migrations.AlterField(
            model_name="agent",
            name="model",
            field=models.CharField(
                blank=True,
                help_text="Model id, with its provider: openai/gpt-5-mini, "
                "anthropic/claude-sonnet-4-5, azure/<deployment>, gemini/…, ollama/…, "
                "openrouter/<vendor>/<model>, vllm/…; a bare id is sent to OPENAI_BASE_URL. "
                "Empty uses OPENCLAW_MODEL.",
                max_length=200,
                validators=[agents.models._check_model_id],
            ),
        ),
    ]
