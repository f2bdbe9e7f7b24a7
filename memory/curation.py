"""Nightly curation: the agent's model reads one day's log and proposes a new MEMORY.md plus a
summary of the day. A `CurationRun` stores the proposal and its diff for review; Apply writes it
through memory.services (a conflict if MEMORY.md changed since). Synchronous: the Celery task,
`manage.py curate` and the admin call these; the async model client runs under `asyncio.run`.
"""

import asyncio
import datetime as dt
import difflib
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from agents.failover import RetryPolicy, stream_with_failover
from agents.llm import Finished, Message, ModelError, ModelSettings, TextDelta
from agents.llm_chat import ProviderChatModel
from agents.model_chain import agent_model_chain
from agents.models import Agent, agent_zone
from agents.services import AgentConfig
from agents.transcripts import Usage
from memory import services
from memory.models import CurationRun, DailyLog
from memory.sync import MemoryConflict, resolve_agent, sync_document
from openclaw.audit.services import Actor, actor_label, audit

logger = logging.getLogger(__name__)

SUMMARY_MARK = "=== SUMMARY ==="
MEMORY_MARK = "=== MEMORY.md ==="
END_MARK = "=== END ==="
LOG_MAX_CHARS = 60_000  # of the day's log sent to the model (its most recent part)
SUMMARY_TITLE = "nightly summary"

SYSTEM_PROMPT = f"""You curate the long-term memory of an assistant. You get its current \
MEMORY.md and the log of one day. Answer in exactly this format and nothing else:

{SUMMARY_MARK}
A summary of the day for the assistant's own future reference: what happened, decisions, \
open tasks, names, numbers, commitments. Markdown bullets, at most 200 words.
{MEMORY_MARK}
The complete new MEMORY.md. Keep what is still true and lasting, promote durable facts, \
preferences and commitments from the day, drop what is stale or duplicated, keep its headings \
and style. At most {{cap}} characters.
{END_MARK}"""


class CurationError(Exception):
    """A curation that could not produce a usable proposal; the message says why."""


class CurationRefused(ValueError):
    """Apply or Reject of a run that is not pending."""


@dataclass(frozen=True, slots=True)
class Proposal:
    summary: str
    memory: str


_MARK = re.compile(r"^[ \t]*=+[ \t]*(SUMMARY|MEMORY(?:\.md)?|END)[ \t]*=+[ \t]*$", re.I | re.M)
_FENCE = re.compile(r"\A```[\w-]*\n(.*?)\n?```\Z", re.S)


def parse_answer(answer: str, cap: int, current: str) -> Proposal:
    """The summary and the proposed MEMORY.md from the model's answer. CurationError for an
    answer without the three markers in order (e.g. cut off), an empty part, or a proposal past
    `cap` characters that is longer than `current` (shrinking is always allowed)."""
    marks = [(m.group(1).upper().removesuffix(".MD"), m) for m in _MARK.finditer(answer)]
    names = [name for name, _ in marks]
    try:
        start = names.index("SUMMARY")
        middle = names.index("MEMORY", start + 1)
        end = names.index("END", middle + 1)
    except ValueError:
        raise CurationError(
            f"The model's answer is not in the expected format ({SUMMARY_MARK}, {MEMORY_MARK}, "
            f"{END_MARK}); it may have been cut off. It began: {answer.strip()[:200]!r}"
        ) from None
    summary = answer[marks[start][1].end() : marks[middle][1].start()].strip()
    memory = answer[marks[middle][1].end() : marks[end][1].start()].strip()
    fenced = _FENCE.match(memory)
    if fenced:
        memory = fenced.group(1).strip()
    if not summary:
        raise CurationError("The model's summary is empty.")
    if len(summary) > services.APPEND_MAX_CHARS:
        raise CurationError(
            f"The model's summary is {len(summary):,} characters; the limit is "
            f"{services.APPEND_MAX_CHARS:,}."
        )
    if not memory and current.strip():
        raise CurationError("The model proposed an empty MEMORY.md; nothing was changed.")
    memory += "\n" if memory else ""
    if len(memory) > cap and len(memory) > len(current):
        raise CurationError(
            f"The proposed MEMORY.md is {len(memory):,} characters; the limit is {cap:,}."
        )
    return Proposal(summary, memory)


def unified_diff(current: str, proposed: str) -> str:
    lines = difflib.unified_diff(
        current.splitlines(keepends=True),
        proposed.splitlines(keepends=True),
        "MEMORY.md (current)",
        "MEMORY.md (proposed)",
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def _log_text(agent: Agent, day: dt.date) -> str:
    """The day's log as the model sees it: "" when missing or holding no more than headings."""
    sync_document(agent, day)
    log = DailyLog.objects.filter(agent=agent, date=day).first()
    if log is None or log.missing:
        return ""
    text = log.content.strip()
    if all(line.lstrip().startswith("#") for line in text.splitlines() if line.strip()):
        return ""
    if len(text) > LOG_MAX_CHARS:
        text = "[… the beginning of the log is omitted …]\n" + text[-LOG_MAX_CHARS:]
    return text


def _messages(agent: Agent, day: dt.date, memory: str, log: str, cap: int) -> list[Message]:
    body = (
        f"Assistant: {agent.name or agent.slug}\n\n"
        f"Current MEMORY.md ({len(memory):,} of at most {cap:,} characters):\n"
        f"<<<\n{memory.strip() or '(empty)'}\n>>>\n\n"
        f"Log of {day:%Y-%m-%d} ({day:%A}):\n<<<\n{log}\n>>>"
    )
    return [
        {"role": "system", "content": SYSTEM_PROMPT.format(cap=cap)},
        {"role": "user", "content": body},
    ]


async def _complete(
    messages: Sequence[Message], chain: Sequence[ModelSettings]
) -> tuple[str, Usage | None]:
    """One silent model call with the agent's retries and fallbacks, bounded by the run
    deadline. Raises ModelError or TimeoutError."""
    parts: list[str] = []
    usage: Usage | None = None
    policy = RetryPolicy(retries=settings.OPENCLAW_MODEL_MAX_RETRIES)
    # A fresh client per call: its connection pool belongs to this asyncio.run loop.
    model = ProviderChatModel()
    try:
        async with asyncio.timeout(settings.OPENCLAW_RUN_DEADLINE):
            events = stream_with_failover(model, messages, chain, policy=policy)
            async for event in events:
                if isinstance(event, TextDelta):
                    parts.append(event.text)
                elif isinstance(event, Finished):
                    usage = event.usage
    finally:
        await model.aclose()
    return "".join(parts), usage


def _end_of(agent: Agent, day: dt.date) -> dt.datetime:
    """When the summary is filed: now for today, else the last minute of `day` (agent's zone)."""
    zone = agent_zone(agent.timezone)
    now = dt.datetime.now(zone)
    return now if now.date() == day else dt.datetime.combine(day, dt.time(23, 59), zone)


def existing_run(agent: Agent, day: dt.date) -> CurationRun | None:
    """The run that counts for the day (pending, applied or rejected), if any."""
    return (
        CurationRun.objects.filter(agent=agent, day=day)
        .exclude(status=CurationRun.Status.FAILED)
        .first()
    )


def curate(agent: Agent | str, day: dt.date) -> CurationRun | None:
    """Curate one day of one agent. Idempotent: a day that already has a run returns that run,
    without a model call. None, without a model call, when the day's log is missing or empty.
    Model errors, timeouts and unusable answers give a `failed` run (nothing written); otherwise
    a `pending` run, the summary appended to the day's log, and, if the agent auto-applies, the
    proposal applied at once."""
    agent = resolve_agent(agent)
    done = existing_run(agent, day)
    if done is not None:
        return done
    log = _log_text(agent, day)
    if not log:
        logger.info("Curation of %s %s: no log, nothing to curate", agent.slug, day)
        return None
    current = services.read_working_memory(agent)
    cap = int(settings.OPENCLAW_MEMORY_MAX_CHARS)
    chain = agent_model_chain(AgentConfig.from_model(agent), agent.model or settings.OPENCLAW_MODEL)
    run = CurationRun(agent=agent, day=day, base_hash=current.content_hash, model=chain[0].model)
    try:
        answer, usage = asyncio.run(
            _complete(_messages(agent, day, current.content, log, cap), chain)
        )
        if usage is not None:
            run.tokens_in, run.tokens_out = usage["prompt_tokens"], usage["completion_tokens"]
        proposal = parse_answer(answer, cap, current.content)
    except (ModelError, TimeoutError, CurationError) as error:
        text = (
            str(error) or f"The model did not answer within {settings.OPENCLAW_RUN_DEADLINE:g} s."
        )
        return _failed(run, text)
    except Exception as error:  # never crash the worker: record what happened instead
        logger.exception("Curation of %s %s failed", agent.slug, day)
        return _failed(run, f"Unexpected error: {type(error).__name__}: {error}")
    run.summary, run.proposed_text = proposal.summary, proposal.memory
    run.diff = unified_diff(current.content, proposal.memory)
    try:
        with transaction.atomic():
            run.save()
    except IntegrityError:  # a concurrent run of the same day won: that one counts
        winner = existing_run(agent, day)
        if winner is None:
            raise
        return winner
    services.append_daily_log(
        agent, proposal.summary, _end_of(agent, day), "curation", title=SUMMARY_TITLE
    )
    if agent.curation_auto_apply:
        try:
            return apply_run(run.pk, "curation:auto-apply")
        except MemoryConflict:
            run.refresh_from_db()  # stays pending; the error says why
    return run


def _failed(run: CurationRun, error: str) -> CurationRun:
    run.status = CurationRun.Status.FAILED
    run.error = error
    run.save()
    logger.warning("Curation of %s %s failed: %s", run.agent.slug, run.day, error)
    return run


def _pending(run_id: int) -> CurationRun:
    run = CurationRun.objects.select_for_update().select_related("agent").get(pk=run_id)
    if run.status != CurationRun.Status.PENDING:
        raise CurationRefused(f"This curation run is {run.status}: only a pending run can change.")
    return run


def apply_run(run_id: int, actor: Actor) -> CurationRun:
    """Write the proposed MEMORY.md, based on the version the proposal was made from. Raises
    MemoryConflict when MEMORY.md changed since (the run stays pending, with the error), and
    CurationRefused for a run that is not pending."""
    label = actor_label(actor)
    try:
        with transaction.atomic():
            run = _pending(run_id)
            services.write_working_memory(
                run.agent,
                run.proposed_text,
                run.base_hash,
                label,
                cap=int(settings.OPENCLAW_MEMORY_MAX_CHARS),
            )
            run.status = CurationRun.Status.APPLIED
            run.error = ""
            run.decided_at, run.decided_by = timezone.now(), label
            run.save()
            audit(actor, "curation.applied", run, agent=run.agent.slug, day=str(run.day))
            return run
    except (MemoryConflict, services.MemoryRefused) as error:
        CurationRun.objects.filter(pk=run_id, status=CurationRun.Status.PENDING).update(
            error=str(error)
        )
        raise


def reject_run(run_id: int, actor: Actor) -> CurationRun:
    """Mark a pending run rejected; MEMORY.md is not touched. CurationRefused if not pending."""
    label = actor_label(actor)
    with transaction.atomic():
        run = _pending(run_id)
        run.status = CurationRun.Status.REJECTED
        run.decided_at, run.decided_by = timezone.now(), label
        run.save()
        audit(actor, "curation.rejected", run, agent=run.agent.slug, day=str(run.day))
    return run
