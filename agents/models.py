"""Agents (who answers, with which model) and sessions (a conversation's counters, transcript)."""

import uuid
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models

# Re-exported: migrations refer to them as agents.models.<name>.
from agents.validators import _check_fallbacks as _check_fallbacks
from agents.validators import _check_key_env as _check_key_env
from agents.validators import _check_model_id as _check_model_id
from agents.validators import _check_names as _check_names
from agents.validators import _check_zone as _check_zone


class QueueMode(models.TextChoices):
    COLLECT = "collect", "collect: messages sent during a run become one next turn"
    FOLLOWUP = "followup", "followup: one turn per message"
    STEER = "steer", "steer: added to the running turn before its next model call"
    INTERRUPT = "interrupt", "interrupt: abort the running turn and start anew"


class ToolProfile(models.TextChoices):
    MINIMAL = "minimal"
    MESSAGING = "messaging"
    FULL = "full"


class ImageInput(models.TextChoices):
    AUTO = "auto", "auto: send images; after the provider refuses them, a text note instead"
    ON = "on", "on: always send images to the model"
    OFF = "off", "off: a text note with the file's path instead of the image"


class ReasoningEffort(models.TextChoices):
    NONE = "none", "none"
    LOW = "low", "low"
    MEDIUM = "medium", "medium"
    HIGH = "high", "high"


def agent_zone(name: str) -> ZoneInfo:
    """The agent's time zone (empty: OPENCLAW_TIMEZONE); an unknown name falls back to UTC."""
    try:
        return ZoneInfo(name or settings.TIME_ZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


class Agent(models.Model):
    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=120)
    model = models.CharField(
        max_length=200,
        blank=True,
        validators=[_check_model_id],
        help_text=(
            "Model id, with its provider: openai/gpt-5-mini, anthropic/claude-sonnet-4-5, "
            "azure/<deployment>, gemini/…, ollama/…, openrouter/<vendor>/<model>, vllm/…; a bare "
            "id is sent to OPENAI_BASE_URL. Empty uses OPENCLAW_MODEL."
        ),
    )
    base_url = models.URLField(
        "provider base URL",
        blank=True,
        help_text="Overrides the provider's URL (a bare id's: OPENAI_BASE_URL); usually empty.",
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
    reasoning_effort = models.CharField(
        max_length=8,
        blank=True,
        choices=ReasoningEffort.choices,
        help_text="For reasoning models (OpenAI, Azure, Gemini, OpenRouter); empty sends none.",
    )
    context_window = models.PositiveIntegerField(default=128_000)
    timezone = models.CharField(
        max_length=64,
        blank=True,
        validators=[_check_zone],
        help_text="IANA time zone, e.g. Europe/Paris; empty uses OPENCLAW_TIMEZONE.",
    )
    fallback_models = models.JSONField(
        default=list,
        blank=True,
        validators=[_check_fallbacks],
        help_text=(
            'Tried in order when the model fails: ["gpt-4o-mini", '
            '{"model": "llama3.1", "base_url": "http://127.0.0.1:11434/v1"}].'
        ),
    )
    tool_profile = models.CharField(
        max_length=16, choices=ToolProfile.choices, default=ToolProfile.FULL
    )
    tools_allow = models.JSONField(
        default=list,
        blank=True,
        validators=[_check_names],
        help_text="Only these tools (empty: the profile's).",
    )
    tools_deny = models.JSONField(default=list, blank=True, validators=[_check_names])
    exec_enabled = models.BooleanField(
        "shell commands (exec)",
        default=False,
        help_text="Lets the model run shell commands in its workspace.",
    )
    exec_approval = models.BooleanField(
        "approve each shell command",
        default=True,
        help_text="Each exec waits until an operator approves it in the admin or the web chat.",
    )
    group_tools = models.JSONField(
        "tools in group chats",
        default=list,
        blank=True,
        validators=[_check_names],
        help_text=(
            'Tools anyone in a group chat may make the agent use, e.g. ["web_fetch"] '
            "(empty: none; memory and other sessions are never offered in groups)."
        ),
    )
    skills_allow = models.JSONField(
        default=list,
        blank=True,
        validators=[_check_names],
        help_text="Only these skills (empty: every available skill).",
    )
    skills_deny = models.JSONField(
        default=list, blank=True, validators=[_check_names], help_text="Never these skills."
    )
    image_input = models.CharField(
        "images to the model",
        max_length=8,
        choices=ImageInput.choices,
        default=ImageInput.AUTO,
    )
    memory_in_groups = models.BooleanField(
        default=False,
        help_text="Show MEMORY.md to group sessions too (private sessions always see it).",
    )
    queue_mode = models.CharField(
        max_length=16, choices=QueueMode.choices, default=QueueMode.COLLECT
    )
    queue_cap = models.PositiveIntegerField(default=20, validators=[MinValueValidator(1)])
    max_tool_rounds = models.PositiveIntegerField(
        default=16, validators=[MinValueValidator(1), MaxValueValidator(100)]
    )
    daily_token_budget = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="Refuse new turns once this many tokens were used today."
    )
    curation_auto_apply = models.BooleanField(
        "apply nightly curation without review",
        default=False,
        help_text="Write the proposed MEMORY.md at once instead of waiting for Apply in the admin.",
    )
    heartbeat_enabled = models.BooleanField(
        default=False,
        help_text="A light periodic turn driven by HEARTBEAT.md; HEARTBEAT_OK is not delivered.",
    )
    heartbeat_minutes = models.PositiveIntegerField(
        "heartbeat every (minutes)",
        default=30,
        validators=[MinValueValidator(1), MaxValueValidator(24 * 60)],
    )
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
    is_group = models.BooleanField(default=False)
    model_override = models.CharField(max_length=200, blank=True, help_text="Set by /model.")
    queue_mode = models.CharField(max_length=16, choices=QueueMode.choices, blank=True)
    token_ratio = models.FloatField(
        default=1.0, help_text="Reported ÷ estimated prompt tokens; calibrates the budget."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_active_at = models.DateTimeField(auto_now_add=True, db_index=True)
    turns = models.PositiveIntegerField(default=0)
    tokens_in = models.PositiveBigIntegerField(default=0)
    tokens_out = models.PositiveBigIntegerField(default=0)
    tokens_cached = models.PositiveBigIntegerField(
        default=0, help_text="Input tokens read from the provider's prompt cache."
    )
    tokens_cache_write = models.PositiveBigIntegerField(
        default=0, help_text="Input tokens written to the provider's prompt cache."
    )
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


class ModelPrice(models.Model):
    """Optional prices, per million tokens, used to compute cost from reported usage."""

    model = models.CharField(max_length=200, unique=True)
    input_per_mtok = models.DecimalField(max_digits=10, decimal_places=4, default=0)
    cached_input_per_mtok = models.DecimalField(
        max_digits=10, decimal_places=4, default=0, help_text="Input read from the prompt cache."
    )
    cache_write_per_mtok = models.DecimalField(
        "cache write per mtok",
        max_digits=10,
        decimal_places=4,
        null=True,
        blank=True,
        help_text="Input written to the prompt cache (Anthropic bills it apart); "
        "empty: the input price.",
    )
    output_per_mtok = models.DecimalField(max_digits=10, decimal_places=4, default=0)

    class Meta:
        ordering = ["model"]

    def __str__(self) -> str:
        return self.model


class DailyUsage(models.Model):
    """Tokens and cost per agent, day and model (one row, updated per turn)."""

    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="usage")
    day = models.DateField(db_index=True)
    model = models.CharField(max_length=200)
    turns = models.PositiveIntegerField(default=0)
    prompt_tokens = models.PositiveBigIntegerField(default=0)
    completion_tokens = models.PositiveBigIntegerField(default=0)
    cached_tokens = models.PositiveBigIntegerField(default=0)
    cache_write_tokens = models.PositiveBigIntegerField(default=0)
    cost = models.DecimalField(max_digits=12, decimal_places=6, default=0)

    class Meta:
        ordering = ["-day", "agent", "model"]
        constraints = [
            models.UniqueConstraint(
                fields=["agent", "day", "model"], name="one_usage_row_per_day_model"
            )
        ]

    def __str__(self) -> str:
        return f"{self.agent} {self.day} {self.model}"


class ScheduledJob(models.Model):
    """A reminder or scheduled agent turn (from the `cron` tool or the admin), or an agent's
    heartbeat (kept in step with the agent's heartbeat settings). The gateway's scheduler runs
    each due job as a turn in `session_key` and delivers the answer to that session's chat."""

    class Kind(models.TextChoices):
        AT = "at", "at: once, at a time"
        EVERY = "every", "every: a fixed interval (seconds)"
        CRON = "cron", "cron: a five-field cron expression"

    class Purpose(models.TextChoices):
        REMINDER = "reminder"
        HEARTBEAT = "heartbeat"

    class Status(models.TextChoices):
        NEVER = "", "never ran"
        RUNNING = "running"
        OK = "ok"
        SUPPRESSED = "suppressed", "ok (HEARTBEAT_OK, not delivered)"
        SKIPPED = "skipped"
        ERROR = "error"

    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="jobs")
    purpose = models.CharField(max_length=16, choices=Purpose.choices, default=Purpose.REMINDER)
    name = models.CharField(max_length=120, blank=True)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    spec = models.CharField(
        "schedule",
        max_length=120,
        help_text="at: ISO time (e.g. 2026-05-01T09:30); every: seconds; cron: '0 9 * * 1-5'.",
    )
    timezone = models.CharField(
        max_length=64,
        blank=True,
        validators=[_check_zone],
        help_text="IANA time zone for 'at' and 'cron'; empty uses the agent's.",
    )
    text = models.TextField(
        "text to run", blank=True, help_text="The message the agent gets when the job runs."
    )
    session_key = models.CharField(
        max_length=255, help_text="The session the turn runs in, e.g. agent:main:main."
    )
    channel = models.CharField(max_length=32, default="web")
    account_id = models.CharField(
        max_length=128, blank=True, help_text="Platform account; empty: the session's last one."
    )
    chat_id = models.CharField(max_length=255, blank=True)
    thread_id = models.CharField(max_length=255, blank=True)
    enabled = models.BooleanField(default=True)
    delete_after_run = models.BooleanField(
        default=False, help_text="Remove a one-shot job once it ran successfully."
    )
    next_run_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_run_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_status = models.CharField(
        max_length=16, choices=Status.choices, blank=True, default="", editable=False
    )
    last_error = models.CharField(max_length=500, blank=True, editable=False)
    last_run_id = models.CharField(max_length=64, blank=True, editable=False)
    run_count = models.PositiveIntegerField(default=0, editable=False)
    created_by = models.CharField(
        max_length=255, blank=True, help_text="The session (cron tool) or admin user."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["next_run_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["agent"],
                condition=models.Q(purpose="heartbeat"),
                name="one_heartbeat_per_agent",
            )
        ]

    def __str__(self) -> str:
        return self.name or f"{self.get_purpose_display()} #{self.pk}"
