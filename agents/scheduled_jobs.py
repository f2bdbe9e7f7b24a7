"""State changes for scheduled jobs (reminders, scheduled turns, heartbeats): each one named,
synchronous function; the cron tool, the admin and the gateway's scheduler call these.

Claiming moves `next_run_at` on before a job runs, so a crash never runs a job twice, and a job
missed while the gateway was down runs once at the next start, not once per missed tick.
"""

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from agents.models import Agent, ScheduledJob, agent_zone
from agents.schedule_specs import Schedule, ScheduleError, describe, parse
from agents.services import NotFound, get_agent, main_session_key

HEARTBEAT_OK = "HEARTBEAT_OK"
HEARTBEAT_FILE = "HEARTBEAT.md"
REMINDER_PREFIX = "[Scheduled reminder]"
_COMMENTS = re.compile(r"<!--.*?-->", re.DOTALL)


class JobError(Exception):
    """A job that cannot be created or changed; the message says why."""


@dataclass(frozen=True, slots=True)
class DueJob:
    """A claimed job, detached from the ORM: what the job runner needs to run and deliver it."""

    pk: int
    agent_slug: str
    purpose: str
    text: str
    session_key: str
    channel: str
    account_id: str
    chat_id: str
    thread_id: str
    workspace: str
    due: datetime

    @property
    def delivery_key(self) -> str:
        """The session whose chat gets the answer (a heartbeat runs apart, reports to main)."""
        if self.purpose == ScheduledJob.Purpose.HEARTBEAT:
            return main_session_key(self.agent_slug)
        return self.session_key


_EPOCH = datetime.min.replace(tzinfo=UTC)


def _zone_of(job: ScheduledJob) -> str:
    return job.timezone or agent_zone(job.agent.timezone).key


def schedule_of(job: ScheduledJob, *, min_interval: int = 1) -> Schedule:
    """The job's schedule (its time zone, else its agent's). An "at" time may be past here:
    only new jobs must lie in the future. Raises ScheduleError."""
    now = _EPOCH if job.kind == ScheduledJob.Kind.AT else timezone.now()
    return parse(job.kind, job.spec, _zone_of(job), now=now, min_interval=min_interval)


def prepare(job: ScheduledJob, *, now: datetime) -> None:
    """Validate a job written in the admin, put its spec in normal form and compute its next
    run (None for an "at" time already past). Raises ScheduleError."""
    schedule = schedule_of(job, min_interval=settings.OPENCLAW_CRON_MIN_INTERVAL_SECONDS)
    job.spec = schedule.spec
    job.next_run_at = schedule.next_after(now)


@dataclass(frozen=True, slots=True)
class JobInfo:
    pk: int
    purpose: str
    name: str
    schedule: str
    zone: str
    text: str
    session_key: str
    enabled: bool
    next_run: str  # in the job's time zone, "" when none
    last_status: str


def create_job(
    *,
    agent_slug: str,
    kind: str,
    spec: str,
    text: str,
    session_key: str,
    channel: str,
    zone: str = "",
    name: str = "",
    created_by: str = "",
    now: datetime | None = None,
) -> JobInfo:
    """A reminder job for one of the agent's sessions. Raises ScheduleError or JobError."""
    now = now or timezone.now()
    agent = get_agent(agent_slug)
    schedule = parse(
        kind,
        spec,
        zone or agent_zone(agent.timezone).key,
        now=now,
        min_interval=settings.OPENCLAW_CRON_MIN_INTERVAL_SECONDS,
    )
    cap = settings.OPENCLAW_CRON_MAX_JOBS
    with transaction.atomic():
        count = ScheduledJob.objects.filter(
            agent=agent, purpose=ScheduledJob.Purpose.REMINDER
        ).count()
        if count >= cap:
            raise JobError(
                f"This agent already has {count} jobs (the limit is {cap}); delete one first."
            )
        job = ScheduledJob.objects.create(
            agent=agent,
            kind=schedule.kind,
            spec=schedule.spec,
            timezone=zone,
            text=text,
            name=name[:120],
            session_key=session_key,
            channel=channel,
            next_run_at=schedule.next_after(now),
            delete_after_run=schedule.kind == "at",
            created_by=created_by[:255],
        )
    return _info(job, agent)


def _info(job: ScheduledJob, agent: Agent) -> JobInfo:
    tz = agent_zone(job.timezone or agent.timezone)
    when = ""
    if job.next_run_at is not None and job.enabled:
        when = job.next_run_at.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z")
    return JobInfo(
        pk=job.pk,
        purpose=job.purpose,
        name=job.name,
        schedule=describe(job.kind, job.spec),
        zone=tz.key,
        text=job.text,
        session_key=job.session_key,
        enabled=job.enabled,
        next_run=when,
        last_status=job.last_status,
    )


def list_jobs(agent_slug: str) -> list[JobInfo]:
    agent = Agent.objects.filter(slug=agent_slug).first()
    if agent is None:
        raise NotFound(f"No agent {agent_slug!r}.")
    return [_info(job, agent) for job in ScheduledJob.objects.filter(agent=agent).order_by("pk")]


def delete_job(agent_slug: str, pk: int, session_key: str | None = None) -> None:
    """Delete one of the agent's reminder jobs (the heartbeat is switched off in its settings);
    with `session_key`, only a job of that session."""
    jobs = ScheduledJob.objects.filter(pk=pk, agent__slug=agent_slug)
    if session_key is not None:
        jobs = jobs.filter(session_key=session_key)
    job = jobs.first()
    if job is None:
        raise JobError(f"No job {pk} for this agent; see the list action.")
    if job.purpose == ScheduledJob.Purpose.HEARTBEAT:
        raise JobError("The heartbeat is switched off in the agent's settings, not deleted here.")
    job.delete()


def run_now(pks: list[int]) -> int:
    """Make jobs due at once (the admin's "run now"); returns how many."""
    return ScheduledJob.objects.filter(pk__in=pks).update(enabled=True, next_run_at=timezone.now())


def next_due_at() -> datetime | None:
    job = (
        ScheduledJob.objects.filter(enabled=True, agent__enabled=True, next_run_at__isnull=False)
        .order_by("next_run_at")
        .only("next_run_at")
        .first()
    )
    return job.next_run_at if job else None


def claim_due(now: datetime) -> list[DueJob]:
    """Take the jobs due at `now`: each one's next run moves past `now` first (a conditional
    update, so it is claimed once even if two callers race), then it is handed out to run."""
    claimed = []
    due = ScheduledJob.objects.select_related("agent").filter(
        enabled=True, agent__enabled=True, next_run_at__lte=now
    )
    for job in due.order_by("next_run_at")[:100]:
        assert job.next_run_at is not None  # noqa: S101  # filtered above
        try:
            following = schedule_of(job).next_after_run(job.next_run_at, now)
            error = ""
        except ScheduleError as exc:  # edited into something invalid outside the admin
            following, error = None, str(exc)
        won = ScheduledJob.objects.filter(pk=job.pk, next_run_at=job.next_run_at).update(
            next_run_at=following,
            last_run_at=now,
            run_count=F("run_count") + (0 if error else 1),
            last_status=ScheduledJob.Status.ERROR if error else ScheduledJob.Status.RUNNING,
            last_error=error[:500],
        )
        if won and not error:
            claimed.append(
                DueJob(
                    pk=job.pk,
                    agent_slug=job.agent.slug,
                    purpose=job.purpose,
                    text=job.text,
                    session_key=job.session_key,
                    channel=job.channel,
                    account_id=job.account_id,
                    chat_id=job.chat_id,
                    thread_id=job.thread_id,
                    workspace=str(job.agent.workspace),
                    due=job.next_run_at,
                )
            )
    return claimed


def finish_run(pk: int, status: str, *, run_id: str = "", error: str = "") -> None:
    """Record how a run ended; a successful one-shot marked delete_after_run goes away."""
    job = ScheduledJob.objects.filter(pk=pk).first()
    if job is None:  # deleted while it ran
        return
    ok = status in (ScheduledJob.Status.OK, ScheduledJob.Status.SUPPRESSED)
    if ok and job.delete_after_run and job.next_run_at is None:
        job.delete()
        return
    ScheduledJob.objects.filter(pk=pk).update(
        last_status=status, last_error=error[:500], last_run_id=run_id[:64]
    )


def note_delivery(pk: int, channel: str, account_id: str, chat_id: str, thread_id: str) -> None:
    """Remember the platform chat a job's answers go to (found in the session's journal)."""
    ScheduledJob.objects.filter(pk=pk, account_id="").update(
        channel=channel[:32],
        account_id=account_id[:128],
        chat_id=chat_id[:255],
        thread_id=thread_id[:255],
    )


def heartbeat_key(agent_slug: str) -> str:
    """Heartbeats run in a session of their own: their OK turns stay out of the main context."""
    return f"agent:{agent_slug}:heartbeat"


def sync_heartbeats(now: datetime | None = None) -> None:
    """Keep one heartbeat job per agent in step with the agent's heartbeat settings."""
    now = now or timezone.now()
    existing = {
        job.agent_id: job
        for job in ScheduledJob.objects.filter(purpose=ScheduledJob.Purpose.HEARTBEAT)
    }
    for agent in Agent.objects.all():
        job = existing.get(agent.pk)
        wanted = agent.enabled and agent.heartbeat_enabled
        if not wanted:
            if job is not None and job.enabled:
                ScheduledJob.objects.filter(pk=job.pk).update(enabled=False, next_run_at=None)
            continue
        seconds = agent.heartbeat_minutes * 60
        first = now + timedelta(seconds=seconds)
        if job is None:
            ScheduledJob.objects.get_or_create(
                agent=agent,
                purpose=ScheduledJob.Purpose.HEARTBEAT,
                defaults={
                    "name": f"{agent.slug} heartbeat",
                    "kind": ScheduledJob.Kind.EVERY,
                    "spec": str(seconds),
                    "session_key": heartbeat_key(agent.slug),
                    "channel": "heartbeat",
                    "next_run_at": first,
                    "created_by": "agent settings",
                },
            )
        elif job.spec != str(seconds) or not job.enabled or job.kind != ScheduledJob.Kind.EVERY:
            ScheduledJob.objects.filter(pk=job.pk).update(
                kind=ScheduledJob.Kind.EVERY, spec=str(seconds), enabled=True, next_run_at=first
            )


def heartbeat_prompt(checklist: str | None) -> str | None:
    """The heartbeat turn's message, or None when HEARTBEAT.md is missing or has nothing to
    check (only headings and comments): then the heartbeat costs no tokens."""
    if checklist is None:
        return None
    body = _COMMENTS.sub("", checklist)
    if not any(line.strip() and not line.lstrip().startswith("#") for line in body.splitlines()):
        return None
    return (
        f"[Heartbeat] Go through {HEARTBEAT_FILE} below. If something needs the user's "
        f"attention, say it briefly; otherwise answer exactly {HEARTBEAT_OK}.\n\n{body.strip()}"
    )


def heartbeat_reply(text: str) -> str:
    """What of a heartbeat answer to deliver: "" when it is HEARTBEAT_OK (the token at either
    end is dropped; an answer that is nothing else is not delivered)."""
    shown = text.strip()
    found = False
    if shown.startswith(HEARTBEAT_OK):
        shown, found = shown[len(HEARTBEAT_OK) :], True
    if shown.endswith(HEARTBEAT_OK):
        shown, found = shown[: -len(HEARTBEAT_OK)], True
    shown = shown.strip()
    if found and not shown.strip(".!:;,- \n\t"):
        return ""
    return shown


def reminder_prompt(text: str) -> str:
    return f"{REMINDER_PREFIX} {text}"
