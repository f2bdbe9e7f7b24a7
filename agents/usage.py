"""Usage and cost: per-turn counters on the session, per agent/day/model totals, daily budgets.

`Usage.prompt_tokens` counts every input token, as OpenAI reports it: `cached_tokens` (read from
the provider's prompt cache) and `cache_creation_tokens` (written to it) are parts of it, priced
at their own rates."""

from datetime import date
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Sum
from django.utils import timezone

from agents.models import DailyUsage, ModelPrice, Session
from agents.transcripts import Usage
from openclaw.perf import rows

MILLION = Decimal(1_000_000)


def turn_cost(model: str, usage: Usage) -> Decimal:
    """Cost of one call from the price table; zero for a model without a price.
    Read as SQL (`openclaw.perf.rows`): it runs after every turn."""
    price = rows.first_where(ModelPrice, {"model": model})
    return Decimal(0) if price is None else cost_at(price, usage)


def cost_at(price: ModelPrice, usage: Usage) -> Decimal:
    """Cost of `usage` at `price`: cache reads at the cached rate, cache writes at the write
    rate (the input rate when none is set), the other input and the output at theirs."""
    cached = usage.get("cached_tokens", 0)
    written = usage.get("cache_creation_tokens", 0)
    fresh = max(usage["prompt_tokens"] - cached - written, 0)
    write_price = price.input_per_mtok
    if price.cache_write_per_mtok is not None:
        write_price = price.cache_write_per_mtok
    return (
        fresh * price.input_per_mtok
        + cached * price.cached_input_per_mtok
        + written * write_price
        + usage["completion_tokens"] * price.output_per_mtok
    ) / MILLION


def cache_hit_rate(prompt_tokens: int, cached_tokens: int) -> float | None:
    """The share of input tokens read from the prompt cache, 0 to 1 (None without input)."""
    return min(cached_tokens / prompt_tokens, 1.0) if prompt_tokens > 0 else None


def describe_cache(prompt_tokens: int, cached_tokens: int, written_tokens: int = 0) -> str:
    """'cache hit rate 83% (12,000 of 14,400 input tokens cached; 1,200 written)', for chat and
    terminal output."""
    rate = cache_hit_rate(prompt_tokens, cached_tokens)
    if rate is None:
        return "cache hit rate: no input yet"
    text = f"cache hit rate {rate:.0%} ({cached_tokens:,} of {prompt_tokens:,} input tokens cached"
    return text + (f"; {written_tokens:,} written)" if written_tokens else ")")


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
    day = day or timezone.localdate()
    model = model or "?"
    with transaction.atomic(savepoint=False):  # joins the caller's transaction, if any
        _add_to_session(session_pk, usage, cost, token_ratio, title)
        if not _add_to_day(session_pk, day, model, usage, cost):
            agent_id = (
                Session.objects.filter(pk=session_pk).values_list("agent_id", flat=True).first()
            )
            if agent_id is not None:
                DailyUsage.objects.get_or_create(agent_id=agent_id, day=day, model=model)
                _add_to_day(session_pk, day, model, usage, cost)
    return cost


# The two counter updates of every turn are written as SQL (`openclaw.perf.rows` says what it
# saves): the ORM's F() expressions cost far more to build than the statements to run, on the one
# thread every ORM call of the gateway shares. Same statements as the ORM's, for SQLite and
# PostgreSQL alike.

_Param = int | float | str | None


def _numeric_sum(column: str) -> str:
    """`column + %s` for a decimal column (SQLite, like the ORM, casts to keep it NUMERIC)."""
    if connection.vendor == "sqlite":
        return f"CAST(({column} + CAST(%s AS NUMERIC)) AS NUMERIC)"
    return f"{column} + %s"


def _decimal(value: Decimal) -> str | None:
    return connection.ops.adapt_decimalfield_value(value, 12, 6)


def _add_to_session(
    session_pk: int, usage: Usage, cost: Decimal, token_ratio: float | None, title: str
) -> None:
    table = rows.table(Session)
    sets = [
        "turns = turns + 1",
        "tokens_in = tokens_in + %s",
        "tokens_out = tokens_out + %s",
        "tokens_cached = tokens_cached + %s",
        "tokens_cache_write = tokens_cache_write + %s",
        f"cost = {_numeric_sum('cost')}",
        "last_active_at = %s",
    ]
    params: list[_Param] = [
        usage["prompt_tokens"],
        usage["completion_tokens"],
        usage.get("cached_tokens", 0),
        usage.get("cache_creation_tokens", 0),
        _decimal(cost),
        connection.ops.adapt_datetimefield_value(timezone.now()),
    ]
    if token_ratio:
        # Calibrates the next turns' token estimate against what the provider counted.
        sets.append("token_ratio = %s")
        params.append(min(max(token_ratio, 0.25), 4.0))
    if title:  # the first message names the session; later ones leave it
        sets.append("title = CASE WHEN title = '' THEN %s ELSE title END")
        params.append(title[:200])
    sql = f"UPDATE {table} SET {', '.join(sets)} WHERE id = %s"  # noqa: S608  # values are params
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, session_pk])


def _add_to_day(session_pk: int, day: date, model: str, usage: Usage, cost: Decimal) -> bool:
    """Add to the agent's row for `day` and `model`; False when that row does not exist yet."""
    table, sessions = rows.table(DailyUsage), rows.table(Session)
    # Names from the models, values as parameters.
    sql = (
        f"UPDATE {table} SET turns = turns + 1, prompt_tokens = prompt_tokens + %s, "  # noqa: S608
        f"completion_tokens = completion_tokens + %s, cached_tokens = cached_tokens + %s, "
        f"cache_write_tokens = cache_write_tokens + %s, cost = {_numeric_sum('cost')} "
        f"WHERE agent_id IN (SELECT agent_id FROM {sessions} WHERE id = %s) "
        "AND day = %s AND model = %s"
    )
    params: list[_Param] = [
        usage["prompt_tokens"],
        usage["completion_tokens"],
        usage.get("cached_tokens", 0),
        usage.get("cache_creation_tokens", 0),
        _decimal(cost),
        session_pk,
        connection.ops.adapt_datefield_value(day),
        model,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return bool(cursor.rowcount)


def tokens_used_today(agent_slug: str, day: date | None = None) -> int:
    totals = DailyUsage.objects.filter(
        agent__slug=agent_slug, day=day or timezone.localdate()
    ).aggregate(p=Sum("prompt_tokens"), c=Sum("completion_tokens"))
    return int(totals["p"] or 0) + int(totals["c"] or 0)


def budget_refusal(agent_slug: str, budget: int | None) -> str | None:
    """Why the agent may not answer now (its daily token budget is spent), or None."""
    if not budget or tokens_used_today(agent_slug) < budget:
        return None
    return (
        f"Agent {agent_slug!r} has used its daily budget of {budget:,} tokens; it answers again "
        "tomorrow (or raise the budget in the admin)."
    )
