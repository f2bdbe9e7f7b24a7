"""Gateway security state: channel accounts and their access rules, pairing, approvals, and the
inbound journal.

Credentials are never fields here: tokens and keys stay in the environment.
"""

import re

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from gateway.policy import AccountPolicy
from gateway.ratelimit import validate_rate

MAX_IDS = 1000
MAX_ID_CHARS = 255
MAX_PATTERNS = 20
MAX_PATTERN_CHARS = 200


def validate_id_list(value: object) -> None:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ValidationError('Enter a JSON list of ids, e.g. ["U123", "U456"].')
    if len(value) > MAX_IDS or any(len(v) > MAX_ID_CHARS for v in value):
        raise ValidationError(f"At most {MAX_IDS} ids of up to {MAX_ID_CHARS} characters.")


CREDENTIAL_ENV = re.compile(r"^(SLACK|TELEGRAM|WHATSAPP)_[A-Z0-9_]+$")


def validate_credentials(value: object) -> None:
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and CREDENTIAL_ENV.match(v)
        for k, v in value.items()
    ):
        raise ValidationError(
            'A JSON object of role → environment variable name, e.g. {"bot_token": '
            '"SLACK_BOT_TOKEN"}; names start with SLACK_, TELEGRAM_ or WHATSAPP_. Never the '
            "secret itself."
        )


def validate_patterns(value: object) -> None:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ValidationError('Enter a JSON list of regular expressions, e.g. ["\\\\bclaw\\\\b"].')
    if len(value) > MAX_PATTERNS or any(len(v) > MAX_PATTERN_CHARS for v in value):
        raise ValidationError(
            f"At most {MAX_PATTERNS} patterns of up to {MAX_PATTERN_CHARS} characters."
        )
    for pattern in value:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ValidationError(f"Pattern {pattern!r} does not compile: {exc}.") from None


class ChannelAccount(models.Model):
    """One bot account on one platform, the agent that answers it, and who may talk to it."""

    class Channel(models.TextChoices):
        WEB = "web"
        SLACK = "slack"
        TELEGRAM = "telegram"
        WHATSAPP = "whatsapp"

    class DmPolicy(models.TextChoices):
        PAIRING = "pairing", "pairing (unknown senders get a code an admin approves)"
        ALLOWLIST = "allowlist", "allowlist (only listed senders)"
        OPEN = "open", "open (anyone; risky)"
        DISABLED = "disabled", "disabled (no direct messages)"

    class GroupPolicy(models.TextChoices):
        ALLOWLIST = "allowlist", "allowlist (only listed groups)"
        OPEN = "open", "open (any group the bot is in)"
        DISABLED = "disabled", "disabled (no groups)"

    channel = models.CharField(max_length=16, choices=Channel.choices)
    account_id = models.CharField(
        max_length=128,
        help_text="The platform's id of this bot account (Slack team, Telegram bot, WhatsApp "
        "phone number id).",
    )
    name = models.CharField(max_length=120, blank=True)
    agent = models.ForeignKey(
        "agents.Agent",
        on_delete=models.PROTECT,
        related_name="channel_accounts",
        help_text="The agent that answers this account.",
    )
    enabled = models.BooleanField(default=True)
    dm_policy = models.CharField(
        "direct-message policy", max_length=16, choices=DmPolicy.choices, default=DmPolicy.PAIRING
    )
    allow_from = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_id_list],
        help_text="Sender ids always allowed to send direct messages (JSON list).",
    )
    owner_ids = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_id_list],
        help_text="Senders whose direct messages go to the agent's main session (JSON list).",
    )
    group_policy = models.CharField(
        max_length=16, choices=GroupPolicy.choices, default=GroupPolicy.ALLOWLIST
    )
    group_allowlist = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_id_list],
        help_text="Group or channel ids the bot answers in (JSON list).",
    )
    group_sender_allowlist = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_id_list],
        help_text="If not empty, only these senders are answered inside groups (JSON list).",
    )
    require_mention = models.BooleanField(
        default=True,
        help_text="In groups, answer only when mentioned, replied to, or a pattern matches.",
    )
    mention_patterns = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_patterns],
        help_text="Regular expressions that count as a mention, case-insensitive (JSON list).",
    )
    rate_per_sender = models.CharField(
        max_length=32,
        blank=True,
        validators=[validate_rate],
        help_text="e.g. 10/minute; empty uses OPENCLAW_INBOUND_RATE_PER_SENDER.",
    )
    rate_per_account = models.CharField(
        max_length=32,
        blank=True,
        validators=[validate_rate],
        help_text="e.g. 60/minute; empty uses OPENCLAW_INBOUND_RATE_PER_ACCOUNT.",
    )
    credentials = models.JSONField(
        default=dict,
        blank=True,
        validators=[validate_credentials],
        help_text="Names of the environment variables holding this account's secrets, e.g. "
        '{"bot_token": "SLACK_BOT_TOKEN", "app_token": "SLACK_APP_TOKEN"}.',
    )
    options = models.JSONField(
        default=dict,
        blank=True,
        help_text='Non-secret settings, e.g. {"phone_number_id": "123"} for WhatsApp.',
    )
    connection_state = models.CharField(max_length=16, default="idle", editable=False)
    last_error = models.CharField(max_length=500, blank=True, editable=False)
    state_changed_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["channel", "account_id"]
        constraints = [
            models.UniqueConstraint(fields=["channel", "account_id"], name="unique_channel_account")
        ]

    def __str__(self) -> str:
        return f"{self.channel}:{self.account_id}" + (f" ({self.name})" if self.name else "")

    def policy(self) -> AccountPolicy:
        return AccountPolicy(
            channel=self.channel,
            account_id=self.account_id,
            enabled=self.enabled,
            dm_policy=self.dm_policy,  # type: ignore[arg-type]  # choices match the Literal
            allow_from=frozenset(self.allow_from or ()),
            owner_ids=frozenset(self.owner_ids or ()),
            group_policy=self.group_policy,  # type: ignore[arg-type]  # choices match the Literal
            group_allowlist=frozenset(self.group_allowlist or ()),
            group_sender_allowlist=frozenset(self.group_sender_allowlist or ()),
            require_mention=self.require_mention,
            mention_patterns=tuple(self.mention_patterns or ()),
        )


class Binding(models.Model):
    """Part of a channel account's traffic answered by another agent than the account's own:
    one sender's direct messages (peer), one group, or one thread or forum topic of a group.
    The most specific binding wins (thread > group > peer); what none names goes to the
    account's agent. A peer binding never splits a group: in groups only group and thread
    bindings count, so one group is one conversation with one agent."""

    account = models.ForeignKey(ChannelAccount, on_delete=models.CASCADE, related_name="bindings")
    peer = models.CharField(
        max_length=MAX_ID_CHARS,
        blank=True,
        help_text="A sender id: their direct messages go to this agent.",
    )
    group = models.CharField(
        max_length=MAX_ID_CHARS,
        blank=True,
        help_text="A group or channel id: its messages go to this agent.",
    )
    thread = models.CharField(
        max_length=255,
        blank=True,
        help_text="A thread or forum topic id inside the group (Slack thread ts, Telegram "
        "topic id): only that thread goes to this agent. Needs the group.",
    )
    agent = models.ForeignKey(
        "agents.Agent",
        on_delete=models.PROTECT,
        related_name="bindings",
        help_text="The agent that answers what this binding names.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["account", "group", "thread", "peer"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "peer", "group", "thread"], name="unique_binding"
            ),
            models.CheckConstraint(
                condition=(models.Q(group="") & models.Q(thread="") & ~models.Q(peer=""))
                | (models.Q(peer="") & ~models.Q(group="")),
                name="binding_names_a_peer_or_a_group",
            ),
        ]

    def __str__(self) -> str:
        if self.peer:
            target = f"direct messages from {self.peer}"
        else:
            target = f"group {self.group}" + (f" thread {self.thread}" if self.thread else "")
        return f"{target} on {self.account} → {self.agent}"

    def clean(self) -> None:
        self.peer, self.group, self.thread = (
            self.peer.strip(),
            self.group.strip(),
            self.thread.strip(),
        )
        if self.thread and not self.group:
            raise ValidationError({"group": "A thread binding needs the group the thread is in."})
        if self.peer and self.group:
            raise ValidationError(
                "Name either a peer (direct messages) or a group (and maybe a thread), not both."
            )
        if not self.peer and not self.group:
            raise ValidationError(
                "Name a peer, a group or a thread; the account's own agent answers the rest."
            )


class ApprovedSender(models.Model):
    """A direct-message sender approved (through pairing or by hand) on one account."""

    account = models.ForeignKey(
        ChannelAccount, on_delete=models.CASCADE, related_name="approved_senders"
    )
    sender_id = models.CharField(max_length=MAX_ID_CHARS)
    display_name = models.CharField(max_length=255, blank=True)
    approved_by = models.CharField(max_length=150)
    approved_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-approved_at"]
        constraints = [
            models.UniqueConstraint(fields=["account", "sender_id"], name="unique_approved_sender")
        ]

    def __str__(self) -> str:
        return f"{self.sender_id} on {self.account}"


class PairingRequest(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"
        APPROVED = "approved"
        DENIED = "denied"
        EXPIRED = "expired"

    account = models.ForeignKey(
        ChannelAccount, on_delete=models.CASCADE, related_name="pairing_requests"
    )
    sender_id = models.CharField(max_length=MAX_ID_CHARS)
    display_name = models.CharField(
        max_length=255, blank=True, help_text="As the sender's platform reports it (untrusted)."
    )
    code = models.CharField(max_length=8, unique=True)
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    decided_by = models.CharField(max_length=150, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "sender_id"],
                condition=models.Q(status="pending"),
                name="one_pending_pairing_per_sender",
            )
        ]

    def __str__(self) -> str:
        return f"{self.code} ({self.sender_id} on {self.account})"


class ExecApproval(models.Model):
    """An `exec` command waiting for an admin's yes or no; the run waits until it is decided
    or expires."""

    class Status(models.TextChoices):
        PENDING = "pending"
        APPROVED = "approved"
        DENIED = "denied"
        EXPIRED = "expired"

    run_id = models.CharField(max_length=64, db_index=True)
    session_key = models.CharField(max_length=255)
    agent_slug = models.CharField(max_length=64, blank=True)
    command = models.TextField(help_text="The whole command, exactly as it runs once approved.")
    command_sha256 = models.CharField(max_length=64, blank=True, editable=False)
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    decided_by = models.CharField(max_length=150, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "exec approval"

    def __str__(self) -> str:
        return f"exec #{self.pk} in {self.session_key}"


class InboundRecord(models.Model):
    """The inbound journal: one row per accepted platform message (its platform id is unique,
    so a redelivery is recognised), written before the platform is acknowledged."""

    class Status(models.TextChoices):
        ACCEPTED = "accepted"
        DELIVERED = "delivered"
        DROPPED = "dropped"

    channel = models.CharField(max_length=16)
    account_id = models.CharField(max_length=128)
    message_id = models.CharField(max_length=255)
    chat_id = models.CharField(max_length=MAX_ID_CHARS)
    sender_id = models.CharField(max_length=MAX_ID_CHARS)
    session_key = models.CharField(max_length=255, blank=True)
    text = models.TextField(blank=True, help_text="Kept until delivery, to resume after a crash.")
    thread_id = models.CharField(max_length=255, blank=True)
    run_id = models.CharField(max_length=64, blank=True, db_index=True)
    # Idempotent delivery: the platform message being streamed into, and chunks already sent.
    reply_message_id = models.CharField(max_length=255, blank=True)
    delivered_chunks = models.PositiveIntegerField(default=0)
    # Files that came with the message (gateway.media_inbound): "claimed" (what to fetch again
    # after a crash), then "stored" (Media references) once received, when `text` became the
    # turn's text (caption plus what the model reads of each file).
    media = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACCEPTED)
    received_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "account_id", "message_id"], name="unique_inbound_message"
            )
        ]

    def __str__(self) -> str:
        return f"{self.channel}:{self.account_id}:{self.message_id}"
