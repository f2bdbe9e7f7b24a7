"""(h) Memory recall on LoCoMo: each conversation's daily logs loaded into a fresh agent, every
question asked through the real `memory_search` tool; recall@6 (any / all evidence), per
category, and characters per question, beside plain BM25 over line windows in the same run.

Run alone: `.venv/bin/python bench/scenarios/recall.py [--data DIR] [--budget N]` (SQLite in
a temporary OPENCLAW_HOME; set DATABASE_URL to a fresh PostgreSQL database to measure it).
The scoring rule is the development set's (../shared/eval/README.md).
"""

import argparse
import asyncio
import json
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bench.lib.harness import Context, Report

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "eval" / "locomo-dev"
K = 6
WINDOWS = (400, 200, 100)  # BM25 baselines, tokens per window (4 characters a token)
_PUNCT = str.maketrans("", "", "*_`[]#>|")
_WORD = re.compile(r"\w+")
# The scorer's own stop words, not memory.search.STOP_WORDS: the yardstick must not move
# when the product's query stop words change.
_STOP = (
    "a about after again all also am an and any are as at be been before being but by can could "
    "did do does doing done for from had has have having he her here hers him his how i if in "
    "into is it its just me more most my no nor not now of off on once only or other our out "
    "over own same she should so some such than that the their them then there these they this "
    "those through to too under until up very was we were what when where which while who whom "
    "why will with would you your yours"
)
STOP = frozenset(_STOP.split())


@dataclass(frozen=True, slots=True)
class Question:
    text: str
    category: str
    evidence: tuple[str, ...]


def norm(text: str) -> str:
    return " ".join(text.lower().translate(_PUNCT).split())


def found(evidence: str, result: str, result_words: list[str]) -> bool:
    """The development set's rule: the turn's text inside the result, or 60 % of its content
    words inside a window about 1.5x the turn's length."""
    turn = norm(evidence)
    if turn in result:
        return True
    words = _WORD.findall(turn)
    content = {w for w in words if len(w) > 1 and w not in STOP}
    if not content:
        return False
    need = math.ceil(0.6 * len(content))
    width = max(len(content), round(1.5 * len(words)))
    counts: Counter[str] = Counter()
    for i, word in enumerate(result_words):
        if word in content:
            counts[word] += 1
        if i >= width and result_words[i - width] in content:
            counts[result_words[i - width]] -= 1
            if not counts[result_words[i - width]]:
                del counts[result_words[i - width]]
        if len(counts) >= need:
            return True
    return False


def score(question: Question, result: str) -> tuple[bool, bool]:
    """(any evidence found, all evidence found)."""
    text = norm(result)
    words = _WORD.findall(text)
    hits = [found(e, text, words) for e in question.evidence]
    return any(hits), all(hits)


def load(folder: Path) -> tuple[dict[str, str], list[Question]]:
    logs = {
        f"memory/{p.name}": p.read_text(encoding="utf-8")
        for p in sorted(folder.glob("memory/*.md"))
    }
    questions = [
        Question(q["question"], q["category"], tuple(q["evidence"]))
        for q in map(json.loads, (folder / "questions.jsonl").read_text().splitlines())
    ]
    return logs, questions


class Bm25Windows:
    """The baseline: whole-line windows of `tokens` (overlap a fifth), BM25 k1 1.2, b 0.75."""

    def __init__(self, logs: dict[str, str], tokens: int) -> None:
        limit, overlap = tokens * 4, tokens * 4 // 5
        self.windows: list[str] = []
        for path, text in logs.items():
            lines = text.splitlines()
            start = 0
            while start < len(lines):
                end, size = start, 0
                while end < len(lines) and (end == start or size + len(lines[end]) + 1 <= limit):
                    size += len(lines[end]) + 1
                    end += 1
                self.windows.append(f"{path}:{start + 1}-{end}\n" + "\n".join(lines[start:end]))
                if end >= len(lines):
                    break
                back, carried = end, 0
                while back - 1 > start and carried + len(lines[back - 1]) + 1 <= overlap:
                    back -= 1
                    carried += len(lines[back]) + 1
                start = back
        self.docs = [Counter(_WORD.findall(w.lower())) for w in self.windows]
        self.lengths = [sum(d.values()) for d in self.docs]
        self.avg = statistics.mean(self.lengths)
        df: Counter[str] = Counter()
        for doc in self.docs:
            df.update(doc.keys())
        n = len(self.docs)
        self.idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}

    def search(self, query: str) -> str:
        terms = [t for t in dict.fromkeys(_WORD.findall(query.lower())) if t not in STOP]
        scored = []
        for i, doc in enumerate(self.docs):
            s = 0.0
            for t in terms:
                tf = doc.get(t, 0)
                if tf:
                    norm_len = 1.2 * (1 - 0.75 + 0.75 * self.lengths[i] / self.avg)
                    s += self.idf[t] * tf * 2.2 / (tf + norm_len)
            if s > 0:
                scored.append((-s, i))
        return "\n\n".join(self.windows[i] for _, i in sorted(scored)[:K])


def _setup_django(home: str) -> None:
    os.environ["OPENCLAW_HOME"] = home
    os.environ["OPENCLAW_ENV_FILE"] = os.devnull
    os.environ["DJANGO_SETTINGS_MODULE"] = "openclaw.settings"
    os.environ.setdefault("OPENCLAW_GATEWAY_TOKEN", "bench")
    os.environ.setdefault("OPENCLAW_EMBEDDINGS_MODEL", "")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


async def _ask_all(slug: str, workspace: Path, questions: list[Question]) -> list[str]:
    from agents.host import TurnHost
    from agents.services import AgentConfig, SessionRef
    from agents.tools.base import ToolContext
    from agents.tools.memory import MemorySearchTool

    config = AgentConfig(
        slug=slug, name=slug, model="bench", base_url="", api_key_env="OPENAI_API_KEY",
        instructions="", temperature=None, max_output_tokens=1024, context_window=128_000,
        workspace=str(workspace),
    )  # fmt: skip
    session = SessionRef(1, f"agent:{slug}:main", "0" * 32, config, str(workspace / "t.jsonl"))
    ctx = ToolContext(run_id="bench", session=session, host=TurnHost())
    tool = MemorySearchTool()
    return [await tool.run({"query": q.text, "max_results": K}, ctx) for q in questions]


def measure(data: Path) -> dict[str, Any]:
    """Every conversation under `data` through memory_search and the baselines (Django set up)."""
    from django.db import connection

    from agents.models import Agent
    from memory import services

    systems: dict[str, list[tuple[str, bool, bool, int]]] = defaultdict(list)
    latencies: list[float] = []
    for folder in sorted(p for p in data.iterdir() if (p / "questions.jsonl").exists()):
        logs, questions = load(folder)
        agent = Agent.objects.create(slug=folder.name, name=folder.name)
        for path, text in logs.items():
            target = agent.workspace / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        services.sync_agent(agent)
        if os.environ.get("OPENCLAW_EMBEDDINGS_MODEL"):  # hybrid: every chunk gets its vector
            from memory.embeddings import embed_pending

            asyncio.run(embed_pending(agent.slug, max_chunks=10**9))
        started = time.perf_counter()
        answers = asyncio.run(_ask_all(agent.slug, agent.workspace, questions))
        latencies.append((time.perf_counter() - started) * 1000 / len(questions))
        runs = {"memory_search": answers}
        for tokens in WINDOWS:
            index = Bm25Windows(logs, tokens)
            runs[f"BM25-{tokens}"] = [index.search(q.text) for q in questions]
        for name, results in runs.items():
            for q, result in zip(questions, results, strict=True):
                systems[name].append((q.category, *score(q, result), len(result)))
    summary: dict[str, Any] = {"backend": connection.vendor, "ms_per_question": latencies}
    for name, rows in systems.items():
        cats: dict[str, list[bool]] = defaultdict(list)
        for cat, any_hit, _all_hit, _chars in rows:
            cats[cat].append(any_hit)
        summary[name] = {
            "questions": len(rows),
            "any": statistics.mean(r[1] for r in rows),
            "all": statistics.mean(r[2] for r in rows),
            "chars": statistics.mean(r[3] for r in rows),
            "per_category": {c: statistics.mean(v) for c, v in sorted(cats.items())},
        }
    return summary


def print_table(summary: dict[str, Any]) -> None:
    names = [n for n in summary if isinstance(summary[n], dict) and "any" in summary[n]]
    cats = sorted({c for n in names for c in summary[n]["per_category"]})
    print(f"LoCoMo recall@{K} — {summary['backend']}, {summary[names[0]]['questions']} questions")
    head = f"{'system':15}{'any':>7}{'all':>7}{'chars/q':>9}" + "".join(f"{c:>13}" for c in cats)
    print(head)
    for n in names:
        s = summary[n]
        per = "".join(f"{s['per_category'].get(c, 0):>13.3f}" for c in cats)
        print(f"{n:15}{s['any']:>7.3f}{s['all']:>7.3f}{s['chars']:>9,.0f}{per}")
    print("memory_search ms per question (mean, per conversation):",
          ", ".join(f"{v:.1f}" for v in summary["ms_per_question"]))  # fmt: skip


def child(data: Path) -> dict[str, Any]:
    home = tempfile.mkdtemp(prefix="openclaw-recall-")
    try:
        _setup_django(home)
        return measure(data)
    finally:
        shutil.rmtree(home, ignore_errors=True)


async def recall(ctx: "Context") -> "Report":
    """Scenario (h) for bench/run.py: SQLite, and PostgreSQL when BENCH_RECALL_DATABASE_URL
    names a fresh database."""
    from bench.lib.harness import Report, Row

    rows: list[Row] = []
    details: dict[str, Any] = {}
    if not DATA.is_dir():
        return Report([Row("h", f"skipped: no development set at {DATA}", float("nan"), "")], {})
    backends = {"sqlite": ""}
    if os.environ.get("BENCH_RECALL_DATABASE_URL"):
        backends["postgresql"] = os.environ["BENCH_RECALL_DATABASE_URL"]
    for label, url in backends.items():
        env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
        if url:
            env["DATABASE_URL"] = url
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.scenarios.recall", "--json", cwd=ROOT, env=env,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        out, err = await proc.communicate()
        line = next((x for x in out.decode().splitlines() if x.startswith("RESULT ")), None)
        if proc.returncode or line is None:
            raise RuntimeError(f"recall bench failed ({proc.returncode}):\n{err.decode()[-3000:]}")
        s = json.loads(line.removeprefix("RESULT "))
        details[label] = s
        ours, base = s["memory_search"], s["BM25-200"]
        rows += [
            Row("h", f"recall@6 any evidence, {label} ({ours['questions']} q)", ours["any"], "",
                base["any"], "BM25-200 windows", "≥ 0.80", ours["any"] >= 0.80),
            Row("h", f"recall@6 all evidence, {label}", ours["all"], "", base["all"],
                "BM25-200 windows"),
            Row("h", f"chars per question, {label}", ours["chars"], "chars", base["chars"],
                "BM25-200 windows", "≤ 4,300", ours["chars"] <= 4300),
        ]  # fmt: skip
    return Report(rows, details)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--json", action="store_true", help="one RESULT line (for bench/run.py)")
    parser.add_argument("--budget", type=int, default=None, help="OPENCLAW_MEMORY_SEARCH_CHARS")
    parser.add_argument(
        "--embeddings", default="", help="hybrid: OPENCLAW_EMBEDDINGS_MODEL, e.g. local/wordllama"
    )
    args = parser.parse_args()
    if args.embeddings:
        os.environ["OPENCLAW_EMBEDDINGS_MODEL"] = args.embeddings
    if args.budget is not None:
        os.environ["OPENCLAW_MEMORY_SEARCH_CHARS"] = str(args.budget)
    summary = child(args.data)
    if args.json:
        print("RESULT " + json.dumps(summary), flush=True)
    else:
        print_table(summary)


if __name__ == "__main__":
    main()
