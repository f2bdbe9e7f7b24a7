"""OpenClaw cron jobs (`cron/jobs.json`: `{version, jobs: [...]}`) onto our scheduled jobs
(`agents.scheduled_jobs.create_job`): `at`, `every` and `cron` schedules with their time zone,
the text the agent gets, the session it runs in (`main`, or a session of its own for isolated
runs) and its chat delivery. A job that cannot run here is listed with the reason."""

import json
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.utils import timezone

from agents.models import ScheduledJob
from agents.schedule_specs import ScheduleError, parse
from agents.scheduled_jobs import JobError, create_job
from gateway.operator.openclaw_import.plan import NotApplied, Step, create, skip, unmapped
from gateway.operator.openclaw_import.source import AgentEntry, Source, expand
from gateway.operator.openclaw_import.transcripts_map import PLATFORMS, our_key

MARK = "openclaw-import:"


def _schedule(raw: dict[str, Any]) -> tuple[str, str, str]:
    """(kind, spec, zone) in our terms; ValueError for a schedule we do not have."""
    kind = raw.get("kind")
    if kind == "at":
        at = raw.get("at") or raw.get("atMs")
        if isinstance(at, int | float):
            at = datetime.fromtimestamp(at / 1000, UTC).isoformat()
        if not isinstance(at, str):
            raise ValueError("an 'at' schedule without a time")
        return "at", at, ""
    if kind == "every" and isinstance(raw.get("everyMs"), int | float):
        return "every", str(max(int(raw["everyMs"]) // 1000, 1)), ""
    if kind == "cron" and isinstance(raw.get("expr"), str):
        return "cron", raw["expr"], str(raw.get("tz") or "")
    raise ValueError(f"schedule {json.dumps(raw)[:80]} has no counterpart here")


def _target(job: dict[str, Any], slug: str) -> tuple[str, str]:
    """(our session key, channel) the job runs in."""
    target = str(job.get("sessionTarget") or "main")
    if target.startswith("session:") or (target == "current" and job.get("sessionKey")):
        key = target.removeprefix("session:") if target != "current" else str(job["sessionKey"])
        new_key, channel, _, _ = our_key(key, slug, {})
        return new_key, channel
    if target == "isolated":
        return f"agent:{slug}:cron:{job.get('id')}", "web"
    return f"agent:{slug}:main", "web"


def _delivery(job: dict[str, Any], notes: list[str]) -> dict[str, str]:
    """The job's chat (channel, account_id, chat_id, thread_id) when it names one."""
    delivery = job.get("delivery") if isinstance(job.get("delivery"), dict) else None
    payload = job.get("payload") if isinstance(job.get("payload"), dict) else {}
    if delivery is None and isinstance(payload, dict) and payload.get("deliver"):
        delivery = {"mode": "announce", "channel": payload.get("channel"), "to": payload.get("to")}
    if not delivery or delivery.get("mode") != "announce":
        return {}
    channel, to = str(delivery.get("channel") or ""), str(delivery.get("to") or "")
    if channel not in PLATFORMS or not to:
        if channel not in ("", "last"):
            notes.append(f"delivery to {channel} is not possible here")
        return {}
    to = to.removeprefix(f"{channel}:").removeprefix("channel:")
    if to.startswith("user:"):
        notes.append(f"delivery to {to}: the answer goes to the chat the session last heard from")
        return {}
    chat, _, thread = to.partition(":topic:")
    account = str(delivery.get("accountId") or "default")
    return {"channel": channel, "account_id": account, "chat_id": chat, "thread_id": thread}


def _jobs(source: Source) -> list[dict[str, Any]] | None:
    store = source.section("cron").get("store")
    path = expand(store, source.home) if isinstance(store, str) else source.home / "cron/jobs.json"
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    jobs = value.get("jobs") if isinstance(value, dict) else value
    return [j for j in jobs if isinstance(j, dict)] if isinstance(jobs, list) else None


def plan_job(job: dict[str, Any], agent: AgentEntry | None, known: set[str]) -> Step:
    label = f"{job.get('id')} {job.get('name') or ''}".strip()
    mark = f"{MARK}{job.get('id')}"
    if ScheduledJob.objects.filter(created_by=mark).exists():
        return skip("cron job", label)
    if agent is None or agent.slug not in known:
        return unmapped("cron job", label, f"its agent {job.get('agentId')!r} is not imported")
    payload = job.get("payload") if isinstance(job.get("payload"), dict) else {}
    assert isinstance(payload, dict)  # noqa: S101  # narrowed just above
    text = str(payload.get("text") or payload.get("message") or "")
    delivery = job.get("delivery") if isinstance(job.get("delivery"), dict) else {}
    if isinstance(delivery, dict) and delivery.get("mode") == "webhook":
        return unmapped("cron job", label, "webhook delivery does not exist here")
    if not text:
        return unmapped("cron job", label, f"payload {payload.get('kind')!r} carries no text")
    notes: list[str] = []
    try:
        kind, spec, zone = _schedule(job.get("schedule") or {})
        parse(
            kind,
            spec,
            zone or settings.TIME_ZONE,
            now=timezone.now(),
            min_interval=settings.OPENCLAW_CRON_MIN_INTERVAL_SECONDS,
        )
    except (ValueError, ScheduleError) as exc:
        return unmapped("cron job", label, str(exc))
    key, channel = _target(job, agent.slug)
    chat = _delivery(job, notes)
    if payload.get("model"):
        notes.append(f"model override {payload['model']!r}: the job uses its agent's model")

    def apply() -> str | None:
        try:
            info = create_job(
                agent_slug=agent.slug,
                kind=kind,
                spec=spec,
                text=text,
                session_key=key,
                channel=chat.get("channel", channel),
                zone=zone,
                name=str(job.get("name") or ""),
                created_by=mark,
            )
        except (JobError, ScheduleError) as exc:
            raise NotApplied(str(exc)) from None
        extra = {k: v for k, v in chat.items() if k != "channel"}
        ScheduledJob.objects.filter(pk=info.pk).update(
            enabled=job.get("enabled", True) is not False, **extra
        )
        return None

    where = f"{chat['channel']} chat {chat['chat_id']}" if chat else key
    step = create(
        "cron job", label, f"{kind} {spec}{f' ({zone})' if zone else ''} → {where}", apply
    )
    step.notes = notes
    return step


def plan_cron(source: Source, known: set[str]) -> list[Step]:
    jobs = _jobs(source)
    if jobs is None:
        return []
    default = source.default_agent
    steps = []
    for job in jobs:
        agent = source.agent(str(job["agentId"])) if job.get("agentId") else default
        steps.append(plan_job(job, agent, known))
    return steps
