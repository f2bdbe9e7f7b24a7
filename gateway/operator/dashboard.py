"""The admin dashboard's figures: channel status, sessions, tokens and cost, what waits for an
operator (pairings, curation runs, exec approvals) and recent errors.

A fixed number of small queries (counts, aggregates, short lists), whatever the size of the data;
the only file reads are the tails of the few most recently active transcripts.
"""

import json
import os
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.exceptions import FieldDoesNotExist
from django.db.models import Count, Q, Sum
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.http import urlencode

from agents.models import DailyUsage, ModelPrice, Session
from agents.usage import cache_hit_rate
from gateway.models import ChannelAccount, ExecApproval, InboundRecord, PairingRequest
from openclaw.redact import redact_text

LIST_LIMIT = 5  # rows shown per "waiting" box; the count says how many there are in all
ERROR_LIMIT = 10
ERROR_SESSIONS = 10  # most recently active sessions whose transcript tails are read for errors
TAIL_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class ChannelRow:
    pk: int
    channel: str
    account_id: str
    name: str
    enabled: bool
    state: str
    error: str
    since: datetime | None
    live: bool  # the state comes from the running gateway, not the last one recorded


@dataclass(frozen=True, slots=True)
class UsageFigures:
    turns: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    cache_write_tokens: int = 0
    cost: Decimal = Decimal(0)

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    @property
    def cache_hit_percent(self) -> int | None:
        """Input tokens read from the prompt cache, in percent (None without input)."""
        rate = cache_hit_rate(self.prompt_tokens, self.cached_tokens)
        return None if rate is None else round(rate * 100)


@dataclass(frozen=True, slots=True)
class Waiting:
    """Things an operator must decide: how many, a few of them, and where to decide."""

    count: int
    items: list[Any]
    url: str


@dataclass(frozen=True, slots=True)
class PendingCommand:
    session_key: str
    command: str  # secrets masked


@dataclass(frozen=True, slots=True)
class ErrorRow:
    when: datetime | None
    source: str
    text: str
    url: str = ""


@dataclass(slots=True)
class Dashboard:
    channels: list[ChannelRow]
    runtime: dict[str, Any] | None  # the in-process gateway's status, None if it is not running
    sessions_today: int
    sessions_active: int
    today: UsageFigures
    week: UsageFigures
    week_start: date
    unpriced_models: list[str]
    pairings: Waiting
    exec_approvals: Waiting
    curation: Waiting | None  # None until the memory app has curation runs
    errors: list[ErrorRow] = field(default_factory=list)


def _runtime_status() -> dict[str, Any] | None:
    from gateway.state import runtime  # it pulls in the model client: only when shown

    if runtime.state == "stopped":
        return None
    try:
        return runtime.status()
    except RuntimeError:  # a dict changed size while the event loop thread updated it
        return None


def _channels(live: dict[str, Any]) -> list[ChannelRow]:
    rows = []
    for account in ChannelAccount.objects.order_by("channel", "account_id"):
        now = live.get(f"{account.channel}:{account.account_id}")
        state = str(now["state"]) if now else account.connection_state
        error = str(now.get("error") or "") if now else account.last_error
        rows.append(
            ChannelRow(
                account.pk,
                account.channel,
                account.account_id,
                account.name,
                account.enabled,
                state,
                redact_text(error),
                account.state_changed_at,
                now is not None,
            )
        )
    return rows


def _usage(today: date, week_start: date) -> tuple[UsageFigures, UsageFigures]:
    names = (
        "turns",
        "prompt_tokens",
        "completion_tokens",
        "cached_tokens",
        "cache_write_tokens",
        "cost",
    )
    is_today = Q(day=today)
    totals = DailyUsage.objects.filter(day__gte=week_start).aggregate(
        **{f"today_{n}": Sum(n, filter=is_today) for n in names},
        **{f"week_{n}": Sum(n) for n in names},
    )

    def figures(prefix: str) -> UsageFigures:
        value = {n: totals[f"{prefix}_{n}"] or 0 for n in names}
        return UsageFigures(
            turns=int(value["turns"]),
            prompt_tokens=int(value["prompt_tokens"]),
            completion_tokens=int(value["completion_tokens"]),
            cached_tokens=int(value["cached_tokens"]),
            cache_write_tokens=int(value["cache_write_tokens"]),
            cost=Decimal(value["cost"]),
        )

    return figures("today"), figures("week")


def _admin_url(name: str, **filters: str) -> str:
    """The URL of an admin page with list filters, or "" if that admin is not installed."""
    try:
        url = reverse(f"admin:{name}")
    except NoReverseMatch:
        return ""
    return f"{url}?{urlencode(filters)}" if filters else url


def _curation_model() -> Any:
    """memory.CurationRun if this install has it (with a status), else None."""
    try:
        model = apps.get_model("memory", "CurationRun")
        model._meta.get_field("status")
    except (LookupError, FieldDoesNotExist):
        return None
    return model


def _curation() -> Waiting | None:
    """Curation runs awaiting review; None without the model."""
    model = _curation_model()
    if model is None:
        return None
    pending = model._default_manager.filter(status="pending")
    count = pending.count()
    items = list(pending.select_related("agent").order_by("-pk")[:LIST_LIMIT]) if count else []
    url = _admin_url("memory_curationrun_changelist", status__exact="pending")
    return Waiting(count, items, url)


def _tail_errors(path: Path) -> list[dict[str, Any]]:
    """Error entries among the last TAIL_BYTES of a live transcript (archives are skipped)."""
    if path.suffix == ".gz":
        return []
    try:
        with open(path, "rb") as handle:
            start = max(0, handle.seek(0, os.SEEK_END) - TAIL_BYTES)
            handle.seek(start)
            lines = handle.read().splitlines()[1 if start else 0 :]  # the first may be cut
    except OSError:
        return []
    found = []
    for line in lines:
        if b'"error"' not in line:
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and entry.get("type") == "error":
            found.append(entry)
    return found


def _parse_ts(value: object) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


def _run_errors(since: datetime) -> list[ErrorRow]:
    rows = []
    sessions = Session.objects.filter(last_active_at__gte=since).order_by("-last_active_at")
    for pk, key, transcript in sessions.values_list("pk", "key", "transcript_path")[
        :ERROR_SESSIONS
    ]:
        url = reverse("admin:agents_session_transcript", args=[pk]) + "?page=last"
        for entry in _tail_errors(Path(settings.OPENCLAW_HOME) / transcript):
            code = (entry.get("meta") or {}).get("code") or "error"
            when = _parse_ts(entry.get("ts"))
            if when is not None and when >= since:
                text = f"{code}: {entry.get('content', '')}"
                rows.append(ErrorRow(when, f"run in {key}", redact_text(text), url))
    return rows


def _curation_failures(since: datetime) -> list[ErrorRow]:
    model = _curation_model()
    if model is None:
        return []
    failed = model._default_manager.filter(status="failed", created_at__gte=since)
    url = _admin_url("memory_curationrun_changelist", status__exact="failed")
    return [
        ErrorRow(run.created_at, f"curation {run}", redact_text(run.error), url)
        for run in failed.select_related("agent").order_by("-created_at")[:ERROR_LIMIT]
    ]


def _errors(
    channels: list[ChannelRow], runtime: dict[str, Any] | None, now: datetime
) -> list[ErrorRow]:
    rows = [
        ErrorRow(
            c.since,
            f"{c.channel}:{c.account_id}",
            c.error,
            reverse("admin:gateway_channelaccount_change", args=[c.pk]),
        )
        for c in channels
        if c.error
    ]
    for name, task in ((runtime or {}).get("tasks") or {}).items():
        if task.get("last_error"):
            restarts, state = task.get("restarts", 0), task.get("state", "")
            text = f"{task['last_error']} (restarted {restarts} times, now {state})"
            rows.append(ErrorRow(None, f"task {name}", redact_text(str(text))))
    grace = timedelta(seconds=2 * settings.OPENCLAW_RUN_DEADLINE)
    stuck = InboundRecord.objects.filter(
        status=InboundRecord.Status.ACCEPTED, received_at__lt=now - grace
    )
    count = stuck.count()
    if count:
        oldest = stuck.order_by("received_at").values_list("received_at", flat=True).first()
        rows.append(
            ErrorRow(
                oldest,
                "inbound journal",
                f"{count} platform message{'s' if count != 1 else ''} accepted but not answered "
                f"after {grace.seconds // 60} minutes (a restart resumes those of the last "
                f"{settings.OPENCLAW_RESUME_HOURS:g} hours)",
                _admin_url("gateway_inboundrecord_changelist", status__exact="accepted"),
            )
        )
    rows += _run_errors(now - timedelta(days=1))
    rows += _curation_failures(now - timedelta(days=1))
    rows.sort(key=lambda r: r.when or now, reverse=True)  # undated (live task state) first
    return rows[:ERROR_LIMIT]


def gather_dashboard() -> Dashboard:
    """Everything the admin index shows. Reads only."""
    now = timezone.now()
    today = timezone.localdate()
    week_start = today - timedelta(days=today.weekday())
    runtime = _runtime_status()
    channels = _channels((runtime or {}).get("channels") or {})
    sessions = Session.objects.filter(status=Session.Status.ACTIVE).aggregate(
        active=Count("pk"),
        today=Count(
            "pk",
            filter=Q(last_active_at__gte=timezone.make_aware(datetime.combine(today, time.min))),
        ),
    )
    day_usage, week_usage = _usage(today, week_start)
    unpriced = (
        DailyUsage.objects.filter(day__gte=week_start)
        .exclude(model__in=ModelPrice.objects.values("model"))
        .order_by("model")
        .values_list("model", flat=True)
        .distinct()
    )
    pairings = PairingRequest.objects.filter(
        status=PairingRequest.Status.PENDING, expires_at__gt=now
    )
    approvals = ExecApproval.objects.filter(status=ExecApproval.Status.PENDING, expires_at__gt=now)
    return Dashboard(
        channels=channels,
        runtime=runtime,
        sessions_today=sessions["today"],
        sessions_active=sessions["active"],
        today=day_usage,
        week=week_usage,
        week_start=week_start,
        unpriced_models=list(unpriced),
        pairings=Waiting(
            pairings.count(),
            list(pairings.select_related("account")[:LIST_LIMIT]),
            _admin_url("gateway_pairingrequest_changelist", status__exact="pending"),
        ),
        exec_approvals=Waiting(
            approvals.count(),
            [PendingCommand(a.session_key, redact_text(a.command)) for a in approvals[:LIST_LIMIT]],
            _admin_url("gateway_execapproval_changelist", status__exact="pending"),
        ),
        curation=_curation(),
        errors=_errors(channels, runtime, now),
    )
