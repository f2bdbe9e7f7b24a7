"""cron: the agent creates, lists and deletes its scheduled jobs (reminders, scheduled turns).

Times are in the agent's time zone unless the call names another. A job runs later as a turn in
the session it was created from (or another of the agent's sessions), and its answer goes to
that session's chat. The gateway's job runner runs the jobs (gateway/job_runner.py).
"""

from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings

from agents import scheduled_jobs, services
from agents.schedule_specs import ScheduleError
from agents.tools.base import ToolContext, ToolError
from agents.tools.common import cap_text, int_arg, str_arg

MAX_TEXT = 4000


class CronTool:
    name = "cron"
    description = (
        "Schedule a message to yourself that runs later as a turn, its answer sent to the chat: "
        "action create (kind at: ISO time or +20m; every: 30m, 2h, 1d; cron: '0 9 * * 1-5'; "
        "times in your time zone), list, or delete by id."
    )
    parameters: dict[str, Any] = {
        "type": "object",
        "properties": {
            "action": {"type": "string", "enum": ["create", "list", "delete"]},
            "kind": {"type": "string", "enum": ["at", "every", "cron"]},
            "schedule": {"type": "string"},
            "text": {"type": "string", "description": "What to do or say when it runs."},
            "name": {"type": "string"},
            "timezone": {"type": "string", "description": "IANA zone; default: yours."},
            "session": {"type": "string", "description": "Default: this session."},
            "id": {"type": "integer"},
        },
        "required": ["action"],
    }

    async def run(self, args: dict[str, Any], ctx: ToolContext) -> str:
        action = str_arg(args, "action").strip().lower()
        if action == "create":
            return await self._create(args, ctx)
        if action == "list":
            return await self._list(ctx)
        if action == "delete":
            pk = int_arg(args, "id", 0, low=0, high=2**62)
            if not pk:
                raise ToolError("delete needs the job's id (see the list action).")
            only = None if ctx.trust == "owner" else ctx.session.key
            try:
                await database_sync_to_async(scheduled_jobs.delete_job)(ctx.agent.slug, pk, only)
            except scheduled_jobs.JobError as exc:
                raise ToolError(str(exc)) from None
            return f"Deleted job {pk}."
        raise ToolError("action must be create, list or delete.")

    async def _create(self, args: dict[str, Any], ctx: ToolContext) -> str:
        kind = str_arg(args, "kind").strip().lower()
        spec = str_arg(args, "schedule")
        text = str_arg(args, "text").strip()
        if not text:
            raise ToolError("text must not be empty: it is what you will be asked to do.")
        if len(text) > MAX_TEXT:
            raise ToolError(f"text is {len(text)} characters; the limit is {MAX_TEXT}.")
        key = str_arg(args, "session", required=False).strip() or ctx.session.key
        channel = ctx.session.channel
        if key != ctx.session.key and ctx.trust != "owner":
            raise ToolError("Jobs can be scheduled in this conversation only.")
        if key != ctx.session.key:
            if services.agent_slug_of(key) != ctx.agent.slug:
                raise ToolError(f"{key!r} is not one of your sessions; see sessions_list.")
            try:
                target = await database_sync_to_async(services.find_session)(key)
            except services.NotFound:
                raise ToolError(f"No active session {key!r}; see sessions_list.") from None
            channel = target.channel
        try:
            info: scheduled_jobs.JobInfo = await database_sync_to_async(scheduled_jobs.create_job)(
                agent_slug=ctx.agent.slug,
                kind=kind,
                spec=spec,
                text=text,
                session_key=key,
                channel=channel,
                zone=str_arg(args, "timezone", required=False).strip(),
                name=str_arg(args, "name", required=False).strip(),
                created_by=ctx.session.key,
            )
        except (ScheduleError, scheduled_jobs.JobError) as exc:
            raise ToolError(str(exc)) from None
        except services.NotFound as exc:
            raise ToolError(str(exc)) from None
        return f"Created job {info.pk} ({info.schedule}, {info.zone}); next run {info.next_run}."

    async def _list(self, ctx: ToolContext) -> str:
        rows: list[scheduled_jobs.JobInfo] = await database_sync_to_async(scheduled_jobs.list_jobs)(
            ctx.agent.slug
        )
        if ctx.trust != "owner":  # a stranger sees the jobs of their own conversation only
            rows = [row for row in rows if row.session_key == ctx.session.key]
        if not rows:
            return "No scheduled jobs."
        lines = []
        for row in rows:
            state = f"next {row.next_run}" if row.next_run else "no next run"
            if not row.enabled:
                state = "disabled"
            label = f" {row.name!r}" if row.name else ""
            what = "heartbeat (HEARTBEAT.md)" if row.purpose == "heartbeat" else row.text[:120]
            last = f" | last {row.last_status}" if row.last_status else ""
            lines.append(
                f"#{row.pk}{label} | {row.schedule} ({row.zone}) | {state}{last} | "
                f"{row.session_key} | {what}"
            )
        return cap_text("\n".join(lines), int(settings.OPENCLAW_TOOL_OUTPUT_CHARS))
