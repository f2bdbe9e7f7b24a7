"""One search API on SQLite and PostgreSQL: the same top hits for a fixed corpus, clear empty
results for odd queries, Unicode folding, recency boost and optional hybrid embeddings."""

import datetime as dt

import pytest
from channels.db import database_sync_to_async
from django.conf import LazySettings

from agents.models import Agent
from agents.services import NotFound
from memory import services
from memory.embeddings import embed_pending, embed_query
from memory.models import ChunkEmbedding
from memory.search import MAX_QUERY_WORDS, search
from tests.fakes.openai_server import FakeOpenAI
from tests.memory.corpus import EXPECTED, LOGS

pytestmark = pytest.mark.services


@pytest.mark.django_db
@pytest.mark.parametrize("query", list(EXPECTED))
def test_fixed_corpus_gives_the_expected_ranking_on_every_backend(
    corpus: Agent, query: str
) -> None:
    result = search("ada", query, 6)
    assert [(h.path, h.start_line, h.end_line) for h in result.hits] == EXPECTED[query]
    scores = [h.score for h in result.hits]
    assert scores == sorted(scores, reverse=True)
    assert all(score > 0 for score in scores)


@pytest.mark.django_db
def test_hits_cite_path_lines_date_score_and_text(corpus: Agent) -> None:
    hit = search("ada", "teapot").hits[0]
    assert hit.as_dict() == {
        "path": "memory/2024-05-05.md",
        "start_line": 3,
        "end_line": 4,
        "date": "2024-05-05",
        "score": round(hit.score, 4),
        "text": "## 19:00\nBought green tea (sencha) and a teapot. The old teapot cracked.",
    }


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "note"),
    [
        ("", "The query is empty"),
        ("   \n\t", "The query is empty"),
        ("!!! ??? ...", "no words to search for"),
        ('foo.bar AND ( "unbalanced', "No memory matches"),
        ("NEAR(kayak teapot) OR *", None),
        ("x" * 10_000, "no words to search for"),  # one 10,000-letter "word" is noise
        ("zebra " * 5_000, "No memory matches"),
        ("\x00\x01 kayak", None),
        ("' OR 1=1 --", "No memory matches"),
    ],
)
def test_odd_queries_give_a_clear_result_never_an_error(
    corpus: Agent, query: str, note: str | None
) -> None:
    result = search("ada", query)
    if note is None:
        assert result.hits
    else:
        assert result.hits == []
        assert note in result.note


@pytest.mark.django_db
def test_long_queries_search_their_first_words_and_say_so(corpus: Agent) -> None:
    query = "teapot " + " ".join(f"filler{n}" for n in range(40))
    result = search("ada", query)
    assert result.hits[0].path == "memory/2024-05-05.md"
    assert f"Only the first {MAX_QUERY_WORDS} words" in result.note


@pytest.mark.django_db
def test_search_sees_only_the_agents_own_memory(corpus: Agent) -> None:
    other = Agent.objects.create(slug="bob", name="Bob")
    services.write_working_memory(other, "Bob's kayak is yellow.\n", None, "test")
    assert {h.path for h in search("ada", "yellow").hits} == set()
    assert [h.path for h in search("bob", "kayak").hits] == ["MEMORY.md"]
    with pytest.raises(NotFound):
        search("nobody", "kayak")


@pytest.mark.django_db
def test_max_results_is_clamped(corpus: Agent) -> None:
    assert len(search("ada", "ana kayak", max_results=1).hits) == 1
    assert len(search("ada", "ana kayak", max_results=0).hits) == 1
    assert len(search("ada", "routine", max_results=10_000).hits) == 10


@pytest.mark.django_db
def test_recency_breaks_near_ties_but_never_beats_a_clearly_better_match(corpus: Agent) -> None:
    for day in ("2024-03-01", "2024-03-02"):
        (corpus.workspace / "memory" / f"{day}.md").write_text("Fed the neighbour's parrot.\n")
    services.sync_agent(corpus)
    today = dt.date(2024, 5, 4)
    plain = search("ada", "parrot", today=today, recency_half_life_days=0)
    assert plain.hits[0].path == "memory/2024-03-01.md"  # a tie: the first path
    boosted = search("ada", "parrot", today=today, recency_half_life_days=30)
    assert boosted.hits[0].path == "memory/2024-03-02.md"
    # The 2024-05-04 log is the newest kayak mention; 2024-05-01 says kayak three times.
    kayak = search("ada", "kayak", recency_half_life_days=1, today=today)
    assert kayak.hits[0].path == "memory/2024-05-01.md"


def _use_fake_embeddings(settings: LazySettings, fake: FakeOpenAI) -> None:
    settings.OPENCLAW_EMBEDDINGS_MODEL = "fake-embed"
    settings.OPENCLAW_EMBEDDINGS_BASE_URL = fake.base_url
    settings.OPENCLAW_PROVIDER_KEYS = {"OPENAI_API_KEY": "sk-test"}


@pytest.mark.django_db(transaction=True)
async def test_hybrid_search_merges_vector_hits_with_keyword_hits(
    corpus: Agent, settings: LazySettings, fake_openai: FakeOpenAI
) -> None:
    _use_fake_embeddings(settings, fake_openai)
    settings.OPENCLAW_MEMORY_VECTOR_WEIGHT = 0.7
    stored = await embed_pending("ada")
    assert stored == await _count_embeddings()
    assert await embed_pending("ada") == 0  # cached per chunk hash: nothing embedded twice
    # The fake's vectors only match identical text: a query vector equal to the dentist
    # chunk's text finds it although the keywords point at the teapot.
    dentist = LOGS["2024-05-02"].strip()
    vector = await embed_query(dentist)
    assert vector is not None
    result = await database_sync_to_async(search)("ada", "teapot", 6, query_vector=vector)
    paths = [h.path for h in result.hits]
    assert paths[0] == "memory/2024-05-02.md"  # cosine 1.0, no keyword
    assert "memory/2024-05-05.md" in paths  # the keyword hit is still merged in
    keyword_only = await database_sync_to_async(search)("ada", "teapot", 6)
    assert [h.path for h in keyword_only.hits] == ["memory/2024-05-05.md"]
    requests = [r for r in fake_openai.requests if r.path == "/v1/embeddings"]
    assert requests and requests[0].body["model"] == "fake-embed"


async def _count_embeddings() -> int:
    count: int = await database_sync_to_async(ChunkEmbedding.objects.count)()
    return count


@pytest.mark.django_db(transaction=True)
async def test_embeddings_endpoint_down_falls_back_to_keywords(
    corpus: Agent, settings: LazySettings
) -> None:
    settings.OPENCLAW_EMBEDDINGS_MODEL = "fake-embed"
    settings.OPENCLAW_EMBEDDINGS_BASE_URL = "http://127.0.0.1:9/v1"  # discard port: refused
    assert await embed_query("teapot") is None
    assert await embed_pending("ada") == 0
