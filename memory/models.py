"""Memory rows: the files' content mirrored from disk, their revisions, search chunks and the
embedding cache. The files are the truth; rows follow them (memory.sync)."""

import datetime as dt

from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.utils import timezone

from agents.models import Agent

WORKING_MEMORY_PATH = "MEMORY.md"
DISK = "disk"  # `updated_by` of a change noticed on disk (an editor, git, a script)


def daily_log_path(date: dt.date) -> str:
    return f"memory/{date:%Y-%m-%d}.md"


class MemoryDocument(models.Model):
    """What the row knows about its file. `mtime_ns` and `size` make the unchanged check one
    `stat`; `content_hash` is the version a write must be based on."""

    content = models.TextField(blank=True)
    content_hash = models.CharField(max_length=64, blank=True)
    mtime_ns = models.BigIntegerField(null=True, blank=True)
    size = models.BigIntegerField(null=True, blank=True)
    missing = models.BooleanField(
        default=False, help_text="The file is gone from disk; saving here writes it again."
    )
    updated_by = models.CharField(max_length=150, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        abstract = True

    @property
    def day(self) -> dt.date | None:
        """The log's date; None for MEMORY.md."""
        return None

    @property
    def path(self) -> str:
        day = self.day
        return WORKING_MEMORY_PATH if day is None else daily_log_path(day)


class WorkingMemory(MemoryDocument):
    """`MEMORY.md`: curated, sent with every private-session prompt."""

    agent = models.OneToOneField(Agent, on_delete=models.CASCADE, related_name="working_memory")

    class Meta:
        verbose_name = "working memory (MEMORY.md)"
        verbose_name_plural = "working memory (MEMORY.md)"

    def __str__(self) -> str:
        return f"{self.agent.slug}: {WORKING_MEMORY_PATH}"


class DailyLog(MemoryDocument):
    """`memory/YYYY-MM-DD.md`: the day's append-only notes."""

    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="daily_logs")
    date = models.DateField()

    class Meta:
        ordering = ["-date"]
        constraints = [
            models.UniqueConstraint(fields=["agent", "date"], name="one_daily_log_per_agent_date")
        ]

    def __str__(self) -> str:
        return f"{self.agent.slug}: {self.path}"

    @property
    def day(self) -> dt.date | None:
        return self.date


class MemoryNote(MemoryDocument):
    """Any other `memory/*.md` (`memory/2026-11-02-meeting.md`, `memory/projects.md`), mirrored
    from disk so search finds it; a name that starts with a date belongs to that day."""

    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="memory_notes")
    name = models.CharField(max_length=200, help_text="The file's name inside memory/.")
    date = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["agent", "name"], name="one_memory_note_per_name")
        ]

    def __str__(self) -> str:
        return f"{self.agent.slug}: {self.path}"

    @property
    def day(self) -> dt.date | None:
        return self.date

    @property
    def path(self) -> str:
        return f"memory/{self.name}"


class MemoryRevision(models.Model):
    """The content a write replaced, so the admin can show history and restore."""

    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="memory_revisions")
    path = models.CharField(max_length=40)
    content = models.TextField(blank=True)
    content_hash = models.CharField(max_length=64)
    author = models.CharField(max_length=150, blank=True, help_text="Who wrote this version.")
    replaced_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["agent", "path", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.agent_id}:{self.path} @ {self.created_at:%Y-%m-%d %H:%M}"


class MemoryChunk(models.Model):
    """A searchable piece of one file. SQLite indexes `search_text` in the FTS5 table
    `memory_chunk_fts`, PostgreSQL in `search_vector` (GIN); triggers keep both in step
    (migration 0002)."""

    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="memory_chunks")
    path = models.CharField(max_length=255)
    date = models.DateField(null=True, blank=True)
    start_line = models.PositiveIntegerField()
    end_line = models.PositiveIntegerField()
    heading = models.CharField(max_length=200, blank=True)
    text = models.TextField()
    text_hash = models.CharField(max_length=64, db_index=True)
    search_text = models.TextField()
    search_vector = SearchVectorField(null=True, editable=False)

    class Meta:
        indexes = [models.Index(fields=["agent", "path"])]

    def __str__(self) -> str:
        return f"{self.path}:{self.start_line}-{self.end_line}"


class ChunkEmbedding(models.Model):
    """An embedding per (model, chunk text hash): unchanged text is never embedded twice."""

    model = models.CharField(max_length=200)
    text_hash = models.CharField(max_length=64)
    dims = models.PositiveIntegerField()
    vector = models.BinaryField(help_text="Unit-length float32 little-endian.")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["model", "text_hash"], name="one_embedding_per_text")
        ]

    def __str__(self) -> str:
        return f"{self.model}:{self.text_hash[:12]}"


class CurationRun(models.Model):
    """One nightly curation of an agent's day: the model's summary of the day's log and the
    MEMORY.md it proposes, with the diff against the version it was based on (`base_hash`).
    Only a `pending` run can be applied or rejected; a `failed` run never wrote anything."""

    class Status(models.TextChoices):
        PENDING = "pending"
        APPLIED = "applied"
        REJECTED = "rejected"
        FAILED = "failed"

    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="curation_runs")
    day = models.DateField(help_text="The day whose log was curated (agent's time zone).")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    summary = models.TextField(blank=True)
    proposed_text = models.TextField("proposed MEMORY.md", blank=True)
    base_hash = models.CharField(
        max_length=64, blank=True, help_text="Hash of the MEMORY.md the proposal was based on."
    )
    diff = models.TextField(blank=True, help_text="Unified diff: current → proposed.")
    error = models.TextField(blank=True)
    model = models.CharField(max_length=200, blank=True)
    tokens_in = models.PositiveIntegerField(default=0)
    tokens_out = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["-day", "-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["agent", "day"],
                condition=~models.Q(status="failed"),
                name="one_curation_per_agent_day",
            )
        ]

    def __str__(self) -> str:
        return f"{self.agent.slug}: curation of {self.day:%Y-%m-%d}"
