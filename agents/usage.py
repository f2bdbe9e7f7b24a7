"""Usage and cost: per-turn counters on the session, per agent/day/model totals, daily budgets."""

from datetime import date
from decimal import Decimal

from django.db import transaction
from django.db.models import Case, F, Sum, Value, When
from django.utils import timezone

from agents.models import DailyUsage, ModelPrice, Session
from agents.transcripts import Usage

MILLION = Decimal(1_000_000)


def turn_cost(model: str, usage: Usage) -> Decimal:
    """Cost of one call from the price table; zero for a model without a price."""
    price = ModelPrice.objects.filter(model=model).first()
    return Decimal(0) if price is None else cost_at(price, usage)


def cost_at(price: ModelPrice, usage: Usage) -> Decimal:
    """Cost of `usage` at `price` (cached prompt tokens at the cached rate)."""
    cached = usage.get("cached_tokens", 0)
    fresh = max(usage["prompt_tokens"] - cached, 0)
    return (
        fresh * price.input_per_mtok
        + cached * price.cached_input_per_mtok
        + usage["completion_tokens"] * price.output_per_mtok
    ) / MILLION


def record_turn(
    session_pk: int,
    model: str,
    usage: Usage | None,
    *,
    token_ratio: float | None = None,
    title: str = "",
    day: date | None = None,
) -> Decimal:
    """Add one turn's usage to its session and to the agent's daily totals; returns its cost."""
    usage = usage or {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
    cost = turn_cost(model, usage)
    cached = usage.get("cached_tokens", 0)
    fields: dict[str, object] = {
        "turns": F("turns") + 1,
        "tokens_in": F("tokens_in") + usage["prompt_tokens"],
        "tokens_out": F("tokens_out") + usage["completion_tokens"],
        "tokens_cached": F("tokens_cached") + cached,
        "cost": F("cost") + cost,
        "last_active_at": timezone.now(),
    }
    if token_ratio:
        # Calibrates the next turns' token estimate against what the provider counted.
        fields["token_ratio"] = min(max(token_ratio, 0.25), 4.0)
    if title:  # the first message names the session; later ones leave it
        fields["title"] = Case(When(title="", then=Value(title[:200])), default=F("title"))
    day = day or timezone.localdate()
    totals = {
        "turns": F("turns") + 1,
        "prompt_tokens": F("prompt_tokens") + usage["prompt_tokens"],
        "completion_tokens": F("completion_tokens") + usage["completion_tokens"],
        "cached_tokens": F("cached_tokens") + cached,
        "cost": F("cost") + cost,
    }
    with transaction.atomic():
        Session.objects.filter(pk=session_pk).update(**fields)
        agent = Session.objects.filter(pk=session_pk).values("agent_id")
        row = DailyUsage.objects.filter(agent_id__in=agent, day=day, model=model or "?")
        if not row.update(**totals):
            agent_id = agent.values_list("agent_id", flat=True).first()
            if agent_id is not None:
                DailyUsage.objects.get_or_create(agent_id=agent_id, day=day, model=model or "?")
                row.update(**totals)
    return cost


def tokens_used_today(agent_slug: str, day: date | None = None) -> int:
    totals = DailyUsage.objects.filter(
        agent__slug=agent_slug, day=day or timezone.localdate()
    ).aggregate(p=Sum("prompt_tokens"), c=Sum("completion_tokens"))
    return int(totals["p"] or 0) + int(totals["c"] or 0)
