"""CPU of each database call a turn makes, and of reading its transcript, on a fresh SQLite home.

    .venv/bin/python bench/tools/db_calls.py [--calls 2000]

A turn's database calls all run on the one thread `database_sync_to_async` uses, so their CPU
is paid by every message waiting behind them: `open_session` and the journal entry before the
model is asked, the usage counters and the journal close after the answer, and once for a new
session, yesterday's and today's logs. Printed: CPU per call, best of three rounds. With
`DATABASE_URL` set (PostgreSQL), the calls run against that database instead (the agent `main`
is created there if missing).
"""

import argparse
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.gateway_process import base_env, migrate  # noqa: E402


def best_of_three(calls: int, fn: Callable[[], object]) -> float:
    for _ in range(min(calls, 50)):  # warm: statement caches, the daily row
        fn()
    rounds = []
    for _ in range(3):
        cpu = time.process_time()
        for _ in range(calls):
            fn()
        rounds.append((time.process_time() - cpu) / calls)
    return min(rounds)


def measure(calls: int, home: Path) -> None:
    from django.db import transaction

    from agents import services
    from agents.transcripts import Usage, append_entries, make_entry, read_entries
    from agents.usage import record_turn
    from gateway import journal, router
    from gateway.models import InboundRecord
    from memory.services import session_start_context

    services.ensure_default_agent()
    key = f"agent:main:bench-db-{uuid.uuid4().hex[:8]}"
    ref, _ = services.open_session(key)
    usage: Usage = {"prompt_tokens": 120, "completion_tokens": 30, "total_tokens": 150}
    transcript = home / "bench-transcript.jsonl"
    for i in range(20):  # a session 20 turns in, as scenario (a) rotates sessions
        append_entries(transcript, [make_entry("message", role="user", content=f"hi {i}")])
        append_entries(transcript, [make_entry("message", role="assistant", content="echo")])

    def journal_entry() -> object:
        message = router.WebMessage(key, "hi", uuid.uuid4().hex, "bench", {})
        return router._journal_and_admit(message, "run")

    def close() -> None:
        journal.mark_records_delivered([record])

    def after_turn_one_transaction() -> None:  # the bookkeeping before issue 17's seam
        with transaction.atomic():
            record_turn(ref.pk, "bench", usage, title="x")
            close()

    def after_turn_two_transactions() -> None:  # the loop's bookkeeping, then the host's close
        record_turn(ref.pk, "bench", usage, title="x")
        close()

    record = journal_entry().entry.record  # type: ignore[attr-defined]
    rows = [
        ("open_session (existing session)", lambda: services.open_session(key)),
        ("open_session + journal entry (one hop)", journal_entry),
        ("record_turn (usage counters)", lambda: record_turn(ref.pk, "bench", usage, title="x")),
        ("mark_records_delivered (one entry)", close),
        ("usage + journal close, one transaction", after_turn_one_transaction),
        ("usage + journal close, two transactions", after_turn_two_transactions),
        ("session_start_context (a new session)", lambda: session_start_context("main", 4000)),
        ("read_entries (40-entry transcript)", lambda: read_entries(transcript)),
    ]
    for name, fn in rows:
        print(f"{name:42s} {1000 * best_of_three(calls, fn):.3f} ms CPU a call")
    InboundRecord.objects.filter(session_key=key).delete()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="openclaw-db-") as tmp:
        home = Path(tmp)
        database = os.environ.get("DATABASE_URL", "")
        env = base_env(home)
        if database:
            env["DATABASE_URL"] = database
        else:
            migrate(home)
        os.environ.update(env)
        import django

        django.setup()
        measure(args.calls, home)
    return 0


if __name__ == "__main__":
    sys.exit(main())
