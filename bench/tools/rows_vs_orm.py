"""CPU of each statement of a turn written as SQL (`openclaw.perf.rows` and the SQL beside it)
against the ORM call that would replace it, on a fresh SQLite home: those of every turn, and
those of a new session's first turn.

    .venv/bin/python bench/tools/rows_vs_orm.py [--calls 2000] [--rounds 5]

Each pair runs alternately (SQL, ORM, SQL, ...) in rounds of `--calls` calls, after a warm-up;
printed: the median CPU per call of each side over the rounds, and the share the SQL saves.
Both sides return the same rows (checked once before timing). With `DATABASE_URL` set
(PostgreSQL), against that database instead.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.gateway_process import base_env, migrate  # noqa: E402


@dataclass(frozen=True)
class Pair:
    name: str
    where: str  # the call site, and when it runs
    sql: Callable[[], object]
    orm: Callable[[], object]


def cpu_per_call(fn: Callable[[], object], calls: int) -> float:
    cpu = time.process_time()
    for _ in range(calls):
        fn()
    return (time.process_time() - cpu) / calls


def compare(pair: Pair, calls: int, rounds: int) -> tuple[float, float]:
    for _ in range(min(calls, 100)):  # warm: plans, statement caches
        pair.sql()
        pair.orm()
    sql, orm = [], []
    for _ in range(rounds):
        sql.append(cpu_per_call(pair.sql, calls))
        orm.append(cpu_per_call(pair.orm, calls))
    return statistics.median(sql), statistics.median(orm)


def pairs() -> list[Pair]:

    from django.db.models import Case, F, Model, Value, When
    from django.utils import timezone

    from agents import services, usage
    from agents.models import Agent, DailyUsage, ModelPrice, Session
    from agents.transcripts import Usage
    from gateway import journal
    from gateway.models import InboundRecord
    from memory import sync
    from memory.models import DailyLog
    from memory.services import session_start_context
    from openclaw.perf import rows

    agent = services.ensure_default_agent()
    key = f"agent:main:bench-rows-{uuid.uuid4().hex[:8]}"
    ref, _ = services.open_session(key)
    ModelPrice.objects.get_or_create(
        model="bench-priced", defaults={"input_per_mtok": 1, "output_per_mtok": 2}
    )
    today = timezone.localdate()
    DailyLog.objects.get_or_create(agent=agent, date=today, defaults={"content": "- a line"})
    DailyUsage.objects.get_or_create(agent=agent, day=today, model="bench-priced")
    active = Session.Status.ACTIVE.value
    fields = (
        *services._SESSION_FIELDS,
        *(f"agent__{name}" for name in services._AGENT_FIELDS),
    )

    def session_orm() -> tuple[Session | None, Agent | None]:
        found = (
            Session.objects.select_related("agent")
            .only(*fields)
            .filter(key=key, status=active)
            .first()
        )
        return (found, found.agent) if found is not None else (None, None)

    spent: Usage = {"prompt_tokens": 120, "completion_tokens": 30, "total_tokens": 150}
    cost = usage.turn_cost("bench-priced", spent)

    def counters_sql() -> None:
        usage._add_to_session(ref.pk, spent, cost, 1.1, "x")
        usage._add_to_day(ref.pk, today, "bench-priced", spent, cost)

    def counters_orm() -> None:
        Session.objects.filter(pk=ref.pk).update(
            turns=F("turns") + 1,
            tokens_in=F("tokens_in") + spent["prompt_tokens"],
            tokens_out=F("tokens_out") + spent["completion_tokens"],
            tokens_cached=F("tokens_cached") + 0,
            cost=F("cost") + cost,
            last_active_at=timezone.now(),
            token_ratio=1.1,
            title=Case(When(title="", then=Value("x")), default=F("title")),
        )
        DailyUsage.objects.filter(
            agent__sessions__pk=ref.pk, day=today, model="bench-priced"
        ).update(
            turns=F("turns") + 1,
            prompt_tokens=F("prompt_tokens") + spent["prompt_tokens"],
            completion_tokens=F("completion_tokens") + spent["completion_tokens"],
            cached_tokens=F("cached_tokens") + 0,
            cost=F("cost") + cost,
        )

    def entry() -> dict[str, object]:
        return {
            "channel": "web",
            "account_id": "main",
            "message_id": uuid.uuid4().hex,
            "chat_id": key,
            "sender_id": "bench",
            "session_key": key,
            "text": "hi",
            "run_id": "run",
        }

    class OrmRows:
        """`rows.first_where` as the ORM call it would be, swapped into `memory.sync`."""

        @staticmethod
        def first_where(model: type[Model], equals: dict[str, object]) -> Model | None:
            return model._default_manager.filter(**equals).first()

    def start_context_orm() -> str:
        sync.__dict__["rows"] = OrmRows
        try:
            return session_start_context("main", 4000)
        finally:
            sync.__dict__["rows"] = rows

    record = InboundRecord.objects.create(**entry()).pk
    delivered = InboundRecord.Status.DELIVERED.value

    return [
        Pair(
            "session and agent (open_session's read)",
            "agents/services.py, every turn",
            lambda: services._active_session_and_agent(key),
            session_orm,
        ),
        Pair(
            "model price (turn_cost)",
            "agents/usage.py, every turn",
            lambda: rows.first_where(ModelPrice, {"model": "bench-priced"}),
            lambda: ModelPrice.objects.filter(model="bench-priced").first(),
        ),
        Pair(
            "journal entry insert",
            "gateway/journal.py, every turn",
            lambda: rows.insert(InboundRecord, entry()),
            lambda: InboundRecord.objects.create(**entry()).pk,
        ),
        Pair(
            "usage counters (two UPDATEs)",
            "agents/usage.py, every turn",
            counters_sql,
            counters_orm,
        ),
        Pair(
            "journal close (mark_records_delivered)",
            "gateway/journal.py, every turn",
            lambda: journal.mark_records_delivered([record]),
            lambda: InboundRecord.objects.filter(pk__in=[record]).update(status=delivered),
        ),
        Pair(
            "enabled agent by slug (get_agent)",
            "agents/services.py, a new session's first turn",
            lambda: rows.first_where(Agent, {"slug": "main", "enabled": True}),
            lambda: Agent.objects.filter(slug="main", enabled=True).first(),
        ),
        Pair(
            "agent by slug (resolve_agent)",
            "memory/sync.py, a new session's first turn",
            lambda: rows.first_where(Agent, {"slug": "main"}),
            lambda: Agent.objects.filter(slug="main").first(),
        ),
        Pair(
            "daily log row (memory sync)",
            "memory/sync.py, a new session's first turn (twice)",
            lambda: rows.first_where(DailyLog, {"agent": agent.pk, "date": today}),
            lambda: DailyLog.objects.filter(agent=agent.pk, date=today).first(),
        ),
        Pair(
            "session_start_context (the three above)",
            "memory/services.py, a new session's first turn",
            lambda: session_start_context("main", 4000),
            start_context_orm,
        ),
    ]


def same_rows(pair: Pair) -> None:
    """Both sides find the same rows (inserts and updates are checked by the tests)."""
    from django.db.models import Model

    def values(found: object) -> object:
        if isinstance(found, tuple):
            return tuple(values(item) for item in found)
        if isinstance(found, Model):
            return {f.attname: found.__dict__.get(f.attname) for f in found._meta.concrete_fields}
        return found if isinstance(found, str) else None

    sql, orm = pair.sql(), pair.orm()
    assert values(sql) == values(orm), (pair.name, sql, orm)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="openclaw-rows-") as tmp:
        home = Path(tmp)
        env = base_env(home)
        if os.environ.get("DATABASE_URL"):
            env["DATABASE_URL"] = os.environ["DATABASE_URL"]
        else:
            migrate(home)
        os.environ.update(env)
        import django

        django.setup()
        print(f"{'statement':42s} {'SQL µs':>8s} {'ORM µs':>8s} {'saved':>6s}  where")
        for pair in pairs():
            same_rows(pair)
            sql, orm = compare(pair, args.calls, args.rounds)
            saved = 1 - sql / orm
            print(f"{pair.name:42s} {sql * 1e6:8.1f} {orm * 1e6:8.1f} {saved:6.0%}  {pair.where}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
