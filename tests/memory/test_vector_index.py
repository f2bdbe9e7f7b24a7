"""Hybrid search's vector side: the whole index is scored (no newest-N window), the in-process
matrix follows re-indexed files and new vectors, and the offline local model finds what
keywords cannot."""

import datetime as dt

import numpy as np
import pytest
from django.conf import LazySettings

from agents.models import Agent
from memory import services, vector_index
from memory.embeddings import pack, vector_weight
from memory.models import ChunkEmbedding, MemoryChunk
from memory.search import search

MODEL = "test-embed"


def _vectors_for(agent: Agent, pick: str, dims: int = 8) -> np.ndarray:
    """Store a vector per chunk: the chunk whose text contains `pick` points along axis 0,
    every other chunk along axis 1. Returns the query vector (axis 0)."""
    for chunk in MemoryChunk.objects.filter(agent=agent):
        axis = 0 if pick in chunk.text else 1
        vector = [0.0] * dims
        vector[axis] = 1.0
        ChunkEmbedding.objects.get_or_create(
            model=MODEL, text_hash=chunk.text_hash, defaults={"dims": dims, "vector": pack(vector)}
        )
    query = np.zeros(dims, dtype=np.float32)
    query[0] = 1.0
    return query


@pytest.mark.django_db
def test_the_oldest_chunk_of_a_long_history_is_found(agent: Agent) -> None:
    # 2,500 daily logs: more than the old scan's newest-2,000 window.
    logs = agent.workspace / "memory"
    for day in range(2500):
        date = dt.date(2010, 1, 1) + dt.timedelta(days=day)
        (logs / f"{date}.md").write_text(f"Day {day}: tea.\n" if day else "The first day.\n")
    services.sync_agent(agent)
    query = _vectors_for(agent, "The first day.")
    nearest = vector_index.nearest(agent.pk, MODEL, query, 3)
    best = MemoryChunk.objects.get(pk=next(iter(nearest)))
    assert "The first day." in best.text
    assert next(iter(nearest.values())) == pytest.approx(1.0)


@pytest.mark.django_db
def test_the_matrix_follows_reindexed_files_and_new_vectors(agent: Agent) -> None:
    note = agent.workspace / "memory" / "2024-01-01.md"
    note.write_text("Alpha.\n")
    services.sync_agent(agent)
    query = _vectors_for(agent, "Beta.")
    assert max(vector_index.nearest(agent.pk, MODEL, query, 5).values()) < 0.5
    note.write_text("Beta.\n")  # re-indexed: new chunk rows, no vector yet
    services.sync_agent(agent)
    assert vector_index.nearest(agent.pk, MODEL, query, 5) == {}
    _vectors_for(agent, "Beta.")  # its vector arrives
    (cid, score), *_ = vector_index.nearest(agent.pk, MODEL, query, 5).items()
    assert "Beta." in MemoryChunk.objects.get(pk=cid).text and score == pytest.approx(1.0)


def test_weight_is_the_setting_else_the_models_measured_default(settings: LazySettings) -> None:
    settings.OPENCLAW_MEMORY_VECTOR_WEIGHT = None
    settings.OPENCLAW_EMBEDDINGS_MODEL = "local/wordllama"
    assert vector_weight() == 0.1
    settings.OPENCLAW_EMBEDDINGS_MODEL = "text-embedding-3-small"
    assert vector_weight() == 0.5
    settings.OPENCLAW_MEMORY_VECTOR_WEIGHT = 7.0
    assert vector_weight() == 1.0


@pytest.mark.django_db(transaction=True)
async def test_local_model_finds_a_paraphrase_offline(agent: Agent, settings: LazySettings) -> None:
    pytest.importorskip("wordllama")
    from channels.db import database_sync_to_async

    from memory.embeddings import embed_pending, embed_query

    settings.OPENCLAW_EMBEDDINGS_MODEL = "local/wordllama"
    settings.OPENCLAW_MEMORY_VECTOR_WEIGHT = 0.5
    logs = agent.workspace / "memory"
    (logs / "2024-05-01.md").write_text("- Took the puppy for a long walk up the mountain trail.\n")
    (logs / "2024-05-02.md").write_text("- Filed the quarterly tax report with the accountant.\n")
    await database_sync_to_async(services.sync_agent)(agent)
    assert await embed_pending(agent.slug) == 2
    query = "hiking with my dog"
    vector = await embed_query(query)
    assert vector is not None and len(vector) == 256
    keywords = await database_sync_to_async(search)(agent.slug, query, 6)
    assert not keywords.hits  # no shared word: keywords alone find nothing
    hybrid = await database_sync_to_async(search)(agent.slug, query, 6, query_vector=vector)
    assert hybrid.hits and hybrid.hits[0].path == "memory/2024-05-01.md"


def test_an_unknown_local_model_is_a_clear_error() -> None:
    from memory import local_embeddings

    assert "unknown local embeddings model" in local_embeddings.check("local/nope")


@pytest.mark.django_db
def test_an_agent_keeps_one_matrix_the_models_it_searches_with_now(agent: Agent) -> None:
    (agent.workspace / "memory" / "2024-01-01.md").write_text("Alpha.\n")
    services.sync_agent(agent)
    query = _vectors_for(agent, "Alpha.")
    assert vector_index.nearest(agent.pk, MODEL, query, 5)
    vector_index.nearest(agent.pk, "another-model", query[:4], 5)  # the setting changed
    assert [k for k in vector_index._cache if k[0] == agent.pk] == [(agent.pk, "another-model", 4)]
