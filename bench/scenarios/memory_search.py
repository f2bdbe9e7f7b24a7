"""Memory search and reindex figures over one and ten years of daily logs (printed, not asserted).

Run: `.venv/bin/python bench/scenarios/memory_search.py` (SQLite in a temp OPENCLAW_HOME; set
DATABASE_URL to measure PostgreSQL). Targets: search p50 <= 10 ms on ten years, one changed file
<= 50 ms.
"""

import atexit
import itertools
import math
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HOME = tempfile.mkdtemp(prefix="openclaw-bench-")
atexit.register(shutil.rmtree, HOME, ignore_errors=True)  # ~15 MB of logs and the database
os.environ["OPENCLAW_HOME"] = HOME
os.environ["OPENCLAW_ENV_FILE"] = os.devnull
os.environ["DJANGO_SETTINGS_MODULE"] = "openclaw.settings"
os.environ.setdefault("OPENCLAW_GATEWAY_TOKEN", "bench")
sys.path.insert(0, str(ROOT))

import datetime as dt  # noqa: E402

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from agents.models import Agent  # noqa: E402
from memory import fts, services  # noqa: E402
from memory.embeddings import pack, vector_scores  # noqa: E402
from memory.markdown import tokens  # noqa: E402
from memory.models import ChunkEmbedding  # noqa: E402
from memory.search import query_words, search  # noqa: E402
from memory.sync import sync_document  # noqa: E402

SEED = 20240601
QUERIES = 200
_PEOPLE = (
    "Ana Bruno Chen Dmitri Esther Farah Gustavo Hana Ingrid Jonas Keiko Luis Marta Nadia Omar "
    "Priya Quentin Rosa Sven Tomas Uma Viktor Wen Xavier Yara Zoe Amara Bilal Clara Diego"
)
PEOPLE = _PEOPLE.split()
_PLACES = (
    "Porto Lisbon harbour office Kyoto gym Aurora Berlin station library clinic bakery market "
    "airport Zurich Oslo Madrid Osaka Seoul Lyon Ghent Utrecht Bergen Aarhus Tallinn Riga"
)
PLACES = _PLACES.split()
TOPICS = {
    "work": "report deadline meeting shipyard crane budget invoice roadmap release review "
    "contract client proposal hiring onboarding audit migration outage postmortem sprint "
    "standup backlog vendor quarterly forecast",
    "health": "dentist appointment physio knee vitamins sleep running blood pressure allergy "
    "prescription therapist cholesterol vaccine checkup posture migraine stretching",
    "home": "plumber boiler garden tomatoes paint kitchen rent landlord groceries laundry "
    "balcony roof insulation electrician furniture curtains compost recycling",
    "travel": "flight train ryokan passport visa luggage itinerary kayak hiking ferry hostel "
    "rental campsite museum layover embassy souvenir",
    "family": "birthday sister nephew dinner recipe anniversary gift school recital wedding "
    "grandmother cousin babysitter picnic holiday",
    "money": "savings mortgage taxes pension insurance refund subscription broker dividend "
    "budgeting receipt loan accountant",
}
_SYLLABLE_TEXT = "ka lo mi ne ru ta shi vo ze pa qu ri do fe gu ho ja ke ly mo"
_SYLLABLES = _SYLLABLE_TEXT.split()


def _rare_words(rng: random.Random, count: int = 3000) -> list[str]:
    """Project, product and street names: the long tail real notes are full of."""
    words: dict[str, None] = {}
    while len(words) < count:
        words["".join(rng.choices(_SYLLABLES, k=rng.randint(2, 4))).capitalize()] = None
    return list(words)


class Vocabulary:
    """Words drawn with Zipf-like frequencies, so a few are everywhere and most are rare."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.rare = _rare_words(rng)
        self.weights = list(itertools.accumulate(1 / (r + 1) ** 1.05 for r in range(3000)))

    def rare_word(self) -> str:
        return self.rng.choices(self.rare, cum_weights=self.weights)[0]


def _sentence(rng: random.Random, vocab: Vocabulary, topic: str) -> str:
    words = TOPICS[topic].split()
    who, where, thing = rng.choice(PEOPLE), rng.choice(PLACES), vocab.rare_word()
    picked = " ".join(rng.sample(words, 2))
    templates = [
        f"Talked with {who} at the {where} about the {picked} for {thing}.",
        f"{who} wants the {thing} {picked} sorted before Friday.",
        f"Reminder: {picked} for {thing} — follow up with {who}.",
        f"Spent the afternoon in {where} on {picked}; {who} helped with {thing}.",
        f"Decided to postpone the {thing} {picked} until {who} is back from {where}.",
    ]
    return rng.choice(templates)


def daily_log(rng: random.Random, vocab: Vocabulary, day: dt.date) -> str:
    """One realistic day: a title, 3 to 7 timestamped entries of bullets and prose."""
    parts = [f"# {day:%Y-%m-%d}\n"]
    minute = rng.randint(6 * 60, 9 * 60)
    target = rng.randint(1500, 4000)
    while sum(map(len, parts)) < target:
        minute = min(minute + rng.randint(20, 150), 23 * 60 + 59)
        topic = rng.choice(list(TOPICS))
        parts.append(f"\n## {minute // 60:02d}:{minute % 60:02d} — {topic}\n\n")
        if rng.random() < 0.5:
            parts.extend(f"- {_sentence(rng, vocab, topic)}\n" for _ in range(rng.randint(2, 5)))
        else:
            parts.append(
                " ".join(_sentence(rng, vocab, topic) for _ in range(rng.randint(2, 4))) + "\n"
            )
    return "".join(parts)


def make_agent(
    slug: str, days: int, rng: random.Random, vocab: Vocabulary
) -> tuple[Agent, list[dt.date]]:
    agent = Agent.objects.create(slug=slug, name=slug)
    folder = agent.workspace / "memory"
    folder.mkdir(parents=True)
    (agent.workspace / "MEMORY.md").write_text(
        "# Memory\n\n" + "".join(f"- {_sentence(rng, vocab, t)}\n" for t in TOPICS),
        encoding="utf-8",
    )
    start = dt.date(2015, 1, 1)
    dates = [start + dt.timedelta(days=n) for n in range(days)]
    for day in dates:
        (folder / f"{day:%Y-%m-%d}.md").write_text(daily_log(rng, vocab, day), encoding="utf-8")
    return agent, dates


def make_queries(rng: random.Random, vocab: Vocabulary) -> list[str]:
    """Questions a model asks its memory: a name, a topic word, a project; 1 to 4 words."""
    topic_words = [w for words in TOPICS.values() for w in words.split()]
    queries = []
    for _ in range(QUERIES):
        pool = [vocab.rare_word(), rng.choice(topic_words), rng.choice(PEOPLE + PLACES)]
        queries.append(" ".join(rng.sample(pool, rng.choice([1, 1, 2, 2, 3]))))
    queries[:3] = ["what did the dentist say about my knee", "Aurora bakery", "unknownword"]
    return queries


def timed(fn: Callable[..., object], *args: object) -> float:
    start = time.perf_counter()
    fn(*args)
    return (time.perf_counter() - start) * 1000


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def naive_scan(texts: dict[str, str], query: str, k: int = 6) -> list[str]:
    """Baseline: every file in memory, `in` matching of each query word, count of matches."""
    words = tokens(query)
    scored = []
    for path, text in texts.items():
        lowered = text.lower()
        hits = sum(lowered.count(w) for w in words if w in lowered)
        if hits:
            scored.append((hits, path))
    return [p for _, p in sorted(scored, reverse=True)[:k]]


def measure(label: str, days: int, rng: random.Random) -> dict[str, float]:
    vocab = Vocabulary(rng)
    agent, dates = make_agent(f"bench{label}", days, rng, vocab)
    first = timed(services.reindex, agent)
    full = timed(services.reindex, agent)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:  # what autovacuum does between bursts of writes
            cursor.execute(f"VACUUM ANALYZE memory_memorychunk, {fts.TERMS}")
    one_file = []
    for day in rng.sample(dates, 30):
        path = agent.workspace / "memory" / f"{day:%Y-%m-%d}.md"
        with path.open("a", encoding="utf-8") as handle:
            handle.write(f"\n## 23:59\n\n- {_sentence(rng, vocab, 'work')}\n")
        one_file.append(timed(sync_document, agent, day))
    queries = make_queries(rng, vocab)
    matches = [len(fts.keyword_scores(agent.pk, query_words(q), 10**6)) for q in queries]
    for query in queries[:10]:
        search(agent.slug, query)  # warm caches, as a running gateway has them
    ours = [timed(search, agent.slug, q) for q in queries]
    service = [timed(services.search_memory, agent, q) for q in queries]
    texts = {
        str(p.relative_to(agent.workspace)): p.read_text(encoding="utf-8")
        for p in sorted((agent.workspace / "memory").glob("*.md"))
    }
    baseline = [timed(naive_scan, texts, q) for q in queries]
    chunks = agent.memory_chunks.count()
    vector = measure_vectors(agent, rng) if label == "10y" else float("nan")
    return {
        "files": len(dates) + 1,
        "chunks": chunks,
        "matches": statistics.median(matches),
        "mb": sum(len(t.encode()) for t in texts.values()) / 1e6,
        "first_index_s": first / 1000,
        "full_reindex_s": full / 1000,
        "one_file_ms": statistics.median(one_file),
        "search_p50": percentile(ours, 50),
        "search_p99": percentile(ours, 99),
        "service_p50": percentile(service, 50),
        "baseline_p50": percentile(baseline, 50),
        "baseline_p99": percentile(baseline, 99),
        "vector_p50": vector,
    }


def measure_vectors(agent: Agent, rng: random.Random, dims: int = 1536) -> float:
    """Hybrid search's extra cost: cosine over every chunk of the agent (1,536-dimensional
    random vectors, OpenAI's small model's size), the matrix already built (p50 of 20)."""
    settings.OPENCLAW_EMBEDDINGS_MODEL = "bench-embed"
    hashes = set(agent.memory_chunks.values_list("text_hash", flat=True))
    ChunkEmbedding.objects.bulk_create(
        [
            ChunkEmbedding(
                model="bench-embed",
                text_hash=h,
                dims=dims,
                vector=pack([rng.gauss(0, 1) for _ in range(dims)]),
            )
            for h in hashes
        ],
        batch_size=500,
    )
    query = [rng.gauss(0, 1) for _ in range(dims)]
    vector_scores(agent.pk, query, 30)  # builds the in-process matrix once
    times = [timed(vector_scores, agent.pk, query, 30) for _ in range(20)]
    settings.OPENCLAW_EMBEDDINGS_MODEL = ""
    return statistics.median(times)


def main() -> None:
    call_command("migrate", verbosity=0)
    rng = random.Random(SEED)
    results = {"1 year": measure("1y", 365, rng), "10 years": measure("10y", 3650, rng)}
    print(f"memory search bench — {connection.vendor}, {QUERIES} queries, seed {SEED}")
    rows: list[tuple[str, Callable[[dict[str, float]], str]]] = [
        ("files / chunks", lambda r: f"{r['files']:.0f} / {r['chunks']:.0f}"),
        ("log text (MB)", lambda r: f"{r['mb']:.1f}"),
        ("matching chunks per query, median", lambda r: f"{r['matches']:.0f}"),
        ("first sync + index (s)", lambda r: f"{r['first_index_s']:.2f}"),
        ("full reindex (s)", lambda r: f"{r['full_reindex_s']:.2f}"),
        ("one changed file, median (ms)", lambda r: f"{r['one_file_ms']:.1f}"),
        ("search p50 (ms)", lambda r: f"{r['search_p50']:.2f}"),
        ("search p99 (ms)", lambda r: f"{r['search_p99']:.2f}"),
        ("search + recent-file check p50 (ms)", lambda r: f"{r['service_p50']:.2f}"),
        ("baseline naive scan p50 (ms)", lambda r: f"{r['baseline_p50']:.2f}"),
        ("baseline naive scan p99 (ms)", lambda r: f"{r['baseline_p99']:.2f}"),
        ("baseline p50 / search p50", lambda r: f"{r['baseline_p50'] / r['search_p50']:.1f}x"),
        (
            "hybrid: cosine, every chunk, p50 (ms)",
            lambda r: "—" if math.isnan(r["vector_p50"]) else f"{r['vector_p50']:.1f}",
        ),
    ]
    print(f"{'':38}" + "".join(f"{name:>14}" for name in results))
    for name, fmt in rows:
        print(f"{name:38}" + "".join(f"{fmt(r):>14}" for r in results.values()))


if __name__ == "__main__":
    main()
