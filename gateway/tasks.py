"""Celery tasks of the gateway app: work that may run late and twice without harm. Each calls
one function; beat schedules them by task name (memory.beat_schedules)."""

from celery import shared_task

from gateway import retention


# The name predates the move from memory/tasks.py: beat schedules in existing databases point at
# it, so it stays.
@shared_task(name="memory.retention", ignore_result=True)
def apply_retention() -> dict[str, int]:
    """Archive stale transcripts and drop old delivered journal rows (OPENCLAW_RETENTION_DAYS)."""
    return retention.apply_retention()
