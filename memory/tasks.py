"""Celery tasks of the memory app: work that may run late and twice without harm."""

from celery import shared_task

from memory import services
from memory.sync import sync_all


@shared_task(name="memory.reindex", ignore_result=True)
def reindex_memory(agent_slug: str | None = None) -> int:
    """Sync from disk and rebuild the search chunks of one agent (or all); idempotent."""
    return services.reindex(agent_slug)


@shared_task(name="memory.sync", ignore_result=True)
def sync_memory() -> int:
    """Pick up every memory file changed on disk; returns how many files changed."""
    return sum(len(report.changed) for report in sync_all())
