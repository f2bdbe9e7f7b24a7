"""The read-only status report of `manage.py status`: accounts, sessions, usage, pairings from
the database, and the running gateway's /readyz."""

import json
import urllib.error
import urllib.request
from datetime import datetime, time
from decimal import Decimal
from typing import Any

from django.db.models import Sum
from django.utils import timezone

from agents.models import DailyUsage, ModelPrice, Session
from agents.usage import describe_cache
from gateway.models import ChannelAccount, PairingRequest
from gateway.operator.cli import printable, readyz_url
from gateway.operator.worker_health import worker_findings


def fetch_runtime(timeout: float = 2.0) -> dict[str, Any] | None:
    """The running gateway's /readyz body (also on 503: starting or stopping), or None."""
    try:
        with urllib.request.urlopen(readyz_url(), timeout=timeout) as resp:  # noqa: S310  # our own http URL
            body = json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        try:
            body = json.loads(exc.read())
        except ValueError:
            return None
    except (OSError, ValueError):
        return None
    return body if isinstance(body, dict) else None


def gather_status() -> dict[str, Any]:
    """Everything `manage.py status` shows, as JSON-ready data. Reads only."""
    today = timezone.localdate()
    start_of_day = timezone.make_aware(datetime.combine(today, time.min))
    active = Session.objects.filter(status=Session.Status.ACTIVE)
    usage = DailyUsage.objects.filter(day=today).aggregate(
        turns=Sum("turns"),
        prompt_tokens=Sum("prompt_tokens"),
        completion_tokens=Sum("completion_tokens"),
        cached_tokens=Sum("cached_tokens"),
        cache_write_tokens=Sum("cache_write_tokens"),
        cost=Sum("cost"),
    )
    now = timezone.now()
    pending = PairingRequest.objects.filter(
        status=PairingRequest.Status.PENDING, expires_at__gt=now
    ).select_related("account")
    return {
        "channels": [
            {
                "channel": a.channel,
                "account": a.account_id,
                "name": a.name,
                "enabled": a.enabled,
                "state": a.connection_state,
                "last_error": a.last_error,
            }
            for a in ChannelAccount.objects.order_by("channel", "account_id")
        ],
        "sessions_active_today": active.filter(last_active_at__gte=start_of_day).count(),
        "recent_sessions": [
            {
                "key": s.key,
                "turns": s.turns,
                "tokens": s.tokens_in + s.tokens_out,
                "last_active": s.last_active_at.isoformat(),
            }
            for s in active.order_by("-last_active_at")[:10]
        ],
        "usage_today": {
            "day": today.isoformat(),
            "turns": usage["turns"] or 0,
            "prompt_tokens": usage["prompt_tokens"] or 0,
            "completion_tokens": usage["completion_tokens"] or 0,
            "cached_tokens": usage["cached_tokens"] or 0,
            "cache_write_tokens": usage["cache_write_tokens"] or 0,
            "cost": str(usage["cost"] or Decimal(0)),
        },
        "pending_pairing": [
            {
                "code": r.code,
                "channel": r.account.channel,
                "account": r.account.account_id,
                "sender": r.sender_id,
                "expires": r.expires_at.isoformat(),
            }
            for r in pending[:50]
        ],
        "prices_set": ModelPrice.objects.exists(),
        "gateway": fetch_runtime(),
        "background": [
            {"severity": f.severity, "what": f.what, "fix": f.fix} for f in worker_findings()
        ],
    }


def table(headers: tuple[str, ...], rows: list[tuple[Any, ...]], width: int = 40) -> list[str]:
    """Plain aligned columns (rich is not a dependency); cells are cut at `width`."""
    cells = [[printable(str(c)).replace("\n", " ")[:width] for c in row] for row in rows]
    widths = [max(len(c) for c in col) for col in zip(headers, *cells, strict=True)]
    return [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
        for row in (list(headers), *cells)
    ]


def render_status(status: dict[str, Any]) -> list[str]:
    gateway = status["gateway"]
    usage = status["usage_today"]
    cost = f"cost {Decimal(usage['cost']):.4f}"
    if not status.get("prices_set", True):
        cost += " (no model prices set: Agents > Model prices in the admin)"
    lines = [
        *_render_gateway(gateway),
        f"Sessions active today: {status['sessions_active_today']:,}",
        f"Today ({usage['day']}): {_count(usage['turns'], 'turn')}, "
        f"{usage['prompt_tokens']:,} prompt + {usage['completion_tokens']:,} completion tokens, "
        f"{cost}",
        "Prompt cache today: "
        + describe_cache(
            usage["prompt_tokens"],
            usage.get("cached_tokens", 0),
            usage.get("cache_write_tokens", 0),
        ),
        *_render_background(status.get("background", [])),
        "",
        "Channel accounts",
    ]
    live = (gateway or {}).get("channels") or {}
    channels = status["channels"]
    lines += (
        table(
            ("CHANNEL", "ACCOUNT", "NAME", "ENABLED", "STATE", "LAST ERROR"),
            [
                (
                    c["channel"],
                    c["account"],
                    c["name"],
                    "yes" if c["enabled"] else "no",
                    # the running gateway's view is fresher than the last one it saved
                    live.get(f"{c['channel']}:{c['account']}", {}).get("state") or c["state"],
                    c["last_error"],
                )
                for c in channels
            ],
        )
        if channels
        else ["  none configured: the web chat and `manage.py chat` only (docs/platforms/)"]
    )
    recent = status["recent_sessions"]
    if recent:
        lines += ["", "Recent sessions"]
        lines += table(
            ("KEY", "TURNS", "TOKENS", "LAST ACTIVE"),
            [
                (s["key"], f"{s['turns']:,}", f"{s['tokens']:,}", _local(s["last_active"]))
                for s in recent
            ],
            width=60,
        )
    lines.append("")
    pairing = status["pending_pairing"]
    if pairing:
        lines.append("Pending pairing requests (manage.py pairing approve CODE)")
        lines += table(
            ("CODE", "CHANNEL", "ACCOUNT", "SENDER", "EXPIRES"),
            [
                (p["code"], p["channel"], p["account"], p["sender"], _local(p["expires"]))
                for p in pairing
            ],
        )
    else:
        lines.append("Pending pairing requests: none")
    tasks = (gateway or {}).get("tasks") or {}
    if tasks:
        lines += ["", "Gateway tasks"]
        lines += table(
            ("TASK", "STATE", "RESTARTS", "LAST ERROR"),
            [
                (name, t.get("state"), t.get("restarts"), t.get("last_error"))
                for name, t in tasks.items()
            ],
        )
    return lines


def _render_gateway(gateway: dict[str, Any] | None) -> list[str]:
    if gateway is None:
        return [f"Gateway: not running (nothing answers {readyz_url()})"]
    broker = (gateway.get("broker") or {}).get("state", "unknown")
    return [
        f"Gateway: {gateway.get('runtime')} (database {gateway.get('database')}, "
        f"Celery broker {broker})",
        f"Lanes: {gateway.get('runs_busy', 0):,} busy, {gateway.get('runs_queued', 0):,} "
        "messages queued",
    ]


def _render_background(findings: list[dict[str, str]]) -> list[str]:
    """The worker and curation lines: plain when fine, WARNING with the fix when not."""
    lines = []
    for finding in findings:
        if finding["severity"] == "ok":
            lines.append(f"Background: {finding['what']}")
        else:
            lines.append(f"WARNING: {finding['what']}")
            lines.append(f"  fix: {finding['fix']}")
    return lines


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def _local(iso: str) -> str:
    return timezone.localtime(datetime.fromisoformat(iso)).strftime("%Y-%m-%d %H:%M")
