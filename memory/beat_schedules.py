"""Beat schedules in the database (django-celery-beat): one nightly curation per agent, plus the
memory consistency check and retention. Created when missing, never overwritten: once a
schedule exists it belongs to the operator (Admin → Periodic tasks: time, time zone, enabled)."""

import datetime as dt
import json

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connections
from django.db.models import Q
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from agents.models import Agent, agent_zone

CURATION_TASK = "memory.curate_yesterday"
# (name, task, local time of day in OPENCLAW_TIMEZONE, what it does)
MAINTENANCE = (
    (
        "memory: consistency check",
        "memory.check",
        dt.time(4, 0),
        "Picks up memory files changed on disk and reports missing ones.",
    ),
    (  # the task is gateway.tasks.apply_retention: it prunes the gateway's journal as well
        "memory: retention",
        "memory.retention",
        dt.time(4, 30),
        "Archives transcripts of sessions idle for OPENCLAW_RETENTION_DAYS and deletes old "
        "delivered inbound-journal rows. Never touches memory files.",
    ),
)


def curation_time() -> dt.time:
    """OPENCLAW_CURATION_TIME (HH:MM, agent's time zone) as a time."""
    value = str(settings.OPENCLAW_CURATION_TIME)
    try:
        return dt.time.fromisoformat(value)
    except ValueError:
        raise ImproperlyConfigured(
            f"OPENCLAW_CURATION_TIME={value!r}: use HH:MM, e.g. 03:30."
        ) from None


def curation_task_name(slug: str) -> str:
    return f"curation: {slug}"


def _daily(at: dt.time, zone: str) -> CrontabSchedule:
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute=str(at.minute),
        hour=str(at.hour),
        day_of_week="*",
        day_of_month="*",
        month_of_year="*",
        timezone=zone,
    )
    return crontab


def ensure_curation_schedule(agent: Agent) -> PeriodicTask:
    """The agent's nightly curation of yesterday, created if missing (existing: left as is)."""
    name = curation_task_name(agent.slug)
    task, _ = PeriodicTask.objects.get_or_create(
        name=name,
        defaults={
            "task": CURATION_TASK,
            "crontab": _daily(curation_time(), agent_zone(agent.timezone).key),
            "args": json.dumps([agent.slug]),
            "enabled": True,
            "description": (
                f"Summarises yesterday's log of agent {agent.slug!r} and proposes MEMORY.md "
                "changes (review them under Memory → Curation runs). Disable rather than "
                "delete: a deleted schedule is created again at the next migrate."
            ),
        },
    )
    return task


def remove_curation_schedule(slug: str) -> int:
    """Delete the schedule(s) curating this agent; returns how many."""
    deleted: int
    deleted, _ = PeriodicTask.objects.filter(
        Q(name=curation_task_name(slug)) | Q(task=CURATION_TASK, args=json.dumps([slug]))
    ).delete()
    return deleted


def ensure_maintenance_schedules() -> None:
    for name, task, at, description in MAINTENANCE:
        PeriodicTask.objects.get_or_create(
            name=name,
            defaults={
                "task": task,
                "crontab": _daily(at, settings.TIME_ZONE),
                "enabled": True,
                "description": description,
            },
        )


def ensure_all_schedules(using: str = "default") -> None:
    """Every agent's curation and the maintenance schedules (after `migrate`). Skipped while
    django-celery-beat's tables do not exist yet (a partial migrate)."""
    tables = connections[using].introspection.table_names()
    if PeriodicTask._meta.db_table not in tables or Agent._meta.db_table not in tables:
        return
    for agent in Agent.objects.using(using).all():
        ensure_curation_schedule(agent)
    ensure_maintenance_schedules()
