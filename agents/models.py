"""Agents (who answers, with which model) and sessions (a conversation's counters, transcript)."""

import uuid
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models


def _check_key_env(value: str) -> None:
    if value and not value.endswith("_API_KEY"):
        raise ValidationError(
            "The variable name must end in _API_KEY (for example OPENAI_API_KEY)."
        )


class Agent(models.Model):
    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=120)
    model = models.CharField(
        max_length=200, blank=True, help_text="Model id; empty uses OPENCLAW_MODEL."
    )
    base_url = models.URLField(
        "provider base URL",
        blank=True,
        help_text="OpenAI-compatible API; empty uses OPENAI_BASE_URL.",
    )
    api_key_env = models.CharField(
        "API key variable",
        max_length=64,
        default="OPENAI_API_KEY",
        blank=True,
        validators=[RegexValidator(r"^[A-Z][A-Z0-9_]*$"), _check_key_env],
        help_text="Environment variable holding the key. Keys never go in the database.",
    )
    instructions = models.TextField(blank=True)
    temperature = models.FloatField(
        null=True, blank=True, validators=[MinValueValidator(0.0), MaxValueValidator(2.0)]
    )
    max_output_tokens = models.PositiveIntegerField(default=4096)
    context_window = models.PositiveIntegerField(default=128_000)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.name or self.slug

    @property
    def workspace(self) -> Path:
        return Path(settings.OPENCLAW_WORKSPACES) / self.slug

    @property
    def main_session_key(self) -> str:
        return f"agent:{self.slug}:main"


class Session(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active"
        ARCHIVED = "archived"

    key = models.CharField(max_length=255, db_index=True)
    session_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="sessions")
    channel = models.CharField(max_length=32, default="web")
    peer = models.CharField("peer or chat id", max_length=255, blank=True)
    title = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)
    last_active_at = models.DateTimeField(auto_now_add=True, db_index=True)
    turns = models.PositiveIntegerField(default=0)
    tokens_in = models.PositiveBigIntegerField(default=0)
    tokens_out = models.PositiveBigIntegerField(default=0)
    tokens_cached = models.PositiveBigIntegerField(default=0)
    cost = models.DecimalField(max_digits=12, decimal_places=6, default=0)
    transcript_path = models.CharField(
        max_length=500, editable=False, help_text="Relative to OPENCLAW_HOME."
    )

    class Meta:
        ordering = ["-last_active_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["key"],
                condition=models.Q(status="active"),
                name="one_active_session_per_key",
            )
        ]

    def __str__(self) -> str:
        return self.key

    @property
    def transcript_file(self) -> Path:
        return Path(settings.OPENCLAW_HOME) / self.transcript_path
