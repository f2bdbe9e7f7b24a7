"""Is background work happening? `doctor` and `status` warn when no Celery worker has been seen
for a day (its heartbeat, openclaw.heartbeat) or when scheduled curation has not run for two
days (the heartbeat's last curation task, or the newest CurationRun, whichever is later)."""

import datetime as dt

from django.conf import settings
from django.utils import timezone
from django.utils.timesince import timesince
from django_celery_beat.models import PeriodicTask

from gateway.operator.findings import Finding
from memory.beat_schedules import CURATION_TASK
from memory.models import CurationRun
from openclaw import heartbeat

WORKER_STALE = dt.timedelta(days=1)
CURATION_STALE = dt.timedelta(days=2)
START_WORKER = (
    "Run the gateway without --no-worker (OPENCLAW_WORKER unset or 1), or run "
    "`celery -A openclaw worker --beat` with the same settings and OPENCLAW_HOME."
)


def _ago(when: dt.datetime, now: dt.datetime) -> str:
    local = timezone.localtime(when).strftime("%Y-%m-%d %H:%M")
    if now - when < dt.timedelta(minutes=1):
        return f"just now ({local})"
    return f"{timesince(when, now)} ago ({local})"


def last_curation(beat: heartbeat.Heartbeat) -> dt.datetime | None:
    """When curation last ran: a curation task's end (heartbeat), or the newest run recorded."""
    newest = CurationRun.objects.order_by("-created_at").values_list("created_at", flat=True)
    times = [t for t in (beat.curation, newest.first()) if t is not None]
    return max(times, default=None)


def worker_findings(now: dt.datetime | None = None) -> list[Finding]:
    """The worker's heartbeat and the last curation, each ok or a warning with its fix."""
    now = now or timezone.now()
    beat = heartbeat.read()
    found: list[Finding] = []
    if beat.last_seen is None:
        found.append(
            Finding(
                "warning",
                f"No Celery worker has ever been seen ({heartbeat.path()} is missing): nightly "
                "curation, reindex and retention do not run.",
                START_WORKER,
            )
        )
    else:
        who = f"pid {beat.pid} on {beat.host}" if beat.pid else beat.host
        if now - beat.last_seen > WORKER_STALE:
            found.append(
                Finding(
                    "warning",
                    f"No Celery worker seen for a day: the last one ({who}) was seen "
                    f"{_ago(beat.last_seen, now)}; curation and maintenance are not running.",
                    START_WORKER,
                )
            )
        else:
            found.append(Finding("ok", f"Celery worker seen {_ago(beat.last_seen, now)} ({who})."))
    scheduled = PeriodicTask.objects.filter(task=CURATION_TASK, enabled=True).exists()
    if not scheduled:
        found.append(Finding("ok", "No nightly curation is scheduled (all disabled)."))
        return found
    last = last_curation(beat)
    if last is not None and now - last > CURATION_STALE:
        found.append(
            Finding(
                "warning",
                f"The last curation ran {_ago(last, now)}: nightly curation has stopped.",
                "Check that a worker with beat runs (above) and the curation schedules are "
                "enabled (Admin > Periodic tasks); the worker's log says why a run failed.",
            )
        )
    elif last is None and beat.first_seen is not None and now - beat.first_seen > CURATION_STALE:
        found.append(
            Finding(
                "warning",
                "No curation has ever run, though a worker was first seen "
                f"{_ago(beat.first_seen, now)}.",
                "Check that the worker runs beat (`--beat`) and the curation schedules are "
                "enabled (Admin > Periodic tasks).",
            )
        )
    elif last is None:
        found.append(
            Finding(
                "ok",
                f"No curation has run yet: the first runs at {settings.OPENCLAW_CURATION_TIME} "
                "in each agent's time zone.",
            )
        )
    else:
        found.append(Finding("ok", f"Last curation ran {_ago(last, now)}."))
    return found
