"""CPU of the per-turn usage bookkeeping (`agents.usage.record_turn`) on a fresh SQLite home.

    .venv/bin/python bench/record_turn.py [--calls 2000]

Every turn ends with this call on the one thread all ORM calls of the gateway share, so its
CPU is paid by every other database call waiting behind it. Printed: CPU and wall time per
call (best of three rounds), and the totals it wrote, as a check that the sums are right.
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.gateway_process import base_env, migrate  # noqa: E402


def measure(calls: int) -> None:
    from agents import services
    from agents.models import DailyUsage, Session
    from agents.transcripts import Usage
    from agents.usage import record_turn

    ref, _ = services.open_session("agent:main:bench-usage")
    usage: Usage = {"prompt_tokens": 120, "completion_tokens": 30, "total_tokens": 150}
    for _ in range(100):  # warm: statement caches, the daily row
        record_turn(ref.pk, "bench-model", usage, token_ratio=1.1, title="hi")
    rounds = []
    for _ in range(3):
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(calls):
            record_turn(ref.pk, "bench-model", usage, token_ratio=1.1, title="hi")
        rounds.append((time.process_time() - cpu, time.perf_counter() - wall))
    cpu, wall = min(rounds)
    print(f"record_turn: {1000 * cpu / calls:.3f} ms CPU, {1000 * wall / calls:.3f} ms wall a call")
    session = Session.objects.get(pk=ref.pk)
    day = DailyUsage.objects.get(agent__slug="main", model="bench-model")
    expected = (100 + 3 * calls) * usage["prompt_tokens"]
    print(f"tokens in: session {session.tokens_in}, day {day.prompt_tokens}, expected {expected}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="openclaw-usage-") as tmp:
        home = Path(tmp)
        migrate(home)
        os.environ.update(base_env(home))
        import django

        django.setup()
        measure(args.calls)
    return 0


if __name__ == "__main__":
    sys.exit(main())
